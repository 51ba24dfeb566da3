"""The import's fast paths write and show exactly what the general paths would."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, text

from app.models import Booking, Customer, search_index
from app.services import customers, importing, search
from app.services import import_cleaning as cl
from app.services.import_rows import number_views, phone_views
from app.services.importing import ImportOptions, _BulkInsert
from tests.test_import import dump, write


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("06 52 52 72 72", "FR"),
        ("+33 6 52 52 72 72", "DE"),
        ("06 52 52 72 72 ext. 12", "FR"),
        ("0151 23456789", "DE"),
        ("06 1234 5678", "IT"),  # Italian leading zero
        ("(415) 555-2671", "US"),
        ("138 0013 8000", "CN"),
        ("020 7946 0958", "GB"),
        ("33652527272", "DE"),  # a '+' a spreadsheet ate
        (4915123456789.0, "DE"),
    ],
)
def test_phone_forms_from_the_cleaned_number_equal_those_from_e164(typed, region):
    phone, number = cl.clean_phone_number(typed, region)
    assert cl.clean_phone(typed, region) == phone
    assert number_views(phone.e164, number) == phone_views(phone.e164)


def test_bulk_insert_writes_what_a_core_insert_writes(empty_store):
    now = dt.datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
    customer = {
        "first_name": "Zoé",
        "last_name": "Lefèvre",
        "display_name": "Zoé Lefèvre",
        "sort_name": "lefevre zoe",
        "birthday": dt.date(1985, 4, 9),
        "marketing_consent": True,
        "consent_at": now,
        "created_at": now,
        "updated_at": now,
        "booking_count": 1,
        "no_show_count": 0,
        "lifetime_value": {"EUR": 24000},
        "tag_names": "VIP",
    }
    booking = {
        "start_at": dt.datetime(2024, 5, 1, 15, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "end_at": None,
        "status": "completed",
        "price_minor": 24000,
        "currency": "EUR",
        "kind": "stay",
        "created_at": now,
        "updated_at": now,
    }
    writer = _BulkInsert()
    with empty_store.engine.begin() as conn:
        conn.execute(insert(Customer), [dict(customer, id=1)])
        writer.insert(conn, Customer.__table__, [dict(customer, id=2)])
        conn.execute(insert(Booking), [dict(booking, id=1, customer_id=1)])
        writer.insert(conn, Booking.__table__, [dict(booking, id=2, customer_id=2)])
    with empty_store.engine.connect() as conn:
        for table, key in (("customer", "id"), ("booking", "customer_id")):
            rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY {key}")).mappings().all()
            one, two = ({k: v for k, v in r.items() if k not in ("id", key)} for r in rows)
            assert one == two


def _schema(store) -> list[tuple]:
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT type, name, sql FROM sqlite_master ORDER BY name")).all()


def _fts_ok(store) -> None:
    """FTS5's own check of an external-content index against its documents."""
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))


def _guests(n: int) -> str:
    lines = ["First name,Last name,Phone,Email,City"]
    for i in range(n):
        lines.append(
            f"Zoé{i},Lefèvre,+33 6 40 {i // 100:02d} {i % 100:02d} 11,zoe{i}@example.org,Lyon"
        )
    lines.append("伟,张,+86 139 1234 5678,,上海")
    return "\n".join(lines)


def test_imported_customers_are_found_at_once_and_undo_restores_exactly(demo_store, tmp_path):
    before, schema = dump(demo_store), _schema(demo_store)
    path = write(tmp_path / "g.csv", _guests(40))
    dry = importing.import_file(demo_store, path, ImportOptions(dry_run=True))
    assert dry.created == 41 and _schema(demo_store) == schema and dump(demo_store) == before
    report = importing.import_file(demo_store, path)
    assert report.batch and report.created == 41, report.to_json()
    assert _schema(demo_store) == schema
    _fts_ok(demo_store)
    assert [h.display_name for h in search.search(demo_store, "zoé17 lefèvre")][:1] == [
        "Zoé17 Lefèvre"
    ]
    assert search.search(demo_store, "40001711")  # phone digits
    assert search.search(demo_store, "e39@exa")  # an email fragment: the trigram index
    assert "张伟" in {h.display_name for h in search.search(demo_store, "zhang wei")}
    # an ordinary write afterwards is indexed as always
    added = customers.add_customer(
        demo_store, customers.CustomerInput(first_name="Oskar", last_name="Wunderlich")
    )
    assert [h.id for h in search.search(demo_store, "wunderl")] == [added.id]
    customers.delete_customer(demo_store, added.id)
    importing.undo_import(demo_store, report.batch)
    _fts_ok(demo_store)
    assert not search.search(demo_store, "zoe17")
    assert dump(demo_store) == before and _schema(demo_store) == schema


def test_import_writes_the_index_a_rebuild_writes(empty_store, tmp_path):
    importing.import_file(empty_store, write(tmp_path / "g.csv", _guests(30)))
    found = {q: search.search(empty_store, q) for q in ("zoe2", "lefev", "640002", "e29@", "张")}
    imported = dump(empty_store)["search_doc"]
    with empty_store.engine.begin() as conn:
        search_index.rebuild(conn)
    _fts_ok(empty_store)
    assert dump(empty_store)["search_doc"] == imported
    for q, hits in found.items():
        assert hits, q
        again = search.search(empty_store, q)
        assert [h.display_name for h in again] == [h.display_name for h in hits], q


def _automerge(store) -> list[list]:
    with store.engine.connect() as conn:
        return [
            conn.execute(text(f"SELECT v FROM {t}_config WHERE k = 'automerge'")).all()
            for t in ("search_fts", "search_word")
        ]


