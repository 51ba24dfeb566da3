"""The fast row writer of the exports, read back with openpyxl beside XlsxWriter's own
writing of the very same cells."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook

from app.services import export_sheets as xs

TRICKY = [
    "Zoé Lefèvre",
    "张伟",
    "Jürgen Müller",
    "Dupont & fils <SARL>",
    "  leading spaces",
    "trailing space ",
    "tab\tinside",
    "line\nbreak",
    "bell\x07 and escape\x1b",
    "_x0041_ looks like an escape",
    '=HYPERLINK("http://evil.example","click")',
    "",
    "x" * 40_000,  # longer than a cell holds
    "😀" * 20_000,  # 40,000 UTF-16 units
]


def _write_both(path) -> None:
    with xs.streaming_workbook(path) as book:
        fast = book.sheet("fast", [10, 30, 12, 16])
        slow = book.sheet("slow", [10, 30, 12, 16])
        for ws in (fast, slow):
            book.header(ws, 0, ["n", "text", "amount", "when"])
        eur = book.money("EUR")
        stream = xs.RowStream(
            fast,
            [(xs.NUMBER, None), (xs.TEXT, None), (xs.NUMBER, eur), (xs.NUMBER, book.datetime)],
        )
        when = xs.excel_datetime(dt.datetime(2025, 12, 31, 23, 30))
        for i, text in enumerate(TRICKY, 1):
            stream.write(i, [i, text, 4510 * i / 100, when])
            slow.write_number(i, 0, i)
            slow.write_string(i, 1, text)
            slow.write_number(i, 2, 4510 * i / 100, eur)
            slow.write_datetime(i, 3, dt.datetime(2025, 12, 31, 23, 30), book.datetime)
        stream.write(len(TRICKY) + 1, [None, None, None, None])  # an empty row is fine
        stream.close()


def test_rows_read_back_exactly_as_xlsxwriter_writes_them(tmp_path):
    out = tmp_path / "rows.xlsx"
    _write_both(out)
    wb = load_workbook(out)
    fast, slow = wb["fast"], wb["slow"]
    assert fast.freeze_panes == "A2" and fast["A1"].font.b
    got = [[(c.value, c.data_type, c.number_format) for c in row] for row in fast.iter_rows()]
    want = [[(c.value, c.data_type, c.number_format) for c in row] for row in slow.iter_rows()]
    assert got[: len(want)] == want
    values = [row[1] for row in fast.iter_rows(min_row=2, values_only=True)]
    # text a reader sees unchanged (control characters and a literal '_xHHHH_' become
    # Excel's escapes, which Excel decodes and openpyxl shows as they are)
    for k in [*range(8), 10, 11]:
        assert values[k] == TRICKY[k]
    assert values[10] == TRICKY[10] and fast.cell(11, 2).data_type == "s"  # never a formula
    assert len(values[12]) == 32_767 and len(values[13]) == 16_383  # cut at the cell limit
    assert fast.cell(2, 3).value == pytest.approx(45.10, abs=0)
    assert fast.cell(2, 3).number_format == '#,##0.00 "EUR"'
    assert fast.cell(2, 4).value == dt.datetime(2025, 12, 31, 23, 30)


def test_excel_serial_dates_match_xlsxwriter(tmp_path):
    assert xs.excel_date(dt.date(1900, 1, 1)) == 1
    assert xs.excel_date(dt.date(1900, 3, 1)) == 61  # Excel's 29 February 1900 is day 60
    assert xs.excel_date(dt.date(2025, 1, 1)) == 45658
    assert xs.excel_datetime(dt.datetime(2025, 1, 1, 18, 0)) == 45658.75


def test_rows_must_come_after_what_is_written(tmp_path):
    out = tmp_path / "x.xlsx"
    with pytest.raises(ValueError, match="already written"), xs.streaming_workbook(out) as book:
        ws = book.sheet("s", [10])
        book.header(ws, 0, ["a"])
        xs.RowStream(ws, [(xs.NUMBER, None)]).write(0, [1])
    assert not out.exists()
