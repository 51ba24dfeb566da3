"""The command line as scripts and outside checks drive it (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PASS = "a passphrase for the tests"


def run(data_dir: Path, *args: str, passphrase: str | None = PASS, env_extra=None, input_=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGULARS_")}
    # no desktop keyring in CI; make that explicit so a developer's keyring is never touched
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    if passphrase is not None:
        env["REGULARS_PASSPHRASE"] = passphrase
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        input=input_,
        timeout=300,
    )


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory) -> tuple[Path, dict]:
    d = tmp_path_factory.mktemp("cli") / "data"
    init = run(d, "init", "--json", "--business-name", "Chez Zoé")
    assert init.returncode == 0, init.stderr
    demo = run(d, "demo", "--customers", "400", "--seed", "3")
    assert demo.returncode == 0, demo.stderr
    return d, json.loads(init.stdout)


def test_init_without_keyring_says_so_and_uses_passphrase(tmp_path):
    result = run(tmp_path / "d", "init", passphrase=None)
    assert result.returncode == 2
    assert "no OS keyring" in result.stderr
    assert "passphrase" in result.stderr
    assert "Traceback" not in result.stderr
    ok = run(tmp_path / "d", "init")
    assert ok.returncode == 0, ok.stderr
    assert "AGE-SECRET-KEY-1" in ok.stdout and "RECOVERY KIT" in ok.stdout


def test_search_and_show_json(cli_store):
    d, _ = cli_store
    found = run(d, "search", "dupont", "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert any(h["display_name"] == "Jean-Pierre Dupont" for h in hits)
    shown = run(d, "show", str(hits[0]["id"]), "--json")
    profile = json.loads(shown.stdout)
    for key in ("id", "tags", "notes", "bookings", "communications", "figures", "phones"):
        assert key in profile
    starts = [b["start_at"] for b in profile["bookings"]]
    assert starts == sorted(starts)
    assert all("payments" in b for b in profile["bookings"])


def test_add_book_note_edit_archive(cli_store):
    d, _ = cli_store
    added = run(
        d,
        "add",
        "--first-name",
        "Élodie",
        "--last-name",
        "Gauthier",
        "--phone",
        "07 81 22 33 44",
        "--email",
        "elodie@free.fr",
        "--tag",
        "VIP",
        "--birthday",
        "1990-02-03",
        "--language",
        "fr",
        "--consent",
        "yes",
        "--json",
    )
    assert added.returncode == 0, added.stderr
    cid = json.loads(added.stdout)["id"]
    booked = run(
        d,
        "book",
        str(cid),
        "--start",
        "2031-05-01 14:00",
        "--service",
        "Colour",
        "--price",
        "85.00",
        "--currency",
        "EUR",
        "--status",
        "confirmed",
        "--json",
    )
    assert booked.returncode == 0, booked.stderr
    assert json.loads(booked.stdout)["price_minor"] == 8500
    assert run(d, "note", str(cid), "Allergic to PPD hair dye", "--alert", "--json").returncode == 0
    assert run(d, "edit", str(cid), "--city", "Lyon", "--json").returncode == 0
    profile = json.loads(run(d, "show", str(cid), "--json").stdout)
    assert profile["city"] == "Lyon" and profile["tags"] == ["VIP"]
    assert profile["notes"][0]["alert"] and profile["marketing_consent"]
    assert profile["phones"][0]["e164"] == "+33781223344"
    bid = json.loads(booked.stdout)["id"]
    cancelled = run(d, "cancel", str(bid), "--json")
    assert json.loads(cancelled.stdout)["status"] == "cancelled"
    assert run(d, "archive", str(cid)).returncode == 0
    assert json.loads(run(d, "search", "gauthier elodie", "--json").stdout) == []


def test_bad_input_gets_a_specific_message(cli_store):
    d, _ = cli_store
    bad = run(d, "add", "--first-name", "X", "--phone", "12345")
    assert bad.returncode == 1
    assert "phone" in bad.stderr and "not a valid phone number" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = run(d, "show", "999999")
    assert missing.returncode == 1 and "no customer" in missing.stderr


def test_wrong_passphrase_exits_2_and_leaves_store_untouched(cli_store):
    d, _ = cli_store
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    result = run(d, "search", "dupont", passphrase="nope nope")
    assert result.returncode == 2
    assert "wrong passphrase" in result.stderr
    assert "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


def test_recovery_key_unlocks_and_change_passphrase(cli_store, tmp_path):
    d, init = cli_store
    kit = tmp_path / "kit.txt"
    kit.write_text(init["recovery_key"] + "\n")
    via_kit = run(d, "--recovery-key", str(kit), "search", "zoe", "--json", passphrase=None)
    assert via_kit.returncode == 0, via_kit.stderr
    assert any("Zoé" in h["display_name"] for h in json.loads(via_kit.stdout))
    changed = run(
        d,
        "--recovery-key",
        init["recovery_key"],
        "change-passphrase",
        passphrase=None,
        env_extra={"REGULARS_NEW_PASSPHRASE": "brand new passphrase"},
    )
    assert changed.returncode == 0, changed.stderr
    assert run(d, "search", "zoe").returncode == 2
    assert run(d, "search", "zoe", passphrase="brand new passphrase").returncode == 0
    restored = run(
        d,
        "change-passphrase",
        passphrase="brand new passphrase",
        env_extra={"REGULARS_NEW_PASSPHRASE": PASS},
    )
    assert restored.returncode == 0
    bad_kit = run(d, "--recovery-key", "AGE-SECRET-KEY-1QQQQ", "search", "zoe", passphrase=None)
    assert bad_kit.returncode == 2 and "wrong recovery key" in bad_kit.stderr


def test_no_demo_name_in_any_file(cli_store):
    d, _ = cli_store
    shown = json.loads(run(d, "show", "4", "--json").stdout)  # Zoé Lefèvre, a fixed demo row
    needles = [shown["last_name"], shown["emails"][0]["address"], "Dupont", "Jean-Pierre"]
    for path in d.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for needle in needles:
                assert needle.encode() not in content, f"{needle} in {path.name}"


def test_demo_is_deterministic(tmp_path):
    outs = []
    for name in ("a", "b"):
        d = tmp_path / name
        assert run(d, "init").returncode == 0
        assert run(d, "demo", "--customers", "50", "--seed", "11").returncode == 0
        profile = json.loads(run(d, "show", "37", "--json").stdout)
        for key in ("created_at", "updated_at", "consent_at"):
            profile.pop(key)
        outs.append(profile)
    assert outs[0] == outs[1]


def test_every_command_has_help():
    from app.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        text = p.format_help()
        assert "--data-dir" in text, name
