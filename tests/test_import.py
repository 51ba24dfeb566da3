"""Importing customers and bookings: every format, encoding and export, matching, undo."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text

from app.services import audit, customers, importing
from app.services import settings as settings_svc
from app.services.errors import ServiceError
from app.services.import_readers import ImportFileError
from app.services.importing import ImportOptions
from app.services.store import Store

HEADER_FR = "Prénom;Nom;Téléphone;Email;Date de naissance;Notes"
ROWS_FR = [
    "Zoé;Lefèvre;06 11 22 72 72;zoe.lefevre@gmail.com;09/04/1985;Préfère le thé",
    "Jürgen;Müller;+49 151 23456789;j.mueller@web.de;23/11/1970;",
    "伟;张;+86 138 0013 8000;zhangwei88@qq.com;01/02/1990;喜欢安静的房间",
]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def write_raw(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def by_name(store: Store) -> dict[str, customers.CustomerProfile]:
    with store.reader() as s:
        ids = [r[0] for r in s.execute(text("SELECT id FROM customer ORDER BY id"))]
    out = {}
    for cid in ids:
        p = customers.get_profile(store, cid)
        out[p.display_name] = p
    return out


def dump(store: Store) -> dict[str, list]:
    """Every table except the bookkeeping of imports and the audit trail, row by row."""
    out = {}
    with store.engine.connect() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text(
                    # the FTS5 shadow tables hold segment bytes that differ after any
                    # delete + insert, and search_fuzzy is a typo vocabulary that only
                    # grows; the index's own rows are compared (search_doc, from which
                    # the word index is written)
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE "
                    "'sqlite_%' AND name NOT LIKE 'search_fts%' AND name != 'search_fuzzy' "
                    "AND name NOT LIKE 'search_word%' "
                    "AND name NOT IN ('import_batch', 'audit_event', 'alembic_version')"
                )
            )
        ]
        for table in sorted(tables):
            rows = conn.execute(text(f"SELECT * FROM {table}")).all()
            out[table] = sorted(tuple(str(v) for v in r) for r in rows)
    return out


# ---------------------------------------------------------------- encodings and formats


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030"])
def test_csv_in_each_encoding_round_trips_french_german_chinese(empty_store, tmp_path, encoding):
    path = write(tmp_path / "c.csv", "\r\n".join([HEADER_FR, *ROWS_FR]) + "\r\n", encoding)
    report = importing.import_file(empty_store, path)
    assert report.batch is not None and report.created == 3, report.to_json()
    people = by_name(empty_store)
    assert set(people) == {"Zoé Lefèvre", "Jürgen Müller", "张伟"}
    assert people["张伟"].notes[0]["body"] == "喜欢安静的房间"
    assert people["Zoé Lefèvre"].phones[0].e164 == "+33611227272"
    assert people["Zoé Lefèvre"].phones[0].raw == "06 11 22 72 72"
    assert people["Jürgen Müller"].birthday == dt.date(1970, 11, 23)


def test_cp1252_csv_with_comma_and_tab_delimiters(empty_store, tmp_path):
    rows = ["First Name\tLast Name\tPhone", "Zoé\tLefèvre\t0611227272", "Anaïs\tCœur\t0652527272"]
    path = write(tmp_path / "tab.csv", "\n".join(rows), "cp1252")
    report = importing.import_file(empty_store, path)
    assert report.encoding == "cp1252" and report.created == 2
    assert set(by_name(empty_store)) == {"Zoé Lefèvre", "Anaïs Cœur"}


def test_mangled_text_all_caps_and_particles_are_repaired(empty_store, tmp_path):
    rows = [
        "Name,Phone,E-mail",
        "ZoÃ© LefÃ¨vre,+33 6 11 22 72 72,",
        "JEAN-PIERRE DE LA FONTAINE,06 52 52 72 72,",
        "o'neill mcdonald,+44 7400 123456,",
        "DUPONT Marie,07 81 22 33 44,",
        "ludwig van beethoven,+49 151 11122233,",
    ]
    path = write(tmp_path / "m.csv", "\n".join(rows))
    importing.import_file(empty_store, path)
    names = set(by_name(empty_store))
    assert "Zoé Lefèvre" in names
    assert "Jean-Pierre de la Fontaine" in names
    assert "O'Neill McDonald" in names
    assert "Marie Dupont" in names
    assert "Ludwig van Beethoven" in names


def test_xlsx_with_sheet_choice_excel_serials_and_numeric_phones(empty_store, tmp_path):
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["nothing here"])
    ws = wb.create_sheet("Clients")
    ws.append(["Vorname", "Nachname", "Handy", "Geburtstag", "Kunde seit", "Preis", "Termin"])
    ws.append(["Jürgen", "Müller", 4915123456789, dt.datetime(1970, 11, 23), 44927, 85.5, None])
    ws.append(["Anna", "Schmidt", "0151 9876 5432", "1982-05-17", "2023-01-01", None, None])
    wb.save(path)
    with pytest.raises(ImportFileError, match="no sheet 'Kunden'"):
        importing.import_file(empty_store, path, ImportOptions(sheet="Kunden"))
    report = importing.import_file(
        empty_store, path, ImportOptions(sheet="Clients", default_region="DE")
    )
    assert report.created == 2, report.to_json()
    people = by_name(empty_store)
    assert people["Jürgen Müller"].phones[0].e164 == "+4915123456789"
    assert people["Jürgen Müller"].first_contact == dt.date(2023, 1, 1)  # serial 44927
    assert people["Anna Schmidt"].birthday == dt.date(1982, 5, 17)


VCARDS = """BEGIN:VCARD
VERSION:4.0
FN:Zoé Lefèvre
N:Lefèvre;Zoé;;;
TEL;TYPE=cell;VALUE=uri:tel:+33-6-11-22-72-72
EMAIL;TYPE=home:zoe@example.org
BDAY:19850409
ADR;TYPE=home:;;12 rue des Lilas;Lyon;;69003;France
NOTE:Allergic to nuts
CATEGORIES:VIP,Regular
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:张伟
N:张;伟;;;
TEL;TYPE=CELL:+86 138 0013 8000
TEL;TYPE=HOME:+86 10 1234 5678
item1.EMAIL;type=INTERNET:zw@qq.com
BDAY:--0315
END:VCARD
"""


def test_vcard_3_and_4_with_many_cards(empty_store, tmp_path):
    path = write(tmp_path / "contacts.vcf", VCARDS.replace("\n", "\r\n"))
    report = importing.import_file(empty_store, path)
    assert report.created == 2, report.to_json()
    people = by_name(empty_store)
    zoe = people["Zoé Lefèvre"]
    assert zoe.city == "Lyon" and zoe.postcode == "69003" and zoe.country == "FR"
    assert zoe.birthday == dt.date(1985, 4, 9)
    assert zoe.tags == ["Regular", "VIP"]
    assert [p.e164 for p in people["张伟"].phones] == ["+8613800138000", "+861012345678"]
    assert any("no year" in p.message for p in report.problems)


def _vcards(n: int) -> str:
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoé Lefèvre {i}\r\nN:Lefèvre {i};Zoé;;;\r\n"
        "TEL;TYPE=CELL:+33 6 11 {a:02d} {b:02d} {c:02d}\r\nEMAIL:zoe{i}@example.org\r\n"
        "NOTE:{note}\r\nEND:VCARD\r\n"
    )
    return "".join(
        card.format(i=i, a=i // 10000, b=i // 100 % 100, c=i % 100, note="x" * 400)
        for i in range(n)
    )


def test_vcard_file_is_read_one_card_at_a_time(tmp_path):
    import tracemalloc

    from app.services.import_readers import open_table

    def peak(n: int) -> int:
        source = open_table(write(tmp_path / f"{n}.vcf", _vcards(n)))
        assert source.estimated_rows == n
        tracemalloc.start()
        assert sum(1 for _ in source.rows()) == n
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top

    # a whole-file read holds every card at once: four times the cards, four times the peak
    small, big = peak(500), peak(2000)
    assert big < small * 1.5, (small, big)


def test_vcard_cut_short_names_the_card_and_writes_nothing(empty_store, tmp_path):
    cut = _vcards(3)
    cut = cut[: cut.rindex("END:VCARD")]  # the third card loses its end
    path = write(tmp_path / "cut.vcf", cut)
    with pytest.raises(
        ImportFileError, match=r"cut\.vcf: contact card 3 \(from line 17\) has no END"
    ):
        importing.import_file(empty_store, path, ImportOptions(skip_bad_rows=True))
    assert by_name(empty_store) == {}


# ---------------------------------------------------------------- real-looking exports


GOOGLE = (
    "Name,Given Name,Additional Name,Family Name,Birthday,Notes,Group Membership,"
    "E-mail 1 - Type,E-mail 1 - Value,Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,"
    "Phone 2 - Value\n"
    "Jean Pierre Dupont,Jean,Pierre,Dupont,1975-06-02,,* myContacts ::: Friends,* Home,"
    "jp.dupont@orange.fr,Mobile,06 52 52 72 72 ::: +33 1 44 55 66 77,Work,\n"
)
OUTLOOK = (
    '"First Name","Middle Name","Last Name","E-mail Address","E-mail Display Name",'
    '"Mobile Phone","Home Phone","Business Fax","Birthday","Categories"\n'
    '"Sophie","","Martin","sophie.martin@free.fr","Sophie Martin (sophie.martin@free.fr)",'
    '"07 81 22 33 44","","01 23 45 67 89","3/25/1990","VIP"\n'
)
BOOKING_COM = (
    "Book number,Booked by,Guest name(s),Check-in,Check-out,Booked on,Status,Rooms,People,"
    "Price,Commission amount,Remarks,Booker country,Phone number\n"
    '4012345678,"Schmidt, Anna",Anna Schmidt,2024-03-15,2024-03-18,2024-01-02 10:11:12,ok,'
    'Garden Suite,2,"360 EUR",54 EUR,Late arrival,de,+49 151 23456789\n'
    "4012345679,Tom Baker,Tom Baker,2024-04-01,2024-04-02,2024-02-02 10:00:00,"
    "cancelled_by_guest,Attic Room,1,95 EUR,0 EUR,,gb,+44 7400 123456\n"
)
AIRBNB = (
    "Confirmation code,Status,Guest name,Contact,# of adults,Start date,End date,"
    "# of nights,Booked,Listing,Earnings\n"
    "HMABC12345,Past guest,Mei Lin,+86 138 0013 8001,2,03/15/2024,03/18/2024,3,"
    "01/10/2024,Lavande,€420.00\n"
    "HMABC12346,Confirmed,Mei Lin,+86 138 0013 8001,2,12/20/2099,12/22/2099,2,"
    "01/10/2024,Lavande,€280.00\n"
)


def test_google_contacts_export(empty_store, tmp_path):
    report = importing.import_file(empty_store, write(tmp_path / "g.csv", GOOGLE))
    assert report.profile == "google" and report.created == 1
    p = by_name(empty_store)["Jean Pierre Dupont"]
    assert [x.e164 for x in p.phones] == ["+33652527272", "+33144556677"]
    assert p.tags == ["Friends"]
    assert "E-mail 1 - Type" in report.unmapped_columns


def test_outlook_export_reads_month_first_dates_and_skips_fax(empty_store, tmp_path):
    report = importing.import_file(empty_store, write(tmp_path / "o.csv", OUTLOOK))
    assert report.created == 1, report.to_json()
    p = by_name(empty_store)["Sophie Martin"]
    assert p.birthday == dt.date(1990, 3, 25)
    assert [x.e164 for x in p.phones] == ["+33781223344"]
    assert "Business Fax" in report.unmapped_columns
    assert "E-mail Display Name" in report.unmapped_columns


def test_booking_com_export_creates_guests_with_stays(empty_store, tmp_path):
    settings_svc.set_value(empty_store, "timezone", "Europe/Paris")
    path = write(tmp_path / "bookingcom.csv", BOOKING_COM)
    report = importing.import_file(empty_store, path)
    assert report.created == 2 and report.bookings_created == 2, report.to_json()
    people = by_name(empty_store)
    anna = people["Anna Schmidt"]
    stay = anna.bookings[0]
    assert stay["room"] == "Garden Suite" and stay["price_minor"] == 36000
    assert stay["channel"] == "booking.com" and stay["status"] == "completed"
    assert stay["party_size"] == 2 and stay["external_ref"] == "4012345678"
    # check-in at 15:00 Paris time
    assert stay["start_at"] == dt.datetime(2024, 3, 15, 14, 0, tzinfo=dt.UTC)
    assert anna.country == "DE"
    assert people["Tom Baker"].bookings[0]["status"] == "cancelled"
    # importing the same export again adds nothing
    again = importing.import_file(empty_store, path)
    assert again.created == 0 and again.bookings_created == 0
    assert any("already in the store" in p.message for p in again.problems)


def test_airbnb_export_one_guest_two_stays_month_first(empty_store, tmp_path):
    report = importing.import_file(empty_store, write(tmp_path / "airbnb.csv", AIRBNB))
    assert report.created == 1 and report.bookings_created == 2, report.to_json()
    mei = by_name(empty_store)["Mei Lin"]
    assert [b["status"] for b in mei.bookings] == ["completed", "confirmed"]
    assert mei.bookings[0]["price_minor"] == 42000
    assert mei.figures["booking_count"] == 2
    assert report.date_orders["Start date"] == "mdy"


# ---------------------------------------------------------------- matching


def test_rows_update_existing_customers_and_earlier_rows(demo_store, tmp_path):
    before = customers.count_customers(demo_store)
    rows = [
        "First name,Last name,Phone,Email,City,Notes",
        # the demo's Jean-Pierre Dupont (+33652527272): fills the city, adds an email
        "Jean-Pierre,DUPONT,+33 6 52 52 72 72,jp.new@example.org,Lyon,",
        # a new guest, then the same guest again by email with a second phone
        "Aïcha,Benali,06 99 88 77 66,aicha@example.org,,",
        "Aicha,Benali,07 88 77 66 55,AICHA@example.org,,Likes jasmine tea",
        # a conflicting first name is reported, not written
        "Zoey,Lefèvre,+33 6 11 22 72 72,,,",
    ]
    report = importing.import_file(demo_store, write(tmp_path / "u.csv", "\n".join(rows)))
    assert report.created == 1 and report.updated == 1, report.to_json()
    assert customers.count_customers(demo_store) == before + 1
    jp = customers.get_profile(demo_store, 1)
    assert jp.city == "Lyon" and jp.last_name == "Dupont"
    assert "jp.new@example.org" in [e.address for e in jp.emails]
    people = by_name(demo_store)
    aicha = people["Aïcha Benali"]
    assert [p.e164 for p in aicha.phones] == ["+33699887766", "+33788776655"]
    assert aicha.notes[0]["body"] == "Likes jasmine tea"
    conflicts = [p for p in report.problems if "conflict" in p.message]
    assert conflicts and conflicts[0].row == 5 and "Zoé" in conflicts[0].message
    assert customers.get_profile(demo_store, 4).first_name == "Zoé"


def test_match_by_external_ref(empty_store, tmp_path):
    first = write(tmp_path / "a.csv", "Customer ID,Name,City\nC-17,Hélène Roux,Nantes\n")
    importing.import_file(empty_store, first)
    second = write(tmp_path / "b.csv", "Customer ID,Name,Phone\nC-17,Hélène Roux,0611223344\n")
    report = importing.import_file(empty_store, second)
    assert report.created == 0 and report.updated == 1
    p = by_name(empty_store)["Hélène Roux"]
    assert p.city == "Nantes" and p.phones[0].e164 == "+33611223344"


def test_placeholders_and_relay_addresses(empty_store, tmp_path):
    rows = [
        "Name,Email,Phone,Birthday",
        "Nina Petit,test@test.com,N/A,-",
        "Paul Roy,paul.4411@guest.booking.com,none,",
    ]
    report = importing.import_file(empty_store, write(tmp_path / "p.csv", "\n".join(rows)))
    assert report.created == 2 and not report.has_errors, report.to_json()
    people = by_name(empty_store)
    assert people["Nina Petit"].emails == [] and people["Nina Petit"].phones == []
    assert people["Paul Roy"].emails[0].is_relay


def test_mixed_dates_decided_per_column_and_reported(empty_store, tmp_path):
    rows = [
        "Name,Birthday,Customer since",
        "Ana Lima,25/12/1980,03/04/2020",
        "Bo Chen,1979-02-01,05/06/2021",
        "Cy Ode,19850709,",
    ]
    report = importing.import_file(empty_store, write(tmp_path / "d.csv", "\n".join(rows)))
    people = by_name(empty_store)
    assert people["Ana Lima"].birthday == dt.date(1980, 12, 25)
    assert people["Bo Chen"].birthday == dt.date(1979, 2, 1)
    assert people["Cy Ode"].birthday == dt.date(1985, 7, 9)
    assert people["Ana Lima"].first_contact == dt.date(2020, 4, 3)
    ambiguous = [p for p in report.problems if p.column == "Customer since"]
    assert ambiguous and "ambiguous" in ambiguous[0].message
    mdy = importing.import_file(
        empty_store,
        write(tmp_path / "e.csv", "Name,Customer since\nDi Fox,03/04/2020\n"),
        ImportOptions(date_order="mdy"),
    )
    assert mdy.created == 1
    assert by_name(empty_store)["Di Fox"].first_contact == dt.date(2020, 3, 4)


# ---------------------------------------------------------------- safety


def test_dry_run_reports_and_writes_nothing(demo_store, tmp_path):
    before = dump(demo_store)
    rows = ["Name,Phone", "Jean-Pierre Dupont,06 52 52 72 72", "New Person,0611998877"]
    report = importing.import_file(
        demo_store, write(tmp_path / "x.csv", "\n".join(rows)), ImportOptions(dry_run=True)
    )
    assert report.batch is None and report.created == 1 and report.updated == 0
    assert report.unchanged == 1
    assert dump(demo_store) == before


def test_bad_row_means_nothing_unless_skip_bad_rows(empty_store, tmp_path):
    rows = ["Name,Phone,Email", "Good One,0611223344,", "Bad Two,12,", "Bad Three,,x@"]
    path = write(tmp_path / "bad.csv", "\n".join(rows))
    report = importing.import_file(empty_store, path)
    assert report.batch is None and report.skipped == 2
    assert customers.count_customers(empty_store) == 0
    errors = [(p.row, p.column) for p in report.problems if p.severity == "error"]
    assert errors == [(3, "Phone"), (4, "Email")]
    skipped = importing.import_file(empty_store, path, ImportOptions(skip_bad_rows=True))
    assert skipped.batch is not None and skipped.created == 1 and skipped.skipped == 2
    assert customers.count_customers(empty_store) == 1


def _truncated_xlsx(tmp_path: Path) -> Path:
    full = tmp_path / "full.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["Name", "Phone"])
    for i in range(200):
        wb.active.append([f"Person {i}", f"06112233{i % 100:02d}"])
    wb.save(full)
    data = full.read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    return cut


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: write(p / "empty.csv", ""), "is empty"),
        (lambda p: write_raw(p / "bin.csv", bytes(range(256)) * 50), "binary"),
        (_truncated_xlsx, "damaged or truncated"),
        (lambda p: write(p / "long.csv", "a," * (5 * 1024 * 1024)), "no line break"),
        (lambda p: write(p / "head.csv", "Name,Phone\n"), "no rows"),
        (lambda p: write(p / "pdf.csv", "%PDF-1.7\n..."), "PDF"),
        (lambda p: write(p / "blank.csv", "   \n\n  \n"), "no text"),
    ],
)
def test_files_that_are_not_what_they_claim(demo_store, tmp_path, make, message):
    before = dump(demo_store)
    path = make(tmp_path)
    with pytest.raises(ImportFileError, match=message):
        importing.import_file(demo_store, path)
    assert dump(demo_store) == before


def test_not_a_zip_named_xlsx_and_xls(empty_store, tmp_path):
    fake = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    with pytest.raises(ImportFileError, match=r"not a readable \.xlsx"):
        importing.import_file(empty_store, fake)
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(ImportFileError, match="old Excel"):
        importing.import_file(empty_store, xls)


def test_cancel_writes_nothing(empty_store, tmp_path):
    rows = ["Name,Phone"] + [f"Person {i},+3361122{i:04d}" for i in range(5000)]
    path = write(tmp_path / "big.csv", "\n".join(rows))
    seen = []
    report = importing.import_file(
        empty_store,
        path,
        progress=lambda d, t: seen.append((d, t)),
        cancelled=lambda: bool([s for s in seen if s[0]]),
    )
    assert report.cancelled and report.batch is None
    assert customers.count_customers(empty_store) == 0


def test_undo_restores_the_store_exactly(demo_store, tmp_path):
    before_dump = dump(demo_store)
    before_profiles = {cid: customers.get_profile(demo_store, cid).to_dict() for cid in (1, 2, 4)}
    rows = [
        "First name,Last name,Phone,Email,City,Tags,Notes,Arrival,Departure,Room,Price",
        "Jean-Pierre,Dupont,06 52 52 72 72,jp.2@example.org,Lyon,Imported VIP,Firm pillow,"
        "2024-05-01,2024-05-03,Lavande,240",
        "Zoé,Lefèvre,+33 6 11 22 72 72,,,Regular,,2024-06-01,2024-06-02,Olivier,120",
        "Nouveau,Client,06 12 34 56 78,nc@example.org,Paris,,Allergie,2024-07-01,2024-07-04,"
        "Tilleul,300",
    ]
    report = importing.import_file(demo_store, write(tmp_path / "u.csv", "\n".join(rows)))
    assert report.batch and report.created == 1 and report.updated == 2, report.to_json()
    assert dump(demo_store) != before_dump
    result = importing.undo_import(demo_store, report.batch)
    assert result.customers_deleted == 1 and result.bookings_deleted == 3
    assert dump(demo_store) == before_dump
    for cid, profile in before_profiles.items():
        assert customers.get_profile(demo_store, cid).to_dict() == profile
    with pytest.raises(Exception, match="already undone"):
        importing.undo_import(demo_store, report.batch)


def test_undo_after_a_merge_with_an_imported_customer_is_refused_until_the_merge_is_undone(
    demo_store, tmp_path
):
    from app.services import merging

    before_dump = dump(demo_store)
    path = write(
        tmp_path / "n.csv",
        "Name,Phone,Arrival,Departure,Room,Price\n"
        "Nouveau Client,06 12 34 56 78,2024-07-01,2024-07-04,Tilleul,300\n",
    )
    report = importing.import_file(demo_store, path)
    new_id = by_name(demo_store)["Nouveau Client"].id
    bookings_of_4 = len(customers.get_profile(demo_store, 4).bookings)
    assert bookings_of_4
    # the imported customer kept as the survivor: customer 4's own bookings now live on it
    outcome = merging.merge(demo_store, new_id, [4])
    with pytest.raises(ServiceError, match=rf"#{new_id}.*merge.*undo that merge first"):
        importing.undo_import(demo_store, report.batch)
    merged_view = customers.get_profile(demo_store, new_id)
    assert len(merged_view.bookings) == bookings_of_4 + 1  # nothing was deleted
    merging.unmerge(demo_store, outcome.merge_id)
    importing.undo_import(demo_store, report.batch)
    assert len(customers.get_profile(demo_store, 4).bookings) == bookings_of_4
    after = dump(demo_store)
    del after["merge_record"], before_dump["merge_record"]  # the merge and its undoing stay
    assert after == before_dump


def test_undo_keeps_later_staff_edits(demo_store, tmp_path):
    path = write(tmp_path / "c.csv", "Name,Phone,City\nJean-Pierre Dupont,06 52 52 72 72,Lyon\n")
    report = importing.import_file(demo_store, path)
    customers.edit_customer(demo_store, 1, customers.CustomerInput(city="Marseille"))
    result = importing.undo_import(demo_store, report.batch)
    assert customers.get_profile(demo_store, 1).city == "Marseille"
    assert result.kept_later_changes


def test_an_import_and_its_undo_are_in_the_audit_trail(demo_store, tmp_path):
    """The customer's history says what the import changed and what its undo put back."""
    path = write(
        tmp_path / "h.csv",
        "Name,Phone,Email,City\n"
        "Jean-Pierre Dupont,06 52 52 72 72,jp.new@example.org,Lyon\n"
        "Ana Lima,06 11 22 33 44,,Porto\n",
    )
    report = importing.import_file(demo_store, path)
    assert report.created == 1 and report.updated == 1
    imported = audit.events_for_customer(demo_store, 1)[0]
    assert imported["action"] == "update" and imported["entity"] == "import_batch"
    assert imported["entity_id"] == report.batch
    assert imported["changes"]["city"][1] == "Lyon"
    assert imported["changes"]["emails"] == [None, ["jp.new@example.org"]]
    with demo_store.engine.connect() as conn:
        batch_event = conn.execute(
            text(
                "SELECT action, changes FROM audit_event WHERE entity = 'import_batch'"
                " AND customer_id IS NULL"
            )
        ).one()
    assert batch_event[0] == "import"
    assert json.loads(batch_event[1])["created"] == [None, 1]
    importing.undo_import(demo_store, report.batch)
    undone = audit.events_for_customer(demo_store, 1)[0]
    assert undone["action"] == "undo-import" and undone["changes"]["city"] == ["Lyon", None]
    assert undone["changes"]["emails"] == [["jp.new@example.org"], None]


