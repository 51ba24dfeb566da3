"""The backup's inner format: one SQL text stream that `sqlite3` reads as it is.

Decrypted, a backup is plain SQL, written so any sqlite3 (3.x) can load it::

    -- regulars-backup {"format": "regulars-backup", "format_version": 1, …}   (header)
    -- (comment lines saying how to load it)
    PRAGMA foreign_keys=OFF;
    BEGIN TRANSACTION;
    CREATE TABLE …;  INSERT INTO "t" VALUES (…),(…);  …   CREATE INDEX …;
    COMMIT;
    -- regulars-backup-end {"counts": {…}, "bytes": N, "sha256": "…"}   (trailer)

Every INSERT is one line: newlines inside text values are written as ``'…'||char(10)||'…'``,
so statement boundaries are easy to find while streaming. The header carries the app and
schema versions; the trailer the rows per table and the SHA-256 of every byte before it.
The search index (an FTS5 table whose tokenizer needs SQLite 3.45+) is written as a plain
table ``regulars_search_rows`` that Regulars turns back into the index on restore; an older
sqlite3 then loads the backup without a single error.

This module only knows the format: :func:`dump` produces it from an open connection inside
one read transaction, :class:`Loader` consumes it into a connection while checking it.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from app.models import search_index

FORMAT = "regulars-backup"
FORMAT_VERSION = 1
HEADER_PREFIX = b"-- regulars-backup "
TRAILER_PREFIX = b"-- regulars-backup-end "
ROWS_PER_INSERT = 400
# executescript batches of about this many bytes: big enough to be fast, small enough
# to keep memory flat however big the store is
BATCH_BYTES = 1 << 20


_INDEX_DDL = ("CREATE INDEX ", "CREATE UNIQUE INDEX ")


class FormatError(Exception):
    """The decrypted stream is not a (complete, intact) Regulars backup."""


@dataclass
class Manifest:
    """What a backup says about itself: header fields plus the trailer's counts."""

    header: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    sha256: str = ""
    bytes: int = 0

    @property
    def schema_revision(self) -> str:
        return str(self.header.get("schema_revision", ""))

    @property
    def created_at(self) -> str:
        return str(self.header.get("created_at", ""))

    def to_dict(self) -> dict[str, Any]:
        return {**self.header, "counts": self.counts, "sha256": self.sha256, "bytes": self.bytes}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any, _type: Any = type, _str: Any = str) -> str:
    """One value as an SQL literal; newlines become char() calls so rows stay on one line."""
    kind = _type(value)
    if kind is str:
        text = value.replace("'", "''")
        if "\n" in text or "\r" in text:
            text = text.replace("\r", "'||char(13)||'").replace("\n", "'||char(10)||'")
        return "'" + text + "'"
    if value is None:
        return "NULL"
    if kind is int:
        return _str(value)
    if kind is float:
        if math.isfinite(value):
            return repr(value)
        return "NULL" if math.isnan(value) else ("9e999" if value > 0 else "-9e999")
    return "X'" + bytes(value).hex() + "'"


# SQL string functions (quote() …) are ~40x slower once SQLCipher's memory security is on,
# so values are formatted here in Python rather than by SQLite


def _tables(cur: Any) -> tuple[list[tuple[str, str]], list[str]]:
    """(name, create sql) of the data tables; their index/trigger/view DDL."""
    tables: list[tuple[str, str]] = []
    later: list[str] = []
    rows = cur.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
    ).fetchall()
    for kind, name, table, sql in rows:
        # the search index is derived data: restore rebuilds it from the customer tables
        if search_index.is_search_index_table(table) or name.startswith("sqlite_"):
            continue
        elif kind == "table":
            tables.append((name, sql))
        else:
            later.append(sql)
    return tables, later


def count_rows(cur: Any) -> int:
    """Rows a dump of this database will write (for progress), read in the caller's snapshot."""
    tables, _later = _tables(cur)
    names = [t for t, _ in tables]
    return sum(cur.execute(f"SELECT count(*) FROM {_q(n)}").fetchone()[0] for n in names)


