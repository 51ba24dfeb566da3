"""Automatic backups: when due, self-check and record, rotation, status, keyring passphrase."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text

from app.services import backup, customers, importing
from app.services import backup_rotation as rot
from app.services import settings as settings_svc
from app.services.customers import CustomerInput

NOW = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)


def _enable(store, folder: Path) -> None:
    settings_svc.set_value(store, "backup_folder", str(folder))
    settings_svc.set_value(store, "auto_backup", True)


def test_not_due_until_enabled_with_a_folder(demo_store, tmp_path):
    assert not rot.auto_backup_due(demo_store, NOW)
    _enable(demo_store, tmp_path)
    assert rot.auto_backup_due(demo_store, NOW)


def test_run_writes_checks_records_and_is_not_due_again_for_a_day(demo_store, tmp_path):
    folder = tmp_path / "usb"
    folder.mkdir()
    _enable(demo_store, folder)
    result = rot.run_auto_backup(demo_store, NOW)
    assert result.checked and result.path == folder / "regulars-20261122-030000.age"
    entry = rot.read_log(demo_store.data_dir)[-1]
    assert entry["ok"] and entry["kind"] == "auto" and entry["counts"]["customer"] == 300
    assert not rot.auto_backup_due(demo_store, NOW + dt.timedelta(hours=2))
    assert rot.auto_backup_due(demo_store, NOW + dt.timedelta(hours=24))
    status = rot.backup_status(demo_store, NOW + dt.timedelta(hours=2))
    assert status.ok and status.last_good_at == NOW


def _age_history(store) -> None:
    """The demo's own changes a day back: a store built in the same second as the backup
    below would otherwise look changed since it (the backup log keeps whole seconds)."""
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET at = datetime(at, '-1 day')"))


def _backed_up_now(store, folder: Path) -> dt.datetime:
    """Automatic backups on, one just made; returns half an hour later."""
    _enable(store, folder)
    _age_history(store)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rot.run_auto_backup(store, now)
    return now + dt.timedelta(minutes=30)


def test_on_quit_runs_again_only_when_something_changed(demo_store, tmp_path):
    later = _backed_up_now(demo_store, tmp_path)
    assert not rot.auto_backup_due(demo_store, later, on_quit=True)
    customers.add_customer(demo_store, CustomerInput(first_name="New", last_name="Guest"))
    # the audit event of the change is stamped after the backup
    assert rot.auto_backup_due(demo_store, later + dt.timedelta(minutes=1), on_quit=True)


def test_on_quit_runs_again_after_an_import_and_after_its_undo(demo_store, tmp_path):
    later = _backed_up_now(demo_store, tmp_path)
    csv_file = tmp_path / "guests.csv"
    csv_file.write_text("Name,Phone\nAna Lima,06 11 22 33 44\n", encoding="utf-8")
    report = importing.import_file(demo_store, csv_file)
    # an import writes outside the ORM session: it must still count as a change
    assert rot.auto_backup_due(demo_store, later + dt.timedelta(minutes=1), on_quit=True)
    second = dt.datetime.now(dt.UTC)
    rot.run_auto_backup(demo_store, second)
    with demo_store.engine.begin() as conn:  # the import, a second older than this backup
        conn.execute(text("UPDATE audit_event SET at = datetime(at, '-1 second')"))
    assert not rot.auto_backup_due(demo_store, second + dt.timedelta(minutes=1), on_quit=True)
    importing.undo_import(demo_store, report.batch)
    assert rot.auto_backup_due(demo_store, second + dt.timedelta(minutes=2), on_quit=True)


def test_missing_folder_is_recorded_and_warned_about(demo_store, tmp_path):
    _enable(demo_store, tmp_path / "unplugged")
    with pytest.raises(backup.BackupError, match="missing"):
        rot.run_auto_backup(demo_store, NOW)
    entry = rot.read_log(demo_store.data_dir)[-1]
    assert not entry["ok"] and "missing" in entry["message"]
    status = rot.backup_status(demo_store, NOW)
    assert status.warning and "missing" in status.warning


def test_status_warns_after_a_week(demo_store, tmp_path):
    assert rot.backup_status(demo_store, NOW).warning == "no backup yet"
    _enable(demo_store, tmp_path)
    rot.run_auto_backup(demo_store, NOW)
    assert rot.backup_status(demo_store, NOW + dt.timedelta(days=6)).ok
    old = rot.backup_status(demo_store, NOW + dt.timedelta(days=8))
    assert old.warning == "last good backup is 8 days old"


def test_a_failed_self_check_is_reported_and_never_counted_good(demo_store, tmp_path, monkeypatch):
    _enable(demo_store, tmp_path)
    rot.run_auto_backup(demo_store, NOW)

    def corrupt_after_writing(path):
        real = open(path, "xb")  # noqa: SIM115 — handed to the caller, closed there

        class Flaky:
            def write(self, data):
                return real.write(bytes(b ^ 1 for b in data[:1]) + data[1:])

            def __getattr__(self, name):
                return getattr(real, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                real.close()

        return Flaky()

    monkeypatch.setattr(backup, "_open_partial", corrupt_after_writing)
    with pytest.raises(backup.BackupError, match="failed its own check"):
        rot.run_auto_backup(demo_store, NOW + dt.timedelta(days=1))
    entries = rot.read_log(demo_store.data_dir)
    assert not entries[-1]["ok"]
    assert rot.last_good(demo_store.data_dir)["at"] == "2026-11-22T03:00:00Z"
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".age"] == [
        "regulars-20261122-030000.age"
    ]
    status = rot.backup_status(demo_store, NOW + dt.timedelta(days=1))
    assert status.warning.startswith("last backup failed")


def test_rotation_keeps_7_daily_4_weekly_12_monthly():
    # one backup a day (two on some days) for two years
    start = dt.datetime(2024, 11, 23, 3, 0, tzinfo=dt.UTC)
    moments = [start + dt.timedelta(days=i) for i in range(730)]
    moments += [start + dt.timedelta(days=i, hours=12) for i in range(0, 730, 5)]
    keep = rot.to_keep(moments)
    newest = max(moments)
    days = {m.date() for m in keep if newest - m < dt.timedelta(days=7)}
    assert len(days) == 7
    weeks = {m.isocalendar()[:2] for m in keep}
    months = {(m.year, m.month) for m in keep}
    assert len(months) == 12
    assert len(weeks) >= 4
    assert len(keep) <= 7 + 4 + 12
    # the newest of each day is the one kept
    assert newest in keep
    assert max(m for m in moments if m.date() == newest.date()) in keep


def test_rotate_removes_backups_and_their_passphrase_files(tmp_path):
    for i in range(30):
        at = NOW - dt.timedelta(days=i)
        (tmp_path / rot.backup_name(at)).write_bytes(b"x")
        (tmp_path / (rot.backup_name(at) + backup.PASSPHRASE_SUFFIX)).write_bytes(b"y")
    (tmp_path / "holiday.jpg").write_bytes(b"not ours")
    removed = rot.rotate(tmp_path, NOW)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert "holiday.jpg" in left
    kept = [n for n in left if n.endswith(".age")]
    assert len(kept) + len(removed) == 30
    assert all(n + backup.PASSPHRASE_SUFFIX in left for n in kept)
    assert len(kept) == len(rot.to_keep([NOW - dt.timedelta(days=i) for i in range(30)]))


def test_passphrase_from_the_keyring_is_used(demo_store, tmp_path, memory_keyring):
    _enable(demo_store, tmp_path)
    backup.remember_passphrase(demo_store.data_dir, "kept in the keyring")
    result = rot.run_auto_backup(demo_store, NOW)
    assert result.passphrase_file is not None
    assert backup.verify_backup(result.path, passphrase="kept in the keyring").customers == 300


def test_no_keyring_means_no_remembered_passphrase(demo_store):
    assert backup.remembered_passphrase(demo_store.data_dir) is None
    with pytest.raises(Exception, match="keyring"):
        backup.remember_passphrase(demo_store.data_dir, "x")


def test_leftovers_of_a_killed_backup_are_cleaned_after_an_hour(tmp_path):
    import os
    import time

    old = tmp_path / ".regulars-20261122-030000.age.1a2b3c4d.partial"
    fresh = tmp_path / ".regulars-20261123-030000.age.5e6f7a8b.partial"
    scratch = tmp_path / ".regulars-verify-0123456789ab.db"
    mine = tmp_path / "regulars-20261122-030000.age"
    for path in (old, fresh, scratch, mine):
        path.write_bytes(b"ciphertext")
    hour_ago = time.time() - 4000
    for path in (old, scratch, mine):
        os.utime(path, (hour_ago, hour_ago))
    removed = rot.clean_leftovers(tmp_path)
    assert sorted(removed) == sorted([old, scratch])
    assert fresh.exists() and mine.exists()