def test_bookings_an_import_adds_to_a_customer_are_in_the_history(demo_store, tmp_path):
    path = write(
        tmp_path / "b.csv",
        "Name,Phone,Arrival,Departure\n"
        "Jean-Pierre Dupont,06 52 52 72 72,2027-03-01,2027-03-03\n"
        "Jean-Pierre Dupont,06 52 52 72 72,2027-05-10,2027-05-12\n"
        "Ana Lima,06 11 22 33 44,2027-04-01,2027-04-02\n",
    )
    report = importing.import_file(demo_store, path)
    assert report.created == 1 and report.bookings_created == 3
    event = audit.events_for_customer(demo_store, 1)[0]
    assert event["entity"] == "import_batch" and event["changes"]["bookings"] == [None, 2]


def test_map_overrides_and_joined_columns(empty_store, tmp_path):
    rows = ["Col A,Col B,Col C,Tel.", "Jean,Pierre,Martin,0611223344"]
    path = write(tmp_path / "m.csv", "\n".join(rows))
    report = importing.import_file(
        empty_store,
        path,
        ImportOptions(mapping={"Col A": "first_name", "Col B": "first_name", "3": "last_name"}),
    )
    assert report.created == 1 and report.unmapped_columns == [], report.to_json()
    p = by_name(empty_store)["Jean Pierre Martin"]
    assert p.phones[0].e164 == "+33611223344"  # 'Tel.' found by header
    with pytest.raises(Exception, match="not a field"):
        importing.import_file(empty_store, path, ImportOptions(mapping={"Col A": "shoe_size"}))
    with pytest.raises(Exception, match="no column 'Col Z'"):
        importing.import_file(empty_store, path, ImportOptions(mapping={"Col Z": "city"}))


