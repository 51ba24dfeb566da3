"""Encrypted backups: a consistent snapshot streamed as SQL through age encryption.

A backup file is an ordinary age file (age-encryption.org/v1) whose plaintext is the SQL
text described in :mod:`backup_format`; ``age -d -i kit.txt FILE | sqlite3 restored.db``
reads it without Regulars. It is encrypted to:

* the recovery kit's X25519 recipient (``vault.backup_recipient``) — one kit opens the store
  and every backup;
* a fresh X25519 identity made for this one backup and held only in memory. Regulars uses it
  to re-read the file it just wrote (decrypt, integrity check, counts). With a backup
  passphrase, that identity is also written, encrypted with age's own passphrase (scrypt)
  mode, into a small companion file ``FILE.passphrase`` — so the passphrase route works
  with ``age`` alone too (age cannot stream a passphrase-encrypted file from Python, and its
  passphrase mode allows no second recipient, hence the companion file).

Nothing decrypted ever touches the disk: the dump is read from one read transaction and
encrypted on the fly into a temporary name beside the target, then renamed into place.
Checking a backup loads it into a scratch SQLCipher database under a random throwaway key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import pyrage
import sqlcipher3.dbapi2 as sqlcipher
from alembic.script import ScriptDirectory
from pyrage import x25519

from app import __version__
from app.models import migrate
from app.services import backup_format as fmt
from app.services import vault
from app.services.errors import ServiceError
from app.services.store import Store

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

AGE_MAGIC = b"age-encryption.org/v1\n"
AGE_ARMOR = b"-----BEGIN AGE ENCRYPTED FILE-----"
PASSPHRASE_SUFFIX = ".passphrase"
PASSPHRASE_ENV = "REGULARS_BACKUP_PASSPHRASE"
KEYRING_ACCOUNT_SUFFIX = "/backup-passphrase"
# age STREAM: a 16-byte nonce, then chunks of 64 KiB plaintext + 16-byte tag
_CHUNK = 65536 + 16


class BackupError(ServiceError):
    """A backup could not be written, read or restored; the message says why."""


class BackupSecretError(BackupError):
    """The recovery kit or backup passphrase does not open this backup."""


class NotABackupError(BackupError):
    pass


class DamagedBackupError(BackupError):
    pass


class NewerBackupError(BackupError):
    pass


class DiskFullError(BackupError):
    pass


class BackupCancelledError(BackupError):
    pass


@dataclass
class BackupResult:
    """A backup written (and, when asked, re-read and checked)."""

    path: Path
    bytes: int
    created_at: str
    counts: dict[str, int]
    sha256: str
    passphrase_file: Path | None = None
    checked: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "bytes": self.bytes,
            "created_at": self.created_at,
            "counts": self.counts,
            "sha256": self.sha256,
            "passphrase_file": str(self.passphrase_file) if self.passphrase_file else None,
            "checked": self.checked,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class VerifyResult:
    """What checking a backup found: its manifest and the loaded database's checks."""

    path: Path
    manifest: fmt.Manifest
    integrity: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def customers(self) -> int:
        return self.counts.get("customer", 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "ok": True,
            "integrity": self.integrity,
            "manifest": self.manifest.to_dict(),
            "counts": self.counts,
        }


# ---------------------------------------------------------------- passphrase in the keyring


def _keyring_account(data_dir: Path) -> str:
    return vault.store_id(data_dir) + KEYRING_ACCOUNT_SUFFIX


def remember_passphrase(data_dir: Path, passphrase: str) -> None:
    """Keep the backup passphrase in the OS keyring (raises when there is none)."""
    available, why = vault.keyring_status()
    if not available:
        raise vault.KeyringUnavailableError(why)
    import keyring

    try:
        keyring.set_password(vault.KEYRING_SERVICE, _keyring_account(data_dir), passphrase)
    except Exception as exc:
        raise vault.KeyringUnavailableError(f"the OS keyring refused it ({exc})") from exc


