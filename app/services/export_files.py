"""Writing export files safely: a temp file beside the target, renamed only when complete.

A cancelled or failed export therefore never leaves a half-written file under the name the
owner chose, and never replaces an earlier good file with a broken one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.services.errors import ServiceError, ValidationError
from app.services.store import Store

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

# how often (rows) long exports report progress and look at the cancel flag
STEP = 1000


class ExportError(ServiceError):
    """An export that could not be written; the message says which file and why."""


class ExportCancelled(ExportError):
    """The owner cancelled; nothing was written."""


@dataclass
class ExportResult:
    """What an export wrote: the file, how many rows, and anything worth reporting."""

    path: Path
    kind: str
    format: str
    rows: int
    details: dict[str, Any] = field(default_factory=dict)


def output_format(path: str | Path, allowed: tuple[str, ...], what: str) -> str:
    """The format named by the file's extension ('xlsx', 'csv'…), or a clear refusal."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in allowed:
        wanted = " or ".join(f".{a}" for a in allowed)
        raise ValidationError(
            "file", f"{Path(path).name}: {what} can be written as {wanted} (name the file so)"
        )
    return suffix


class Ticker:
    """Calls ``progress`` and checks ``cancelled`` every :data:`STEP` rows."""

    def __init__(self, total: int, progress: Progress | None, cancelled: Cancelled | None):
        self.total = total
        self.done = 0
        self._progress = progress
        self._cancelled = cancelled
        self._next = STEP

    def check(self) -> None:
        if self._cancelled is not None and self._cancelled():
            raise ExportCancelled("export cancelled; no file was written")

    def tick(self, n: int = 1) -> None:
        self.done += n
        if self.done >= self._next:
            self._next = self.done + STEP
            self.check()
            if self._progress is not None:
                self._progress(self.done, self.total)

    def finish(self) -> None:
        self.check()
        if self._progress is not None:
            # the total may have been an estimate; the end is the end
            self._progress(self.done, self.done)


@contextlib.contextmanager
def atomic_output(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it becomes ``target``.

    The temporary file is created owner-only (it holds personal data) and removed on any
    error or cancellation.
    """
    target = Path(target).expanduser()
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"cannot write {target}: the folder {folder} does not exist")
    if target.is_dir():
        raise ExportError(f"cannot write {target}: that is a folder")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise ExportError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def snapshot(store: Store) -> Iterator[Any]:
    """A raw DB-API connection inside one read transaction: every query of an export sees
    the same data, even while the front desk keeps writing (WAL readers never block)."""
    with store.reader() as s:
        raw = s.connection().connection
        began = not raw.in_transaction
        if began:
            raw.execute("BEGIN")
        try:
            yield raw
        finally:
            if began and raw.in_transaction:
                raw.execute("ROLLBACK")
