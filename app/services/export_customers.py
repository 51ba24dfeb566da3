"""Customer lists to XLSX (XlsxWriter, constant memory) and CSV (UTF-8 with BOM).

Rows are streamed from one SQL query over the denormalised list columns that
:mod:`tracking` keeps fresh (primary phone, tag names, figures), so 100k customers never
sit in memory and no figure is re-aggregated here.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumber, PhoneNumberFormat, format_number

from app.services import export_sheets as xs
from app.services import search
from app.services import settings as settings_svc
from app.services.errors import NotFoundError, ValidationError
from app.services.export_files import (
    Cancelled,
    ExportResult,
    Progress,
    Ticker,
    atomic_output,
    output_format,
    snapshot,
)
from app.services.normalize import format_phone
from app.services.store import Store
from app.services.timeutil import zone

DELIMITERS = {",": ",", ";": ";", "tab": "\t", "\t": "\t", "|": "|"}

# (header, kind) in file order; the "Spent" columns are inserted per currency
BEFORE_SPENT = (
    ("id", "int"),
    ("First name", "text"),
    ("Last name", "text"),
    ("Emails", "text"),
    ("Phones", "text"),
    ("Language", "text"),
    ("Marketing consent", "text"),
    ("Consent date", "date"),
    ("Tags", "text"),
    ("First contact", "date"),
    ("Bookings", "int"),
    ("Last visit", "date"),
)
AFTER_SPENT = (
    ("External refs", "text"),
    ("Street", "text"),
    ("Postcode", "text"),
    ("City", "text"),
    ("Region", "text"),
    ("Country", "text"),
)

# The consent flag is spelled out and the per-currency totals are read as the JSON text
# (see _Spent) in SQL's stead: one json_extract per currency per row cost as much as
# writing the whole CSV row.
_MAIN_SQL = """
    SELECT c.id, c.first_name, c.last_name, c.primary_email, c.primary_phone,
           c.preferred_language,
           CASE WHEN c.marketing_consent THEN 'yes' ELSE 'no' END, c.consent_at, c.tag_names,
           c.first_contact, c.booking_count, c.last_visit_at,
           c.street, c.postcode, c.city, c.region, c.country, c.total_spent
    FROM customer c
