"""Customer lists read back with csv and openpyxl, as the owner's other tools would."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

import phonenumbers
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from app.services import exporting
from app.services.errors import NotFoundError, ValidationError
from app.services.export_customers import format_e164
from app.services.exporting import CustomerSelection
from app.services.normalize import format_phone
from app.services.store import Store
from app.services.timeutil import local_today
from tests.test_export_helpers import EVIL_FIRST, Sample, build_sample, open_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return build_sample(tmp_path_factory.mktemp("export") / "store")


@pytest.fixture
def store(sample: Sample) -> Iterator[Store]:
    yield from open_sample(sample)


def _csv(path, delimiter=","):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def test_csv_lists_everyone_live_with_every_column(store, sample, tmp_path):
    out = tmp_path / "customers.csv"
    result = exporting.export_customers(store, out)
    rows = _csv(out)
    assert result.rows == len(rows) == 4  # the archived guest is not listed
    by_id = {int(r["id"]): r for r in rows}
    zoe = by_id[sample.zoe]
    assert (zoe["First name"], zoe["Last name"]) == ("Zoé", "Lefèvre")
    assert zoe["Phones"] == "+33 6 52 52 72 72; +49 1512 3456789"
    assert zoe["Emails"] == "zoe@example.org; zoe.work@example.com"
    assert zoe["Language"] == "fr"
    assert zoe["Marketing consent"] == "yes"
    # consent is an instant, shown as the business's date (Paris), not the machine's
    assert zoe["Consent date"] == local_today("Europe/Paris").isoformat()
    assert zoe["Tags"] == "Habitué·e, VIP"
    assert zoe["First contact"] == local_today("Europe/Paris").isoformat()
    assert zoe["Bookings"] == "5"  # the cancelled booking does not count
    assert zoe["Last visit"] == "2025-03-12"
    assert zoe["Spent EUR"] == "95.10"  # 45.10 + the 50.00 deposit
    assert zoe["Spent CNY"] == "" and zoe["Spent JPY"] == ""
    assert zoe["External refs"] == "legacy-5; booking.com: BK-77"
    assert zoe["Street"] == "12, rue de l'Église; bât. B"
    assert (zoe["Postcode"], zoe["City"], zoe["Country"]) == ("75004", "Paris", "FR")
    wei = by_id[sample.wei]
    assert (wei["First name"], wei["Last name"]) == ("伟", "张")
    assert wei["Phones"] == "+86 138 0013 8000"
    assert wei["Spent CNY"] == "500.00" and wei["Spent EUR"] == "50.00"
    evil = by_id[sample.evil]
    assert evil["Spent JPY"] == "10000"
    # a formula-looking name is neutralised for spreadsheet programs (CSV injection)
    assert evil["First name"] == "'" + EVIL_FIRST
    assert evil["Last name"] == "'@SUM(1+1)"


@pytest.mark.parametrize(("given", "char"), [(";", ";"), ("tab", "\t"), ("|", "|")])
def test_csv_delimiter_is_selectable(store, tmp_path, given, char):
    out = tmp_path / "c.csv"
    exporting.export_customers(store, out, delimiter=given)
    rows = _csv(out, char)
    assert {r["Last name"] for r in rows} >= {"Lefèvre", "张", "Müller"}


def test_bad_delimiter_and_extension_are_refused_without_a_file(store, tmp_path):
    with pytest.raises(ValidationError, match="delimiter"):
        exporting.export_customers(store, tmp_path / "c.csv", delimiter="x")
    with pytest.raises(ValidationError, match=r"c\.txt.*\.xlsx or \.csv"):
        exporting.export_customers(store, tmp_path / "c.txt")
    assert list(tmp_path.iterdir()) == []


def test_selection_by_tag_query_ids_and_archived(store, sample, tmp_path):
    out = tmp_path / "c.csv"
    exporting.export_customers(store, out, CustomerSelection(tag="vip"))
    assert {int(r["id"]) for r in _csv(out)} == {sample.zoe, sample.wei}
    exporting.export_customers(store, out, CustomerSelection(query="lefevre"))
    assert [int(r["id"]) for r in _csv(out)] == [sample.zoe]
    # the window's own order is kept
    exporting.export_customers(store, out, CustomerSelection(ids=[sample.wei, sample.zoe]))
    assert [int(r["id"]) for r in _csv(out)] == [sample.wei, sample.zoe]
    exporting.export_customers(store, out, CustomerSelection(include_archived=True))
    assert sample.archived in {int(r["id"]) for r in _csv(out)}
    with pytest.raises(NotFoundError, match="no tag named 'Nope'"):
        exporting.export_customers(store, out, CustomerSelection(tag="Nope"))


def test_xlsx_values_types_formats_and_layout(store, sample, tmp_path):
    out = tmp_path / "customers.xlsx"
    result = exporting.export_customers(store, out)
    assert result.details["currencies"] == ["EUR", "CNY", "JPY"]
    ws = load_workbook(out)["Customers"]
    header = [c.value for c in ws[1]]
    assert header[:12] == [
        "id", "First name", "Last name", "Emails", "Phones", "Language",
        "Marketing consent", "Consent date", "Tags", "First contact", "Bookings", "Last visit",
    ]  # fmt: skip
    assert header[12:15] == ["Spent EUR", "Spent CNY", "Spent JPY"]
    assert ws.freeze_panes == "A2"
    assert len(header) == 21
    assert ws.auto_filter.ref == f"A1:U{result.rows + 1}"
    widths = [ws.column_dimensions[get_column_letter(i)].width for i in range(1, 22)]
    assert all(6 <= w <= 45 for w in widths)
    assert widths[header.index("Emails")] >= len("zoe.work@example.com")
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    zoe = rows[sample.zoe]
    col = {name: i for i, name in enumerate(header)}
    assert isinstance(zoe[col["id"]].value, int)
    assert zoe[col["First name"]].value == "Zoé"
    assert zoe[col["Consent date"]].value == dt.datetime.combine(
        local_today("Europe/Paris"), dt.time()
    )
    assert zoe[col["Consent date"]].is_date
    assert zoe[col["Last visit"]].value == dt.datetime(2025, 3, 12)
    assert zoe[col["Bookings"]].value == 5
    spent = zoe[col["Spent EUR"]]
    assert spent.value == pytest.approx(95.10, abs=0) and spent.data_type == "n"
    assert spent.number_format == '#,##0.00 "EUR"'
    wei = rows[sample.wei]
    assert wei[col["Last name"]].value == "张" and wei[col["First name"]].value == "伟"
    assert wei[col["Spent CNY"]].value == 500
    assert wei[col["Spent CNY"]].number_format == '#,##0.00 "CNY"'
    evil = rows[sample.evil]
    assert evil[col["Spent JPY"]].number_format == '#,##0 "JPY"'
    # the name is text in the sheet, never a formula
    assert evil[col["First name"]].value == EVIL_FIRST
    assert evil[col["First name"]].data_type == "s"


def test_cancelled_export_leaves_no_file_and_keeps_the_old_one(store, tmp_path):
    out = tmp_path / "customers.xlsx"
    out.write_bytes(b"yesterday's good export")
    with pytest.raises(exporting.ExportCancelled):
        exporting.export_customers(store, out, cancelled=lambda: True)
    assert out.read_bytes() == b"yesterday's good export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.xlsx"]


def test_missing_folder_is_a_clear_error(store, tmp_path):
    with pytest.raises(exporting.ExportError, match=r"folder .*nowhere.* does not exist"):
        exporting.export_customers(store, tmp_path / "nowhere" / "c.csv")


def test_progress_reaches_the_total(store, tmp_path):
    seen = []
    exporting.export_customers(
        store, tmp_path / "c.xlsx", progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (4, 4)


def test_fast_phone_formatting_matches_format_phone_everywhere():
    numbers = ["+390612345678", "+3900012345", "+33652527272", "+8613800138000", "+1", "+0123"]
    numbers += ["+4915123456789", "+447911123456", "+2250701020304", "not a number", ""]
    kinds = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE)
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(phonenumbers.format_number(example, PhoneNumberFormat.E164))
    assert len(numbers) > 600
    assert [format_e164(n) for n in numbers] == [format_phone(n) for n in numbers]
