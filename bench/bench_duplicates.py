"""Duplicate detection: quality on the labelled set, full-scan and on-save speed.

Quality (once per run): precision, recall and F1 of the scored pairs over thresholds on
``bench/dup_labelled.py``, beside an exact-key baseline (same phone or same email key =
same person) measured on the same set. Speed (per store size): the full scan against a
blocking-free all-pairs comparison (timed on a sample, extrapolated to n²/2), and the
incremental check for one customer (p95) against scoring that customer against every
profile with no blocking.
"""

from __future__ import annotations

import os
import random
import time
from collections import defaultdict
from itertools import combinations

from app.services import duplicates as dup
from app.services.store import create_store
from bench import dup_labelled
from bench.common import Context, Figure, percentile, timer

SIZES = (10_000, 100_000)
THRESHOLDS = (0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99)
_quality_done = False


def _prf(predicted: set, truth: set) -> tuple[float, float, float]:
    tp = len(predicted & truth)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(truth) if truth else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def quality(ctx: Context) -> list[Figure]:
    store, _kit = create_store(ctx.work_dir / "labelled", passphrase="x" * 12, use_keyring=False)
    try:
        records = dup_labelled.generate()
        mapping = dup_labelled.load_into(store, records)
        truth = dup_labelled.true_pairs(mapping)
        with timer() as t:
            result = dup.find_duplicates(store, min_score=0.0)
        scored = {(p.customer_id, p.other_id): p.score for g in result.groups for p in g.pairs}
        with timer() as tb:
            base = _exact_key_pairs(store)
    finally:
        store.close()
    print(
        f"  labelled set: {len(records):,} profiles, {len(set(mapping.values())):,} people, "
        f"{len(truth):,} true pairs; {result.pairs_compared:,} pairs compared in {t[0]:.2f} s"
    )
    print("  threshold  precision  recall    F1     pairs")
    for th in THRESHOLDS:
        pred = {k for k, v in scored.items() if v >= th}
        p, r, f = _prf(pred, truth)
        mark = "  ← default" if th == dup.DEFAULT_MIN_SCORE else ""
        print(f"  {th:>9.2f}  {p:>9.3f}  {r:>6.3f}  {f:>6.3f}  {len(pred):>6}{mark}")
    pred = {k for k, v in scored.items() if v >= dup.DEFAULT_MIN_SCORE}
    p, r, f = _prf(pred, truth)
    bp, br, bf = _prf(base, truth)
    print(f"  exact-key baseline: precision {bp:.3f} recall {br:.3f} F1 {bf:.3f}")
    # what a person reviews: transitive groups at the default threshold, as pairs
    grouped = set()
    for g in dup.group_pairs(
        [x for grp in result.groups for x in grp.pairs if x.score >= dup.DEFAULT_MIN_SCORE]
    ):
        grouped.update(combinations(g.customer_ids, 2))
    gp, gr, gf = _prf(grouped, truth)
    print(f"  transitive groups at the default: precision {gp:.3f} recall {gr:.3f} F1 {gf:.3f}")
    kinds = {cid: records[cid - min(mapping)].kind for cid in mapping}
    hard_fp = [k for k in pred - truth if kinds[k[0]] not in ("original", "copy")]
    print(f"  hard negatives suggested at the default: {len(hard_fp)}")
    label = "exact phone/email"
    th = dup.DEFAULT_MIN_SCORE
    return [
        Figure(f"precision @ {th}", p, bp, "", label, "≥ 0.97", f"{len(pred)} pairs suggested"),
        Figure(f"recall @ {th}", r, br, "", label, "≥ 0.93", f"{len(truth)} true pairs"),
        Figure(f"F1 @ {th}", f, bf, "", label),
        Figure(
            "labelled set scan time",
            t[0],
            tb[0],
            "s",
            "exact-key scan",
            note=f"{len(records):,} profiles",
        ),
    ]


def _exact_key_pairs(store) -> set[tuple[int, int]]:
    with store.reader() as s:
        people = dup._load_people(s.connection())
    blocks: dict[str, list[int]] = defaultdict(list)
    for p in people.values():
        for e164 in p.phones:
            blocks["p" + e164].append(p.id)
        for key, _a, _r in p.emails:
            blocks["e" + key].append(p.id)
    return {pair for ids in blocks.values() for pair in combinations(sorted(set(ids)), 2)}


def _load() -> str:
    try:
        return "avg " + " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def run(ctx: Context) -> list[Figure]:
    global _quality_done
    figures: list[Figure] = []
    if not _quality_done:
        _quality_done = True
        figures += quality(ctx)
    store = ctx.open_copy()
    try:
        with timer() as t_key:
            _exact_key_pairs(store)
        cpu = time.process_time()
        with timer() as t_full:
            result = dup.find_duplicates(store)
        cpu_full = time.process_time() - cpu
        with store.reader() as s:
            people = dup._load_people(s.connection())
        common = dup.Commonness(lambda k: 1, lambda k: 1, lambda k: 1)
        sample = random.Random(1).sample(sorted(people), 1000)
        start = time.perf_counter()
        for a, b in combinations(sample, 2):
            dup.score_pair(people[a], people[b], common)
        per_pair = (time.perf_counter() - start) / (len(sample) * (len(sample) - 1) / 2)
        naive = per_pair * len(people) * (len(people) - 1) / 2
        ids = random.Random(2).sample(sorted(people), 200)
        for cid in ids[:20]:  # warm the page cache as a running app would have it
            dup.candidates_for(store, cid)
        times, cpu_times = [], []
        for cid in ids:
            start, cpu = time.perf_counter(), time.process_time()
            dup.candidates_for(store, cid)
            times.append((time.perf_counter() - start) * 1000)
            cpu_times.append((time.process_time() - cpu) * 1000)
        base_times = []
        for cid in ids[:10]:
            start = time.perf_counter()
            me = people[cid]
            for other in people.values():
                if other.id != cid:
                    dup.score_pair(me, other, common, dup.DEFAULT_MIN_SCORE)
            base_times.append((time.perf_counter() - start) * 1000)
    finally:
        store.close()
    speed = [
        Figure(
            "full duplicate scan",
            t_full[0],
            naive,
            "s",
            "all pairs, no blocking (extrapolated)",
            "≤ 20 s at 100k",
            f"CPU {cpu_full:.1f} s (wall depends on machine load: {_load()}); "
            f"{result.pairs_compared:,} pairs compared, {len(result.groups):,} groups; "
            f"exact-key-only scan {t_key[0]:.1f} s",
        ),
        Figure(
            "incremental check p95",
            percentile(times, 95),
            percentile(base_times, 95),
            "ms",
            "score against every profile",
            "≤ 20 ms at 100k",
            f"median {percentile(times, 50):.1f} ms, CPU p95 "
            f"{percentile(cpu_times, 95):.1f} ms over {len(times)} customers; load {_load()}",
        ),
    ]
    for fig in speed:
        print(f"  {fig.name}: {fig.note}")
    return figures + speed
