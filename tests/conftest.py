"""Shared fixtures: real SQLCipher stores, a real (in-memory) keyring backend, Qt offscreen."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("REGULARS_PASSPHRASE", None)
os.environ.pop("REGULARS_DATA_DIR", None)

from app.services import vault
from app.services.store import Store, create_store, open_store

# In-process stores use a cheaper scrypt cost so the suite stays quick; the cost is stored
# in each slot, and the CLI tests (subprocesses) run with the real default.
vault.SCRYPT_N = 2**12

PASSPHRASE = "correct horse battery staple"


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps secrets in a dict (CI has no desktop keyring)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture(autouse=True)
def no_keyring() -> Iterator[None]:
    """By default there is no keyring, as on CI and headless Linux."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture(scope="session")
def _template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo store built per test session; tests get copies (Anki's trick)."""
    from app.services import demo

    keyring.set_keyring(fail.Keyring())
    directory = tmp_path_factory.mktemp("template") / "store"
    store, _kit = create_store(directory, passphrase=PASSPHRASE, use_keyring=False)
    demo.generate(store, customers=300, seed=7)
    store.close()
    return directory


@pytest.fixture
def demo_store(_template_store: Path, tmp_path: Path) -> Iterator[Store]:
    directory = tmp_path / "store"
    shutil.copytree(_template_store, directory)
    store = open_store(directory, vault.unlock(directory, passphrase=PASSPHRASE))
    yield store
    store.close()


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[Store]:
    store, _kit = create_store(tmp_path / "store", passphrase=PASSPHRASE, use_keyring=False)
    yield store
    store.close()
