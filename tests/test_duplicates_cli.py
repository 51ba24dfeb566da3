"""`regulars duplicates / merge / unmerge / not-duplicates` as scripts drive them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import run


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("dupcli") / "data"
    assert run(d, "init", "--json").returncode == 0
    demo = run(d, "demo", "--customers", "60", "--seed", "3")
    assert demo.returncode == 0, demo.stderr
    return d


def _groups(d: Path, *extra: str) -> list[dict]:
    out = run(d, "duplicates", "--json", *extra)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["groups"]


def test_duplicates_json_merge_unmerge_and_not_duplicates(store_dir: Path) -> None:
    d = store_dir
    groups = _groups(d)
    seed = next(g for g in groups if 1 in g["customer_ids"])
    assert seed["customer_ids"] == [1, 2, 3]
    assert "same phone +33 6 52 52 72 72" in seed["reasons"]
    assert "same birthday 1980-04-09" in seed["reasons"]
    assert 0.0 <= seed["score"] <= 1.0

    before = run(d, "show", "1", "--json").stdout
    merged = run(d, "merge", "2", "1", "3", "--take", "name=1", "--json")
    assert merged.returncode == 0, merged.stderr
    outcome = json.loads(merged.stdout)
    assert outcome["survivor_id"] == 2 and outcome["merged_ids"] == [1, 3]
    kept = json.loads(run(d, "show", "2", "--json").stdout)
    assert kept["display_name"] == "Jean-Pierre Dupont"
    assert len(kept["bookings"]) == 6
    assert not any(1 in g["customer_ids"] for g in _groups(d))

    undone = run(d, "unmerge", str(outcome["merge_id"]))
    assert undone.returncode == 0, undone.stderr
    assert f"Undid merge {outcome['merge_id']}" in undone.stdout
    assert run(d, "show", "1", "--json").stdout == before

    marked = run(d, "not-duplicates", "1", "2")
    assert marked.returncode == 0 and "different people" in marked.stdout
    pairs = {(p["a"], p["b"]) for g in _groups(d) for p in g["pairs"]}
    assert (1, 2) not in pairs and (2, 3) in pairs
    mine = _groups(d, "--customer", "2")
    assert [g["customer_ids"] for g in mine] == [[2, 3]]


def test_bad_requests_get_a_message_not_a_traceback(store_dir: Path) -> None:
    d = store_dir
    same = run(d, "merge", "4", "4")
    assert same.returncode == 1 and "cannot be merged into itself" in same.stderr
    missing = run(d, "unmerge", "999")
    assert missing.returncode == 1 and "no merge with id 999" in missing.stderr
    bad_field = run(d, "merge", "4", "5", "--take", "colour=4")
    assert bad_field.returncode == 2 and "'colour' is not a merge field" in bad_field.stderr
    bad_score = run(d, "duplicates", "--min-score", "1.5")
    assert bad_score.returncode == 2 and "not between 0 and 1" in bad_score.stderr
    for result in (same, missing, bad_field, bad_score):
        assert "Traceback" not in result.stderr
    wrong = run(d, "duplicates", passphrase="not the passphrase")
    assert wrong.returncode == 2


def test_duplicates_help_lists_flags(store_dir: Path) -> None:
    out = run(store_dir, "duplicates", "--help")
    assert "--min-score" in out.stdout and "--json" in out.stdout
    out = run(store_dir, "merge", "--help")
    assert "--take" in out.stdout and "KEEP" in out.stdout
