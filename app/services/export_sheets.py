"""Spreadsheet helpers shared by the exports: a streaming XlsxWriter workbook, its shared
formats, money and dates as Excel stores them, and a fast writer for data rows.

Money leaves the app as the exact amount of the currency's exponent (4500 EUR minor units ->
45.00) with a number format naming the currency, so a column never silently mixes euros
and yuan.

Sheets are written with XlsxWriter in ``constant_memory`` mode: each row goes to the
sheet's temp file as soon as the next one starts, so memory stays flat whatever the size.
Titles, headers and formulas go through XlsxWriter's public calls; the many data rows go
through :class:`RowStream`, which serialises a row of known shape in one go (dates
already Excel serial numbers, amounts already floats): XlsxWriter's per-cell calls were
most of the time of a 100k-row export.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from app.services.money import exponent

# characters XML 1.0 cannot hold (XlsxWriter would write them as _xHHHH_ escapes, which
# some readers show as is)
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MONTH_FORMAT = "mmmm yyyy"
_DAY_ZERO = dt.date(1899, 12, 31).toordinal()
_LEAP_BUG = dt.date(1900, 3, 1).toordinal()


@functools.lru_cache(maxsize=64)
def _exp(currency: str) -> int:
    return exponent(currency)


def money(minor: int, currency: str) -> Decimal:
    """Minor units as the exact decimal amount (4500 EUR -> Decimal('45.00'))."""
    return Decimal(minor).scaleb(-_exp(currency))


def money_text(minor: int, currency: str) -> str:
    """Minor units as exact decimal text ('45.00'), as CSV writes it."""
    return str(Decimal(minor).scaleb(-_exp(currency)))


def money_value(minor: int, currency: str) -> int | float:
    """Minor units as the number a money cell holds: an int for currencies without
    decimals, else the float nearest the exact amount (an int divided by a power of ten is
    correctly rounded, so 4510 / 100 is exactly float('45.10'))."""
    digits = _exp(currency)
    return minor / 10**digits if digits else minor


@functools.lru_cache(maxsize=64)
def money_format(currency: str) -> str:
    """'#,##0.00 "EUR"' — the ISO code keeps columns of different currencies honest."""
    digits = _exp(currency)
    number = "#,##0" + ("." + "0" * digits if digits else "")
    return f'{number} "{currency}"'


def clean(text: str | None) -> str | None:
    """Text a worksheet can hold (control characters dropped, 32,767 characters at most)."""
    if text is None:
        return None
    if not text.isprintable():
        text = _ILLEGAL.sub("", text)
    return text[:32767]


def excel_date(day: dt.date) -> int:
    """A date as Excel's serial day number (1900 date system, which counts a 29 February
    1900 that never was, so days from 1 March 1900 are one more)."""
    n = day.toordinal()
    return n - _DAY_ZERO + (n >= _LEAP_BUG)


def excel_datetime(moment: dt.datetime) -> float:
    """A naive wall-clock datetime as Excel's serial number (days, fraction of the day);
    the same arithmetic as XlsxWriter's own ``write_datetime``."""
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
    return excel_date(moment.date()) + (seconds + moment.microsecond / 1e6) / 86400


def fit(header: str, longest: int | None, *, minimum: int = 6, maximum: int = 60) -> float:
    """A width that fits the header and the longest value, within sensible bounds."""
    return float(max(minimum, min(maximum, max(len(header), longest or 0) + 2)))


