"""Make a large benchmark store quickly by replicating a cached demo store's customers.

``python -m bench.replicate_store SOURCE_DIR TARGET_DIR TIMES``

Copies the store (same key slots), then inserts TIMES-1 more copies of every customer
with its phones and emails (ids offset), and rebuilds the search index.
Bookings, payments and notes are not copied: the store is for search benchmarks, where
only profiles, contact points and the index matter. Name, phone and email distributions
per customer are the demo's; each phone number and address occurs TIMES times.

Used when a real 1M demo build does not fit in the time available (see docs/benchmarks.md).
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from sqlalchemy import text

from app.models import Customer, CustomerEmail, CustomerPhone
from app.models import search_index as ix
from app.services import vault
from app.services.store import open_store
from bench.common import PASSPHRASE


def replicate(source: Path, target: Path, times: int) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    (target / ".complete").unlink(missing_ok=True)
    store = open_store(target, vault.unlock(target, passphrase=PASSPHRASE))
    started = time.perf_counter()
    try:
        with store.engine.begin() as conn:
            top = conn.execute(text("SELECT max(id) FROM customer")).scalar()
            cust_cols = [c.name for c in Customer.__table__.columns if c.name != "merged_into_id"]
            sel_cust = ", ".join(
                "id + :off" if c == "id" else ("NULL" if c == "import_batch_id" else c)
                for c in cust_cols
            )
            phone_cols = [c.name for c in CustomerPhone.__table__.columns if c.name != "id"]
            email_cols = [c.name for c in CustomerEmail.__table__.columns if c.name != "id"]
            for k in range(1, times):
                off = {"off": k * top, "top": top}
                conn.execute(
                    text(
                        f"INSERT INTO customer ({', '.join(cust_cols)}) SELECT {sel_cust} "
                        "FROM customer WHERE id <= :top"
                    ),
                    off,
                )
                for table, cols in (("customer_phone", phone_cols), ("customer_email", email_cols)):
                    sel = ", ".join("customer_id + :off" if c == "customer_id" else c for c in cols)
                    conn.execute(
                        text(
                            f"INSERT INTO {table} ({', '.join(cols)}) SELECT {sel} FROM {table} "
                            "WHERE customer_id <= :top"
                        ),
                        off,
                    )
                print(f"  copy {k + 1}/{times}: customers", flush=True)
            # the index is derived from the rows just copied: rebuilt as a migration would
            print("  rebuilding the search index", flush=True)
            ix.rebuild(conn)
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    (target / ".complete").write_text(
        f"replicated {times}x from {source.name} in {time.perf_counter() - started:.1f} s\n"
    )


if __name__ == "__main__":
    replicate(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