def dump(
    cur: Any,
    header: dict[str, Any],
    *,
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """Yield the backup text of the database ``cur`` reads, in its current snapshot.

    The caller holds one read transaction open around the whole iteration, so the dump is
    consistent while other connections keep writing.
    """
    sha = hashlib.sha256()
    size = 0
    counts: dict[str, int] = {}
    rows_done = 0
    tables, later = _tables(cur)
    head = {"format": FORMAT, "format_version": FORMAT_VERSION, **header}

    def out(text: str) -> bytes:
        nonlocal size
        data = text.encode("utf-8")
        sha.update(data)
        size += len(data)
        return data

    yield out(
        "-- regulars-backup "
        + json.dumps(head, ensure_ascii=False, sort_keys=True)
        + "\n-- A Regulars customer-book backup: plain SQL. Load it with\n"
        "--   sqlite3 restored.db < backup.sql\n"
        "-- (The search index is derived data, not included; Regulars rebuilds it on restore.)"
        "\nPRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"
    )
    sources = [(name, sql, name) for name, sql in tables]
    for name, sql, source in sources:
        yield out(sql + ";\n")
        columns = ["rowid", "names", "phones", "emails"] if source != name else ["*"]
        cur.execute(f"SELECT {', '.join(columns)} FROM {_q(source)}")
        prefix = f"INSERT INTO {_q(name)} VALUES "
        n = 0
        while batch := cur.fetchmany(ROWS_PER_INSERT):
            n += len(batch)
            values = ",".join(["(" + ",".join(map(_literal, row)) + ")" for row in batch])
            yield out(prefix + values + ";\n")
            rows_done += len(batch)
            if progress is not None:
                progress(rows_done)
        counts[name] = n
    seq = cur.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name='sqlite_sequence'"
    ).fetchone()
    if seq:
        for seq_name, seq_value in cur.execute("SELECT name, seq FROM sqlite_sequence"):
            yield out(
                f"INSERT INTO sqlite_sequence(name, seq) VALUES ('{seq_name}', {int(seq_value)});\n"
            )
    for sql in later:
        yield out(sql + ";\n")
    yield out("COMMIT;\n")
    trailer = {"counts": counts, "bytes": size, "sha256": sha.hexdigest()}
    yield b"-- regulars-backup-end " + json.dumps(trailer, sort_keys=True).encode() + b"\n"