def local_naive(value: object, zone: dt.tzinfo) -> dt.datetime | None:
    """A stored UTC instant (datetime or SQLite text) as the business's wall-clock time,
    to the second, without tzinfo (Excel has no time zones)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value))
    return value.replace(tzinfo=dt.UTC, microsecond=0).astimezone(zone).replace(tzinfo=None)


class Book:
    """An XlsxWriter workbook with the formats every export shares, created once each
    (XlsxWriter wants one Format object per distinct style)."""

    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self.wb = wb
        self._formats: dict[tuple, Format] = {}
        self.bold = self.format(bold=True)
        self.title = self.format(bold=True, font_size=14)
        self.italic = self.format(italic=True, font_color="#555555")
        self.date = self.format(num_format=DATE_FORMAT)
        self.datetime = self.format(num_format=DATETIME_FORMAT)
        self.month = self.format(num_format=MONTH_FORMAT)
        self.integer = self.format(num_format="0")
        self.wrap = self.format(text_wrap=True, valign="top")

    def format(self, **props: Any) -> Format:
        """The one Format with these properties."""
        key = tuple(sorted(props.items()))
        found = self._formats.get(key)
        if found is None:
            found = self._formats[key] = self.wb.add_format(props)
        return found

    def money(self, currency: str, **props: Any) -> Format:
        """The money format of ``currency`` (plus e.g. ``bold=True``)."""
        return self.format(num_format=money_format(currency), **props)

    def sheet(self, name: str, widths: list[float], *, frozen_rows: int = 1) -> Worksheet:
        """A new sheet with column widths (in characters) and its header rows frozen."""
        ws = self.wb.add_worksheet(name)
        for i, w in enumerate(widths):
            ws.set_column(i, i, round(w, 1))
        if frozen_rows:
            ws.freeze_panes(frozen_rows, 0)
        return ws

    def header(self, ws: Worksheet, row: int, names: list[str]) -> None:
        """A bold header row."""
        for c, name in enumerate(names):
            ws.write_string(row, c, name, self.bold)


@contextlib.contextmanager
def streaming_workbook(path: str | Path, *, constant_memory: bool = True) -> Iterator[Book]:
    """A workbook written to ``path`` when the block ends without error.

    XlsxWriter keeps each sheet's rows in a temp file until the workbook is assembled;
    those live in a private temporary folder that is removed whatever happens, so a failed
    or cancelled export leaves no personal data behind in the system's temp folder.
    """
    with tempfile.TemporaryDirectory(prefix="regulars-export-") as scratch:
        wb = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": constant_memory,
                "tmpdir": scratch,
                # text is text: only explicit write_formula() calls make formulas
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        try:
            yield Book(wb)
            wb.close()
        finally:
            for ws in wb.worksheets():
                # the row files of an abandoned workbook are still open
                fh = getattr(ws, "row_data_fh", None)
                if fh is not None:
                    with contextlib.suppress(Exception):
                        fh.close()


# ---------------------------------------------------------------------- data rows

NUMBER = "n"
TEXT = "s"

# anything that needs more than copying the text into <t>…</t>: XML's specials, control
# characters (written as Excel's _xHHHH_ escapes), a literal '_xHHHH_' (which Excel would
# decode), whitespace at either end (needs xml:space="preserve")
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
_ESCAPE_LIKE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_STRMAX = 32767  # characters (UTF-16 units) in one cell


def _inline_string(text: str, head: str) -> str:
    """The <c> element for text that needs escaping, exactly as XlsxWriter's own
    ``write_string`` in constant_memory mode escapes it."""
    if len(text) > _STRMAX // 2 and len(text.encode("utf-16-le", "surrogatepass")) > 2 * _STRMAX:
        units = 0
        for i, ch in enumerate(text):
            units += 2 if ord(ch) > 0xFFFF else 1
            if units > _STRMAX:
                text = text[:i]
                break
    preserve = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    text = _ESCAPE_LIKE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'{head} t="inlineStr"><is><t{preserve}>{text}</t></is></c>'


class RowStream:
    """Data rows serialised straight into a constant_memory XlsxWriter sheet.

    XlsxWriter's ``write_number``/``write_string`` cost about 7 µs a cell (a call chain,
    a cell tuple, attribute escaping per cell), which at 100k customers is most of the
    export. Rows of a known shape are cheap to serialise directly: one f-string per cell
    with the column letter and style index worked out once. The XML is what XlsxWriter
    itself writes for such cells (inline strings, numbers at full precision).

    This writes into the sheet's row file and keeps the sheet's own bookkeeping (pending
    row, written rows, dimensions) in step: XlsxWriter internals, so the dependency is
    pinned below its next major version and every test reads the files back.
    """

    def __init__(self, ws: Worksheet, columns: list[tuple[str, Format | None]]) -> None:
        if not ws.constant_memory:
            raise ValueError("RowStream needs a constant_memory worksheet")
        self.ws = ws
        self.first: int | None = None
        self.last: int | None = None
        self.n_cols = len(columns)
        self.default = self.plan(columns)

    @staticmethod
    def plan(columns: list[tuple[str, Format | None]]) -> list[tuple[int, bool, str, str]]:
        """Per column: (index, is a number, start of the cell element, style attribute).
        A sheet whose rows differ in style (money in each row's own currency) keeps one
        plan per variant and passes it to :meth:`write`."""
        out = []
        for c, (kind, fmt) in enumerate(columns):
            style = f' s="{fmt._get_xf_index()}"' if fmt is not None else ""
            out.append((c, kind == NUMBER, f'<c r="{xl_col_to_name(c)}', style))
        return out

    def write(self, row: int, values: list | tuple, plan: list | None = None) -> None:
        """Write ``values`` (one per column, None for an empty cell) as 0-based ``row``;
        rows must come in increasing order, after any written by XlsxWriter itself."""
        if self.last is None:
            self._start(row)
        n = row + 1
        out = [f'<row r="{n}">']
        append = out.append
        special = _SPECIAL.search
        for c, is_number, ref, style in plan or self.default:
            v = values[c]
            if v is None:
                continue
            if is_number:
                append(f'{ref}{n}"{style}><v>{v!r}</v></c>')
            elif special(v) is None and len(v) <= _STRMAX // 2:
                append(f'{ref}{n}"{style} t="inlineStr"><is><t>{v}</t></is></c>')
            else:
                append(_inline_string(v, f'{ref}{n}"{style}'))
        append("</row>")
        self.ws.fh.write("".join(out))
        self.last = row

    def _start(self, row: int) -> None:
        ws = self.ws
        if row <= ws.previous_row and (ws.previous_row or ws.table):
            raise ValueError(f"row {row} is already written")
        # XlsxWriter holds its last row until the next one starts: write it out first
        ws._write_single_row(row)
        self.first = row

    def close(self) -> None:
        """Tell the sheet which rows were written (its dimensions, its current row)."""
        if self.last is None:
            return
        ws = self.ws
        ws._check_dimensions(self.first, 0)
        ws._check_dimensions(self.last, self.n_cols - 1)
        ws.previous_row = self.last
