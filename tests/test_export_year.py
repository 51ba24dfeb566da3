"""The accountant's yearly workbook, read back with openpyxl and recalculated by LibreOffice."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.services import exporting
from app.services.errors import ValidationError
from app.services.store import Store
from tests.test_export_helpers import BUSINESS, Sample, build_sample, open_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return build_sample(tmp_path_factory.mktemp("export") / "store")


@pytest.fixture
def store(sample: Sample) -> Iterator[Store]:
    yield from open_sample(sample)


@pytest.fixture
def year_2025(store, tmp_path):
    out = tmp_path / "2025.xlsx"
    return out, exporting.export_year(store, 2025, out)


def _rows(ws, first=4):
    return [r for r in ws.iter_rows(min_row=first, values_only=True)]


def test_bookings_sheet_lists_the_local_calendar_year(year_2025, sample):
    out, result = year_2025
    wb = load_workbook(out)
    assert wb.sheetnames == ["Summary", "Bookings", "Payments"]
    ws = wb["Bookings"]
    assert ws["A1"].value == f"{BUSINESS} — Bookings 2025"
    assert "Cancelled and no-show bookings are listed but not counted in revenue" in ws["A2"].value
    assert [c.value for c in ws[3]] == [
        "Booking", "Date", "Customer", "Room or service", "Staff", "Location", "Channel",
        "Status", "Price", "Currency", "Paid", "Balance",
    ]  # fmt: skip
    assert ws.freeze_panes == "A4"
    assert ws.auto_filter.ref == f"A3:L{3 + result.details['bookings']}"
    rows = {r[0]: r for r in _rows(ws)}
    # 23:30 on New Year's Eve in Paris is 2025; 00:30 on New Year's Day is not (though it is
    # still 2025 in UTC)
    assert sample.new_year_eve in rows and sample.new_year_day not in rows
    eve = rows[sample.new_year_eve]
    assert eve[1] == dt.datetime(2025, 12, 31, 23, 30)
    assert eve[7:] == ("confirmed", 200, "EUR", 50, 150)
    statuses = {r[7] for r in rows.values()}
    assert {"cancelled", "no-show", "completed", "confirmed"} <= statuses
    assert result.details["bookings"] == 9
    # real dates and money cells with the currency's own format
    cells = {r[0].value: r for r in ws.iter_rows(min_row=4)}
    first = cells[min(cells)]
    assert first[1].is_date and first[1].number_format == "yyyy-mm-dd hh:mm"
    assert first[8].number_format == '#,##0.00 "EUR"' and first[8].value == 45.1
    jpy = next(r for r in cells.values() if r[9].value == "JPY")
    assert jpy[8].number_format == '#,##0 "JPY"' and jpy[8].value == 10000
    assert jpy[3].value == "Cut*Colour?"
    customers = {r[2] for r in rows.values()}
    assert {"Zoé Lefèvre", "张伟", "Jürgen Müller"} <= customers


def test_payments_sheet_holds_payments_received_in_the_year(year_2025):
    out, result = year_2025
    ws = load_workbook(out)["Payments"]
    assert [c.value for c in ws[3]] == [
        "Date", "Customer", "Booking", "Method", "Amount", "Currency", "Reference",
    ]  # fmt: skip
    rows = _rows(ws)
    assert len(rows) == result.details["payments"] == 5  # the 2024 deposit is not here
    by_ref = {r[6]: r for r in rows if r[6]}
    assert by_ref["WX-1"][1:6] == ("张伟", by_ref["WX-1"][2], "transfer", 500, "CNY")
    assert all(isinstance(r[0], dt.datetime) for r in rows)


def test_app_totals_never_mix_currencies_and_skip_void_bookings(year_2025):
    _out, result = year_2025
    totals = result.details["totals"]
    assert set(totals) == {"EUR", "CNY", "JPY"}
    eur = totals["EUR"]["total"]
    # 45.10 + 0.10 + 0.20 + 200.00 + 50.00; not the cancelled 120.00 nor the no-show 99.99
    assert eur["revenue"] == 29540
    assert eur["bookings"] == 5 and eur["void"] == 2
    assert eur["payments"] == 4510 + 3000 + 5000
    assert eur["outstanding"] == 10 + 20 + 15000
    assert totals["CNY"]["total"]["revenue"] == 128800
    assert totals["CNY"]["total"]["outstanding"] == 78800
    assert totals["JPY"]["total"]["revenue"] == 10000
    items = totals["EUR"]["by_item"]
    assert items["Garden Suite"] == {"bookings": 3, "revenue": 24520}
    # names differing in case are different rooms, in the app and in the sheet (EXACT)
    assert items["lavande"] == {"bookings": 1, "revenue": 5000}
    assert items["Lavande"] == {"bookings": 0, "revenue": 0}


def test_summary_is_formulas_with_formats_and_the_note(year_2025):
    out, result = year_2025
    ws = load_workbook(out)["Summary"]
    assert ws["A1"].value == f"{BUSINESS} — 2025"
    text = " ".join(str(c.value) for row in ws["A1:A3"] for c in row)
    assert "excluded from revenue" in text and "never added together" in text
    expected = result.details["summary_values"]
    assert len(expected) > 60
    for coord, value in expected.items():
        cell = ws[coord]
        assert isinstance(cell.value, str) and cell.value.startswith("="), coord
        if isinstance(value, Decimal):
            assert cell.number_format.endswith('"EUR"') or cell.number_format.endswith(
                ('"CNY"', '"JPY"')
            )
    formulas = " ".join(ws[c].value for c in expected)
    assert "SUMIFS(" in formulas and "COUNTIFS(" in formulas and "SUMPRODUCT(" in formulas
    # month labels are real dates
    months = [r[0] for r in ws.iter_rows(values_only=True) if isinstance(r[0], dt.datetime)]
    assert months[:12] == [dt.datetime(2025, m, 1) for m in range(1, 13)]


def test_formulas_carry_the_apps_values_for_viewers_that_do_not_recalculate(year_2025):
    out, result = year_2025
    ws = load_workbook(out, data_only=True)["Summary"]
    expected = result.details["summary_values"]
    cached = {coord: ws[coord].value for coord in expected}
    assert cached == {c: (v if isinstance(v, int) else float(v)) for c, v in expected.items()}


def _without_cached_results(src, dst) -> int:
    """Copy the workbook with every formula's cached result removed; returns how many."""
    count = 0
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                text, n = re.subn(r"(</f>)<v>[^<]*</v>", r"\1", data.decode("utf-8"))
                data, count = text.encode("utf-8"), count + n
            zout.writestr(item, data)
    return count


