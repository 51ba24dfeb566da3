"""Keys and unlocking: a random database key kept wrapped in key slots (the LUKS model).

The 32-byte database key is never derived from a password. It is wrapped with AES-GCM by
each slot's own secret and stored in ``keyslots.json`` beside the database:

* ``keyring``    — a random wrapping secret kept in the OS keyring;
* ``passphrase`` — wrapping key from scrypt over the owner's passphrase;
* ``recovery``   — wrapping key derived from an age X25519 identity (the recovery kit),
  whose public half also encrypts every backup, so one kit opens both.

Changing a passphrase rewrites one slot; the database is never re-encrypted.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import re
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pyrage import x25519

SLOTS_FILE = "keyslots.json"
KEYRING_SERVICE = "Regulars"
# scrypt cost: 2**17 × 8 × 128 B = 128 MiB and ~0.3 s here (OWASP's interactive minimum)
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
_IDENTITY_RE = re.compile(r"AGE-SECRET-KEY-1[0-9A-Z]+")


class VaultError(Exception):
    """Base for key-slot problems; the message is meant for the user."""


class WrongSecretError(VaultError):
    """A passphrase or recovery key that does not open this store."""


class NoUnlockMethodError(VaultError):
    """Nothing available to unlock with (no keyring entry, no passphrase given)."""


class KeyringUnavailableError(VaultError):
    """No usable OS keyring backend on this machine."""


@dataclass(frozen=True)
class RecoveryKit:
    """The recovery identity shown once at setup; its text is an age identity file."""

    identity: str
    recipient: str
    store_id: str

    def text(self, business_name: str = "") -> str:
        """The kit as a file `age -d -i kit.txt` accepts (age ignores # lines)."""
        created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            "# Regulars recovery kit" + (f" — {business_name}" if business_name else ""),
            f"# store: {self.store_id}",
            f"# created: {created}",
            "# Keep this safe and private: it opens the customer store and every backup.",
            "# Unlock: regulars --recovery-key kit.txt …   Backups: age -d -i kit.txt FILE.age",
            f"# public key: {self.recipient}",
            self.identity,
            "",
        ]
        return "\n".join(lines)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def _wrap(wrapping_key: bytes, db_key: bytes, label: str) -> dict[str, str]:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(wrapping_key).encrypt(nonce, db_key, label.encode())
    return {"nonce": _b64(nonce), "wrapped": _b64(sealed)}


def _unwrap(wrapping_key: bytes, slot: dict[str, Any], label: str) -> bytes:
    return AESGCM(wrapping_key).decrypt(
        _unb64(slot["nonce"]), _unb64(slot["wrapped"]), label.encode()
    )


def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _recovery_wrapping_key(identity: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"regulars recovery slot v1"
    ).derive(identity.encode("ascii"))


def parse_recovery_key(value: str) -> str:
    """Accept the identity itself or the path of a kit file; return the identity."""
    text = value
    candidate = Path(value).expanduser()
    if "AGE-SECRET-KEY-1" not in value.upper() and candidate.is_file():
        text = candidate.read_text(encoding="utf-8", errors="replace")
    match = _IDENTITY_RE.search(re.sub(r"\s+", "", text.upper()))
    if not match:
        raise WrongSecretError(
            "wrong recovery key: expected the AGE-SECRET-KEY-1… line of the recovery kit"
        )
    identity = match.group(0)
    try:
        x25519.Identity.from_str(identity)
    except Exception as exc:
        raise WrongSecretError("wrong recovery key: the key is damaged or mistyped") from exc
    return identity


# ---------------------------------------------------------------- keyring


