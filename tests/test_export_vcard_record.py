"""vCards read back with a real vCard parser; a customer's full record as JSON and XLSX."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
import vobject
from openpyxl import load_workbook

from app.services import exporting
from app.services.errors import NotFoundError
from app.services.store import Store
from tests.test_export_helpers import EVIL_FIRST, Sample, build_sample, open_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return build_sample(tmp_path_factory.mktemp("export") / "store")


@pytest.fixture
def store(sample: Sample) -> Iterator[Store]:
    yield from open_sample(sample)


def _cards(path) -> dict[str, vobject.base.Component]:
    text = path.read_bytes().decode("utf-8")
    assert "\r\n" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n")), "lines are folded"
    return {c.uid.value: c for c in vobject.readComponents(text)}


def test_vcards_carry_phones_emails_address_birthday_and_note(store, sample, tmp_path):
    out = tmp_path / "guests.vcf"
    result = exporting.export_vcards(store, out, ids=[sample.zoe, sample.wei, sample.evil])
    assert result.rows == 3
    cards = _cards(out)
    zoe = cards[f"regulars-customer-{sample.zoe}"]
    assert zoe.version.value == "3.0"
    assert zoe.fn.value == "Zoé Lefèvre"
    assert (zoe.n.value.family, zoe.n.value.given) == ("Lefèvre", "Zoé")
    assert [t.value for t in zoe.tel_list] == ["+33 6 52 52 72 72", "+49 1512 3456789"]
    assert [e.value for e in zoe.email_list] == ["zoe@example.org", "zoe.work@example.com"]
    adr = zoe.adr.value
    assert (adr.street, adr.code, adr.city, adr.country) == (
        "12, rue de l'Église; bât. B",
        "75004",
        "Paris",
        "FR",
    )
    assert zoe.bday.value == "1985-04-09"
    # commas and semicolons survive escaping; the alert note is marked
    assert zoe.note.value == "⚠ Allergique aux arachides; grave, très"
    assert zoe.categories.value == ["Habitué·e", "VIP"]
    wei = cards[f"regulars-customer-{sample.wei}"]
    assert wei.fn.value == "张伟" and wei.n.value.family == "张"
    # a long Chinese note is folded across lines without breaking a character
    assert wei.note.value == "喜欢安静的房间，" * 12
    assert "not pinned" not in out.read_text(encoding="utf-8")
    evil = cards[f"regulars-customer-{sample.evil}"]
    assert evil.n.value.given == EVIL_FIRST


def test_vcards_by_tag_and_everyone(store, sample, tmp_path):
    out = tmp_path / "vip.vcf"
    exporting.export_vcards(store, out, tag="VIP")
    assert {c.fn.value for c in _cards(out).values()} == {"Zoé Lefèvre", "张伟"}
    result = exporting.export_vcards(store, out)
    assert result.rows == 4  # everyone live, not the archived guest


def test_vcard_unknown_id_is_refused(store, tmp_path):
    with pytest.raises(NotFoundError, match="9999"):
        exporting.export_vcards(store, tmp_path / "x.vcf", ids=[9999])
    assert list(tmp_path.iterdir()) == []


def test_record_json_holds_everything_about_the_customer(store, sample, tmp_path):
    out = tmp_path / "zoe.json"
    exporting.export_record(store, sample.zoe, out)
    rec = json.loads(out.read_text(encoding="utf-8"))
    assert rec["format"] == "regulars.customer-record" and rec["version"] == 1
    prof = rec["profile"]
    assert (prof["first_name"], prof["last_name"]) == ("Zoé", "Lefèvre")
    assert [p["international"] for p in prof["phones"]] == [
        "+33 6 52 52 72 72",
        "+49 1512 3456789",
    ]
    assert prof["birthday"] == "1985-04-09"
    assert {(r["system"], r["ref"]) for r in prof["external_refs"]} == {
        ("booking.com", "BK-77"),
        ("", "legacy-5"),
    }
    assert rec["tags"] == ["Habitué·e", "VIP"]
    assert len(rec["bookings"]) == 5
    eve = next(b for b in rec["bookings"] if b["id"] == sample.new_year_eve)
    assert eve["start"] == "2025-12-31T23:30:00+01:00"
    assert (eve["price"], eve["paid"], eve["balance"], eve["currency"]) == (
        "200.00",
        "50.00",
        "150.00",
        "EUR",
    )
    assert [p["amount"] for p in rec["payments"]] == ["50.00", "45.10"]  # by date
    assert rec["notes"][0]["alert"] is True and "arachides" in rec["notes"][0]["text"]
    assert rec["messages"][0]["subject"] == "Rappel"
    assert prof["figures"]["total_spent"] == {"EUR": "95.10"}
    history = rec["consent_history"]
    assert [h["event"] for h in history] == [
        "profile created",
        "consent changed",
        "consent changed",
    ]
    assert [h["marketing_consent"] for h in history] == [True, False, True]
    assert [h["consent_method"] for h in history] == ["booking form", "email", "in person"]


def test_record_xlsx_has_a_sheet_per_part(store, sample, tmp_path):
    out = tmp_path / "wei.xlsx"
    exporting.export_record(store, sample.wei, out)
    wb = load_workbook(out)
    assert wb.sheetnames == [
        "Profile",
        "Bookings",
        "Payments",
        "Notes",
        "Tags",
        "Messages",
        "Consent history",
    ]
    profile = {r[0]: r[1] for r in wb["Profile"].iter_rows(min_row=2, values_only=True)}
    assert profile["First name"] == "伟" and profile["Last name"] == "张"
    assert profile["Phones"] == "+86 138 0013 8000"
    bookings = wb["Bookings"]
    assert bookings.freeze_panes == "A2"
    header = [c.value for c in bookings[1]]
    row = {h: c for h, c in zip(header, next(bookings.iter_rows(min_row=2)), strict=True)}
    assert row["Start"].value == dt.datetime(2025, 5, 1, 10, 0) and row["Start"].is_date
    assert row["Price"].value == 1288 and row["Price"].number_format == '#,##0.00 "CNY"'
    assert row["Room"].value == "12" and row["Room"].data_type == "s"
    notes = [r[4] for r in wb["Notes"].iter_rows(min_row=2, values_only=True)]
    assert "喜欢安静的房间，" * 12 in notes
    assert wb["Consent history"].max_row >= 2


def test_record_of_a_formula_named_customer_stays_text(store, sample, tmp_path):
    out = tmp_path / "evil.xlsx"
    exporting.export_record(store, sample.evil, out)
    profile = load_workbook(out)["Profile"]
    cell = next(r[1] for r in profile.iter_rows(min_row=2) if r[0].value == "First name")
    assert cell.value == EVIL_FIRST and cell.data_type == "s"


def test_record_of_unknown_customer(store, tmp_path):
    with pytest.raises(NotFoundError):
        exporting.export_record(store, 4242, tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []
