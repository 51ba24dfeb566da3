"""`regulars import` and `regulars undo-import` as scripts drive them (real subprocesses)."""

from __future__ import annotations

import json

import pytest

from tests import test_cli


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("imp") / "data"
    init = test_cli.run(d, "init", "--json")
    assert init.returncode == 0, init.stderr
    # the recovery key unlocks without the passphrase's scrypt: quick subprocesses
    run.key = json.loads(init.stdout)["recovery_key"]
    return d


def run(data_dir, *args):
    return test_cli.run(data_dir, "--recovery-key", run.key, *args)


def test_import_dry_run_then_import_then_undo(store_dir, tmp_path):
    path = tmp_path / "guests.csv"
    path.write_text(
        "Guest name;Phone;E-mail;Check-in;Check-out;Room;Amount;Shoe size\n"
        "Zoé Lefèvre;06 11 22 72 72;zoe@example.org;2024-05-01;2024-05-03;Lavande;240,00;38\n"
        "Tom Baker;12;;;;;;44\n",
        encoding="utf-8",
    )
    dry = run(store_dir, "import", str(path), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    summary = json.loads(dry.stdout)
    assert list(summary) == ["batch", "created", "updated", "skipped", "unmapped_columns", "errors"]
    assert summary["batch"] is None and summary["created"] == 1 and summary["skipped"] == 1
    assert summary["unmapped_columns"] == ["Shoe size"]
    assert {"row": 3, "column": "Phone"}.items() <= summary["errors"][0].items()

    refused = run(store_dir, "import", str(path), "--json")
    assert refused.returncode == 1 and "--skip-bad-rows" in refused.stderr
    assert json.loads(refused.stdout)["batch"] is None
    assert json.loads(run(store_dir, "search", "lefevre", "--json").stdout) == []

    done = run(store_dir, "import", str(path), "--skip-bad-rows", "--json")
    assert done.returncode == 0, done.stderr
    batch = json.loads(done.stdout)["batch"]
    hits = json.loads(run(store_dir, "search", "lefevre", "--json").stdout)
    assert [h["display_name"] for h in hits] == ["Zoé Lefèvre"]
    shown = json.loads(run(store_dir, "show", str(hits[0]["id"]), "--json").stdout)
    assert shown["bookings"][0]["price_minor"] == 24000

    undo = run(store_dir, "undo-import", str(batch))
    assert undo.returncode == 0, undo.stderr
    assert "removed 1 customers" in undo.stdout
    assert json.loads(run(store_dir, "search", "lefevre", "--json").stdout) == []
    again = run(store_dir, "undo-import", str(batch))
    assert again.returncode == 1 and "already undone" in again.stderr


def test_map_option_and_bad_file_messages(store_dir, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("A,B\nMei Lin,+86 138 0013 8001\n", encoding="utf-8")
    result = run(store_dir, "import", str(path), "--map", "A=full_name", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["created"] == 1
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x00\x01\x02" * 1000)
    bad = run(store_dir, "import", str(binary))
    assert bad.returncode == 1 and "binary" in bad.stderr and "Traceback" not in bad.stderr
    wrong = run(store_dir, "import", str(path), "--map", "A=shoe_size")
    assert wrong.returncode == 1 and "not a field" in wrong.stderr
    help_ = run(store_dir, "import", "--help")
    for flag in ("--sheet", "--map", "--default-region", "--dry-run", "--skip-bad-rows", "--json"):
        assert flag in help_.stdout