def test_a_year_without_activity_still_gives_a_clean_workbook(store, tmp_path):
    out = tmp_path / "1999.xlsx"
    result = exporting.export_year(store, 1999, out)
    assert result.rows == 0
    ws = load_workbook(out)["Summary"]
    assert any(
        "No bookings or payments in 1999" in str(r[0]) for r in ws.iter_rows(values_only=True)
    )


def test_bad_year_and_extension(store, tmp_path):
    with pytest.raises(ValidationError, match="year"):
        exporting.export_year(store, 12, tmp_path / "x.xlsx")
    with pytest.raises(ValidationError, match=r"\.xlsx"):
        exporting.export_year(store, 2025, tmp_path / "x.csv")


def test_cancel_midway_leaves_nothing(store, tmp_path, monkeypatch):
    monkeypatch.setattr("app.services.export_files.STEP", 2)
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 2

    out = tmp_path / "2025.xlsx"
    with pytest.raises(exporting.ExportCancelled):
        exporting.export_year(store, 2025, out, cancelled=cancelled)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice (soffice) is not installed: cannot recalculate the workbook",
)
def test_libreoffice_recalculates_every_total_to_the_apps_value(year_2025, tmp_path):
    out, result = year_2025
    # The file carries the app's values as the formulas' cached results; LibreOffice may
    # trust those rather than recalculate, so it gets a copy without them and must work
    # every total out from the Bookings and Payments sheets itself.
    bare = tmp_path / "no-cached-values" / out.name
    bare.parent.mkdir()
    stripped = _without_cached_results(out, bare)
    assert stripped == len(result.details["summary_values"])
    out = bare
    converted = tmp_path / "recalculated"
    profile = tmp_path / "lo-profile"
    proc = subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(converted),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    ws = load_workbook(converted / out.name, data_only=True)["Summary"]
    expected = result.details["summary_values"]
    got = {coord: ws[coord].value for coord in expected}
    wrong = {c: (float(v), got[c]) for c, v in expected.items() if got[c] != float(v)}
    assert not wrong, f"LibreOffice disagrees with the app: {wrong}"
    # spot checks a reader would do by eye
    eur_total_revenue = next(
        c for c, v in expected.items() if v == Decimal("295.40") and c.startswith("D")
    )
    assert got[eur_total_revenue] == 295.4
