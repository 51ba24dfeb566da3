"""The accountant's yearly workbook: Summary, Bookings and Payments for one calendar year.

The year is the business's calendar year in its own time zone. Every total on the Summary
sheet is a formula (COUNTIFS, SUMIFS, SUMPRODUCT) over the data sheets, so the accountant
can follow it; the same totals are computed here in integer minor units, and the file's
formulas are built to recalculate to exactly those values in Excel and LibreOffice (money
totals are rounded to the currency's decimals, groups match by exact text, currencies are
never added together).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from xlsxwriter.utility import quote_sheetname, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from app.models.booking import CHANNELS, PAYMENT_METHODS, VOID_STATUSES
from app.services import export_sheets as xs
from app.services import settings as settings_svc
from app.services.errors import ValidationError
from app.services.export_files import (
    Cancelled,
    ExportResult,
    Progress,
    Ticker,
    atomic_output,
    output_format,
    snapshot,
)
from app.services.store import Store
from app.services.timeutil import zone

BOOKINGS = "Bookings"
PAYMENTS = "Payments"
SUMMARY = "Summary"
FIRST_DATA_ROW = 4  # title, note, header, then data
NO_ITEM = "—"  # bookings with neither room nor service, so every row has a group label

BOOKING_HEADERS = [
    "Booking",
    "Date",
    "Customer",
    "Room or service",
    "Staff",
    "Location",
    "Channel",
    "Status",
    "Price",
    "Currency",
    "Paid",
    "Balance",
]
PAYMENT_HEADERS = ["Date", "Customer", "Booking", "Method", "Amount", "Currency", "Reference"]
MONTH_HEADERS = [
    "Month",
    "Bookings",
    "Cancelled / no-show",
    "Revenue",
    "Payments received",
    "Outstanding",
]

_BOOKINGS_SQL = """
    SELECT b.id, b.start_at, c.display_name, coalesce(b.room, b.service), b.staff,
           b.location, b.channel, b.status, b.price_minor, b.currency,
           coalesce((SELECT sum(p.amount_minor) FROM payment p
                     WHERE p.booking_id = b.id AND p.currency = b.currency), 0)
    FROM booking b JOIN customer c ON c.id = b.customer_id
    WHERE b.start_at >= :a AND b.start_at < :b
    ORDER BY b.start_at, b.id
"""
_PAYMENTS_SQL = """
    SELECT p.paid_at, c.display_name, p.booking_id, p.method, p.amount_minor, p.currency,
           p.reference
    FROM payment p JOIN booking b ON b.id = p.booking_id JOIN customer c ON c.id = b.customer_id
    WHERE p.paid_at >= :a AND p.paid_at < :b
    ORDER BY p.paid_at, p.id
"""
# Row counts (for progress and ranges) read from the date indexes alone; column widths
# from a sample of the year's rows: a full extra pass over the joined rows cost as much
# as writing them.
_WIDTH_SAMPLE = 5000
_BOOKING_WIDTHS_SQL = f"""
    SELECT (SELECT count(*) FROM booking WHERE start_at >= :a AND start_at < :b),
           max(length(c.display_name)), max(length(coalesce(b.room, b.service))),
           max(length(b.staff)), max(length(b.location)), max(length(b.channel))
    FROM (SELECT * FROM booking WHERE start_at >= :a AND start_at < :b
          LIMIT {_WIDTH_SAMPLE}) b
    JOIN customer c ON c.id = b.customer_id
"""
_PAYMENT_WIDTHS_SQL = f"""
    SELECT (SELECT count(*) FROM payment WHERE paid_at >= :a AND paid_at < :b),
           max(length(c.display_name)), max(length(p.method)), max(length(p.reference))
    FROM (SELECT * FROM payment WHERE paid_at >= :a AND paid_at < :b
          LIMIT {_WIDTH_SAMPLE}) p
    JOIN booking b ON b.id = p.booking_id JOIN customer c ON c.id = b.customer_id
