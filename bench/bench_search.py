"""Service-level search latency per query kind, beside a plain ``LIKE '%q%'`` scan.

Each query of a fixed mix runs once to warm the page cache, then ``REPEATS`` times; the
baseline runs the same queries over the same store in the same process as
``LIKE '%q%'`` over display name, sort name, primary phone and primary email, most recent
visit first (what a straightforward implementation would do).
"""

from __future__ import annotations

import os
import time

from app.services import search
from app.services.customer_list import SEARCH_LIMIT
from bench.common import Context, Figure, median, percentile

SIZES = (10_000, 100_000, 1_000_000)
LIMIT = SEARCH_LIMIT  # what the window's list asks for, and the baseline too

QUERIES: dict[str, list[str]] = {
    "names": ["zoe", "muller", "dupont jean", "jean dupont", "lef", "martin", "sophie bern"],
    "phone digits": ["7272", "0652", "+336", "652 52", "0049 151", "1380013"],
    "emails": ["gmail", "dupont@", "orange.fr", "qq.com", "jp.dupont"],
    "CJK": ["张伟", "王", "zhang wei", "zhangw", "li na", "刘"],
    "typos": ["dupomt", "lefebvrr", "schmitd", "wiliams", "moreua"],
    "1–2 letters": ["a", "j", "zh", "ma", "伟", "dü"],
}
TARGET = {100_000: "≤ 5 ms, ≥ 10×", 1_000_000: "≤ 25 ms, ≥ 20×"}


def _repeats(size: int) -> int:
    return 5 if size < 1_000_000 else 3


def _baseline(raw, query: str) -> int:
    like = f"%{query}%"
    rows = raw.execute(
        "SELECT id FROM customer WHERE merged_into_id IS NULL AND archived_at IS NULL AND ("
        "display_name LIKE :p OR sort_name LIKE :p OR primary_phone LIKE :p"
        " OR primary_email LIKE :p) ORDER BY last_visit_at IS NULL, last_visit_at DESC, id"
        " LIMIT :n",
        {"p": like, "n": LIMIT},
    ).fetchall()
    return len(rows)


def _ms(fn) -> tuple[float, float]:
    """(wall-clock ms, CPU ms of this thread): on a shared machine the CPU figure is the
    one that does not count time spent waiting for a core."""
    start, cpu = time.perf_counter(), time.thread_time()
    fn()
    return (time.perf_counter() - start) * 1000, (time.thread_time() - cpu) * 1000


def run(ctx: Context) -> list[Figure]:
    start = time.perf_counter()
    store = ctx.open()  # migrates a store built before the search index v2 (once, cached)
    opened = time.perf_counter() - start
    wall: list[Figure] = []
    cpu: list[Figure] = []
    every: dict[str, list[float]] = {"ow": [], "bw": [], "oc": [], "bc": []}
    try:
        with store.reader() as s:
            raw = s.connection().connection.driver_connection
            for kind, queries in QUERIES.items():
                got: dict[str, list[float]] = {"ow": [], "bw": [], "oc": [], "bc": []}
                slowest: dict[str, float] = {}
                for q in queries:
                    search.search(store, q, limit=LIMIT)
                    _baseline(raw, q)
                    for _ in range(_repeats(ctx.size)):
                        w, c = _ms(lambda q=q: search.search(store, q, limit=LIMIT))
                        got["ow"].append(w)
                        got["oc"].append(c)
                        slowest[q] = max(slowest.get(q, 0.0), c)
                        w, c = _ms(lambda q=q: _baseline(raw, q))
                        got["bw"].append(w)
                        got["bc"].append(c)
                for k, v in got.items():
                    every[k] += v
                wall.append(_figure(f"p95 wall — {kind}", got["ow"], got["bw"], ctx.size))
                cpu.append(_figure(f"p95 CPU — {kind}", got["oc"], got["bc"], ctx.size))
                worst = max(slowest, key=slowest.__getitem__)
                cpu[-1].note += f"; slowest query {worst!r} (max {slowest[worst]:.2f} ms CPU)"
    finally:
        store.close()
    wall.append(_figure("p95 wall — every kind", every["ow"], every["bw"], ctx.size))
    cpu.append(_figure("p95 CPU — every kind", every["oc"], every["bc"], ctx.size))
    load = os.getloadavg()[0]
    cpu[-1].note += f"; load average {load:.1f} during the run"
    wall[-1].note += f"; store opened (incl. any migration) in {opened:.1f} s"
    return wall + cpu


def _figure(name: str, ours: list[float], base: list[float], size: int) -> Figure:
    return Figure(
        name,
        percentile(ours, 95),
        percentile(base, 95),
        "ms",
        baseline_label="LIKE '%q%'",
        target=TARGET.get(size, ""),
        note=(
            f"ours p50 {median(ours):.2f} / max {max(ours):.2f} ms; "
            f"LIKE p50 {median(base):.1f} / max {max(base):.1f} ms; n={len(ours)}"
        ),
    )