def remembered_passphrase(data_dir: Path) -> str | None:
    """The backup passphrase kept in the keyring, if any (None when there is no keyring)."""
    if not vault.keyring_status()[0]:
        return None
    import keyring

    try:
        return keyring.get_password(vault.KEYRING_SERVICE, _keyring_account(data_dir))
    except Exception:  # a locked or broken keyring: behave as if nothing is kept
        return None


def forget_passphrase(data_dir: Path) -> None:
    import keyring

    with contextlib.suppress(Exception):
        keyring.delete_password(vault.KEYRING_SERVICE, _keyring_account(data_dir))


# ---------------------------------------------------------------- streaming adapters


class _IterReader:
    """A ``read(n)`` file over an iterator of byte blocks (what pyrage.encrypt_io reads)."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self.blocks = blocks
        self.current = memoryview(b"")
        self.error: BaseException | None = None

    def read(self, n: int = -1) -> bytes:
        if self.error is not None:
            raise self.error  # never let a retried read look like the end of the data
        try:
            while not self.current:
                block = next(self.blocks, None)
                if block is None:
                    return b""
                self.current = memoryview(block)
            if n is None or n < 0:
                n = len(self.current)
            out = bytes(self.current[:n])
            self.current = self.current[n:]
            return out
        except BaseException as exc:
            self.error = exc
            raise


class _FileWriter:
    """Writes to a real file and remembers an OSError (pyrage loses its errno)."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.error: OSError | None = None
        self.written = 0

    def write(self, data: bytes) -> int:
        if self.error is not None:
            raise self.error
        try:
            n = self.fh.write(data)
        except OSError as exc:
            self.error = exc
            raise
        self.written += len(data)
        return n

    def flush(self) -> None:
        self.fh.flush()


def _open_partial(path: Path) -> Any:
    """Open the temporary output file owner-only (tests replace this to simulate a full disk)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_atomically(path: Path, write: Callable[[_FileWriter], None]) -> int:
    """Write through ``write`` into a temp name beside ``path``, fsync, rename into place."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    writer = None
    try:
        fh = _open_partial(tmp)
        with fh:
            writer = _FileWriter(fh)
            write(writer)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        error = writer.error if writer is not None and writer.error else exc
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(
                f"the disk holding {path.parent} is full: this backup was not written "
                "(nothing partial is left; older backups are untouched)"
            ) from None
        if isinstance(error, OSError) and not isinstance(exc, BackupError):
            raise BackupError(
                f"could not write {path}: {error.strerror or error} (older backups are untouched)"
            ) from None
        raise
    _fsync_dir(path.parent)
    return writer.written


# ---------------------------------------------------------------- create


def _header(store: Store, cur: Any) -> dict[str, Any]:
    revision = cur.execute("SELECT version_num FROM alembic_version").fetchone()
    return {
        "app_version": __version__,
        "schema_revision": revision[0] if revision else "",
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "store_id": vault.store_id(store.data_dir),
        "sqlite_version": cur.execute("SELECT sqlite_version()").fetchone()[0],
    }