def test_json_summary_shape(empty_store, tmp_path):
    report = importing.import_file(
        empty_store, write(tmp_path / "s.csv", "Name,Shoe size\nAna Lima,38\n")
    )
    data = json.loads(json.dumps(report.to_json()))
    assert list(data) == ["batch", "created", "updated", "skipped", "unmapped_columns", "errors"]
    assert data["unmapped_columns"] == ["Shoe size"] and data["created"] == 1


def test_figures_written_for_new_customers_equal_the_shared_refresh(demo_store, tmp_path):
    rows = [
        "Name,Phone,Email,Tags,Arrival,Departure,Room,Price,Status",
        "Ana Lima,0611220001,ana@example.org,VIP,2024-01-10,2024-01-12,Lavande,240,",
        "Ana Lima,0611220001,,Local,2099-01-10,2099-01-12,Olivier,100,confirmed",
        "Bo Chen,0611220002,Bo@Example.org,,2024-02-01,2024-02-03,Lavande,90,no-show",
        "张伟,+86 139 0013 8000,,Regular,2024-03-01,2024-03-02,Tilleul,500,cancelled",
    ]
    report = importing.import_file(demo_store, write(tmp_path / "f.csv", "\n".join(rows)))
    assert report.created == 3, report.to_json()
    written = dump(demo_store)
    from app.services import tracking

    with demo_store.engine.begin() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM customer"))]
        tracking.refresh_derived(conn, ids)
    assert dump(demo_store) == written


