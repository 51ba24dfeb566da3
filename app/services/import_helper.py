"""The import's helper process: it reads and cleans a big file while the writer writes.

Kept apart from :mod:`app.services.importing` so that the spawned process imports only
what reading and cleaning need, not the writer's store, tracking and migrations: its
start-up costs 0.7-0.8 s of CPU instead of 1.1 s (measured), on the core that also cleans.
"""

from __future__ import annotations

import gc
import pickle
from typing import Any

from app.services import import_cleaning as cl
from app.services.errors import ServiceError
from app.services.import_readers import open_table
from app.services.import_rows import CleanRow

CHUNK = 2000
# the first chunk is small: the writer starts once this many rows are clean, not 2000
FIRST_CHUNK = 250
# a chunk's rows, states and pending inserts (~40k objects) live and die together: the
# collector's default (a young pass every 700 new objects, a full pass every ~100) spent
# ~3 s of a 100k-row import tracing them; above a chunk's size it seldom runs at all
GC_YOUNG_THRESHOLD = 100_000


def chunk_ends(done: int) -> bool:
    """Whether a chunk ends after this many rows (the writer's chunks are the helper's)."""
    return done == FIRST_CHUNK or (done > FIRST_CHUNK and (done - FIRST_CHUNK) % CHUNK == 0)


def feed_sniffers(sniffers: dict[int, cl.DateOrderSniffer], cells: list[Any]) -> None:
    """Count a row's date cells towards each date column's dd/mm or mm/dd decision."""
    for index, sniffer in sniffers.items():
        if index < len(cells):
            sniffer.feed(cells[index])


def read_and_clean(
    path: str, sheet: str | None, encoding: str | None, go: Any, chunks: Any
) -> None:
    """The helper process: open the file, wait for the cleaner, read and clean the rows and
    hand them over chunk by chunk; then its date sniffers, or the exception that stopped it."""
    gc.freeze()  # as in the writer: full collections skip what the helper starts with
    gc.set_threshold(GC_YOUNG_THRESHOLD)
    source = None
    try:
        source = open_table(path, sheet=sheet, encoding=encoding)
        cleaner, skip, date_columns = go.get()
        sniffers = {index: cl.DateOrderSniffer() for index in date_columns}
        batch: list[CleanRow] = []
        for done, (number, cells) in enumerate(source.rows(), start=1):
            if done <= skip:  # the writer cleaned these while this process started
                continue
            feed_sniffers(sniffers, cells)
            batch.append(cleaner.clean(number, cells))
            if chunk_ends(done):
                chunks.put(batch)
                batch = []
        if batch:
            chunks.put(batch)
        chunks.put(sniffers)
    except BaseException as exc:
        try:
            pickle.dumps(exc)
        except Exception:
            exc = ServiceError(f"{type(exc).__name__}: {exc}")
        chunks.put(exc)
    finally:
        if source is not None:
            source.close()