def test_an_import_merges_the_index_less_often_only_while_it_runs(empty_store, tmp_path):
    seen = []
    original = importing._Run._apply

    def watching(run, rows):
        # what the import's own transaction sees
        seen.append(
            run.conn.execute(
                text("SELECT v FROM search_word_config WHERE k = 'automerge'")
            ).scalar()
        )
        return original(run, rows)

    path = write(tmp_path / "g.csv", _guests(30))
    before = _automerge(empty_store)
    assert before != [[(search_index.BULK_AUTOMERGE,)]] * 2
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(importing._Run, "_apply", watching)
        importing.import_file(empty_store, path, ImportOptions(dry_run=True))
        assert seen and set(seen) == {search_index.BULK_AUTOMERGE}
        assert _automerge(empty_store) == before  # rolled back with the dry run
        importing.import_file(empty_store, path)
    assert _automerge(empty_store) == [[(4,)], [(4,)]]  # FTS5's default again
    _fts_ok(empty_store)


def test_helper_process_reads_a_workbook_and_stops_when_cancelled(
    empty_store, tmp_path, monkeypatch
):
    import multiprocessing

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Gäste"
    ws.append(["Vorname", "Nachname", "Telefon", "Geburtstag"])
    for i in range(60):
        ws.append([f"Jürgen{i}", "Müller", f"06 12 34 56 {i:02d}", dt.date(1970, 1, 1 + i % 28)])
    ws.append(["Bad", "Row", "12", None])
    path = tmp_path / "gaeste.xlsx"
    wb.save(path)
    serial = importing.import_file(empty_store, path, ImportOptions(dry_run=True))
    monkeypatch.setattr(importing, "PARALLEL_MIN_ROWS", 1)
    monkeypatch.setattr(importing, "CHUNK", 10)
    monkeypatch.setattr(importing, "FIRST_CHUNK", 5)
    stopped = importing.import_file(
        empty_store, path, ImportOptions(parallel=True, skip_bad_rows=True), cancelled=lambda: True
    )
    assert stopped.cancelled and stopped.batch is None
    assert customers.count_customers(empty_store) == 0
    assert not multiprocessing.active_children()
    done = importing.import_file(
        empty_store, path, ImportOptions(parallel=True, skip_bad_rows=True)
    )
    assert done.batch and done.created == serial.created == 60
    assert [p.to_json() for p in done.problems] == [p.to_json() for p in serial.problems]
    assert customers.count_customers(empty_store) == 60
    assert not multiprocessing.active_children()


def test_a_helper_started_early_for_a_file_that_turns_out_small_is_stopped(
    empty_store, tmp_path, monkeypatch
):
    import multiprocessing

    monkeypatch.setattr(importing, "PARALLEL_MIN_BYTES", 1)  # every file looks big…
    monkeypatch.setattr(importing, "PARALLEL_MIN_ROWS", 1000)  # …until it is counted
    path = write(tmp_path / "g.csv", _guests(20))
    report = importing.import_file(empty_store, path, ImportOptions(parallel=True))
    assert report.batch and report.created == 21, report.to_json()
    assert not multiprocessing.active_children()


def test_cleaned_rows_reach_the_writer_whole_and_each_keeps_its_typed_phone():
    import pickle

    from app.services.import_mapping import ColumnMapping, Profile
    from app.services.import_rows import RowCleaner, Settings

    headers = ["Name", "Phone", "Email", "Tags", "Notes", "Arrival", "Room", "Price", "Consent"]
    fields = [
        "full_name",
        "phone",
        "email",
        "tags",
        "notes",
        "booking_start",
        "room",
        "price",
        "marketing_consent",
    ]
    cleaner = RowCleaner(
        [
            ColumnMapping(i, h, f, "header")
            for i, (h, f) in enumerate(zip(headers, fields, strict=True))
        ],
        Settings("FR", "EUR", "Europe/Paris", "guesthouse"),
        Profile("generic"),
        {5: "dmy"},
    )
    cells = [
        "HÃ©lÃ¨ne ROUX",
        "06 52 52 72 72; +33 1 42 68 53 00",
        "Helene@Example.ORG",
        "VIP, Stammgast",
        "Allergie aux noix\nlate arrival",
        "15/03/2024",
        "Lavande",
        "240,00 €",
        "non",
    ]
    row = cleaner.clean(2, cells)
    again = cleaner.clean(3, cells)  # the same guest, a second stay
    typed_apart = cleaner.clean(4, ["Hélène Roux", "+33652527272"])
    assert (row.first, row.last) == ("Hélène", "Roux")  # mojibake repaired, re-cased
    assert [p.raw for p in row.phones] == ["06 52 52 72 72", "+33 1 42 68 53 00"]
    assert [p.raw for p in typed_apart.phones] == ["+33652527272"]
    assert typed_apart.phones[0].e164 == row.phones[0].e164 == "+33652527272"
    assert row.phone_views["+33652527272"] == ("+33 6 52 52 72 72", ["33652527272", "0652527272"])
    assert row.phone_views == again.phone_views
    assert row.phone_views["+33652527272"][1] is not again.phone_views["+33652527272"][1]
    row.warn("Phone", "checked")  # the writer adds its own problems to a row
    back = pickle.loads(pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == row
    assert back.consent is False and back.booking["price_minor"] == 24000
    assert back.tags == ["VIP", "Stammgast"] and back.notes == ["Allergie aux noix\nlate arrival"]
    assert [p.message for p in back.problems] == ["checked"]
    empty = pickle.loads(pickle.dumps(cleaner.clean(5, ["Ana Lima"])))
    empty.error("", "no phone")  # its empty lists are its own, not shared
    assert not cleaner.clean(6, ["Ana Lima"]).problems