def create_backup(
    store: Store,
    out: Path,
    *,
    passphrase: str | None = None,
    check: bool = True,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> BackupResult:
    """Write an encrypted backup of ``store`` to ``out`` (a file path).

    The snapshot is taken in one read transaction, so the app may keep writing meanwhile.
    The file opens with the recovery kit, and with ``passphrase`` too when one is given
    (through the companion file ``out + ".passphrase"``). With ``check``, the new file is
    decrypted again and loaded into a scratch encrypted database: integrity check and
    counts; a backup that fails its own check is removed and reported.

    Raises:
        BackupError: folder missing, disk full (DiskFullError), cancelled, or a failed check.
    """
    start = time.perf_counter()
    out = Path(out).expanduser()
    if out.is_dir():
        raise BackupError(f"{out} is a folder: give the backup file's name")
    folder = out.parent
    if not folder.is_dir():
        raise BackupError(f"the folder {folder} does not exist (is the drive connected?)")
    own = x25519.Identity.generate()
    recipients = [x25519.Recipient.from_str(vault.backup_recipient(store.data_dir))]
    recipients.append(own.to_public())
    side = None
    if passphrase:
        side = out.with_name(out.name + PASSPHRASE_SUFFIX)
        wrapped = pyrage.passphrase.encrypt(str(own).encode("ascii") + b"\n", passphrase)
        _write_atomically(side, lambda w: w.write(wrapped))

    holder: dict[str, Any] = {}
    raw = store.engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        # one read transaction: the whole dump sees the same committed state
        cur.execute("BEGIN")
        header = _header(store, cur)
        total = fmt.count_rows(cur)

        def rows_done(n: int) -> None:
            if cancelled is not None and cancelled():
                raise BackupCancelledError("the backup was cancelled; nothing was written")
            if progress is not None:
                progress(n, total)

        def blocks() -> Iterator[bytes]:
            for block in fmt.dump(cur, header, progress=rows_done):
                if block.startswith(fmt.TRAILER_PREFIX):
                    holder["trailer"] = block
                yield block

        reader = _IterReader(blocks())

        def encrypt(writer: _FileWriter) -> None:
            try:
                pyrage.encrypt_io(reader, writer, recipients)
            except pyrage.EncryptError:
                if reader.error is not None:
                    raise reader.error from None
                raise
            if reader.error is not None or writer.error is not None:
                raise reader.error or writer.error

        try:
            size = _write_atomically(out, encrypt)
        except BaseException:
            if side is not None:
                with contextlib.suppress(OSError):
                    os.remove(side)
            raise
        cur.execute("ROLLBACK")
    finally:
        raw.close()
    trailer = json.loads(holder["trailer"][len(fmt.TRAILER_PREFIX) :])
    result = BackupResult(
        path=out,
        bytes=size,
        created_at=header["created_at"],
        counts=trailer["counts"],
        sha256=trailer["sha256"],
        passphrase_file=side,
    )
    if check:
        try:
            # the scratch copy goes to the local data directory, not to a slow USB stick
            checked = verify_backup(out, identities=[own], work_dir=store.data_dir)
            if checked.manifest.sha256 != result.sha256 or checked.counts != result.counts:
                raise DamagedBackupError("it reads back different from what was written")
        except BackupError as exc:
            for leftover in (out, side):
                if leftover is not None:
                    with contextlib.suppress(OSError):
                        os.remove(leftover)
            raise BackupError(
                f"the new backup {out.name} failed its own check and was removed: {exc}"
            ) from None
        result.checked = True
    result.seconds = time.perf_counter() - start
    return result


# ---------------------------------------------------------------- read back


def identities_for(
    path: Path, *, recovery_key: str | None = None, passphrase: str | None = None
) -> list[Any]:
    """The age identities the given secret provides for the backup at ``path``."""
    out: list[Any] = []
    if recovery_key:
        try:
            out.append(x25519.Identity.from_str(vault.parse_recovery_key(recovery_key)))
        except vault.WrongSecretError as exc:
            raise BackupSecretError(str(exc)) from None
    if passphrase:
        side = Path(path).with_name(Path(path).name + PASSPHRASE_SUFFIX)
        try:
            wrapped = side.read_bytes()
        except FileNotFoundError:
            raise BackupSecretError(
                f"no passphrase file {side.name} beside {Path(path).name}: this backup was made "
                "without a backup passphrase (or the file was not copied); use the recovery "
                "kit (--recovery-key)"
            ) from None
        try:
            text = pyrage.passphrase.decrypt(wrapped, passphrase).decode("ascii").strip()
            out.append(x25519.Identity.from_str(text))
        except pyrage.DecryptError:
            raise BackupSecretError(f"wrong backup passphrase for {Path(path).name}") from None
        except Exception:
            raise BackupSecretError(f"the passphrase file {side.name} is damaged") from None
    if not out:
        raise BackupSecretError(
            "give the recovery kit (--recovery-key) or the backup passphrase "
            f"({PASSPHRASE_ENV}) to open the backup"
        )
    return out


def _known_revisions() -> ScriptDirectory:
    return ScriptDirectory(str(migrate.MIGRATIONS))


def _check_header(header: dict[str, Any]) -> None:
    version = header.get("format_version")
    if not isinstance(version, int) or version > fmt.FORMAT_VERSION:
        raise NewerBackupError(
            f"this backup uses format {version}, written by a newer Regulars "
            f"({header.get('app_version', '?')}); update Regulars, then restore it"
        )
    revision = header.get("schema_revision") or ""
    try:
        known = _known_revisions().get_revision(revision) is not None
    except Exception:
        known = False
    if not known:
        raise NewerBackupError(
            f"this backup holds schema {revision}, written by a newer Regulars "
            f"({header.get('app_version', '?')}); update Regulars, then restore it"
        )


def scratch_database(path: Path) -> tuple[Any, bytes]:
    """A new SQLCipher database at ``path`` under a random key, set up for a fast bulk load."""
    key = vault.new_database_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    conn = sqlcipher.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    for pragma in (
        # a crash mid-load only loses this scratch file, never the live store
        "PRAGMA journal_mode = OFF",
        "PRAGMA synchronous = OFF",
        "PRAGMA temp_store = MEMORY",
        "PRAGMA cache_size = -65536",
        "PRAGMA foreign_keys = OFF",
    ):
        conn.execute(pragma)
    return conn, key


def _damage_message(path: Path, size: int, plaintext_seen: int) -> str:
    header_end = _age_header_end(path)
    payload = max(size - header_end - 16, 0)
    capacity = payload - (payload // _CHUNK + (1 if payload % _CHUNK else 0)) * 16
    if plaintext_seen >= capacity - 65536 or payload % _CHUNK == 0:
        return (
            f"{path.name} is incomplete: it ends too early ({size:,} bytes), so the copy was "
            "probably cut off; use another copy or an older backup"
        )
    return (
        f"{path.name} is damaged: its contents fail authentication after about "
        f"{plaintext_seen // (1 << 20)} MB (altered or corrupted on the disk); "
        "use another copy or an older backup"
    )


def _age_header_end(path: Path) -> int:
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    at = head.find(b"\n---")
    return head.find(b"\n", at + 1) + 1 if at != -1 else 0


def load_backup(
    path: Path,
    identities: list[Any],
    conn: Any | None,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    skip_indexes: bool = False,
) -> fmt.Manifest:
    """Decrypt ``path`` and stream its SQL into ``conn`` (None: only check the stream).

    Raises a specific BackupError for each way a file can be wrong.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            magic = fh.read(len(AGE_MAGIC))
    except FileNotFoundError:
        raise BackupError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise BackupError(f"{path} is a folder, not a backup file") from None
    if magic != AGE_MAGIC and not magic.startswith(AGE_ARMOR[: len(magic)]):
        raise NotABackupError(f"{path.name} is not a Regulars backup (not an age-encrypted file)")

    def received(n: int) -> None:
        if progress is not None:
            progress(min(n, size), size)

    loader = fmt.Loader(
        conn, _check_header, progress=received, cancelled=cancelled, skip_indexes=skip_indexes
    )
    with open(path, "rb") as fh:
        try:
            pyrage.decrypt_io(fh, loader, identities)
        except pyrage.DecryptError as exc:
            if loader.error is not None:
                _raise_loader_error(path, loader.error)
            if "No matching keys" in str(exc):
                raise BackupSecretError(
                    f"the recovery kit or passphrase given does not open {path.name} "
                    "(wrong kit, wrong passphrase, or a backup of another store)"
                ) from None
            if loader.received == 0 and size < 512:
                raise NotABackupError(f"{path.name} is not a Regulars backup ({exc})") from None
            raise DamagedBackupError(_damage_message(path, size, loader.received)) from None
        except Exception as exc:  # pyrage passes the sink's own exceptions through
            if loader.error is not None:
                _raise_loader_error(path, loader.error)
            if isinstance(exc, sqlcipher.Error):
                raise DamagedBackupError(
                    f"{path.name} decrypts, but its data cannot be loaded ({exc})"
                ) from None
            raise DamagedBackupError(_damage_message(path, size, loader.received)) from None
    try:
        return loader.finish()
    except fmt.FormatError as exc:
        raise DamagedBackupError(f"{path.name}: {exc}") from None
    except sqlcipher.Error as exc:
        raise DamagedBackupError(
            f"{path.name} decrypts, but its data cannot be loaded ({exc})"
        ) from None


def _raise_loader_error(path: Path, error: BaseException) -> None:
    if isinstance(error, BackupError):
        raise error
    if isinstance(error, fmt.Cancelled):
        raise BackupCancelledError("cancelled; nothing was changed") from None
    if isinstance(error, fmt.FormatError):
        raise DamagedBackupError(f"{path.name}: {error}") from None
    if isinstance(error, sqlcipher.Error):
        raise DamagedBackupError(
            f"{path.name} decrypts, but its data cannot be loaded ({error})"
        ) from None
    raise error


def check_loaded(
    conn: Any, manifest: fmt.Manifest, path: Path, *, quick: bool = False
) -> tuple[str, dict[str, int]]:
    """Integrity, foreign keys and row counts of a loaded backup against its manifest.

    ``quick`` runs SQLite's quick_check (everything but index-versus-table agreement, which
    a freshly built index cannot lack), for a restore that has just built all indexes.
    """
    pragma = "quick_check" if quick else "integrity_check"
    integrity = conn.execute(f"PRAGMA {pragma}").fetchall()
    result = "; ".join(str(r[0]) for r in integrity)
    if result != "ok":
        raise DamagedBackupError(f"{path.name}: the database inside fails its check: {result}")
    broken = conn.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise DamagedBackupError(
            f"{path.name}: {len(broken)} rows refer to rows missing from the backup "
            f"(first in table {broken[0][0]})"
        )
    counts: dict[str, int] = {}
    for table, expected in manifest.counts.items():
        got = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        if got != expected:
            raise DamagedBackupError(
                f"{path.name}: table {table} holds {got} rows, the manifest says {expected}"
            )
        counts[table] = got
    return result, counts


def verify_backup(
    path: Path,
    *,
    recovery_key: str | None = None,
    passphrase: str | None = None,
    identities: list[Any] | None = None,
    work_dir: Path | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> VerifyResult:
    """Decrypt a backup, check its manifest, load it into a scratch encrypted database,
    run SQLite's integrity and foreign-key checks and compare every table's row count.
    Touches no store. Indexes are left out of the scratch copy: they are derived from the
    rows (a restore builds them) and building them would double the time.

    Args:
        path: the backup file.
        recovery_key: the kit (its text, identity line, or file path), or
        passphrase: the backup passphrase (needs the ``.passphrase`` file beside it).
        identities: age identities, instead of the two above.
        work_dir: where the scratch (encrypted, throwaway) database goes; default: the
            user's cache folder (not /tmp, often a RAM disk).
    """
    path = Path(path).expanduser()
    if identities is None:
        identities = identities_for(path, recovery_key=recovery_key, passphrase=passphrase)
    if work_dir is not None:
        folder = Path(work_dir)
    else:
        folder = Path(platformdirs.user_cache_dir("Regulars", appauthor=False))
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = folder / f".regulars-verify-{secrets.token_hex(6)}.db"
    conn, _key = scratch_database(scratch)
    try:
        manifest = load_backup(
            path, identities, conn, progress=progress, cancelled=cancelled, skip_indexes=True
        )
        integrity, counts = check_loaded(conn, manifest, path)
    finally:
        conn.close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.remove(str(scratch) + suffix)
    return VerifyResult(path=path, manifest=manifest, integrity=integrity, counts=counts)
