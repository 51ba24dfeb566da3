"""Spreadsheet helpers shared by the exports: money cells, safe text, widths, styles.

Money leaves the app as exact decimals of the currency's exponent (4500 EUR minor units ->
45.00) with a number format naming the currency, so a column never silently mixes euros
and yuan.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import re
from collections.abc import Iterator
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet import _writer as sheet_writer
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.services.money import exponent

# characters XML 1.0 cannot hold (openpyxl refuses them and would abort the sheet)
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MONTH_FORMAT = "mmmm yyyy"
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
ITALIC = Font(italic=True, color="555555")
WRAP = Alignment(wrap_text=True, vertical="top")


@functools.lru_cache(maxsize=64)
def _exp(currency: str) -> int:
    return exponent(currency)


def money(minor: int, currency: str) -> Decimal:
    """Minor units as the exact decimal amount (4500 EUR -> Decimal('45.00'))."""
    return Decimal(minor).scaleb(-_exp(currency))


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


class _StyledCell(Cell):
    """A cell handed to a write-only sheet ready-made. openpyxl first tries to treat it as
    a value and builds an error message with the cell's repr before accepting it; a
    constant repr keeps that detour cheap (it ran once per money or date cell)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<styled cell>"


class Cells:
    """Reusable styled cells for one write-only sheet.

    A write-only sheet serialises each row as it is appended, so one styled cell per
    (purpose) can be reused row after row instead of building a new one per value.
    """

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        self.ws = ws
        self._cache: dict[tuple[str, str], WriteOnlyCell] = {}

    def styled(self, value: object, number_format: str, key: str = "") -> WriteOnlyCell:
        cell = self._cache.get((key, number_format))
        if cell is None:
            cell = _StyledCell(self.ws)
            cell.number_format = number_format
            self._cache[(key, number_format)] = cell
        cell.value = value
        return cell

    def money(self, minor: int | None, currency: str, key: str = "") -> WriteOnlyCell | None:
        if minor is None:
            return None
        return self.styled(money(minor, currency), money_format(currency), key)

    def text(self, value: str | None) -> object:
        """Text that is always text: a name starting with '=' must not become a formula."""
        value = clean(value)
        if value and value[0] == "=":
            cell = _StyledCell(self.ws)
            cell.value = value
            cell.data_type = "s"
            return cell
        return value


def cell(
    ws: WriteOnlyWorksheet,
    value: object,
    *,
    font: Font | None = None,
    number_format: str | None = None,
    alignment: Alignment | None = None,
) -> WriteOnlyCell:
    """A one-off styled cell (titles, headers, formulas)."""
    c = WriteOnlyCell(ws, value=value)
    if font is not None:
        c.font = font
    if number_format is not None:
        c.number_format = number_format
    if alignment is not None:
        c.alignment = alignment
    return c


def header_row(ws: WriteOnlyWorksheet, names: list[str]) -> list[WriteOnlyCell]:
    return [cell(ws, n, font=BOLD) for n in names]


def set_widths(ws: WriteOnlyWorksheet, widths: list[float]) -> None:
    """Column widths (in characters); must be set before the first row is written."""
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = round(w, 1)


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


@contextlib.contextmanager
def streaming_workbook() -> Iterator[Workbook]:
    """A write-only workbook whose half-written sheet files are removed if the export
    fails or is cancelled (openpyxl keeps each sheet in a temp file until saved)."""
    wb = Workbook(write_only=True)
    try:
        yield wb
    except BaseException:
        _discard(wb)
        raise


def _discard(wb: Workbook) -> None:
    for ws in wb.worksheets:
        rows = getattr(ws, "_rows", None)
        writer = getattr(ws, "_writer", None)
        with contextlib.suppress(Exception):
            if rows is not None:
                rows.close()
        if writer is None:
            continue
        with contextlib.suppress(Exception):
            writer.xf.close()
        with contextlib.suppress(Exception):
            if isinstance(writer.out, str):
                os.remove(writer.out)
                sheet_writer.ALL_TEMP_FILES.remove(writer.out)
