"""Key slots: passphrase, keyring, recovery kit; wrong secrets are named as such."""

from __future__ import annotations

import json

import pytest

from app.services import customers, datadir, vault
from app.services.customers import CustomerInput
from app.services.store import create_store, open_store
from tests.conftest import PASSPHRASE


def _make(tmp_path, **kw):
    store, kit = create_store(tmp_path / "s", **kw)
    customers.add_customer(store, CustomerInput(first_name="Anaïs", last_name="Bézier"))
    store.close()
    return tmp_path / "s", kit


def test_wrong_passphrase_is_reported_and_store_untouched(tmp_path):
    directory, _kit = _make(tmp_path, passphrase=PASSPHRASE, use_keyring=False)
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    with pytest.raises(vault.WrongSecretError, match="wrong passphrase"):
        vault.unlock(directory, passphrase="not it")
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before


def test_recovery_kit_unlocks_when_passphrase_is_lost(tmp_path):
    directory, kit = _make(tmp_path, passphrase=PASSPHRASE, use_keyring=False)
    kit_file = tmp_path / "kit.txt"
    kit_file.write_text(kit.text("Chez Zoé"), encoding="utf-8")
    for secret in (kit.identity, str(kit_file), kit.identity.lower()):
        key = vault.unlock(directory, recovery_key=secret)
        store = open_store(directory, key)
        assert customers.count_customers(store) == 1
        store.close()


def test_wrong_recovery_key(tmp_path):
    directory, _kit = _make(tmp_path, passphrase=PASSPHRASE, use_keyring=False)
    _other_dir, other = _make(tmp_path / "o", passphrase="x" * 8, use_keyring=False)
    with pytest.raises(vault.WrongSecretError, match="wrong recovery key"):
        vault.unlock(directory, recovery_key=other.identity)
    with pytest.raises(vault.WrongSecretError):
        vault.unlock(directory, recovery_key="AGE-SECRET-KEY-1NOTAKEY")


def test_change_passphrase_rewrites_one_slot_only(tmp_path):
    directory, kit = _make(tmp_path, passphrase=PASSPHRASE, use_keyring=False)
    db_before = datadir.db_path(directory).read_bytes()
    key = vault.unlock(directory, passphrase=PASSPHRASE)
    vault.change_passphrase(directory, key, "a new long passphrase")
    with pytest.raises(vault.WrongSecretError):
        vault.unlock(directory, passphrase=PASSPHRASE)
    assert vault.unlock(directory, passphrase="a new long passphrase") == key
    assert vault.unlock(directory, recovery_key=kit.identity) == key
    assert datadir.db_path(directory).read_bytes() == db_before


def test_keyring_slot_unlocks_without_a_secret(tmp_path, memory_keyring):
    directory, _kit = _make(tmp_path, passphrase=None, use_keyring=True)
    assert vault.slot_types(directory) == ["keyring", "recovery"]
    key = vault.unlock(directory)
    store = open_store(directory, key)
    assert customers.count_customers(store) == 1
    store.close()
    # the key is not in the keyring: only a wrapping secret is
    stored = next(iter(memory_keyring.secrets.values()))
    assert key.hex() not in stored and vault._b64(key) != stored


def test_no_keyring_means_passphrase_needed(tmp_path):
    ok, why = vault.keyring_status()
    assert not ok and "keyring" in why
    with pytest.raises(vault.NoUnlockMethodError, match="passphrase"):
        create_store(tmp_path / "s", passphrase=None, use_keyring=False)
    directory, _kit = _make(tmp_path, passphrase=PASSPHRASE, use_keyring=False)
    with pytest.raises(vault.NoUnlockMethodError, match="REGULARS_PASSPHRASE"):
        vault.unlock(directory)


def test_slot_file_holds_no_key_material_in_clear(tmp_path):
    directory, kit = _make(tmp_path, passphrase=PASSPHRASE, use_keyring=False)
    key = vault.unlock(directory, passphrase=PASSPHRASE)
    raw = vault.slots_path(directory).read_text()
    assert key.hex() not in raw and vault._b64(key) not in raw
    assert kit.identity not in raw
    assert (vault.slots_path(directory).stat().st_mode & 0o777) == 0o600
    assert json.loads(raw)["slots"][-1]["recipient"] == kit.recipient
