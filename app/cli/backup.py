"""Backup commands: backup, verify-backup, restore."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path

from app.cli.context import (
    EXIT_SECRET,
    CliError,
    _interactive,
    ask_new_passphrase,
    data_dir,
    open_from_args,
)
from app.cli.output import emit_json, say, warn
from app.services import backup, backup_rotation, restore, vault
from app.services.backup import BackupSecretError

AddCommon = Callable[[argparse.ArgumentParser], None]


def _progress(args: argparse.Namespace, what: str) -> Callable[[int, int], None] | None:
    if args.json or not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        pct = 100 * done // total if total else 0
        sys.stderr.write(f"\r{what} {pct:3d}%")
        sys.stderr.flush()

    return show


def _end_progress(args: argparse.Namespace) -> None:
    if not args.json and sys.stderr.isatty():
        sys.stderr.write("\n")


def _backup_secrets(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(recovery key, backup passphrase) for opening a backup file."""
    kit = getattr(args, "recovery_key", None)
    phrase = os.environ.get(backup.PASSPHRASE_ENV)
    if kit or phrase:
        return kit, phrase
    if _interactive():
        return None, getpass.getpass("Backup passphrase: ")
    raise CliError(
        "give the recovery kit (--recovery-key KIT) or the backup passphrase "
        f"({backup.PASSPHRASE_ENV}) to open the backup",
        EXIT_SECRET,
    )


def cmd_backup(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        out = Path(args.out).expanduser()
        if out.is_dir():
            out = out / backup_rotation.backup_name(dt.datetime.now(dt.UTC))
        phrase = os.environ.get(backup.PASSPHRASE_ENV) or backup.remembered_passphrase(
            store.data_dir
        )
        try:
            result = backup.create_backup(
                store,
                out,
                passphrase=phrase,
                check=not args.no_check,
                progress=_progress(args, "Backing up"),
            )
        finally:
            _end_progress(args)
        backup_rotation.record_result(store, result, "manual")
    finally:
        store.close()
    if args.json:
        emit_json(result.to_dict())
        return 0
    total = result.counts.get("customer", 0)
    say(
        f"Backup written: {result.path} ({result.bytes / 1e6:.1f} MB, {total:,} customers"
        + (", checked" if result.checked else ", not re-read")
        + ")"
    )
    say("It opens with the recovery kit: age -d -i kit.txt FILE | sqlite3 restored.db")
    if result.passphrase_file:
        say(f"…and with the backup passphrase through {result.passphrase_file.name} beside it.")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    kit, phrase = _backup_secrets(args)
    directory = data_dir(args)
    try:
        result = backup.verify_backup(
            Path(args.file),
            recovery_key=kit,
            passphrase=phrase,
            work_dir=directory if directory.is_dir() else None,
            progress=_progress(args, "Checking"),
        )
    except BackupSecretError as exc:
        raise CliError(str(exc), EXIT_SECRET) from None
    finally:
        _end_progress(args)
    if args.json:
        emit_json(result.to_dict())
        return 0
    m = result.manifest
    say(f"OK: {result.path}")
    say(
        f"  made {m.created_at} by Regulars {m.header.get('app_version', '?')}, "
        f"schema {m.schema_revision}"
    )
    say(f"  integrity {result.integrity}; checksum matches; {result.customers:,} customers")
    for table, n in sorted(result.counts.items()):
        if n and table != "regulars_search_rows":
            say(f"  {table:<20} {n:>9,}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    directory = data_dir(args)
    kit, phrase = _backup_secrets(args)
    has_keyring, why = vault.keyring_status()
    use_keyring = has_keyring and not args.no_keyring
    new_passphrase = os.environ.get("REGULARS_PASSPHRASE") or None
    if not use_keyring and new_passphrase is None:
        if not args.no_keyring:
            warn(f"regulars: {why}; the restored store will be protected by a passphrase.")
        new_passphrase = ask_new_passphrase("Passphrase for the restored store: ")
    try:
        result = restore.restore_backup(
            Path(args.file),
            directory,
            recovery_key=kit,
            backup_passphrase=phrase,
            new_passphrase=new_passphrase,
            use_keyring=use_keyring,
            progress=_progress(args, "Restoring"),
        )
    except BackupSecretError as exc:
        raise CliError(str(exc), EXIT_SECRET) from None
    finally:
        _end_progress(args)
    kit_text = result.kit.text()
    if args.recovery_kit_out:
        fd = os.open(args.recovery_kit_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(kit_text)
    if args.json:
        emit_json(result.to_dict())
        return 0
    say(
        f"Restored {result.counts.get('customer', 0):,} customers from the backup of "
        f"{result.backup_created_at} into {directory}."
    )
    if result.safety_copy:
        say(f"The replaced store is kept in {result.safety_copy}.")
    say("")
    say("NEW RECOVERY KIT — the old kit no longer opens this store (it still opens old")
    say("backups). Print it or save it somewhere safe and offline.")
    say("")
    say(kit_text)
    return 0


def register(sub: argparse._SubParsersAction, add_common: AddCommon) -> None:
    p = sub.add_parser(
        "backup",
        help="write an encrypted backup (opens with the recovery kit, and with "
        f"{backup.PASSPHRASE_ENV} when set)",
        description="Write an encrypted backup of the store to OUT (a file, or a folder "
        "to get a dated name). The file is in the age format: "
        "age -d -i kit.txt OUT | sqlite3 restored.db",
    )
    p.add_argument("out", metavar="OUT", help="backup file or folder")
    p.add_argument(
        "--no-check", action="store_true", help="do not re-read the new backup to check it"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_common(p)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser(
        "verify-backup",
        help="decrypt a backup and check it, without touching the store",
        description="Decrypt FILE with --recovery-key or the backup passphrase "
        f"({backup.PASSPHRASE_ENV}), check its manifest, checksum, database integrity "
        "and row counts. Needs no store.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_common(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "restore",
        help="verify a backup, then make it the store (the old one is kept as a copy)",
        description="Verify FILE completely, then swap it in as the store; the replaced "
        "store is kept in DATA_DIR/replaced-<time>/. Works with no store yet (new "
        "machine). New key slots are made: the OS keyring where there is one, the "
        "passphrase from REGULARS_PASSPHRASE (or a prompt), and a new recovery kit.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--no-keyring", action="store_true", help="do not keep the key in the keyring")
    p.add_argument("--recovery-kit-out", metavar="PATH", help="also write the new kit to PATH")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_common(p)
    p.set_defaults(func=cmd_restore)
