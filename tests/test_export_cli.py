"""`regulars export …` as scripts run it (real subprocesses)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import vobject
from openpyxl import load_workbook

from tests.test_export_helpers import PASSPHRASE, Sample, build_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return build_sample(tmp_path_factory.mktemp("export-cli") / "store")


def run(sample: Sample, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGULARS_")}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env["REGULARS_PASSPHRASE"] = PASSPHRASE
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(sample.directory), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_export_customers_csv_with_tag_and_delimiter(sample, tmp_path):
    out = tmp_path / "vip.csv"
    r = run(sample, "export", "customers", str(out), "--tag", "VIP", "--delimiter", ";")
    assert r.returncode == 0, r.stderr
    assert "Exported 2 customers" in r.stdout
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert {row["Last name"] for row in rows} == {"Lefèvre", "张"}


def test_export_customers_query_xlsx_json(sample, tmp_path):
    out = tmp_path / "q.xlsx"
    r = run(sample, "export", "customers", str(out), "--query", "müller", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rows"] == 1
    ws = load_workbook(out).active
    assert ws["B2"].value == "Jürgen"


def test_export_year_prints_totals_per_currency(sample, tmp_path):
    out = tmp_path / "2025.xlsx"
    r = run(sample, "export", "year", "2025", str(out))
    assert r.returncode == 0, r.stderr
    assert "9 bookings and 5 payments" in r.stdout
    assert "EUR: revenue €295.40" in r.stdout
    assert "CNY: revenue CN¥1,288.00" in r.stdout
    assert load_workbook(out).sheetnames == ["Summary", "Bookings", "Payments"]
    js = run(sample, "export", "year", "2025", str(out), "--json")
    data = json.loads(js.stdout)
    assert data["totals"]["EUR"]["total"]["revenue"] == 29540


def test_export_vcard_and_record(sample, tmp_path):
    vcf = tmp_path / "two.vcf"
    r = run(sample, "export", "vcard", str(vcf), str(sample.zoe), str(sample.wei))
    assert r.returncode == 0, r.stderr
    names = [c.fn.value for c in vobject.readComponents(vcf.read_text(encoding="utf-8"))]
    assert names == ["Zoé Lefèvre", "张伟"]
    rec = tmp_path / "zoe.json"
    r = run(sample, "export", "record", str(sample.zoe), str(rec))
    assert r.returncode == 0, r.stderr
    assert json.loads(rec.read_text(encoding="utf-8"))["profile"]["first_name"] == "Zoé"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("customers", "out.txt"), "can be written as .xlsx or .csv"),
        (("customers", "nowhere/out.csv"), "does not exist"),
        (("customers", "out.csv", "--tag", "Nope"), "no tag named 'Nope'"),
        (("record", "4242", "out.json"), "no customer with id 4242"),
        (("year", "2025", "out.csv"), "can be written as .xlsx"),
    ],
)
def test_export_errors_are_one_clear_line(sample, tmp_path, args, message):
    args = tuple(str(tmp_path / a) if a.startswith(("out", "nowhere")) else a for a in args)
    r = run(sample, "export", *args)
    assert r.returncode == 1
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not list(Path(tmp_path).iterdir())
