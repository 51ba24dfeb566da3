"""Backups: round trip, the real `age` and `sqlite3` tools, every bad input, disk full."""

from __future__ import annotations

import errno
import functools
import hashlib
import io
import shutil
import subprocess
from pathlib import Path

import pyrage
import pytest
from pyrage import x25519

from app.models import migrate, search_index
from app.services import backup, customers, notes, restore, vault
from app.services import backup_format as fmt
from app.services.customers import CustomerInput
from app.services.store import Store, open_store
from tests.conftest import PASSPHRASE

NEW_PASS = "a new passphrase for the restored store"


def _kit(store: Store, tmp_path: Path) -> Path:
    """A recovery kit file for ``store`` (the fixture's kit is not kept, so make a new one)."""
    kit = vault.new_recovery_kit(
        store.data_dir, vault.unlock(store.data_dir, passphrase=PASSPHRASE)
    )
    path = tmp_path / "kit.txt"
    path.write_text(kit.text("Chez Zoé"), encoding="utf-8")
    return path


def _dump_rows(directory: Path, key: bytes) -> dict[str, list[tuple]]:
    store = open_store(directory, key)
    try:
        raw = store.engine.raw_connection()
        cur = raw.driver_connection.cursor()
        names = [
            r[0]
            for r in cur.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE 'customer_search_%' "
                # FTS5 shadow tables record how the index was written (one segment per
                # statement), not the customers: search_doc (compared) holds what both
                # full-text indexes are built from, and search tests check the restored one
                "AND name NOT LIKE 'search_word_%' AND name NOT LIKE 'search_fts_%'"
            )
        ]
        out = {}
        for name in names:
            cols = "rowid, names, phones, emails" if name == "customer_search" else "*"
            out[name] = sorted(cur.execute(f'SELECT {cols} FROM "{name}"').fetchall(), key=repr)
        schema = cur.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "ORDER BY type, name"
        ).fetchall()
        out["__schema__"] = schema
        raw.close()
        return out
    finally:
        store.close()


def _fingerprint(directory: Path) -> dict[str, str]:
    """Every file under the data directory with its SHA-256: 'byte for byte unchanged'."""
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def rich_store(demo_store: Store) -> Store:
    zoe = customers.add_customer(
        demo_store,
        CustomerInput(
            first_name="Zoé",
            last_name="Lefèvre",
            phones=["06 52 52 72 72"],
            emails=["zoe@example.org"],
            tags=["VIP"],
        ),
    )
    customers.add_customer(demo_store, CustomerInput(first_name="Jürgen", last_name="Groß"))
    customers.add_customer(demo_store, CustomerInput(first_name="伟", last_name="张"))
    notes.add_note(
        demo_store, zoe.id, "Allergic to PPD — l'été\nsecond line;\r\nthird 'quoted'", alert=True
    )
    return demo_store


def test_round_trip_restores_every_row(rich_store, tmp_path):
    kit = _kit(rich_store, tmp_path)
    out = tmp_path / "backups" / "b.age"
    out.parent.mkdir()
    result = backup.create_backup(rich_store, out)
    assert result.checked and out.exists()
    assert result.counts["customer"] == 303
    original_key = vault.unlock(rich_store.data_dir, passphrase=PASSPHRASE)
    rich_store.close()
    before = _dump_rows(rich_store.data_dir, original_key)

    target = tmp_path / "new-machine"
    restored = restore.restore_backup(out, target, recovery_key=str(kit), new_passphrase=NEW_PASS)
    assert restored.safety_copy is None
    assert restored.counts["customer"] == 303
    after = _dump_rows(target, vault.unlock(target, passphrase=NEW_PASS))
    assert after == before
    # the new kit opens the restored store; the old one does not
    assert vault.unlock(target, recovery_key=restored.kit.identity)
    with pytest.raises(vault.WrongSecretError):
        vault.unlock(target, recovery_key=str(kit))
    from app.services import search

    store = open_store(target, vault.unlock(target, passphrase=NEW_PASS))
    try:
        names = [h.display_name for h in search.search(store, "lefevre")]
        assert "Zoé Lefèvre" in names
        assert "Jürgen Groß" in [h.display_name for h in search.search(store, "jurgen")]
        # the word index (email parts, phone numbers) is rebuilt too
        for typed in ("@example.org", "zoe@", "0652", "7272"):
            assert "Zoé Lefèvre" in [h.display_name for h in search.search(store, typed)]
    finally:
        store.close()


