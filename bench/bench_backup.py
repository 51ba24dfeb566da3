"""Backup, verify and restore of the demo store, beside plain age and a raw file copy.

Targets (100k customers): backup ≤ 10 s, verify ≤ 10 s, restore ≤ 15 s. Baselines from the
same run: `pyrage` (Rust age) encrypting/decrypting the same number of bytes with nothing
else to do, and copying the store's database file (what a naive, unsafe backup would do).
Verify and restore also run as the command line does (a fresh process), where SQLCipher's
memory security — switched on by any process that opened the live store — is not on.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyrage
from pyrage import x25519

from app.services import backup, restore, vault
from bench.common import PASSPHRASE, Context, Figure, peak_rss_mb, reset_peak_rss, timer

SIZES = (10_000, 100_000)
ROOT = Path(__file__).resolve().parents[1]


class _Zeros:
    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = min(self.left, n if n and n > 0 else 1 << 20)
        self.left -= n
        return b"\0" * n


class _Null:
    def write(self, data: bytes) -> int:
        return len(data)


def _cli(*args: str, env_extra: dict[str, str]) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGULARS_")}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env.update(env_extra)
    with timer() as t:
        done = subprocess.run(
            [sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env, cwd=ROOT
        )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return t[0]


def run(ctx: Context) -> list[Figure]:
    store = ctx.open_copy("live")
    key = vault.unlock(store.data_dir, passphrase=PASSPHRASE)
    kit = vault.new_recovery_kit(store.data_dir, key)
    kit_file = ctx.work_dir / "kit.txt"
    kit_file.write_text(kit.text())
    out = ctx.work_dir / "backups" / "b.age"
    out.parent.mkdir()
    db = store.data_dir / "regulars.db"
    try:
        with timer() as t_copy:
            shutil.copyfile(db, ctx.work_dir / "naive-copy.db")
        os.remove(ctx.work_dir / "naive-copy.db")
        reset_peak_rss()  # the backup's own peak, not the unlock's or an earlier module's
        with timer() as t_backup:
            result = backup.create_backup(store, out, check=False)
        rss_backup = peak_rss_mb()
    finally:
        store.close()
    size = result.bytes
    ident = x25519.Identity.generate()
    with timer() as t_age:
        buf = io.BytesIO()
        pyrage.encrypt_io(_Zeros(size), buf, [ident.to_public()])
    with timer() as t_age_dec:
        buf.seek(0)
        pyrage.decrypt_io(buf, _Null(), [ident])
    del buf
    with timer() as t_verify:
        backup.verify_backup(out, recovery_key=str(kit_file))
    with timer() as t_restore:
        restore.restore_backup(
            out, ctx.work_dir / "restored", recovery_key=str(kit_file), new_passphrase="x" * 12
        )
    t_verify_cli = _cli("verify-backup", str(out), "--recovery-key", str(kit_file), env_extra={})
    t_restore_cli = _cli(
        "--data-dir",
        str(ctx.work_dir / "restored-cli"),
        "restore",
        str(out),
        "--recovery-key",
        str(kit_file),
        "--json",
        env_extra={"REGULARS_PASSPHRASE": "x" * 12},
    )
    shutil.rmtree(ctx.work_dir / "restored", ignore_errors=True)
    shutil.rmtree(ctx.work_dir / "restored-cli", ignore_errors=True)
    mb = size / 1e6
    db_mb = result.bytes and db.stat().st_size / 1e6 if db.exists() else 0
    note = f"{mb:.0f} MB backup of a {db_mb:.0f} MB store"
    return [
        Figure(
            "backup (snapshot → SQL → age), in the app",
            t_backup[0],
            t_age[0],
            "s",
            baseline_label="pyrage encrypt same bytes",
            target="≤ 10 s @100k",
            note=f"{note}; raw db file copy {t_copy[0]:.2f} s; peak RSS {rss_backup:.0f} MB",
        ),
        Figure(
            "verify (decrypt, load, integrity, counts), app",
            t_verify[0],
            t_age_dec[0],
            "s",
            baseline_label="pyrage decrypt same bytes",
            target="≤ 10 s @100k",
        ),
        Figure(
            "verify-backup, command line (fresh process)",
            t_verify_cli,
            t_age_dec[0],
            "s",
            baseline_label="pyrage decrypt same bytes",
            target="≤ 10 s @100k",
        ),
        Figure(
            "restore (verify + new store + swap), app",
            t_restore[0],
            t_age_dec[0],
            "s",
            baseline_label="pyrage decrypt same bytes",
            target="≤ 15 s @100k",
        ),
        Figure(
            "restore, command line (fresh process)",
            t_restore_cli,
            t_age_dec[0],
            "s",
            baseline_label="pyrage decrypt same bytes",
            target="≤ 15 s @100k",
        ),
    ]
