"""`regulars backup`, `verify-backup` and `restore` as scripts run them (real subprocesses)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.test_cli import PASS, run


@pytest.fixture(scope="module")
def cli_backup(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("cli-backup")
    d = root / "data"
    kit = root / "kit.txt"
    init = run(d, "init", "--recovery-kit-out", str(kit), "--business-name", "Chez Zoé")
    assert init.returncode == 0, init.stderr
    assert run(d, "demo", "--customers", "150", "--seed", "4").returncode == 0
    added = run(d, "add", "--first-name", "Zoé", "--last-name", "Lefèvre", "--json")
    assert added.returncode == 0, added.stderr
    out = root / "usb"
    out.mkdir()
    made = run(
        d,
        "backup",
        str(out),
        "--json",
        env_extra={"REGULARS_BACKUP_PASSPHRASE": "backup words 42"},
    )
    assert made.returncode == 0, made.stderr
    info = json.loads(made.stdout)
    assert info["checked"] and info["counts"]["customer"] == 151
    assert Path(info["passphrase_file"]).exists()
    return d, Path(info["path"]), kit


def test_verify_with_the_kit_or_the_passphrase_needs_no_store(cli_backup, tmp_path):
    _d, file, kit = cli_backup
    nowhere = tmp_path / "no-store-here"
    ok = run(nowhere, "verify-backup", str(file), "--recovery-key", str(kit), "--json")
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert result["ok"] and result["integrity"] == "ok"
    assert result["manifest"]["schema_revision"] and result["counts"]["customer"] == 151
    env = {"REGULARS_BACKUP_PASSPHRASE": "backup words 42"}
    human = run(nowhere, "verify-backup", str(file), env_extra=env)
    assert human.returncode == 0 and "151 customers" in human.stdout
    assert not nowhere.exists()


def test_wrong_secrets_exit_2_without_traceback(cli_backup, tmp_path):
    _d, file, _kit = cli_backup
    env = {"REGULARS_BACKUP_PASSPHRASE": "not the words"}
    wrong = run(tmp_path / "x", "verify-backup", str(file), env_extra=env)
    assert wrong.returncode == 2
    assert "wrong backup passphrase" in wrong.stderr and "Traceback" not in wrong.stderr
    nothing = run(tmp_path / "x", "verify-backup", str(file))
    assert nothing.returncode == 2 and "--recovery-key" in nothing.stderr


def test_restore_on_a_fresh_machine_then_use_it(cli_backup, tmp_path):
    _d, file, kit = cli_backup
    fresh = tmp_path / "new-laptop"
    new_kit = tmp_path / "new-kit.txt"
    done = run(
        fresh,
        "restore",
        str(file),
        "--recovery-key",
        str(kit),
        "--recovery-kit-out",
        str(new_kit),
        "--json",
        passphrase="the new laptop's passphrase",
    )
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["counts"]["customer"] == 151 and info["safety_copy"] is None
    assert info["recovery_key"] in new_kit.read_text()
    found = run(fresh, "search", "lefevre", "--json", passphrase="the new laptop's passphrase")
    assert found.returncode == 0, found.stderr
    assert "Zoé Lefèvre" in [h["display_name"] for h in json.loads(found.stdout)]
    # the new kit unlocks it too
    shown = run(fresh, "--recovery-key", str(new_kit), "show", "151", "--json", passphrase=None)
    assert shown.returncode == 0, shown.stderr


def test_restore_of_a_bad_file_leaves_the_store_alone(cli_backup, tmp_path):
    d, file, kit = cli_backup
    cut = tmp_path / "cut.age"
    cut.write_bytes(file.read_bytes()[:-5000])

    def fingerprint() -> dict[str, str]:
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in d.iterdir() if p.is_file()
        }

    before = fingerprint()
    bad = run(d, "restore", str(cut), "--recovery-key", str(kit))
    assert bad.returncode == 1
    assert "incomplete" in bad.stderr and "Traceback" not in bad.stderr
    assert fingerprint() == before
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    bad = run(d, "verify-backup", str(junk), "--recovery-key", str(kit))
    assert bad.returncode == 1 and "not a Regulars backup" in bad.stderr


def test_help_lists_the_flags():
    for command in ("backup", "verify-backup", "restore"):
        shown = run(Path("/nonexistent"), command, "--help")
        assert shown.returncode == 0 and "--json" in shown.stdout
    assert "--recovery-kit-out" in run(Path("/x"), "restore", "--help").stdout


def test_backup_into_a_missing_folder_says_which(cli_backup, tmp_path):
    d, _file, _kit = cli_backup
    bad = run(d, "backup", str(tmp_path / "gone" / "b.age"))
    assert bad.returncode == 1 and "does not exist" in bad.stderr
    assert PASS  # the store unlocked with the shared passphrase