def test_real_age_and_sqlite3_read_a_backup_with_only_the_kit(rich_store, tmp_path):
    if not shutil.which("age") or not shutil.which("sqlite3"):
        pytest.skip("age and sqlite3 command-line tools are not installed")
    kit = _kit(rich_store, tmp_path)
    out = tmp_path / "b.age"
    backup.create_backup(rich_store, out)
    plain = tmp_path / "plain.db"
    age = subprocess.run(["age", "-d", "-i", str(kit), str(out)], capture_output=True, check=True)
    load = subprocess.run(["sqlite3", str(plain)], input=age.stdout, capture_output=True)
    assert load.returncode == 0 and load.stderr == b"", load.stderr
    query = subprocess.run(
        [
            "sqlite3",
            str(plain),
            "SELECT count(*) FROM customer; "
            "SELECT body FROM note WHERE body LIKE 'Allergic%'; "
            "SELECT display_name FROM customer WHERE last_name IN ('Groß', '张') ORDER BY 1;",
        ],
        capture_output=True,
        check=True,
    )
    stdout = query.stdout.decode("utf-8")
    lines = stdout.splitlines()
    assert lines[0] == "303"
    assert "Allergic to PPD — l'été\nsecond line;" in stdout and "third 'quoted'" in stdout
    assert "Jürgen Groß" in lines and "张伟" in lines
    # the manifest is the first line
    assert age.stdout.startswith(b"-- regulars-backup {")


def test_backup_passphrase_opens_through_its_companion_file(rich_store, tmp_path):
    out = tmp_path / "b.age"
    result = backup.create_backup(rich_store, out, passphrase="backup words 42")
    assert result.passphrase_file == tmp_path / "b.age.passphrase"
    checked = backup.verify_backup(out, passphrase="backup words 42")
    assert checked.customers == 303 and checked.integrity == "ok"
    with pytest.raises(backup.BackupSecretError, match="wrong backup passphrase"):
        backup.verify_backup(out, passphrase="not the words")
    # the companion is a plain age passphrase file holding an identity for the backup
    identity = pyrage.passphrase.decrypt(result.passphrase_file.read_bytes(), "backup words 42")
    if shutil.which("age"):
        (tmp_path / "id.txt").write_bytes(identity)
        dec = subprocess.run(
            ["age", "-d", "-i", str(tmp_path / "id.txt"), str(out)], capture_output=True
        )
        assert dec.returncode == 0 and dec.stdout.startswith(b"-- regulars-backup")
    result.passphrase_file.unlink()
    with pytest.raises(backup.BackupSecretError, match="no passphrase file"):
        backup.verify_backup(out, passphrase="backup words 42")


def test_snapshot_is_consistent_while_the_app_writes(rich_store, tmp_path):
    kit = _kit(rich_store, tmp_path)
    out = tmp_path / "b.age"
    added = []

    def write_meanwhile(done: int, total: int) -> None:
        if not added:  # another connection commits while the dump is running
            added.append(customers.add_customer(rich_store, CustomerInput(first_name="Late")))

    result = backup.create_backup(rich_store, out, progress=write_meanwhile)
    assert added and result.counts["customer"] == 303
    assert customers.count_customers(rich_store) == 304
    assert backup.verify_backup(out, recovery_key=str(kit)).counts["customer"] == 303


def test_restore_keeps_the_replaced_store_as_a_safety_copy(rich_store, tmp_path):
    kit = _kit(rich_store, tmp_path)
    out = tmp_path / "b.age"
    backup.create_backup(rich_store, out)
    customers.add_customer(rich_store, CustomerInput(first_name="After", last_name="Backup"))
    directory = rich_store.data_dir
    rich_store.close()
    result = restore.restore_backup(out, directory, recovery_key=str(kit), new_passphrase=NEW_PASS)
    assert result.safety_copy is not None and result.safety_copy.parent == directory
    old = open_store(result.safety_copy, vault.unlock(result.safety_copy, passphrase=PASSPHRASE))
    new = open_store(directory, vault.unlock(directory, passphrase=NEW_PASS))
    try:
        assert customers.count_customers(old) == 304
        assert customers.count_customers(new) == 303
    finally:
        old.close()
        new.close()
    assert not list(directory.glob(".restore-*"))


