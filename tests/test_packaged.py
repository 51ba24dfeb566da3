"""The packaged app (installer/regulars.spec) built with PyInstaller and run as a user runs it.

Packaging fails where the code does not: a module imported by name, a file read from disk,
a helper process that starts the program again. Each test here runs the built program.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("PyInstaller", reason="packaging needs PyInstaller (the dev extra has it)")

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "a packaged passphrase 42"
ROWS = 25_000  # above importing.PARALLEL_MIN_ROWS: the import starts its helper process


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pyinstaller")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            str(ROOT / "installer" / "regulars.spec"),
            "--noconfirm",
            "--log-level=WARN",
            f"--distpath={out / 'dist'}",
            f"--workpath={out / 'work'}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    return out / "dist" / "regulars" / "regulars"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGULARS_")}
    env.update(
        REGULARS_DATA_DIR=str(data_dir),
        REGULARS_PASSPHRASE=PASSPHRASE,
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        QT_QPA_PLATFORM="offscreen",
    )
    return env


def _run(program: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(program), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"regulars {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def _write_guests(path: Path) -> None:
    firsts = ["Hélène", "Jürgen", "芳", "François", "Zoë"]
    lasts = ["Dubois", "Müller", "王", "de la Fontaine", "O'Brien"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";")
        out.writerow(["First name", "Last name", "Phone", "Email", "City"])
        for i in range(ROWS):
            out.writerow(
                [
                    firsts[i % 5],
                    lasts[i // 5 % 5],
                    f"06 {i // 1000000 % 100:02d} {i // 10000 % 100:02d} "
                    f"{i // 100 % 100:02d} {i % 100:02d}",
                    f"guest{i}@example.org",
                    "Lyon",
                ]
            )


def _helpers_of(pid: int) -> list[str]:
    """Command lines of ``pid``'s child processes (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == pid:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return found


def test_packaged_program_creates_a_store_and_imports_with_its_helper(
    program: Path, tmp_path: Path
) -> None:
    env = _env(tmp_path / "store")
    assert _run(program, env, "--version").stdout.strip().startswith("regulars ")
    _run(program, env, "init")  # the migrations are read from their folder in the bundle
    guests = tmp_path / "guests.csv"
    _write_guests(guests)

    importing = subprocess.Popen(
        [str(program), "import", str(guests), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    helpers: set[str] = set()
    while importing.poll() is None:
        if Path("/proc").is_dir():
            helpers.update(_helpers_of(importing.pid))
        time.sleep(0.05)
    out, err = importing.communicate()
    assert importing.returncode == 0, err
    report = json.loads(out)
    assert report["created"] == ROWS and report["errors"] == []
    if Path("/proc").is_dir():
        # the program started itself again as the reading and cleaning helper
        assert any("--multiprocessing-fork" in cmd for cmd in helpers), helpers

    found = _run(program, env, "search", "Müller").stdout
    assert "Müller" in found
    assert "+33 6 00 01 23 45" in _run(program, env, "search", "0600012345").stdout


def test_packaged_window_starts_on_a_new_machine_with_demo_data(
    program: Path, tmp_path: Path
) -> None:
    env = _env(tmp_path / "store")
    log = tmp_path / "window.log"  # a file, not a pipe: a full pipe would stall the window
    with open(log, "wb") as err:
        window = subprocess.Popen(
            [str(program), "--demo"], env=env, stdout=subprocess.DEVNULL, stderr=err
        )
        try:
            # the window makes the store, opens on it and fills it with demo customers in
            # the background; another program may read the store meanwhile
            shown = None
            deadline = time.monotonic() + 180
            while shown is None and time.monotonic() < deadline and window.poll() is None:
                time.sleep(2)
                if (tmp_path / "store" / "regulars.db").exists():
                    done = subprocess.run(
                        [str(program), "show", "1"], env=env, capture_output=True, text=True
                    )
                    shown = done.stdout if done.returncode == 0 else None
            still_running = window.poll() is None
        finally:
            window.kill()
            window.wait()
    errors = log.read_text(errors="replace")
    assert still_running, errors[-3000:]
    assert "Traceback" not in errors, errors[-3000:]
    assert shown and "#1" in shown
