"""The encrypted store: schema from migrations, pragmas, nothing readable on disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from app.models import Base
from app.services import bookings, customers, datadir, notes, vault
from app.services.customers import CustomerInput
from app.services.store import StoreError, open_store
from tests.conftest import PASSPHRASE


def test_migrated_schema_equals_the_models(empty_store):
    from app.models.search_index import is_search_index_table

    with empty_store.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_object": lambda o, name, type_, r, c: (
                    not (type_ == "table" and is_search_index_table(name))
                )
            },
        )
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_merge_links_are_found_through_the_partial_index(empty_store):
    """Deleting a customer looks for profiles merged into it (ON DELETE SET NULL): with the
    index of merged profiles only, that lookup must still not read every customer row."""
    with empty_store.engine.connect() as conn:
        plan = " ".join(
            r[-1]
            for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM customer WHERE merged_into_id = 7"
            )
        )
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_customer_merged_into_id'"
        ).scalar()
        names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master")}
    assert "USING COVERING INDEX ix_customer_merged_into_id" in plan
    assert "WHERE merged_into_id IS NOT NULL" in sql
    assert "ix_customer_display_name" not in names


def test_connection_pragmas(empty_store):
    with empty_store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA temp_store")).scalar() == 2  # MEMORY
        assert conn.execute(text("PRAGMA secure_delete")).scalar() == 1
        assert conn.execute(text("PRAGMA cipher_version")).scalar().startswith("4.")


def test_database_file_is_not_plain_sqlite(empty_store):
    path = datadir.db_path(empty_store.data_dir)
    assert not path.read_bytes().startswith(b"SQLite format 3")
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(path).execute("SELECT * FROM sqlite_master").fetchall()


PLANTED = [
    "Quixotrix",
    "Zebulonovna",
    "Ægidiusz",
    "龘靐齉",
    "+33 6 98 76 54 31",
    "zanzibar.quokka@example.org",
    "Xyloallergie",
]


def _all_bytes(directory: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in directory.rglob("*") if p.is_file()]


def test_no_customer_data_in_plaintext_anywhere(empty_store):
    c = customers.add_customer(
        empty_store,
        CustomerInput(
            first_name="Quixotrix",
            last_name="Zebulonovna Ægidiusz",
            phones=["+33 6 98 76 54 31"],
            emails=["zanzibar.quokka@example.org"],
        ),
    )
    customers.add_customer(empty_store, CustomerInput(first_name="齉", last_name="龘靐"))
    notes.add_note(empty_store, c.id, "Xyloallergie: no pollen", alert=True)
    bookings.record_booking(
        empty_store,
        bookings.BookingInput(
            start="2026-12-01 10:00", customer_id=c.id, special_requests="Quixotrix suite"
        ),
    )
    # while the store is open (WAL and SHM present) and after it closes (checkpointed)
    for phase in ("open", "closed"):
        if phase == "closed":
            empty_store.close()
        files = _all_bytes(empty_store.data_dir)
        assert any(p.name.endswith(".db") for p, _ in files)
        for needle in [*PLANTED, "Quixotrix".lower(), "98765431", "0698765431"]:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                raw = needle.encode(encoding)
                for path, content in files:
                    assert raw not in content, f"{needle!r} found in {path.name} ({phase})"


def test_wrong_key_never_creates_a_new_store(empty_store):
    directory = empty_store.data_dir
    empty_store.close()
    before = datadir.db_path(directory).read_bytes()
    with pytest.raises(StoreError):
        open_store(directory, b"\x01" * 32)
    assert datadir.db_path(directory).read_bytes() == before


def test_reopen_with_passphrase_keeps_data(empty_store):
    c = customers.add_customer(empty_store, CustomerInput(first_name="Hélène", last_name="Noël"))
    directory = empty_store.data_dir
    empty_store.close()
    store = open_store(directory, vault.unlock(directory, passphrase=PASSPHRASE))
    try:
        assert customers.get_profile(store, c.id).display_name == "Hélène Noël"
    finally:
        store.close()