def test_restore_progress_runs_once_to_the_end_and_a_cancel_while_indexing_leaves_nothing(
    rich_store, tmp_path, monkeypatch
):
    # the index is rebuilt 50 customers at a time, as a big store is 5,000 at a time
    monkeypatch.setattr(search_index, "rebuild", functools.partial(search_index.rebuild, chunk=50))
    kit = _kit(rich_store, tmp_path)
    out = tmp_path / "b.age"
    backup.create_backup(rich_store, out)
    target = tmp_path / "new-machine"
    seen: list[tuple[int, int]] = []
    prepared = restore.prepare_restore(
        out,
        target,
        recovery_key=str(kit),
        new_passphrase=NEW_PASS,
        progress=lambda d, t: seen.append((d, t)),
    )
    restore.discard(prepared)
    fractions = [d / t for d, t in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1  # one bar, never backwards
    assert any(0.6 < f < 1 for f in fractions)  # the index rebuild moves it too
    # Cancel pressed once the backup is loaded, while the search index is being rebuilt
    pressed = []

    def cancel_when_indexing(done: int, total: int) -> None:
        if done / total > 0.6:
            pressed.append(True)

    with pytest.raises(backup.BackupCancelledError):
        restore.prepare_restore(
            out,
            target,
            recovery_key=str(kit),
            new_passphrase=NEW_PASS,
            progress=cancel_when_indexing,
            cancelled=lambda: bool(pressed),
        )
    assert not list(target.glob(".restore-*")) and not (target / "regulars.db").exists()


# ---------------------------------------------------------------- bad input


def _reencrypt(src: Path, dst: Path, kit: Path, edit) -> None:
    identity = x25519.Identity.from_str(vault.parse_recovery_key(str(kit)))
    plain = pyrage.decrypt(src.read_bytes(), [identity])
    dst.write_bytes(pyrage.encrypt(edit(plain), [identity.to_public()]))


def _bad_inputs(good: Path, kit: Path, tmp: Path) -> dict[str, tuple[Path, dict, type, str]]:
    data = good.read_bytes()
    cases: dict[str, tuple[Path, dict, type, str]] = {}
    trunc = tmp / "truncated.age"
    trunc.write_bytes(data[: len(data) - 3000])
    cases["truncated"] = (trunc, {}, backup.DamagedBackupError, "incomplete")
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0x10
    flip = tmp / "flipped.age"
    flip.write_bytes(bytes(flipped))
    cases["bit-flipped"] = (flip, {}, backup.DamagedBackupError, "damaged")
    junk = tmp / "holiday.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 not a backup at all" * 100)
    cases["not a backup"] = (junk, {}, backup.NotABackupError, "not a Regulars backup")
    other = tmp / "other.age"
    identity = x25519.Identity.from_str(vault.parse_recovery_key(str(kit)))
    other.write_bytes(pyrage.encrypt(b"hello, just some text\n", [identity.to_public()]))
    cases["age file, not a backup"] = (
        other,
        {},
        backup.DamagedBackupError,
        "does not start with a Regulars backup header",
    )
    newer = tmp / "newer.age"
    _reencrypt(
        good,
        newer,
        kit,
        lambda p: p.replace(
            f'"schema_revision": "{migrate.head_revision()}"'.encode(),
            b'"schema_revision": "9999_future"',
            1,
        ),
    )
    cases["newer schema"] = (newer, {}, backup.NewerBackupError, "newer Regulars")
    wrong_kit = x25519.Identity.generate()
    cases["wrong kit"] = (
        good,
        {"recovery_key": str(wrong_kit)},
        backup.BackupSecretError,
        "does not open",
    )
    cases["wrong passphrase"] = (
        good,
        {"recovery_key": None, "backup_passphrase": "guess"},
        backup.BackupSecretError,
        "wrong backup passphrase",
    )
    return cases


