"""Automatic backups: when one is due, running it with its self-check, rotation, status.

Automatic backups go to the folder in the ``backup_folder`` setting when ``auto_backup`` is
on, named ``regulars-YYYYMMDD-HHMMSS.age`` (UTC). Each one is re-read after writing
(decrypt, integrity check, counts; see :func:`backup.create_backup`); only a backup that
passed counts as good, and only then are older ones rotated away (7 daily, 4 weekly,
12 monthly). Every attempt is recorded in ``backup-log.json`` in the data directory — times,
paths, counts and messages, no secrets — which :func:`backup_status` reads for the window.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.models import AuditEvent
from app.services import backup
from app.services import settings as settings_svc
from app.services.backup import BackupError, Cancelled, Progress
from app.services.store import Store

LOG_FILE = "backup-log.json"
LOG_KEEP = 100
NAME_RE = re.compile(r"^regulars-(\d{8}-\d{6})\.age$")
KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY = 7, 4, 12
STALE_AFTER = dt.timedelta(days=7)
DAILY = dt.timedelta(hours=24)


@dataclass
class BackupStatus:
    """What the status bar shows: the last good backup and, when needed, a warning."""

    last_good_at: dt.datetime | None
    last_good_path: str | None
    folder: str | None
    auto_enabled: bool
    warning: str | None
    last_error: str | None

    @property
    def ok(self) -> bool:
        return self.warning is None


# ---------------------------------------------------------------- the log


def log_path(data_dir: Path) -> Path:
    return Path(data_dir) / LOG_FILE


def read_log(data_dir: Path) -> list[dict[str, Any]]:
    """Recorded attempts, oldest first (an unreadable log counts as empty)."""
    try:
        data = json.loads(log_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []


def record(data_dir: Path, entry: dict[str, Any]) -> None:
    """Append one attempt to the log, atomically."""
    entries = [*read_log(data_dir), entry][-LOG_KEEP:]
    path = log_path(data_dir)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(entries, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def last_good(data_dir: Path) -> dict[str, Any] | None:
    """The newest recorded backup that passed its own check."""
    return next((e for e in reversed(read_log(data_dir)) if e.get("ok")), None)


def record_result(store: Store, result: backup.BackupResult, kind: str) -> None:
    """Record a backup made outside the automatic schedule (menu, command line)."""
    record(
        store.data_dir,
        {
            "at": _iso(dt.datetime.now(dt.UTC)),
            "kind": kind,
            "ok": result.checked,
            "path": str(result.path),
            "bytes": result.bytes,
            "counts": result.counts,
            "message": "checked" if result.checked else "written, not re-read",
        },
    )


# ---------------------------------------------------------------- due / run


def _settings(store: Store) -> tuple[bool, Path | None]:
    values = settings_svc.get_all(store)
    folder = str(values.get("backup_folder") or "").strip()
    return bool(values.get("auto_backup")), Path(folder).expanduser() if folder else None


def _last_change(store: Store) -> dt.datetime | None:
    with store.reader() as s:
        return s.execute(select(func.max(AuditEvent.at))).scalar()


def auto_backup_due(store: Store, now: dt.datetime, *, on_quit: bool = False) -> bool:
    """Whether an automatic backup should run now.

    Due when automatic backups are on and a folder is chosen, and the last good automatic
    backup is a day old or more (or there is none); on quit, also whenever something
    changed since the last good backup.
    """
    enabled, folder = _settings(store)
    if not enabled or folder is None:
        return False
    good = next(
        (e for e in reversed(read_log(store.data_dir)) if e.get("ok") and e.get("kind") == "auto"),
        None,
    )
    at = _parse(good.get("at")) if good else None
    if at is None or now - at >= DAILY:
        return True
    if on_quit:
        changed = _last_change(store)
        if changed is not None:
            changed = changed if changed.tzinfo else changed.replace(tzinfo=dt.UTC)
            return changed > at
    return False


def backup_name(now: dt.datetime) -> str:
    return f"regulars-{now.astimezone(dt.UTC):%Y%m%d-%H%M%S}.age"


def run_auto_backup(
    store: Store,
    now: dt.datetime | None = None,
    *,
    passphrase: str | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> backup.BackupResult:
    """Write, re-read and record one automatic backup, then rotate the folder.

    The backup passphrase comes from ``passphrase``, else the keyring; without one the
    backup opens with the recovery kit only. The outcome is recorded either way; a backup
    that fails its own check is removed and never counted as good.

    Raises:
        BackupError: no folder set, folder missing, disk full, or a failed self-check.
    """
    now = now or dt.datetime.now(dt.UTC)
    _enabled, folder = _settings(store)
    entry: dict[str, Any] = {"at": _iso(now), "kind": "auto", "ok": False}
    try:
        if folder is None:
            raise BackupError("no backup folder is chosen (Settings ▸ Backups)")
        if not folder.is_dir():
            raise BackupError(
                f"the backup folder {folder} is missing (is the drive connected?); "
                "no backup was made"
            )
        entry["path"] = str(folder / backup_name(now))
        if passphrase is None:
            passphrase = backup.remembered_passphrase(store.data_dir)
        result = backup.create_backup(
            store,
            folder / backup_name(now),
            passphrase=passphrase,
            check=True,
            progress=progress,
            cancelled=cancelled,
        )
    except BackupError as exc:
        entry["message"] = str(exc)
        record(store.data_dir, entry)
        raise
    entry.update(ok=True, bytes=result.bytes, counts=result.counts, message="checked")
    entry["removed"] = [str(p) for p in rotate(folder, now)]
    clean_leftovers(folder, store.data_dir)
    record(store.data_dir, entry)
    return result


# ---------------------------------------------------------------- rotation


def list_backups(folder: Path) -> list[tuple[dt.datetime, Path]]:
    """Automatic backups in ``folder``, newest first."""
    found = []
    with contextlib.suppress(OSError):
        for path in Path(folder).iterdir():
            match = NAME_RE.match(path.name)
            if match:
                at = dt.datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=dt.UTC)
                found.append((at, path))
    return sorted(found, reverse=True)


def to_keep(
    moments: list[dt.datetime],
    daily: int = KEEP_DAILY,
    weekly: int = KEEP_WEEKLY,
    monthly: int = KEEP_MONTHLY,
) -> set[dt.datetime]:
    """The moments a 7-daily / 4-weekly / 12-monthly rotation keeps (newest of each period)."""
    ordered = sorted(moments, reverse=True)
    keep: set[dt.datetime] = set(ordered[:1])
    rules = (
        (daily, lambda m: m.date()),
        (weekly, lambda m: m.isocalendar()[:2]),
        (monthly, lambda m: (m.year, m.month)),
    )
    for count, period in rules:
        seen: set[Any] = set()
        for moment in ordered:
            key = period(moment)
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.add(key)
            keep.add(moment)
    return keep


def rotate(folder: Path, now: dt.datetime | None = None) -> list[Path]:
    """Delete automatic backups the rotation does not keep; returns what was removed.

    Backups dated after ``now`` (a clock set wrong) are kept and not counted.
    """
    backups = list_backups(folder)
    if now is not None:
        backups = [(at, p) for at, p in backups if at <= now]
    keep = to_keep([at for at, _ in backups])
    removed = []
    for at, path in backups:
        if at in keep:
            continue
        for victim in (path, path.with_name(path.name + backup.PASSPHRASE_SUFFIX)):
            with contextlib.suppress(FileNotFoundError):
                victim.unlink()
        removed.append(path)
    return removed


LEFTOVER_RE = re.compile(r"^\.(regulars-.*\.partial|regulars-verify-[0-9a-f]+\.db.*)$")
LEFTOVER_AGE_S = 3600


def clean_leftovers(*folders: Path) -> list[Path]:
    """Remove temp files a killed backup or check left behind (older than an hour, so a
    backup running elsewhere right now is never touched). They hold only ciphertext."""
    import time

    removed = []
    for folder in folders:
        with contextlib.suppress(OSError):
            for path in Path(folder).iterdir():
                old = time.time() - path.stat().st_mtime > LEFTOVER_AGE_S
                if LEFTOVER_RE.match(path.name) and path.is_file() and old:
                    with contextlib.suppress(OSError):
                        path.unlink()
                        removed.append(path)
    return removed


# ---------------------------------------------------------------- status


def backup_status(store: Store, now: dt.datetime | None = None) -> BackupStatus:
    """The last good backup and a warning when it is missing, old, or the folder is gone."""
    now = now or dt.datetime.now(dt.UTC)
    enabled, folder = _settings(store)
    entries = read_log(store.data_dir)
    good = next((e for e in reversed(entries) if e.get("ok")), None)
    last = entries[-1] if entries else None
    at = _parse(good.get("at")) if good else None
    error = last.get("message") if last and not last.get("ok") else None
    warning = None
    if enabled and folder is not None and not folder.is_dir():
        warning = f"backup folder {folder} is missing"
    elif at is None:
        warning = "no backup yet"
    elif now - at > STALE_AFTER:
        warning = f"last good backup is {(now - at).days} days old"
    elif error:
        warning = f"last backup failed: {error}"
    return BackupStatus(
        last_good_at=at,
        last_good_path=good.get("path") if good else None,
        folder=str(folder) if folder else None,
        auto_enabled=enabled,
        warning=warning,
        last_error=error,
    )
