"""What every benchmark module shares: cached demo stores, figures, timing helpers.

A benchmark module is ``bench/bench_<name>.py`` with::

    SIZES = (10_000, 100_000, 1_000_000)   # the store sizes it measures
    def run(ctx: Context) -> list[Figure]: ...

Every figure is printed beside a baseline measured in the same run.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import queue
import resource
import shutil
import statistics
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.services import demo, vault
from app.services.store import Store, create_store, open_store

CACHE = Path(os.environ.get("REGULARS_BENCH_CACHE", Path(__file__).parent / ".cache"))
PASSPHRASE = "benchmark passphrase"
SEED = 42


@dataclass
class Figure:
    """One measured figure: ours beside a baseline (None when there is no fair one)."""

    name: str
    ours: float
    baseline: float | None
    unit: str
    baseline_label: str = ""
    target: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.ours:
            return None
        return self.baseline / self.ours


@dataclass
class Context:
    size: int
    store_dir: Path
    work_dir: Path
    extras: dict = field(default_factory=dict)

    def open(self) -> Store:
        """Open the cached store (read-mostly: copy it with :meth:`copy` before big writes)."""
        return open_store(self.store_dir, vault.unlock(self.store_dir, passphrase=PASSPHRASE))

    def copy(self, name: str = "copy") -> Path:
        target = self.work_dir / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(self.store_dir, target)
        return target

    def open_copy(self, name: str = "copy") -> Store:
        target = self.copy(name)
        return open_store(target, vault.unlock(target, passphrase=PASSPHRASE))


def demo_store(size: int, log: Callable[[str], None] = print) -> Path:
    """A demo store of ``size`` customers, built once and cached under bench/.cache."""
    directory = CACHE / f"store-{size}"
    marker = directory / ".complete"
    if marker.exists():
        return directory
    if directory.exists():
        shutil.rmtree(directory)
    log(f"building the {size:,}-customer demo store (cached for later runs)…")
    start = time.perf_counter()
    store, _kit = create_store(directory, passphrase=PASSPHRASE, use_keyring=False)
    try:
        demo.generate(store, customers=size, seed=SEED)
    finally:
        store.close()
    marker.write_text(f"{time.perf_counter() - start:.1f} s\n")
    log(f"  built in {time.perf_counter() - start:.1f} s")
    return directory


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextmanager
def timer() -> Iterator[list[float]]:
    """``with timer() as t: …`` then ``t[0]`` is the elapsed seconds."""
    out: list[float] = []
    start = time.perf_counter()
    yield out
    out.append(time.perf_counter() - start)


def peak_rss_mb(pid: int | str = "self") -> float:
    """Peak resident memory of a process (this one by default) since it started or since
    :func:`reset_peak_rss`, in MB.

    Linux's VmHWM belongs to the process's own address space. ``ru_maxrss`` is the
    fallback elsewhere, but it is no per-task figure on Linux: a child started by
    fork+exec (multiprocessing's spawn) inherits its parent's peak, and it cannot be reset,
    so one earlier peak (the passphrase KDF's, ~220 MB) hides every later one."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    if pid != "self":
        return float("nan")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Start this process's peak memory over from what it holds now (Linux); False when the
    system cannot, and :func:`peak_rss_mb` then still counts from the process's start."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


class ChildPeaks:
    """Peak memory of this process's multiprocessing children while a block runs: a thread
    reads each child's VmHWM every 50 ms (a child's figure is gone once it exits)."""

    def __init__(self) -> None:
        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        import multiprocessing

        while not self._stop.wait(0.05):
            for child in multiprocessing.active_children():
                peak = peak_rss_mb(child.pid) if child.pid else float("nan")
                if peak == peak:  # not NaN: the child was still there
                    self.peaks[child.pid] = max(self.peaks.get(child.pid, 0.0), peak)

    def __enter__(self) -> ChildPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> float:
        """The highest peak of any child (0 when none ran)."""
        return max(self.peaks.values(), default=0.0)


def run_in_child(target: Callable[..., Any], *args: Any) -> Any:
    """``target(*args)`` in a fresh (spawned) process, its return value back here: the
    figures it measures (memory above all) are then its own, not this process's history.
    Raises, with the child's traceback, when it fails or ends without an answer."""
    spawn = mp.get_context("spawn")
    results = spawn.Queue()
    child = spawn.Process(target=_child_main, args=(target, args, results))
    child.start()
    while True:
        try:
            ok, value = results.get(timeout=1)
            break
        except queue.Empty:
            if child.is_alive():
                continue
            try:  # its answer may have arrived just as it ended
                ok, value = results.get(timeout=1)
                break
            except queue.Empty:
                raise RuntimeError(
                    f"{target.__name__} ended without an answer (exit code {child.exitcode})"
                ) from None
    child.join()
    if not ok:
        raise RuntimeError(f"{target.__name__} failed in its process:\n{value}")
    return value


def _child_main(target: Callable[..., Any], args: tuple, results: Any) -> None:
    try:
        results.put((True, target(*args)))
    except BaseException:
        results.put((False, traceback.format_exc()))


def machine() -> str:
    cpus = os.cpu_count()
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kib = int(fh.readline().split()[1])
            mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {cpus} cores{mem}, Python {platform.python_version()}, {system}"
