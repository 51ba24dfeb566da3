"""Big workbooks: the shared-string table spooled to an encrypted temporary file, and rows
read by our own loop, must give exactly what openpyxl reads, in bounded memory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from app.services import importing, xlsx_strings
from app.services.import_readers import ImportFileError, open_table
from app.services.importing import ImportOptions

NAMES = ["Zoé Lefèvre", "Jürgen Müller", "张伟", "Anaïs de la Fontaine", "Ève", ""]


@pytest.fixture
def small_spool(monkeypatch):
    """Spool from a few dozen strings on, so a small workbook takes the big-file path."""
    monkeypatch.setattr(xlsx_strings, "SPOOL_MIN_STRINGS", 40)
    monkeypatch.setattr(xlsx_strings, "CACHED_BLOCKS", 2)
    monkeypatch.setattr(xlsx_strings, "REPEATED_STRINGS", 10)


def _workbook(path: Path, rows: int) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Guests")
    bold = wb.add_format({"bold": True})
    day = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws.write_row(0, 0, ["Name", "Email", "City", "Arrival", "Nights", "Notes"])
    for i in range(1, rows + 1):
        ws.write_string(i, 0, f"{NAMES[i % len(NAMES)]} {i}")  # used once
        ws.write_string(i, 1, f"guest{i}@example.fr")
        ws.write_string(i, 2, ["Paris", "München", "上海", "Köln"][i % 4])  # used often
        ws.write_datetime(i, 3, dt.datetime(2026, 1, 1) + dt.timedelta(days=i % 300), day)
        ws.write_number(i, 4, i % 7)
        if i % 9 == 0:  # rich text: runs flattened to their text
            ws.write_rich_string(i, 5, "très ", bold, "calme", " _x005F_ ok")
        elif i % 5 == 0:
            ws.write_string(i, 5, f"note {i % 50}")  # used now and then, far apart
    wb.close()
    return path


def _openpyxl_rows(path: Path) -> list[tuple[int, list]]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out = []
    for number, row in enumerate(wb["Guests"].iter_rows(values_only=True), start=1):
        cells = list(row)
        while cells and cells[-1] is None:
            cells.pop()
        if number > 1 and cells:
            out.append((number, cells))
    wb.close()
    return out


def _our_rows(path: Path) -> tuple[list[tuple[int, list]], object]:
    source = open_table(path)
    try:
        rows = []
        for number, cells in source.rows():
            while cells and cells[-1] is None:
                cells.pop()
            rows.append((number, cells))
        return rows, source._workbook().strings
    finally:
        source.close()


def test_spooled_table_reads_exactly_what_openpyxl_reads(small_spool, tmp_path):
    path = _workbook(tmp_path / "guests.xlsx", 600)
    ours, table = _our_rows(path)
    assert isinstance(table, xlsx_strings.SpooledStrings)
    assert ours == _openpyxl_rows(path)
    assert ours[0][1][:3] == ["Jürgen Müller 1", "guest1@example.fr", "München"]
    assert ours[8][1][5] == "très calme _ ok"  # openpyxl's unescaping of _x005F_
    assert ours[0][1][3] == dt.datetime(2026, 1, 2)


def test_spool_keeps_a_bounded_part_decrypted(small_spool, tmp_path):
    path = _workbook(tmp_path / "guests.xlsx", 600)
    source = open_table(path)
    table = source._workbook().strings
    for _row in source.rows():
        assert dict.__len__(table) <= xlsx_strings.REPEATED_STRINGS
        assert len(table._blocks) <= xlsx_strings.CACHED_BLOCKS
    assert len(table) > 1200  # two new strings a row, and the few repeated ones
    source.close()


def test_spooled_strings_are_encrypted_and_deleted(small_spool, tmp_path):
    path = _workbook(tmp_path / "guests.xlsx", 600)
    source = open_table(path)
    table = source._workbook().strings
    table._file.seek(0)
    raw = table._file.read()
    assert len(raw) > 600 * 20
    for text in ("guest17@example.fr", "Müller", "München", "张伟"):
        assert text.encode() not in raw
        assert text.encode("utf-16-le") not in raw
    spool = table._file
    source.close()
    assert spool.closed


def test_a_spool_changed_on_disk_fails_the_import_and_writes_nothing(
    small_spool, empty_store, tmp_path
):
    path = _workbook(tmp_path / "guests.xlsx", 600)
    source = open_table(path)
    table = source._workbook().strings
    table._file.seek(table._offsets[3] + 5)
    table._file.write(b"\x00\x01\x02")
    with pytest.raises(ImportFileError, match="sheet 'Guests' is damaged"):
        list(source.rows())
    source.close()


def test_a_big_workbook_imports_through_the_spool(small_spool, empty_store, tmp_path):
    path = _workbook(tmp_path / "guests.xlsx", 300)
    report = importing.import_file(empty_store, path, ImportOptions(parallel=False))
    assert report.created == 300 and report.committed
    preview = importing.preview_file(empty_store, path)
    assert preview.headers[:3] == ["Name", "Email", "City"]
    assert preview.rows[1][:3] == ["张伟 2", "guest2@example.fr", "上海"]


def test_a_small_table_stays_a_list(tmp_path):
    path = _workbook(tmp_path / "guests.xlsx", 50)
    _rows, table = _our_rows(path)
    assert isinstance(table, list)
