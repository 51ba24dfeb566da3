"""Spreadsheet helpers shared by the exports: a streaming XlsxWriter workbook, its shared
formats, and money and dates as Excel stores them.

Money leaves the app as the exact amount of the currency's exponent (4500 EUR minor units ->
45.00) with a number format naming the currency, so a column never silently mixes euros
and yuan.

Sheets are written with XlsxWriter in ``constant_memory`` mode: each row goes to the
sheet's temp file as soon as the next row starts, so memory stays flat whatever the size.
The hot loops hand it ready numbers (Excel serial dates, amounts as floats) through
:meth:`Worksheet.write_number` / :meth:`Worksheet.write_string`: its generic ``write()``
guesses types per cell and converts dates per cell, which cost a third of the time.
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