"""


# Per-customer lists, grouped in customer id order (each walks its customer_id index).
# Only customers with two or more phones or emails appear: the first one of each is
# already in the customer row (primary_phone, formatted; primary_email), kept fresh by
# tracking, so 9 in 10 customers need no extra lookup at all.
_MULTI = (
    "SELECT customer_id, group_concat({col}, '{sep}' ORDER BY position, id) FROM {table} "
    # the inner query reads only the customer_id index: cheap even over 100k rows
    "WHERE customer_id IN (SELECT customer_id FROM {table} {{where}} GROUP BY customer_id "
    "HAVING count(*) > 1) GROUP BY customer_id ORDER BY customer_id"
)
_SIDE_SQL = {
    "emails": _MULTI.format(col="address", sep="; ", table="customer_email"),
    "phones": _MULTI.format(col="e164", sep=" ", table="customer_phone"),
    "refs": "SELECT customer_id, group_concat(CASE WHEN system != '' THEN system || ': ' || ref "
    "ELSE ref END, '; ' ORDER BY system, ref) "
    "FROM external_ref {where} GROUP BY customer_id ORDER BY customer_id",
}


_END = (float("inf"), None)


def _merged(main: Iterator[tuple], sides: list[Iterator[tuple]]) -> Iterator[tuple]:
    """Join rows in ascending id order with side lists in ascending customer_id order.

    Side lists are sparse (few customers have two phones), so most rows take the fast
    path: one comparison with the lowest pending side id.
    """
    heads = [next(it, _END) for it in sides]
    low = min(h[0] for h in heads) if heads else _END[0]
    nothing = (None,) * len(sides)
    for row in main:
        cid = row[0]
        if cid < low:
            yield (row, *nothing)
            continue
        extra = []
        for k, it in enumerate(sides):
            head = heads[k]
            while head[0] < cid:
                head = next(it, _END)
            if head[0] == cid:
                extra.append(head[1])
                head = next(it, _END)
            else:
                extra.append(None)
            heads[k] = head
        low = min(h[0] for h in heads)
        yield (row, *extra)


@dataclass
class CustomerSelection:
    """Which customers, in which order.

    ``ids`` (the window's current filtered and sorted view) wins over ``query`` (search
    ranking), which wins over ``tag``; none of them means everyone, by name.
    """

    ids: Sequence[int] | None = None
    tag: str | None = None
    query: str | None = None
    include_archived: bool = False


def _live(include_archived: bool) -> str:
    return "c.merged_into_id IS NULL" + ("" if include_archived else " AND c.archived_at IS NULL")


def _raw(s: Any) -> Any:
    """The DB-API connection under a session: plain tuples, no per-row wrapping."""
    return s.connection().connection


class _Source:
    """Resolves a selection to a row count and a stream of raw rows."""

    def __init__(self, store: Store, sel: CustomerSelection) -> None:
        self.store = store
        self.sel = sel
        self.ids: list[int] | None = None
        self.tag_id: int | None = None
        if sel.ids is not None:
            self.ids = list(dict.fromkeys(int(i) for i in sel.ids))
        elif sel.query and sel.query.strip():
            hits = search.search(
                store, sel.query, limit=10_000_000, include_archived=sel.include_archived
            )
            self.ids = [h.id for h in hits]
        elif sel.tag:
            with store.reader() as s:
                row = (
                    _raw(s)
                    .execute("SELECT id FROM tag WHERE name = ? COLLATE NOCASE", (sel.tag.strip(),))
                    .fetchone()
                )
            if row is None:
                raise NotFoundError(f"no tag named '{sel.tag}'")
            self.tag_id = row[0]

    def _where(self) -> tuple[str, dict[str, Any]]:
        where = _live(self.sel.include_archived)
        if self.tag_id is not None:
            where += " AND c.id IN (SELECT customer_id FROM customer_tag WHERE tag_id = :tag)"
            return where, {"tag": self.tag_id}
        return where, {}

    def count(self) -> int:
        """How many rows to expect, for progress. Exact for explicit ids; otherwise an
        upper bound read from an index alone (an exact count would scan the table once
        more just to move a progress bar)."""
        if self.ids is not None:
            return len(self.ids)
        with self.store.reader() as s:
            if self.tag_id is not None:
                sql, params = "SELECT count(*) FROM customer_tag WHERE tag_id = ?", (self.tag_id,)
            else:
                sql, params = "SELECT count(*) FROM customer", ()
            return _raw(s).execute(sql, params).fetchone()[0]

    def rows(self) -> Iterator[tuple]:
        """(main row, emails, phones as E.164, external refs) per customer."""
        with snapshot(self.store) as conn:
            if self.ids is None:
                where, params = self._where()
                main = conn.execute(f"{_MAIN_SQL} WHERE {where} ORDER BY c.id", params)
                sides = [conn.execute(sql.format(where="")) for sql in _SIDE_SQL.values()]
                yield from _merged(main, sides)
                return
            # explicit ids keep the caller's order (the window's sort, search ranking)
            for start in range(0, len(self.ids), 500):
                chunk = self.ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                main = conn.execute(
                    f"{_MAIN_SQL} WHERE c.id IN ({marks}) AND c.merged_into_id IS NULL "
                    "ORDER BY c.id",
                    chunk,
                )
                sides = [
                    conn.execute(sql.format(where=f"WHERE customer_id IN ({marks})"), chunk)
                    for sql in _SIDE_SQL.values()
                ]
                found = {r[0][0]: r for r in _merged(main, sides)}
                for cid in chunk:
                    if cid in found:
                        yield found[cid]


def _currencies(store: Store) -> list[str]:
    """Currencies anyone has paid in, the business's own first."""
    main = settings_svc.get(store, "currency")
    with store.reader() as s:
        found = {r[0] for r in _raw(s).execute("SELECT DISTINCT currency FROM payment")}
    return [main, *sorted(found - {main})] if main in found or not found else sorted(found)


