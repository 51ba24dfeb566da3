"""How long demo data takes to generate (the README's run command relies on it)."""

from __future__ import annotations

import time

from app.services import demo
from app.services.store import create_store
from bench.common import Context, Figure, timer

SIZES = (10_000,)


def run(ctx: Context) -> list[Figure]:
    store, _kit = create_store(ctx.work_dir / "demo", passphrase="x" * 12, use_keyring=False)
    try:
        cpu = time.process_time()
        with timer() as t:
            demo.generate(store, customers=ctx.size, seed=1)
        cpu = time.process_time() - cpu
    finally:
        store.close()
    per_100k = t[0] * 100_000 / ctx.size
    return [
        Figure(
            "demo data, extrapolated to 100k customers",
            per_100k,
            None,
            "s",
            target="< 120 s",
            # CPU time shows the cost when other work shares the two cores
            note=f"{ctx.size:,} measured in {t[0]:.1f} s wall, {cpu:.1f} s CPU",
        )
    ]