@pytest.mark.parametrize("parallel", [False, True])
def test_a_date_column_is_decided_by_all_its_rows_not_the_first_ones(
    empty_store, tmp_path, monkeypatch, parallel
):
    # the import guesses each date column's order from its first rows and checks the guess
    # against every row; here the first rows could be either, and the last says mm/dd
    monkeypatch.setattr(importing._DateColumns, "FIRST_ROWS", 3)
    monkeypatch.setattr(importing, "PARALLEL_MIN_ROWS", 1)
    # in parallel the writer cleans the first 2 + 3 + 3 rows, the helper the rest: the last
    # row's mm/dd is seen only by the helper's count, which must reach the decision
    monkeypatch.setattr(importing, "FIRST_CHUNK", 2)
    monkeypatch.setattr(importing, "CHUNK", 3)
    rows = ["Name,Birthday,Phone"] + [
        f"Guest{i} Martin,0{i % 9 + 1}/04/1980,+33 6 12 34 56 {i:02d}" for i in range(8)
    ]
    rows.append("Late Comer,12/25/1981,+33 6 12 34 57 00")
    report = importing.import_file(
        empty_store,
        write(tmp_path / "late.csv", "\n".join(rows)),
        ImportOptions(parallel=parallel),
    )
    assert report.created == 9 and report.rows == 9, report.to_json()
    assert report.date_orders == {"Birthday": "mdy"}
    assert not report.problems  # decided by the data: no "ambiguous" warning, none twice
    people = by_name(empty_store)
    assert people["Guest0 Martin"].birthday == dt.date(1980, 1, 4)  # 01/04 read as mm/dd
    assert people["Late Comer"].birthday == dt.date(1981, 12, 25)
    assert len(importing.list_batches(empty_store)) == 1  # the first guess left nothing


def test_cleaning_in_a_helper_process_gives_the_same_import(empty_store, tmp_path, monkeypatch):
    rows = (
        ["Name,Phone,Email,Birthday"]
        + [
            f"Person{i} Test,+33 6 12 34 {i // 100:02d} {i % 100:02d},p{i}@example.org,"
            f"0{i % 9 + 1}/05/1980"
            for i in range(300)
        ]
        + ["Bad Row,12,,"]
    )
    path = write(tmp_path / "many.csv", "\n".join(rows))
    serial = importing.import_file(empty_store, path, ImportOptions(dry_run=True))
    monkeypatch.setattr(importing, "PARALLEL_MIN_ROWS", 1)
    monkeypatch.setattr(importing, "FIRST_CHUNK", 20)  # the writer cleans 120 rows, the
    monkeypatch.setattr(importing, "CHUNK", 50)  # helper the other 181
    parallel = importing.import_file(
        empty_store, path, ImportOptions(skip_bad_rows=True, parallel=True)
    )
    assert parallel.batch and parallel.created == serial.created == 300
    assert [p.to_json() for p in parallel.problems] == [p.to_json() for p in serial.problems]
