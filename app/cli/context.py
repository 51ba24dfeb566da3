"""Unlocking and opening the store for a command, with the CLI's exit-code rules."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from app.services import datadir, vault
from app.services.store import Store, StoreError, open_store

EXIT_ERROR = 1
EXIT_SECRET = 2


class CliError(Exception):
    """Ends the command: message to stderr, given exit code, no traceback."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def data_dir(args: argparse.Namespace) -> Path:
    return datadir.resolve(getattr(args, "data_dir", None))


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def unlock_key(args: argparse.Namespace) -> bytes:
    """The database key from --recovery-key, REGULARS_PASSPHRASE, the keyring or a prompt."""
    directory = data_dir(args)
    if not datadir.store_exists(directory):
        raise CliError(f"no store in {directory}: run 'regulars init' first")
    try:
        if getattr(args, "recovery_key", None):
            return vault.unlock(directory, recovery_key=args.recovery_key)
        env = os.environ.get("REGULARS_PASSPHRASE")
        if env is not None:
            return vault.unlock(directory, passphrase=env)
        try:
            return vault.unlock(directory)
        except vault.NoUnlockMethodError as exc:
            if not _interactive():
                raise CliError(str(exc), EXIT_SECRET) from None
            return vault.unlock(directory, passphrase=getpass.getpass("Passphrase: "))
    except vault.WrongSecretError as exc:
        raise CliError(str(exc), EXIT_SECRET) from None
    except vault.VaultError as exc:
        raise CliError(str(exc), EXIT_SECRET) from None


def open_from_args(args: argparse.Namespace) -> Store:
    key = unlock_key(args)
    try:
        return open_store(data_dir(args), key)
    except StoreError as exc:
        raise CliError(str(exc)) from None


def ask_new_passphrase(prompt: str = "New passphrase: ") -> str:
    env = os.environ.get("REGULARS_PASSPHRASE")
    if env:
        return env
    if not _interactive():
        raise CliError("no passphrase: set REGULARS_PASSPHRASE or run in a terminal", EXIT_SECRET)
    first = getpass.getpass(prompt)
    if first != getpass.getpass("Repeat: "):
        raise CliError("the two passphrases differ", EXIT_SECRET)
    if len(first) < 8:
        raise CliError("choose a passphrase of at least 8 characters", EXIT_SECRET)
    return first