"""


@dataclass
class CurrencyTotals:
    """The app's own totals for one currency, in minor units."""

    # per month 1..12 (index 0..11): bookings, void, revenue, payments, outstanding
    months: list[dict[str, int]] = field(
        default_factory=lambda: [
            {"bookings": 0, "void": 0, "revenue": 0, "payments": 0, "outstanding": 0}
            for _ in range(12)
        ]
    )
    by_method: dict[str, list[int]] = field(default_factory=dict)  # [payments, amount]
    by_item: dict[str, list[int]] = field(default_factory=dict)  # [bookings, revenue]
    by_channel: dict[str, list[int]] = field(default_factory=dict)  # [bookings, revenue]

    def total(self, key: str) -> int:
        return sum(m[key] for m in self.months)

    def to_dict(self) -> dict[str, Any]:
        return {
            "months": self.months,
            "total": {k: self.total(k) for k in self.months[0]},
            "by_method": {k: {"payments": v[0], "amount": v[1]} for k, v in self.by_method.items()},
            "by_item": {k: {"bookings": v[0], "revenue": v[1]} for k, v in self.by_item.items()},
            "by_channel": {
                k: {"bookings": v[0], "revenue": v[1]} for k, v in self.by_channel.items()
            },
        }


def year_bounds(year: int, tz_name: str) -> tuple[dt.datetime, dt.datetime]:
    """[1 January 00:00, next 1 January 00:00) in the business's zone, as UTC instants."""
    tz = zone(tz_name)
    start = dt.datetime(year, 1, 1, tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=tz).astimezone(dt.UTC)
    return start, end