def test_bad_inputs_give_specific_messages_and_leave_the_store_unchanged(rich_store, tmp_path):
    kit = _kit(rich_store, tmp_path)
    good = tmp_path / "good.age"
    backup.create_backup(rich_store, good, passphrase="backup words 42")
    directory = rich_store.data_dir
    rich_store.close()
    before = _fingerprint(directory)
    for name, (path, secrets, error, words) in _bad_inputs(good, kit, tmp_path).items():
        kwargs = {"recovery_key": str(kit), **secrets}
        with pytest.raises(error) as caught:
            restore.restore_backup(path, directory, new_passphrase=NEW_PASS, **kwargs)
        assert words in str(caught.value), (name, str(caught.value))
        with pytest.raises(error):
            backup.verify_backup(
                path,
                recovery_key=kwargs["recovery_key"],
                passphrase=kwargs.get("backup_passphrase"),
            )
        assert _fingerprint(directory) == before, name
    # and the good file still restores
    restore.restore_backup(good, directory, recovery_key=str(kit), new_passphrase=NEW_PASS)


def test_disk_full_leaves_older_backups_intact(rich_store, tmp_path, monkeypatch):
    folder = tmp_path / "usb"
    folder.mkdir()
    older = backup.create_backup(rich_store, folder / "older.age").path
    older_bytes = older.read_bytes()

    class FullDisk(io.RawIOBase):
        def __init__(self, real):
            self.real = real
            self.left = 100_000

        def write(self, data):
            if len(data) > self.left:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.left -= len(data)
            return self.real.write(data)

        def flush(self):
            self.real.flush()

        def fileno(self):
            return self.real.fileno()

        def close(self):
            super().close()  # flushes first
            self.real.close()

    real_open = backup._open_partial
    monkeypatch.setattr(backup, "_open_partial", lambda p: FullDisk(real_open(p)))
    with pytest.raises(backup.DiskFullError, match=r"full.*older backups are untouched"):
        backup.create_backup(rich_store, folder / "newer.age")
    assert sorted(p.name for p in folder.iterdir()) == ["older.age"]
    assert older.read_bytes() == older_bytes


def test_a_backup_that_fails_its_own_check_is_removed_and_reported(
    rich_store, tmp_path, monkeypatch
):
    class BadStick(io.RawIOBase):
        """A USB stick that silently flips a bit: only re-reading the backup can tell."""

        def __init__(self, real):
            self.real = real
            self.pos = 0

        def write(self, data):
            data = bytearray(data)
            if self.pos <= 70_000 < self.pos + len(data):
                data[70_000 - self.pos] ^= 1
            self.pos += len(data)
            return self.real.write(bytes(data))

        def flush(self):
            self.real.flush()

        def fileno(self):
            return self.real.fileno()

        def close(self):
            super().close()  # flushes first
            self.real.close()

    real_open = backup._open_partial
    monkeypatch.setattr(backup, "_open_partial", lambda p: BadStick(real_open(p)))
    with pytest.raises(backup.BackupError, match="failed its own check and was removed"):
        backup.create_backup(rich_store, tmp_path / "b.age")
    assert not (tmp_path / "b.age").exists()


def test_cancel_leaves_nothing(rich_store, tmp_path):
    folder = tmp_path / "usb"
    folder.mkdir()
    with pytest.raises(backup.BackupCancelledError):
        backup.create_backup(rich_store, folder / "b.age", cancelled=lambda: True)
    assert list(folder.iterdir()) == []


def test_missing_folder_is_named(rich_store, tmp_path):
    with pytest.raises(backup.BackupError, match="does not exist"):
        backup.create_backup(rich_store, tmp_path / "gone" / "b.age")


def test_format_literals_round_trip_through_sqlite():
    import sqlite3

    values = [None, 0, -5, 2**62, 0.1, 1e300, "", "l'été", "a\nb\r\nc", "张伟", b"\x00\xff"]
    conn = sqlite3.connect(":memory:")
    literal = ",".join(fmt._literal(v) for v in values)
    assert "\n" not in literal
    assert list(conn.execute(f"SELECT {literal}").fetchone()) == values