def keyring_status() -> tuple[bool, str]:
    """Whether an OS keyring backend is usable, and a sentence saying which or why not."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring install must not stop the app
        return False, f"the OS keyring could not be loaded ({exc})"
    name = type(backend).__name__
    module = type(backend).__module__
    if isinstance(backend, fail.Keyring) or module.startswith("keyring.backends.null"):
        return False, "no OS keyring is available on this machine"
    if module.startswith("keyring.backends.chainer") and not getattr(backend, "backends", []):
        return False, "no OS keyring is available on this machine"
    return True, f"OS keyring ({name})"


def _keyring_set(account: str, secret: bytes) -> None:
    import keyring

    try:
        keyring.set_password(KEYRING_SERVICE, account, _b64(secret))
    except Exception as exc:
        raise KeyringUnavailableError(f"the OS keyring refused to store the key ({exc})") from exc


def _keyring_get(account: str) -> bytes | None:
    import keyring

    try:
        value = keyring.get_password(KEYRING_SERVICE, account)
    except Exception as exc:
        raise KeyringUnavailableError(f"the OS keyring could not be read ({exc})") from exc
    return _unb64(value) if value else None


def _keyring_delete(account: str) -> None:
    import keyring

    # already gone or keyring locked: the slot file is what counts
    with contextlib.suppress(Exception):
        keyring.delete_password(KEYRING_SERVICE, account)


# ---------------------------------------------------------------- slot file


def slots_path(data_dir: Path) -> Path:
    return Path(data_dir) / SLOTS_FILE


def read_slots(data_dir: Path) -> dict[str, Any]:
    path = slots_path(data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VaultError(f"no key slots at {path}: the store has not been set up") from None
    except (OSError, ValueError) as exc:
        raise VaultError(f"the key-slot file {path} is damaged ({exc})") from exc
    if data.get("version") != 1 or not isinstance(data.get("slots"), list):
        raise VaultError(f"the key-slot file {path} has an unknown format")
    return data


def _write_slots(data_dir: Path, data: dict[str, Any]) -> None:
    path = slots_path(data_dir)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)  # atomic: a crash leaves the old slots or the new, never half


def _slot(data: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((s for s in data["slots"] if s["type"] == kind), None)


def store_id(data_dir: Path) -> str:
    return read_slots(data_dir)["store_id"]


def backup_recipient(data_dir: Path) -> str:
    """The age recipient (public key) of the recovery kit; backups are encrypted to it."""
    slot = _slot(read_slots(data_dir), "recovery")
    if slot is None:
        raise VaultError("this store has no recovery key")
    return slot["recipient"]


def slot_types(data_dir: Path) -> list[str]:
    return [s["type"] for s in read_slots(data_dir)["slots"]]


# ---------------------------------------------------------------- operations


def _passphrase_slot(passphrase: str, db_key: bytes) -> dict[str, Any]:
    if not passphrase:
        raise VaultError("the passphrase must not be empty")
    salt = secrets.token_bytes(16)
    wrapping = _scrypt(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return {
        "type": "passphrase",
        "kdf": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": _b64(salt),
        **_wrap(wrapping, db_key, "passphrase"),
    }


def _recovery_slot(db_key: bytes, sid: str) -> tuple[dict[str, Any], RecoveryKit]:
    identity = x25519.Identity.generate()
    kit = RecoveryKit(str(identity), str(identity.to_public()), sid)
    slot = {
        "type": "recovery",
        "recipient": kit.recipient,
        **_wrap(_recovery_wrapping_key(kit.identity), db_key, "recovery"),
    }
    return slot, kit


def create_slots(
    data_dir: Path,
    db_key: bytes,
    *,
    passphrase: str | None,
    use_keyring: bool,
    sid: str | None = None,
) -> RecoveryKit:
    """Write a fresh slot file for ``db_key``; returns the recovery kit to show once."""
    sid = sid or str(uuid.uuid4())
    slots: list[dict[str, Any]] = []
    if use_keyring:
        secret = secrets.token_bytes(32)
        _keyring_set(sid, secret)
        slots.append({"type": "keyring", "account": sid, **_wrap(secret, db_key, "keyring")})
    if passphrase:
        slots.append(_passphrase_slot(passphrase, db_key))
    if not slots:
        raise NoUnlockMethodError("choose a passphrase: no OS keyring is available to keep the key")
    recovery, kit = _recovery_slot(db_key, sid)
    slots.append(recovery)
    _write_slots(data_dir, {"version": 1, "store_id": sid, "slots": slots})
    return kit


def new_database_key() -> bytes:
    return secrets.token_bytes(32)


def unlock(
    data_dir: Path,
    *,
    passphrase: str | None = None,
    recovery_key: str | None = None,
    use_keyring: bool = True,
) -> bytes:
    """Return the database key from whichever secret is given, else from the keyring.

    Raises WrongSecretError for a passphrase or recovery key that does not fit, and
    NoUnlockMethodError when nothing was given and the keyring holds nothing.
    """
    data = read_slots(data_dir)
    if recovery_key is not None:
        slot = _slot(data, "recovery")
        if slot is None:
            raise VaultError("this store has no recovery slot")
        identity = parse_recovery_key(recovery_key)
        try:
            return _unwrap(_recovery_wrapping_key(identity), slot, "recovery")
        except InvalidTag:
            raise WrongSecretError("wrong recovery key for this store") from None
    if passphrase is not None:
        slot = _slot(data, "passphrase")
        if slot is None:
            raise WrongSecretError(
                "wrong passphrase: this store has no passphrase (it is unlocked by the OS "
                "keyring or the recovery key)"
            )
        wrapping = _scrypt(passphrase, _unb64(slot["salt"]), slot["n"], slot["r"], slot["p"])
        try:
            return _unwrap(wrapping, slot, "passphrase")
        except InvalidTag:
            raise WrongSecretError("wrong passphrase") from None
    slot = _slot(data, "keyring")
    if use_keyring and slot is not None:
        available, why = keyring_status()
        if available:
            secret = _keyring_get(slot["account"])
            if secret is not None:
                try:
                    return _unwrap(secret, slot, "keyring")
                except InvalidTag:
                    raise VaultError(
                        "the key in the OS keyring does not fit this store; unlock with the "
                        "passphrase or the recovery key"
                    ) from None
            why = "the OS keyring has no key for this store"
    else:
        why = "this store is protected by a passphrase"
    raise NoUnlockMethodError(f"{why}: give the passphrase (REGULARS_PASSPHRASE) or --recovery-key")


def change_passphrase(data_dir: Path, db_key: bytes, new_passphrase: str) -> None:
    """Replace (or add) the passphrase slot; other slots and the database stay as they are."""
    data = read_slots(data_dir)
    _check_key(data, db_key)
    data["slots"] = [s for s in data["slots"] if s["type"] != "passphrase"]
    data["slots"].insert(0, _passphrase_slot(new_passphrase, db_key))
    _write_slots(data_dir, data)


def new_recovery_kit(data_dir: Path, db_key: bytes) -> RecoveryKit:
    """Replace the recovery slot with a new kit (the old kit stops opening the store)."""
    data = read_slots(data_dir)
    _check_key(data, db_key)
    slot, kit = _recovery_slot(db_key, data["store_id"])
    data["slots"] = [s for s in data["slots"] if s["type"] != "recovery"] + [slot]
    _write_slots(data_dir, data)
    return kit


def enable_keyring(data_dir: Path, db_key: bytes) -> None:
    """Add (or refresh) the keyring slot so this machine unlocks without a passphrase."""
    data = read_slots(data_dir)
    _check_key(data, db_key)
    secret = secrets.token_bytes(32)
    _keyring_set(data["store_id"], secret)
    data["slots"] = [s for s in data["slots"] if s["type"] != "keyring"]
    data["slots"].insert(
        0, {"type": "keyring", "account": data["store_id"], **_wrap(secret, db_key, "keyring")}
    )
    _write_slots(data_dir, data)


def forget_keyring(data_dir: Path) -> None:
    data = read_slots(data_dir)
    if not any(s["type"] in ("passphrase",) for s in data["slots"]):
        raise VaultError("set a passphrase first: the keyring is the only way in besides the kit")
    _keyring_delete(data["store_id"])
    data["slots"] = [s for s in data["slots"] if s["type"] != "keyring"]
    _write_slots(data_dir, data)


def _check_key(data: dict[str, Any], db_key: bytes) -> None:
    # callers obtained the key by opening the store, which proved it; this guards misuse
    if len(db_key) != 32 or not data["slots"]:
        raise VaultError("invalid database key")