def _db_text(instant: dt.datetime) -> str:
    """An instant in the stored form (naive UTC text) so range tests use the index."""
    return instant.astimezone(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _ordered(keys: list[str], preferred: tuple[str, ...]) -> list[str]:
    known = [k for k in preferred if k in keys]
    return known + sorted(k for k in keys if k not in preferred)


def export_year(
    store: Store,
    year: int,
    path: str | Path,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> ExportResult:
    """Write the accountant's workbook for one calendar year to ``path`` (.xlsx).

    Args:
        store: The open store.
        year: The calendar year, in the business's time zone (setting ``timezone``).
        path: Target file; written to a temp file first and renamed when complete.
        progress: Called with (rows done, rows in total) as bookings and payments are written.
        cancelled: Polled as often; True stops the export and leaves no file behind.

    Returns:
        The path, the number of bookings and payments written, and in ``details`` the
        totals per currency (minor units) and every Summary formula cell with the value
        the app computed for it.
    """
    output_format(path, ("xlsx",), "the yearly workbook")
    if not 1900 <= int(year) <= 9998:
        raise ValidationError("year", f"{year} is not a plausible year")
    conf = settings_svc.get_all(store)
    tz_name = conf["timezone"]
    start, end = year_bounds(year, tz_name)
    params = {"a": _db_text(start), "b": _db_text(end)}
    with snapshot(store) as conn:
        b_stats = conn.execute(_BOOKING_WIDTHS_SQL, params).fetchone()
        p_stats = conn.execute(_PAYMENT_WIDTHS_SQL, params).fetchone()
        ticker = Ticker(b_stats[0] + p_stats[0], progress, cancelled)
        ticker.check()
        writer = _YearWriter(int(year), conf, zone(tz_name), ticker)
        with atomic_output(path) as tmp:
            writer.write(tmp, conn, params, b_stats, p_stats)
            ticker.finish()
    totals = {cur: t.to_dict() for cur, t in writer.totals.items()}
    return ExportResult(
        Path(path),
        "year",
        "xlsx",
        writer.n_bookings + writer.n_payments,
        {
            "year": int(year),
            "timezone": tz_name,
            "bookings": writer.n_bookings,
            "payments": writer.n_payments,
            "currencies": list(writer.totals),
            "totals": totals,
            "summary_values": writer.expected,
        },
    )


class _YearWriter:
    def __init__(self, year: int, conf: dict[str, Any], tz: dt.tzinfo, ticker: Ticker) -> None:
        self.year = year
        self.business = conf["business_name"] or "Regulars"
        self.tz_name = conf["timezone"]
        self.main_currency = conf["currency"]
        self.tz = tz
        self.ticker = ticker
        self.totals: dict[str, CurrencyTotals] = {}
        self.item_labels: dict[str, str] = {}
        self.n_bookings = 0
        self.n_payments = 0
        # Summary cell -> the value the app computed (int count or exact Decimal)
        self.expected: dict[str, int | Decimal] = {}

    def _cur(self, currency: str) -> CurrencyTotals:
        found = self.totals.get(currency)
        if found is None:
            found = self.totals[currency] = CurrencyTotals()
        return found

    # ------------------------------------------------------------------ workbook

    def write(self, tmp: Path, conn: Any, params: dict, b_stats: tuple, p_stats: tuple) -> None:
        # XlsxWriter asks Excel to recalculate on open (fullCalcOnLoad); every formula also
        # carries the app's value as its cached result, for viewers that never recalculate
        with xs.streaming_workbook(tmp) as book:
            self.book = book
            # sheets in reading order; the Summary is filled last, once the totals are known
            # (each sheet streams to its own temp file, so the order of writing is free)
            summary = book.wb.add_worksheet(SUMMARY)
            self._bookings(conn, params, b_stats)
            self._payments(conn, params, p_stats)
            self._summary(summary)

    def _title(self, ws: Worksheet, title: str, note: str) -> None:
        ws.write_string(0, 0, xs.clean(title), self.book.title)
        ws.write_string(1, 0, note, self.book.italic)

    def _scale(self, currency: str) -> int:
        """10 ** the currency's decimals: minor units / scale = the cell's amount."""
        return 10 ** xs._exp(currency)

    def _booking_columns(self, currency: str) -> list[tuple[str, Any]]:
        n, t = xs.NUMBER, xs.TEXT
        money = self.book.money(currency)
        return [
            (n, None),  # booking id
            (n, self.book.datetime),
            *[(t, None)] * 6,  # customer, room or service, staff, location, channel, status
            (n, money),  # price
            (t, None),  # currency
            (n, money),  # paid
            (n, money),  # balance
        ]

    def _payment_columns(self, currency: str) -> list[tuple[str, Any]]:
        n, t = xs.NUMBER, xs.TEXT
        money = self.book.money(currency)
        return [
            (n, self.book.datetime),
            (t, None),  # customer
            (n, None),  # booking id
            (t, None),  # method
            (n, money),  # amount
            (t, None),  # currency
            (t, None),  # reference
        ]

    def _bookings(self, conn: Any, params: dict, stats: tuple) -> None:
        _n, name, item, staff, location, channel = stats
        ws = self.book.sheet(
            BOOKINGS,
            [
                xs.fit("Booking", 7),
                17,
                xs.fit("Customer", name, maximum=40),
                xs.fit("Room or service", item, maximum=40),
                xs.fit("Staff", staff, maximum=30),
                xs.fit("Location", location, maximum=30),
                xs.fit("Channel", channel, maximum=20),
                xs.fit("Status", 10),
                14,
                xs.fit("Currency", 3),
                14,
                14,
            ],
            frozen_rows=FIRST_DATA_ROW - 1,
        )
        self._title(
            ws,
            f"{self.business} — {BOOKINGS} {self.year}",
            f"Bookings starting in {self.year} (times in {self.tz_name}). Cancelled and "
            "no-show bookings are listed but not counted in revenue.",
        )
        self.book.header(ws, FIRST_DATA_ROW - 2, BOOKING_HEADERS)
        local = _Local(self.tz)
        stream = xs.RowStream(ws, self._booking_columns(self.main_currency))
        plans: dict[str, tuple[list, int]] = {}
        tick = self.ticker.tick
        r = FIRST_DATA_ROW - 2
        for row in conn.execute(_BOOKINGS_SQL, params):
            bid, start, name, item, staff, location, channel, status, price, cur, paid = row
            when, month = local(start)
            void = status in VOID_STATUSES
            balance = max((0 if void else price) - paid, 0)
            label = item or NO_ITEM
            t = self._cur(cur)
            m = t.months[month - 1]
            group_item = t.by_item.setdefault(label, [0, 0])
            group_channel = t.by_channel.setdefault(channel, [0, 0])
            if void:
                m["void"] += 1
            else:
                m["bookings"] += 1
                m["revenue"] += price
                group_item[0] += 1
                group_item[1] += price
                group_channel[0] += 1
                group_channel[1] += price
            m["outstanding"] += balance
            found = plans.get(cur)
            if found is None:
                found = plans[cur] = (stream.plan(self._booking_columns(cur)), self._scale(cur))
            plan, scale = found
            r += 1
            stream.write(
                r,
                (
                    bid,
                    when,
                    name,
                    label,
                    staff,
                    location,
                    channel,
                    status,
                    price / scale,
                    cur,
                    paid / scale,
                    balance / scale,
                ),
                plan,
            )
            self.n_bookings += 1
            tick()
        stream.close()
        last = FIRST_DATA_ROW - 1 + max(self.n_bookings, 1)
        ws.autofilter(FIRST_DATA_ROW - 2, 0, last - 1, 11)
        self.b_last = last

    def _payments(self, conn: Any, params: dict, stats: tuple) -> None:
        _n, name, method, reference = stats
        ws = self.book.sheet(
            PAYMENTS,
            [
                17,
                xs.fit("Customer", name, maximum=40),
                xs.fit("Booking", 7),
                xs.fit("Method", method, maximum=20),
                14,
                xs.fit("Currency", 3),
                xs.fit("Reference", reference, maximum=40),
            ],
            frozen_rows=FIRST_DATA_ROW - 1,
        )
        self._title(
            ws,
            f"{self.business} — {PAYMENTS} {self.year}",
            f"Payments received in {self.year} (times in {self.tz_name}), whatever the "
            "booking's date.",
        )
        self.book.header(ws, FIRST_DATA_ROW - 2, PAYMENT_HEADERS)
        local = _Local(self.tz)
        stream = xs.RowStream(ws, self._payment_columns(self.main_currency))
        plans: dict[str, tuple[list, int]] = {}
        tick = self.ticker.tick
        r = FIRST_DATA_ROW - 2
        for paid_at, name, booking_id, method, amount, cur, reference in conn.execute(
            _PAYMENTS_SQL, params
        ):
            when, month = local(paid_at)
            t = self._cur(cur)
            t.months[month - 1]["payments"] += amount
            group = t.by_method.setdefault(method, [0, 0])
            group[0] += 1
            group[1] += amount
            found = plans.get(cur)
            if found is None:
                found = plans[cur] = (stream.plan(self._payment_columns(cur)), self._scale(cur))
            plan, scale = found
            r += 1
            stream.write(
                r,
                (when, name, booking_id, method, amount / scale, cur, reference),
                plan,
            )
            self.n_payments += 1
            tick()
        stream.close()
        last = FIRST_DATA_ROW - 1 + max(self.n_payments, 1)
        ws.autofilter(FIRST_DATA_ROW - 2, 0, last - 1, 6)
        self.p_last = last

    # ------------------------------------------------------------------ summary

    def _summary(self, ws: Worksheet) -> None:
        for i, w in enumerate([30, 12, 20, 16, 20, 16]):
            ws.set_column(i, i, w)
        self.ws = ws
        self.row = -1  # the last row written (0-based)
        book = self.book
        self._line([(xs.clean(f"{self.business} — {self.year}"), book.title)])
        self._line(
            [
                (
                    f"Calendar year {self.year} in {self.tz_name}; exported "
                    f"{dt.datetime.now(self.tz):%Y-%m-%d %H:%M} by Regulars.",
                    book.italic,
                )
            ]
        )
        self._line(
            [
                (
                    "Revenue counts bookings starting in the year except cancelled and no-show "
                    "ones, which are listed on the Bookings sheet but excluded from revenue. "
                    "Each currency is totalled on its own; amounts in different currencies are "
                    "never added together.",
                    book.italic,
                )
            ]
        )
        currencies = sorted(self.totals, key=lambda c: (c != self.main_currency, c))
        if not currencies:
            self._line([])
            self._line([(f"No bookings or payments in {self.year}.", None)])
        for cur in currencies:
            self._line([])
            self._line([(cur, book.title)])
            self._months(cur)
            t = self.totals[cur]
            self._groups(
                cur,
                "Payment method",
                ("Payments", "Amount"),
                _ordered(list(t.by_method), PAYMENT_METHODS),
                t.by_method,
                self._method_formulas,
            )
            self._groups(
                cur,
                "Room or service",
                ("Bookings", "Revenue"),
                sorted(t.by_item, key=str.casefold),
                t.by_item,
                self._item_formulas,
            )
            self._groups(
                cur,
                "Channel",
                ("Bookings", "Revenue"),
                _ordered(list(t.by_channel), CHANNELS),
                t.by_channel,
                self._channel_formulas,
            )

    def _line(self, cells: list[tuple[Any, Any]]) -> None:
        """The next Summary row: (value, format) per column from A; text stays text."""
        self.row += 1
        for c, (value, fmt) in enumerate(cells):
            if isinstance(value, str):
                self.ws.write_string(self.row, c, value, fmt)
            elif value is not None:
                self.ws.write_number(self.row, c, value, fmt)

    def _ranges(self) -> dict[str, str]:
        b, p = quote_sheetname(BOOKINGS), quote_sheetname(PAYMENTS)
        f, bl, pl = FIRST_DATA_ROW, self.b_last, self.p_last

        def rng(sheet: str, col: str, last: int) -> str:
            return f"{sheet}!${col}${f}:${col}${last}"

        return {
            "b_date": rng(b, "B", bl),
            "b_item": rng(b, "D", bl),
            "b_channel": rng(b, "G", bl),
            "b_status": rng(b, "H", bl),
            "b_price": rng(b, "I", bl),
            "b_cur": rng(b, "J", bl),
            "b_balance": rng(b, "L", bl),
            "p_date": rng(p, "A", pl),
            "p_method": rng(p, "D", pl),
            "p_amount": rng(p, "E", pl),
            "p_cur": rng(p, "F", pl),
        }

    def _formula(self, column: int, formula: str, expected: int | Decimal, fmt: Any) -> None:
        """A formula in the current row (``column`` counts from 1), with the app's value
        as its cached result and recorded for the caller."""
        self.expected[f"{xl_col_to_name(column - 1)}{self.row + 1}"] = expected
        value = expected if isinstance(expected, int) else float(expected)
        self.ws.write_formula(self.row, column - 1, formula, fmt, value)

    def _months(self, cur: str) -> None:
        r = self._ranges()
        exp = xs._exp(cur)
        book = self.book
        fmt = book.money(cur)
        t = self.totals[cur]
        live = f'{r["b_status"]},"<>cancelled",{r["b_status"]},"<>no-show"'
        self._line([(h, book.bold) for h in MONTH_HEADERS])
        first = self.row + 2
        for month in range(1, 13):
            y2, m2 = (self.year, month + 1) if month < 12 else (self.year + 1, 1)
            b_when = (
                f'{r["b_date"]},">="&DATE({self.year},{month},1),'
                f'{r["b_date"]},"<"&DATE({y2},{m2},1)'
            )
            p_when = (
                f'{r["p_date"]},">="&DATE({self.year},{month},1),'
                f'{r["p_date"]},"<"&DATE({y2},{m2},1)'
            )
            cur_b = f'{r["b_cur"]},"{cur}"'
            v = t.months[month - 1]
            self._line([(xs.excel_date(dt.date(self.year, month, 1)), book.month)])
            self._formula(2, f"=COUNTIFS({b_when},{cur_b},{live})", v["bookings"], book.integer)
            self._formula(
                3,
                f'=COUNTIFS({b_when},{cur_b},{r["b_status"]},"cancelled")'
                f'+COUNTIFS({b_when},{cur_b},{r["b_status"]},"no-show")',
                v["void"],
                book.integer,
            )
            self._formula(
                4,
                f"=ROUND(SUMIFS({r['b_price']},{b_when},{cur_b},{live}),{exp})",
                xs.money(v["revenue"], cur),
                fmt,
            )
            self._formula(
                5,
                f'=ROUND(SUMIFS({r["p_amount"]},{p_when},{r["p_cur"]},"{cur}"),{exp})',
                xs.money(v["payments"], cur),
                fmt,
            )
            self._formula(
                6,
                f"=ROUND(SUMIFS({r['b_balance']},{b_when},{cur_b}),{exp})",
                xs.money(v["outstanding"], cur),
                fmt,
            )
        last = self.row + 1
        self._line([("Total", book.bold)])
        self._total(2, first, last, t.total("bookings"), cur, None)
        self._total(3, first, last, t.total("void"), cur, None)
        self._total(4, first, last, xs.money(t.total("revenue"), cur), cur, exp)
        self._total(5, first, last, xs.money(t.total("payments"), cur), cur, exp)
        self._total(6, first, last, xs.money(t.total("outstanding"), cur), cur, exp)

    def _total(
        self,
        column: int,
        first: int,
        last: int,
        expected: int | Decimal,
        cur: str,
        exp: int | None,
    ) -> None:
        """A bold SUM of the rows above (1-based ``first``..``last``), rounded to the
        currency's decimals when it is money (``exp`` given)."""
        col = xl_col_to_name(column - 1)
        body = f"SUM({col}{first}:{col}{last})"
        if exp is None:
            self._formula(column, f"={body}", expected, self.book.format(bold=True, num_format="0"))
        else:
            self._formula(
                column, f"=ROUND({body},{exp})", expected, self.book.money(cur, bold=True)
            )

    def _method_formulas(self, cur: str, label_ref: str) -> tuple[str, str]:
        r = self._ranges()
        match = f'EXACT({r["p_method"]},{label_ref})*({r["p_cur"]}="{cur}")'
        return f"=SUMPRODUCT({match})", f"=ROUND(SUMPRODUCT({match},{r['p_amount']}),{{exp}})"

    def _item_formulas(self, cur: str, label_ref: str) -> tuple[str, str]:
        return self._booking_group(cur, label_ref, "b_item")

    def _channel_formulas(self, cur: str, label_ref: str) -> tuple[str, str]:
        return self._booking_group(cur, label_ref, "b_channel")

    def _booking_group(self, cur: str, label_ref: str, column: str) -> tuple[str, str]:
        r = self._ranges()
        match = (
            f'EXACT({r[column]},{label_ref})*({r["b_cur"]}="{cur}")'
            f'*({r["b_status"]}<>"cancelled")*({r["b_status"]}<>"no-show")'
        )
        return f"=SUMPRODUCT({match})", f"=ROUND(SUMPRODUCT({match},{r['b_price']}),{{exp}})"

    def _groups(
        self,
        cur: str,
        title: str,
        heads: tuple[str, str],
        keys: list[str],
        values: dict[str, list[int]],
        formulas: Callable[[str, str], tuple[str, str]],
    ) -> None:
        if not keys:
            return
        exp = xs._exp(cur)
        book = self.book
        fmt = book.money(cur)
        self._line([])
        self._line([(h, book.bold) for h in (title, *heads)])
        first = self.row + 2
        for key in keys:
            self._line([(key, None)])
            count_f, amount_f = formulas(cur, f"$A{self.row + 1}")
            count, amount = values[key]
            self._formula(2, count_f, count, book.integer)
            self._formula(3, amount_f.format(exp=exp), xs.money(amount, cur), fmt)
        last = self.row + 1
        self._line([("Total", book.bold)])
        self._total(2, first, last, sum(v[0] for v in values.values()), cur, None)
        self._total(3, first, last, xs.money(sum(v[1] for v in values.values()), cur), cur, exp)


class _Local:
    """Stored UTC text -> (Excel serial of the local wall-clock time, local month),
    cached per distinct second."""

    def __init__(self, tz: dt.tzinfo) -> None:
        self.tz = tz
        self.cache: dict[str, tuple[float, int]] = {}

    def __call__(self, value: str) -> tuple[float, int]:
        key = value[:19]
        found = self.cache.get(key)
        if found is None:
            if len(self.cache) > 100_000:
                self.cache.clear()
            moment = xs.local_naive(key, self.tz)
            found = self.cache[key] = (xs.excel_datetime(moment), moment.month)
        return found