# how rows are shaped for each kind of file
TYPED = "typed"  # date objects, money as minor-unit ints
TEXT = "text"  # ISO dates and exact decimal amounts as text (CSV)
EXCEL = "excel"  # Excel serial day numbers and money as cell numbers (XLSX)


class _Days:
    """A stored date (ISO text) as ``mode`` wants it; cached, as dates repeat a lot."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.cache: dict[str, dt.date | str | int] = {}

    def __call__(self, value: str) -> dt.date | str | int:
        found = self.cache.get(value)
        if found is None:
            if len(self.cache) > 100_000:
                self.cache.clear()
            if self.mode == TEXT:
                found = value[:10]
            else:
                day = dt.date.fromisoformat(value[:10])
                found = xs.excel_date(day) if self.mode == EXCEL else day
            self.cache[value] = found
        return found


class _LocalDates:
    """Stored UTC text -> the business's local date; cached per minute, since every zone's
    offset is a whole number of minutes and real data clusters on the same times."""

    def __init__(self, tz: dt.tzinfo, mode: str = TYPED) -> None:
        self.tz = tz
        self.mode = mode
        self.cache: dict[str, dt.date | str | int] = {}

    def __call__(self, value: str) -> dt.date | str | int:
        key = value[:16]
        found = self.cache.get(key)
        if found is None:
            if len(self.cache) > 100_000:
                self.cache.clear()
            day = dt.datetime.fromisoformat(key).replace(tzinfo=dt.UTC).astimezone(self.tz).date()
            if self.mode == TEXT:
                found = day.isoformat()
            elif self.mode == EXCEL:
                found = xs.excel_date(day)
            else:
                found = day
            self.cache[key] = found
        return found


class _Spent:
    """A customer's ``total_spent`` JSON -> one value per exported currency.

    Cached per distinct JSON text: totals repeat (the 100k demo has about 5,000 distinct
    ones), so each is parsed and formatted once.
    """

    def __init__(self, currencies: list[str], mode: str) -> None:
        self.currencies = currencies
        self.convert = {TEXT: xs.money_text, EXCEL: xs.money_value}.get(mode)
        self.none = (None,) * len(currencies)
        self.cache: dict[str, tuple] = {}

    def __call__(self, text: str | None) -> tuple:
        if not text:
            return self.none
        found = self.cache.get(text)
        if found is None:
            if len(self.cache) > 100_000:
                self.cache.clear()
            totals = json.loads(text)
            convert = self.convert
            found = tuple(
                None
                if (v := totals.get(cur)) is None
                else (convert(v, cur) if convert is not None else v)
                for cur in self.currencies
            )
            self.cache[text] = found
        return found


def format_e164(e164: str) -> str:
    """The same text as :func:`normalize.format_phone` for a stored E.164 number, three
    times faster: phonenumbers' ``parse`` (two thirds of the cost) is skipped by building
    the number from its country code and national digits, which an E.164 string holds
    plainly. Anything unusual takes ``format_phone`` itself."""
    digits = e164[1:]
    if e164[:1] != "+" or not digits.isascii() or not digits.isdigit() or digits[0] == "0":
        return format_phone(e164)
    # country calling codes are prefix-free: the first of 1, 2 or 3 digits that is one
    for n in (1, 2, 3):
        cc = int(digits[:n])
        if cc in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return format_phone(e164)
    national = digits[n:]
    if len(national) < 2:
        return format_phone(e164)
    number = PhoneNumber(country_code=cc, national_number=int(national))
    if national[0] == "0":
        # as phonenumbers' parse records them (Italy keeps its leading zeros)
        number.italian_leading_zero = True
        zeros = 1
        while zeros < len(national) - 1 and national[zeros] == "0":
            zeros += 1
        if zeros != 1:
            number.number_of_leading_zeros = zeros
    return format_number(number, PhoneNumberFormat.INTERNATIONAL)


def _phones(primary: str | None, e164s: str | None) -> str | None:
    numbers = e164s.split(" ")
    # the first number is already formatted in the list column; format only the others
    shown = [primary] if primary else [format_e164(numbers[0])]
    shown.extend(format_e164(n) for n in numbers[1:])
    return "; ".join(shown)


def _rows(
    store: Store,
    sel: CustomerSelection,
    currencies: list[str],
    ticker: Ticker | None,
    *,
    mode: str,
) -> Iterator[list]:
    """Rows in file column order, dates and money shaped for ``mode``, absent values as
    None."""
    local_date = _LocalDates(zone(settings_svc.get(store, "timezone")), mode)
    spent_of = _Spent(currencies, mode)
    day = _Days(mode)
    tick = ticker.tick if ticker is not None else None
    for r, emails, e164s, refs in _Source(store, sel).rows():
        (
            cid,
            first,
            last,
            email,
            phone,
            lang,
            consent,
            consent_at,
            tags,
            first_contact,
            count,
            last_visit,
            street,
            postcode,
            city,
            region,
            country,
            spent,
        ) = r
        yield [
            cid,
            first,
            last,
            emails or email,
            _phones(phone, e164s) if e164s else phone,
            lang,
            consent,
            local_date(consent_at) if consent_at else None,
            tags,
            day(first_contact) if first_contact else None,
            count,
            local_date(last_visit) if last_visit else None,
            *spent_of(spent),
            refs,
            street,
            postcode,
            city,
            region,
            country,
        ]
        if tick is not None:
            tick()


def iter_customer_rows(
    store: Store, sel: CustomerSelection, currencies: list[str], ticker: Ticker | None = None
) -> Iterator[list]:
    """Typed rows (int, str, date, minor-unit ints for money) in file column order."""
    return _rows(store, sel, currencies, ticker, mode=TYPED)


def headers(currencies: list[str]) -> list[str]:
    return (
        [h for h, _ in BEFORE_SPENT]
        + [f"Spent {cur}" for cur in currencies]
        + [h for h, _ in AFTER_SPENT]
    )


def export_customers(
    store: Store,
    path: str | Path,
    selection: CustomerSelection | None = None,
    *,
    delimiter: str = ",",
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> ExportResult:
    """Write a customer list to ``path`` (.xlsx or .csv, chosen by the extension).

    Args:
        store: The open store.
        path: Target file; written to a temp file first and renamed when complete.
        selection: Which customers (default: everyone not archived, by name).
        delimiter: CSV field separator: ',', ';', '|' or 'tab'.
        progress: Called with (rows done, rows in total) every thousand rows.
        cancelled: Polled as often; when it returns True the export stops and no file
            is left behind.

    Returns:
        The path written and the number of customers in it.
    """
    fmt = output_format(path, ("xlsx", "csv"), "a customer list")
    sel = selection or CustomerSelection()
    sep = DELIMITERS.get(delimiter)
    if fmt == "csv" and sep is None:
        raise ValidationError("delimiter", f"'{delimiter}' is not one of , ; | tab")
    currencies = _currencies(store)
    total = _Source(store, sel).count()
    ticker = Ticker(total, progress, cancelled)
    ticker.check()
    rows = _rows(store, sel, currencies, ticker, mode=TEXT if fmt == "csv" else EXCEL)
    with atomic_output(path) as tmp:
        if fmt == "csv":
            _write_csv(tmp, rows, currencies, sep)
        else:
            _write_xlsx(store, tmp, rows, currencies)
        ticker.finish()
    return ExportResult(Path(path), "customers", fmt, ticker.done, {"currencies": currencies})


# ------------------------------------------------------------------------------- CSV

# a field starting like a formula is opened as one by spreadsheet programs (CSV injection);
# international phone numbers ("+33 6 …") are the one legitimate '+' start we keep as is
_FORMULA_START = frozenset("=+-@\t\r")
_PHONEISH = re.compile(r"^[+\-]?[\d\s().\-/;+]*$")


def csv_safe(text: str | None) -> str:
    if not text:
        return ""
    if text[0] in _FORMULA_START and not (text[0] in "+-" and _PHONEISH.match(text)):
        return "'" + text
    return text


def _guarded_columns(currencies: list[str]) -> list[int]:
    """The text columns the CSV formula guard looks at. Not Phones: it only ever holds
    numbers in international form ('+33 6 …', made from E.164 by format_phone), which
    the guard would let through anyway after a regex test on every single row."""
    n_before = len(BEFORE_SPENT)
    return [i for i, (h, k) in enumerate(BEFORE_SPENT) if k == "text" and h != "Phones"] + [
        n_before + len(currencies) + i for i in range(len(AFTER_SPENT))
    ]


def _write_csv(tmp: Path, rows: Iterator[list], currencies: list[str], sep: str) -> None:
    # amounts and dates arrive as text already (mode TEXT): what is left per row is the
    # formula guard, one cheap first-character test per text column
    text_cols = _guarded_columns(currencies)
    risky = _FORMULA_START

    def guarded() -> Iterator[list]:
        for row in rows:
            for i in text_cols:
                v = row[i]
                if v and v[0] in risky:
                    row[i] = csv_safe(v)
            yield row

    # utf-8-sig writes the BOM Excel needs to read accents and Chinese as UTF-8
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh, delimiter=sep, quoting=csv.QUOTE_MINIMAL)
        out.writerow(headers(currencies))
        out.writerows(guarded())


# ------------------------------------------------------------------------------ XLSX


_WIDTH_SAMPLE = 5000


def _widths(store: Store, currencies: list[str]) -> list[float]:
    """Widths from SQL aggregates over a sample of rows, not from every cell: a rare very
    long value is cut off on screen (the cell holds it whole), the export stays fast."""
    with store.reader() as s:
        conn = _raw(s)
        (first, last, lang, tags, street, postcode, city, region) = conn.execute(
            "SELECT max(length(first_name)), max(length(last_name)), "
            "max(length(preferred_language)), max(length(tag_names)), max(length(street)), "
            "max(length(postcode)), max(length(city)), max(length(region)) "
            f"FROM (SELECT * FROM customer LIMIT {_WIDTH_SAMPLE})"
        ).fetchone()
        email = conn.execute(
            "SELECT max(length(address)) FROM "
            f"(SELECT address FROM customer_email LIMIT {_WIDTH_SAMPLE})"
        ).fetchone()[0]
        refs = conn.execute(
            "SELECT max(length(system) + length(ref) + 2) FROM "
            f"(SELECT system, ref FROM external_ref LIMIT {_WIDTH_SAMPLE})"
        ).fetchone()[0]
    longest = {
        "id": 7,
        "First name": first,
        "Last name": last,
        "Emails": email,
        "Phones": 18,
        "Language": lang,
        "Marketing consent": 3,
        "Consent date": 10,
        "Tags": tags,
        "First contact": 10,
        "Bookings": 5,
        "Last visit": 10,
        "External refs": refs,
        "Street": street,
        "Postcode": postcode,
        "City": city,
        "Region": region,
        "Country": 2,
    }
    out = []
    for h in headers(currencies):
        out.append(xs.fit(h, longest.get(h, 12), maximum=45))
    return out


def _write_xlsx(store: Store, tmp: Path, rows: Iterator[list], currencies: list[str]) -> None:
    names = headers(currencies)
    with xs.streaming_workbook(tmp) as book:
        ws = book.sheet("Customers", _widths(store, currencies))
        book.header(ws, 0, names)
        # the rows arrive shaped for Excel (mode EXCEL: serial dates, money as numbers)
        kinds = [k for _h, k in BEFORE_SPENT] + ["money"] * len(currencies)
        kinds += [k for _h, k in AFTER_SPENT]
        columns = []
        for c, kind in enumerate(kinds):
            if kind == "text":
                columns.append((xs.TEXT, None))
            elif kind == "int":
                columns.append((xs.NUMBER, None))
            elif kind == "date":
                columns.append((xs.NUMBER, book.date))
            else:
                columns.append((xs.NUMBER, book.money(currencies[c - len(BEFORE_SPENT)])))
        stream = xs.RowStream(ws, columns)
        write = stream.write
        r = 0
        for row in rows:
            r += 1
            write(r, row)
        stream.close()
        ws.autofilter(0, 0, r, len(names) - 1)
