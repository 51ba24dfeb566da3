"""Restoring a backup: verify it completely into a new store first, then swap it in.

:func:`prepare_restore` does all the slow and risky work beside the live store, in
``<data dir>/.restore-…/``: decrypt, load into a new SQLCipher database under a new random
key, rebuild the search index, integrity check, counts, migrate an older schema, write new
key slots (a new recovery kit). Any failure deletes that folder and leaves the live store
exactly as it was. :func:`commit_restore` then moves the live store (database, its -wal,
key slots) into ``replaced-<time>/`` as a safety copy and renames the new files into place,
the database last — so the data directory holds either the old store, or the new one, or
(after a crash between two renames) no store at all, with the old one complete in
``replaced-<time>/`` and the new one complete in ``.restore-…/``; running the restore again
then finishes the job. Nothing is ever deleted before the new store is in place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.models import search_index
from app.services import backup, datadir, vault
from app.services import backup_format as fmt
from app.services.backup import BackupCancelledError, BackupError, Cancelled, Progress
from app.services.store import Store, StoreError, open_store

_LIVE_FILES = ("-wal", "-shm", "-journal")
_SCALE = 1000
_LOAD_SHARE = 600


@dataclass
class PreparedRestore:
    """A verified, complete new store waiting beside the live one."""

    data_dir: Path
    work_dir: Path
    key: bytes
    kit: vault.RecoveryKit
    manifest: fmt.Manifest
    counts: dict[str, int]
    source: Path


@dataclass
class RestoreResult:
    data_dir: Path
    safety_copy: Path | None
    kit: vault.RecoveryKit
    counts: dict[str, int]
    backup_created_at: str
    key: bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir),
            "safety_copy": str(self.safety_copy) if self.safety_copy else None,
            "backup_created_at": self.backup_created_at,
            "counts": self.counts,
            "store_id": self.kit.store_id,
            "slots": vault.slot_types(self.data_dir),
            "recovery_key": self.kit.identity,
            "recovery_recipient": self.kit.recipient,
        }


def prepare_restore(
    backup_path: Path,
    data_dir: Path,
    *,
    recovery_key: str | None = None,
    backup_passphrase: str | None = None,
    new_passphrase: str | None = None,
    use_keyring: bool = False,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> PreparedRestore:
    """Verify ``backup_path`` by building the complete new store beside ``data_dir``.

    The live store is not read or touched. The new store gets a new database key and new
    key slots: the OS keyring when ``use_keyring``, ``new_passphrase`` when given, and a
    new recovery kit (returned; show it to the owner).

    Raises:
        BackupError: with a specific message for a wrong secret, a damaged, truncated or
            foreign file, or a backup from a newer version.
    """
    backup_path = Path(backup_path).expanduser()
    identities = backup.identities_for(
        backup_path, recovery_key=recovery_key, passphrase=backup_passphrase
    )
    if not use_keyring and not new_passphrase:
        raise BackupError("choose a passphrase for the restored store (no OS keyring is used)")
    data_dir = datadir.ensure(Path(data_dir))

    # one bar for both slow parts: loading the backup, then rebuilding the search index
    # (about 40% of a restore at 100k customers, which may also be cancelled)
    def loading(done: int, total: int) -> None:
        if progress is not None:
            progress(done * _LOAD_SHARE // max(total, 1), _SCALE)

    def indexing(done: int, total: int) -> None:
        if cancelled is not None and cancelled():
            raise BackupCancelledError("cancelled; nothing was changed")
        if progress is not None:
            progress(_LOAD_SHARE + done * (_SCALE - _LOAD_SHARE) // max(total, 1), _SCALE)

    work = data_dir / f".restore-{secrets.token_hex(4)}"
    work.mkdir(mode=0o700)
    try:
        db = datadir.db_path(work)
        conn, key = backup.scratch_database(db)
        try:
            manifest = backup.load_backup(
                backup_path, identities, conn, progress=loading, cancelled=cancelled
            )
            _integrity, counts = backup.check_loaded(conn, manifest, backup_path, quick=True)
            conn.execute("PRAGMA journal_mode = DELETE")
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        with open(db, "rb+") as fh:
            os.fsync(fh.fileno())
        kit = vault.create_slots(work, key, passphrase=new_passphrase, use_keyring=use_keyring)
        try:
            # proves the new key and slots, and migrates a backup from an older version
            store = open_store(work, vault.unlock(work, recovery_key=kit.identity))
        except (StoreError, vault.VaultError) as exc:
            raise BackupError(f"the restored store does not open: {exc}") from None
        try:
            # backups carry no search index (derived data): build it for the new store
            with store.engine.begin() as sa_conn:
                for statement in search_index.SCHEMA_SQL:
                    sa_conn.exec_driver_sql(statement)
                search_index.rebuild(sa_conn, progress=indexing)
        finally:
            store.close()
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return PreparedRestore(data_dir, work, key, kit, manifest, counts, backup_path)


def discard(prepared: PreparedRestore) -> None:
    """Throw away a prepared restore (the person changed their mind)."""
    shutil.rmtree(prepared.work_dir, ignore_errors=True)


def commit_restore(prepared: PreparedRestore) -> RestoreResult:
    """Swap the prepared store in; the replaced one is kept in ``replaced-<time>/``.

    The live store must be closed (the window closes it first; the command line never
    opened it).
    """
    data_dir = prepared.data_dir
    live_db = datadir.db_path(data_dir)
    live_slots = vault.slots_path(data_dir)
    safety = None
    if live_db.exists() or live_slots.exists():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        safety = data_dir / f"replaced-{stamp}"
        while safety.exists():
            safety = data_dir / f"replaced-{stamp}-{secrets.token_hex(2)}"
        safety.mkdir(mode=0o700)
        # the database last: until it moves, the old store is still complete in place
        for suffix in _LIVE_FILES:
            extra = Path(str(live_db) + suffix)
            if extra.exists():
                os.replace(extra, safety / extra.name)
        if live_slots.exists():
            os.replace(live_slots, safety / live_slots.name)
        if live_db.exists():
            os.replace(live_db, safety / live_db.name)
        backup._fsync_dir(safety)
    new_db = datadir.db_path(prepared.work_dir)
    for suffix in _LIVE_FILES:
        with contextlib.suppress(FileNotFoundError):
            os.remove(str(new_db) + suffix)
    os.replace(vault.slots_path(prepared.work_dir), live_slots)
    os.replace(new_db, live_db)
    backup._fsync_dir(data_dir)
    shutil.rmtree(prepared.work_dir, ignore_errors=True)
    return RestoreResult(
        data_dir=data_dir,
        safety_copy=safety,
        kit=prepared.kit,
        counts=prepared.counts,
        backup_created_at=prepared.manifest.created_at,
        key=prepared.key,
    )


def restore_backup(
    backup_path: Path,
    data_dir: Path,
    *,
    recovery_key: str | None = None,
    backup_passphrase: str | None = None,
    new_passphrase: str | None = None,
    use_keyring: bool = False,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> RestoreResult:
    """Verify, then restore ``backup_path`` as the store in ``data_dir`` (see module doc)."""
    prepared = prepare_restore(
        backup_path,
        data_dir,
        recovery_key=recovery_key,
        backup_passphrase=backup_passphrase,
        new_passphrase=new_passphrase,
        use_keyring=use_keyring,
        progress=progress,
        cancelled=cancelled,
    )
    return commit_restore(prepared)


def open_restored(result: RestoreResult) -> Store:
    """Open the restored store with the key the restore made (for the window)."""
    return open_store(result.data_dir, result.key)