class Loader:
    """A file-like sink for the decrypted stream: checks it and (optionally) executes it.

    ``write`` is called by the age decryption as plaintext arrives. The header is checked
    by ``check_header`` as soon as its line is complete (so a newer schema is refused
    before anything else); SQL goes to ``conn`` in batches; :meth:`finish` checks the
    trailer's byte count and checksum and returns the :class:`Manifest`.
    """

    def __init__(
        self,
        conn: Any | None,
        check_header: Callable[[dict[str, Any]], None],
        progress: Callable[[int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        *,
        skip_indexes: bool = False,
    ) -> None:
        self.conn = conn
        # checking a backup needs its data, not its indexes (derived, and slow to build)
        self.skip_indexes = skip_indexes
        self.check_header = check_header
        self.progress = progress
        self.cancelled = cancelled
        self.sha = hashlib.sha256()
        self.size = 0
        self.received = 0
        self.tail = b""
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.header: dict[str, Any] | None = None
        self.trailer: dict[str, Any] | None = None
        self.error: BaseException | None = None

    # -- the file-like side (called from the decryptor; exceptions are kept, then re-raised)
    def write(self, data: bytes) -> int:
        if self.error is not None:
            # the decryptor may retry a failed write: never process the same bytes twice
            raise self.error
        try:
            self._write(bytes(data))
        except BaseException as exc:
            self.error = exc
            raise
        return len(data)

    def flush(self) -> None:
        pass

    def _write(self, data: bytes) -> None:
        self.received += len(data)
        if self.cancelled is not None and self.cancelled():
            raise Cancelled()
        if self.trailer is not None:
            raise FormatError("there is data after the backup's end marker")
        buf = self.tail + data
        cut = buf.rfind(b"\n") + 1
        self.tail = buf[cut:]
        if cut:
            self._lines(buf[:cut])
        if self.header is None and len(self.tail) > 1 << 16:
            raise FormatError("it decrypts, but does not start with a Regulars backup header")
        if self.progress is not None:
            self.progress(self.received)

    def _lines(self, block: bytes) -> None:
        if self.header is None:
            end = block.index(b"\n") + 1
            self._header(block[:end])
            self._data(block[:end], execute=False)
            block = block[end:]
        if block.startswith(TRAILER_PREFIX):
            start = 0
        else:
            at = block.find(b"\n" + TRAILER_PREFIX)
            if at == -1:
                self._data(block)
                return
            start = at + 1
        self._data(block[:start])
        trailer_line = block[start:]
        if trailer_line.count(b"\n") != 1:
            raise FormatError("there is data after the backup's end marker")
        try:
            self.trailer = json.loads(trailer_line[len(TRAILER_PREFIX) :])
        except ValueError as exc:
            raise FormatError(f"the backup's end marker is damaged ({exc})") from None

    def _header(self, line: bytes) -> None:
        if not line.startswith(HEADER_PREFIX):
            raise FormatError("it decrypts, but does not start with a Regulars backup header")
        try:
            header = json.loads(line[len(HEADER_PREFIX) :])
        except ValueError as exc:
            raise FormatError(f"the backup's header is damaged ({exc})") from None
        if header.get("format") != FORMAT:
            raise FormatError("it decrypts, but is not a Regulars backup")
        self.check_header(header)
        self.header = header

    def _data(self, block: bytes, execute: bool = True) -> None:
        if not block:
            return
        self.sha.update(block)
        self.size += len(block)
        if not execute or self.conn is None:
            return
        self.pending.append(block)
        self.pending_size += len(block)
        if self.pending_size >= BATCH_BYTES:
            self._execute(final=False)

    def _execute(self, final: bool) -> None:
        text = b"".join(self.pending).decode("utf-8")
        if not final and not sqlite3.complete_statement(text):
            return  # a statement spans the batch end: wait for the rest
        self.pending = []
        self.pending_size = 0
        # the dump's own BEGIN/COMMIT would be cut by executescript's implicit commits;
        # each batch runs in its own transaction instead
        text = text.replace("\nBEGIN TRANSACTION;\n", "\n").replace("\nCOMMIT;\n", "\n")
        if text.startswith("BEGIN TRANSACTION;\n"):
            text = text[len("BEGIN TRANSACTION;\n") :]
        if self.skip_indexes and "INDEX" in text:
            text = "\n".join(line for line in text.split("\n") if not line.startswith(_INDEX_DDL))
        if text.strip():
            self.conn.executescript("BEGIN;\n" + text + "\nCOMMIT;")

    def finish(self) -> Manifest:
        """After the decryption ended without error: check the end, flush the last batch."""
        if self.header is None:
            raise FormatError("it decrypts, but holds no Regulars backup header")
        if self.tail:
            raise FormatError(
                "the backup ends in the middle of a line: it was cut off before the end"
            )
        if self.trailer is None:
            raise FormatError("the backup has no end marker: it was cut off before the end")
        if self.trailer.get("bytes") != self.size or self.trailer.get("sha256") != (
            self.sha.hexdigest()
        ):
            raise FormatError("the backup's checksum does not match its contents")
        if self.conn is not None and self.pending:
            self._execute(final=True)
        return Manifest(
            header=self.header,
            counts={k: int(v) for k, v in self.trailer.get("counts", {}).items()},
            sha256=self.sha.hexdigest(),
            bytes=self.size,
        )


class Cancelled(Exception):
    """The person cancelled; nothing was kept."""
