"""Import customers and bookings from CSV, Excel and vCard files; undo an import.

An import reads the file once. A first look at its first rows guesses, per date column,
between dd/mm and mm/dd; the pass then checks that guess against every row and, should the
whole column say otherwise, runs again before anything is committed. The pass
cleans rows (``import_rows``), matches them to customers by external reference, E.164
phone or email — existing customers and earlier rows of the same file alike — and writes
in chunks through the connection's DB-API cursor inside ONE transaction (new customers'
figures, list columns and search rows computed from what the chunk writes). Earlier chunks
are already in that transaction, so the database itself answers "did an earlier row create
this person?" and memory stays flat however long the file is. Big files are read and
cleaned in a helper process while this one matches and writes. A dry run, an import with
bad rows (unless they are skipped) and a cancelled import roll that transaction back:
nothing is written.

Every import is an :class:`ImportBatch`. Customers and bookings it created carry the batch
id; what it changed in existing customers is in ``undo_log``, so :func:`undo_import` can
put the store back exactly.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import gc
import operator
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Date, DateTime, delete, func, insert, select, update

from app.models import (
    Booking,
    Customer,
    CustomerEmail,
    CustomerPhone,
    ExternalRef,
    ImportBatch,
    MergeRecord,
    Note,
    Tag,
    customer_tag,
    search_index,
)
from app.services import import_cleaning as cl
from app.services import settings as settings_svc
from app.services import tracking
from app.services.errors import NotFoundError, ServiceError, ValidationError
from app.services.import_helper import (
    CHUNK,
    FIRST_CHUNK,
    GC_YOUNG_THRESHOLD,
    chunk_ends,
    feed_sniffers,
    read_and_clean,
)
from app.services.import_mapping import (
    DATE_FIELDS,
    ColumnMapping,
    Profile,
    apply_overrides,
    detect_mapping,
    detect_profile,
    unmapped_columns,
)
from app.services.import_readers import ImportFileError, TableSource, open_table
from app.services.import_rows import (
    PROFILE_VALUES,
    CleanRow,
    Problem,
    RowCleaner,
    Settings,
    name_views,
    phone_views,
)
from app.services.normalize import display_name, sort_key
from app.services.store import Store

__all__ = [
    "FilePreview",
    "ImportFileError",
    "ImportOptions",
    "ImportReport",
    "Problem",
    "UndoReport",
    "import_file",
    "list_batches",
    "preview_file",
    "undo_import",
]

# chunks the writer cleans itself while the helper starts: the helper's start-up and first
# chunk take about as long as the writer's three (with two, the 100k-row import's writer
# sat idle for 1.5-2 s of its 20, waiting for the helper's first rows; with three, 0.8-1 s)
OWN_CHUNKS = 3
# from this many rows on, cleaning runs in a helper process while this one writes
PARALLEL_MIN_ROWS = 20_000
# a CSV, or a workbook that does not say how many rows it has, this big probably has that many
PARALLEL_MIN_BYTES = 1 << 20
MAX_PROBLEMS = 1000
# a full collection every this many chunks: each chunk's SQL statements leave reference
# cycles behind (SQLAlchemy's clones hold their originals, and their IN lists of phones and
# addresses), which the raised young threshold lets pile up for ~100k rows at a time; the
# writer's memory grew ~35 MB per 100k rows with them (a 300k-row file: 187 -> 216 MB
# between chunks 40 and 120) and stays level with a collection every 8 chunks (179 ->
# 185 MB), which costs ~27 ms each: 0.2 s of a 100k-row import
GC_FULL_EVERY = 8
SAMPLE_ROWS = 50
Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

_CUSTOMER_COLUMNS = (
    "first_name",
    "last_name",
    *PROFILE_VALUES,
    "marketing_consent",
    "consent_at",
    "consent_method",
    "consent_source",
    "source_channel",
    "updated_at",
)
_DERIVED_NAMES = ("updated_at", "display_name", "sort_name")
_LABELS = {
    "first_name": "first name",
    "last_name": "last name",
    "preferred_language": "language",
    "first_contact": "first contact",
    "marketing_consent": "marketing consent",
}


@dataclass
class ImportOptions:
    """How to read and apply a file. ``mapping`` holds COLUMN=FIELD choices."""

    sheet: str | None = None
    encoding: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    default_region: str | None = None
    date_order: str | None = None  # dmy or mdy, for columns that could be either
    dry_run: bool = False
    skip_bad_rows: bool = False
    # clean big files in a helper process (spawned: the caller's main module must be
    # import-safe, as `regulars`, `python -m app` and pytest are; a packaged build calls
    # multiprocessing.freeze_support() first, in app/__main__.py)
    parallel: bool = False


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    batch: int | None
    created: int = 0
    updated: int = 0
    skipped: int = 0
    unmapped_columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    rows: int = 0
    unchanged: int = 0
    bookings_created: int = 0
    dry_run: bool = False
    cancelled: bool = False
    committed: bool = False
    source: str = ""
    kind: str = ""
    encoding: str | None = None
    sheet: str | None = None
    profile: str = "generic"
    date_orders: dict[str, str] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def to_json(self) -> dict[str, Any]:
        """The agreed summary: batch, created, updated, skipped, unmapped columns, problems."""
        return {
            "batch": self.batch,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "unmapped_columns": list(self.unmapped_columns),
            "errors": [p.to_json() for p in self.problems],
        }


@dataclass
class FilePreview:
    """What the wizard shows before importing: sheets, encoding, columns and first rows."""

    path: Path
    kind: str
    encoding: str | None
    delimiter: str | None
    sheets: list[str]
    sheet: str | None
    headers: list[str]
    mapping: list[ColumnMapping]
    rows: list[list[str]]
    profile: str
    estimated_rows: int | None


@dataclass
class UndoReport:
    batch: int
    customers_deleted: int
    bookings_deleted: int
    customers_restored: int
    kept_later_changes: list[str] = field(default_factory=list)


@dataclass
class BatchInfo:
    id: int
    created_at: dt.datetime
    source: str
    summary: dict[str, Any] | None
    undone_at: dt.datetime | None


# ---------------------------------------------------------------- preview


def _settings(store: Store, region: str | None) -> Settings:
    conf = settings_svc.get_all(store)
    chosen = (region or conf["default_region"]).upper()
    import phonenumbers

    if chosen not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError("default_region", f"'{chosen}' is not a country code such as FR")
    return Settings(
        region=chosen, currency=conf["currency"], timezone=conf["timezone"], kind=conf["kind"]
    )


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sample(source: TableSource, n: int) -> list[list[Any]]:
    out = []
    for _number, cells in source.rows():
        out.append(cells)
        if len(out) >= n:
            break
    return out


def _mapping_for(
    source: TableSource, overrides: dict[str, str], region: str
) -> list[ColumnMapping]:
    mapping = detect_mapping(source.headers, _sample(source, SAMPLE_ROWS), region)
    if overrides:
        apply_overrides(mapping, overrides)
    return mapping


def preview_file(
    store: Store,
    path: Path | str,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    mapping: dict[str, str] | None = None,
    default_region: str | None = None,
    rows: int = 20,
) -> FilePreview:
    """Open a file for the wizard: detected encoding, sheets, mapping and the first rows.

    Raises:
        ImportFileError: the file is not a readable table or contact file.
    """
    conf = _settings(store, default_region)
    source = open_table(path, sheet=sheet, encoding=encoding)
    try:
        column_map = _mapping_for(source, mapping or {}, conf.region)
        first = _sample(source, rows)
    finally:
        source.close()
    return FilePreview(
        path=Path(path),
        kind=source.kind,
        encoding=source.encoding,
        delimiter=source.delimiter,
        sheets=source.sheets,
        sheet=source.sheet,
        headers=source.headers,
        mapping=column_map,
        rows=[[_display(c) for c in r] for r in first],
        profile=detect_profile(source.headers).name,
        estimated_rows=source.estimated_rows,
    )


# ---------------------------------------------------------------- import


class _Cancelled(Exception):
    pass


class _Redo(Exception):
    """The whole file decided a date column's order differently from its first rows."""

    def __init__(self, orders: dict[int, str]) -> None:
        super().__init__("date order changed")
        self.orders = orders


class _DateColumns:
    """dd/mm versus mm/dd for each date column, decided from every value in the column.

    The import reads the file once: the order is guessed from the first rows
    (:meth:`first_look`), the rows are cleaned with that guess while every value of the
    column is looked at (:meth:`sniffers`), and :meth:`decide` gives the whole column's
    answer at the end. When it differs from the guess, nothing has been committed: the
    import runs again with the whole column's answer.
    """

    FIRST_ROWS = 5000

    def __init__(
        self, mapping: list[ColumnMapping], default_order: str, chosen_order: str | None
    ) -> None:
        self.columns = [m for m in mapping if m.field in DATE_FIELDS]
        self.default_order = default_order
        self.chosen_order = chosen_order

    def sniffers(self) -> dict[int, cl.DateOrderSniffer]:
        return {m.index: cl.DateOrderSniffer() for m in self.columns}

    def first_look(self, source: TableSource) -> dict[int, str]:
        """The orders the first rows suggest (read before the import's one pass)."""
        if not self.columns:
            return {}
        sniffers = self.sniffers()
        rows = source.rows()
        try:
            for count, (_number, cells) in enumerate(rows, start=1):
                feed_sniffers(sniffers, cells)
                if count == self.FIRST_ROWS:
                    break
        finally:
            rows.close()
        return self.decide(sniffers)[0]

    def same(self, a: dict[int, str], b: dict[int, str]) -> bool:
        """Whether two decisions read every date the same way (no decision reads dd/mm)."""
        return all(a.get(m.index, "dmy") == b.get(m.index, "dmy") for m in self.columns)

    def decide(
        self, sniffers: dict[int, cl.DateOrderSniffer]
    ) -> tuple[dict[int, str], list[Problem]]:
        """Each column's order and the warnings about ambiguous or mixed columns."""
        orders: dict[int, str] = {}
        problems = []
        for m in self.columns:
            decision = sniffers[m.index].decide(self.chosen_order or self.default_order)
            if decision is None:
                continue
            orders[m.index] = decision.order
            layout = "dd/mm/yyyy" if decision.order == "dmy" else "mm/dd/yyyy"
            if decision.ambiguous and not self.chosen_order:
                problems.append(
                    Problem(
                        1,
                        m.header,
                        f"ambiguous dates: every date in this column could be dd/mm or mm/dd; "
                        f"read as {layout}",
                        "warning",
                    )
                )
            elif decision.inconsistent:
                problems.append(
                    Problem(
                        1,
                        m.header,
                        f"this column mixes dd/mm and mm/dd dates; read as {layout} (the "
                        "majority), rows that do not fit are reported",
                        "warning",
                    )
                )
        return orders, problems


def import_file(
    store: Store,
    path: Path | str,
    options: ImportOptions | None = None,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> ImportReport:
    """Import a CSV, XLSX or vCard file of customers (and their bookings).

    All or nothing: when a row has an error, nothing is written unless
    ``options.skip_bad_rows``; a dry run writes nothing and reports what would happen.

    Args:
        store: the open store.
        path: the file to import.
        options: sheet, encoding, COLUMN=FIELD mapping, default region, dry run…
        progress: called with (rows done, rows the file announces or about that many).
        cancelled: polled between chunks and before committing; when it answers True
            nothing is written.

    Returns:
        The report; ``batch`` is the new import batch id, or None when nothing was written.

    Raises:
        ImportFileError: the file is not a readable table (nothing is changed).
        ValidationError: a bad --map or region.
    """
    options = options or ImportOptions()
    if options.date_order not in (None, "dmy", "mdy"):
        raise ValidationError("date_order", "must be dmy or mdy")
    conf = _settings(store, options.default_region)
    # a file big enough to need the helper process starts it first: its start-up and its
    # own opening of the file (a workbook's shared strings: seconds) overlap this one's
    helper = _Helper(path, options.sheet, options.encoding) if _big_file(path, options) else None
    try:
        source = open_table(path, sheet=options.sheet, encoding=options.encoding)
        try:
            if helper is not None and not _likely_big(source):
                helper.stop()
                helper = None
            return _import_source(store, path, source, options, conf, progress, cancelled, helper)
        finally:
            source.close()
    finally:
        if helper is not None:
            helper.stop()


def _big_file(path: Path | str, options: ImportOptions) -> bool:
    if not (options.parallel and _can_fork()):
        return False
    try:
        return Path(path).stat().st_size >= PARALLEL_MIN_BYTES
    except OSError:
        return False  # open_table says what is wrong with it


def _import_source(
    store: Store,
    path: Path | str,
    source: TableSource,
    options: ImportOptions,
    conf: Settings,
    progress: Progress | None,
    cancelled: Cancelled | None,
    helper: _Helper | None,
) -> ImportReport:
    mapping = _mapping_for(source, options.mapping, conf.region)
    profile = detect_profile(source.headers)
    fresh = ImportReport(
        batch=None,
        unmapped_columns=unmapped_columns(mapping),
        dry_run=options.dry_run,
        source=str(Path(path).name),
        kind=source.kind,
        encoding=source.encoding,
        sheet=source.sheet,
        profile=profile.name,
    )
    if not any(m.field for m in mapping):
        raise ImportFileError(
            f"{Path(path).name}: no column is recognised (columns: "
            + ", ".join(source.headers[:20])
            + "); choose fields with --map COLUMN=FIELD"
        )
    dates = _DateColumns(mapping, cl.default_date_order(conf.region), options.date_order)
    orders = dates.first_look(source)
    for attempt in (1, 2):
        report = dataclasses.replace(fresh, problems=[], date_orders={})
        cleaner = RowCleaner(mapping, conf, profile, orders)
        run = _Run(store, report, profile, options)
        try:
            run.execute(source, cleaner, dates, attempt == 1, progress, cancelled, helper)
        except _Redo as redo:
            orders, helper = redo.orders, None
            continue
        return report
    raise AssertionError("unreachable: the second pass never asks for a third")


def _cleaned_rows(
    source: TableSource,
    cleaner: RowCleaner,
    sniffers: dict[int, cl.DateOrderSniffer],
    parallel: bool,
    helper: _Helper | None = None,
) -> Iterator[CleanRow]:
    """Clean rows in file order, feeding every date cell to ``sniffers`` on the way.

    Big files are read and cleaned in a helper process, a few chunks ahead of the writer,
    so reading and cleaning share the machine's cores with the writing (reading a workbook
    costs as much as cleaning it); at most three chunks wait between the two, so memory
    stays flat. While the helper starts (a second or two), this process cleans the first
    rows itself; the helper takes over after them."""
    if not parallel or not _likely_big(source):
        if helper is not None:
            helper.stop()
        for number, cells in source.rows():
            feed_sniffers(sniffers, cells)
            yield cleaner.clean(number, cells)
        return
    helper = helper or _Helper(source.path, source.sheet, source.encoding)
    own_rows = FIRST_CHUNK + (OWN_CHUNKS - 1) * CHUNK
    try:
        helper.start(cleaner, own_rows, list(sniffers))
        rows = source.rows()
        try:
            for done, (number, cells) in enumerate(rows, start=1):
                feed_sniffers(sniffers, cells)
                yield cleaner.clean(number, cells)
                if done == own_rows:
                    break
        finally:
            rows.close()
        yield from helper.rows(sniffers)
    finally:
        helper.stop()


def _can_fork() -> bool:
    # a packaged build starts its helpers too (freeze_support() first, in app/__main__.py)
    return (os.cpu_count() or 1) >= 2


def _likely_big(source: TableSource) -> bool:
    """Worth starting the helper before the first pass: the file announces enough rows, or
    (no count in a CSV or a workbook without <dimension>) is big enough to have them."""
    if not _can_fork():
        return False
    if source.estimated_rows is not None:
        return source.estimated_rows >= PARALLEL_MIN_ROWS
    try:
        return source.path.stat().st_size >= PARALLEL_MIN_BYTES
    except OSError:
        return False


class _Helper:
    """The process that reads and cleans a big file while this one matches and writes.

    Started early, it opens the file and then waits for the cleaner (which needs the first
    pass's date-order decisions). Chunks come back through a queue of three, so memory
    stays flat; :meth:`stop` ends it whether or not it finished (cancel, errors).
    """

    def __init__(self, path: Path | str, sheet: str | None, encoding: str | None) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.go = context.Queue(maxsize=1)
        self.chunks = context.Queue(maxsize=3)
        self.stopped = False
        # the helper opens the file itself, as open_table() does here
        self.process = context.Process(
            target=read_and_clean,
            args=(str(path), sheet, encoding, self.go, self.chunks),
            daemon=True,
        )
        self.process.start()

    def start(self, cleaner: RowCleaner, skip: int, date_columns: list[int]) -> None:
        """Clean with ``cleaner`` from the row after the first ``skip`` (cleaned here),
        counting the dates of ``date_columns`` as it goes."""
        self.go.put((cleaner, skip, date_columns))

    def rows(self, sniffers: dict[int, cl.DateOrderSniffer]) -> Iterator[CleanRow]:
        """The helper's clean rows; at the end its date sniffers' counts join ``sniffers``."""
        import queue as queues

        while True:
            try:
                chunk = self.chunks.get(timeout=1)
            except queues.Empty:
                if not self.process.is_alive():
                    raise ServiceError("the import's helper process stopped unexpectedly") from None
                continue
            if isinstance(chunk, dict):  # the end: what the helper's sniffers saw
                for index, seen in chunk.items():
                    sniffers[index].add(seen)
                return
            if isinstance(chunk, BaseException):
                raise chunk
            yield from chunk

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self.process.is_alive():  # not needed (small file, cancelled, writer failed)
            self.process.terminate()
        self.process.join()
        self.go.close()
        self.chunks.close()


def _add_problem(report: ImportReport, problem: Problem) -> None:
    report.problem_count += 1
    if len(report.problems) < MAX_PROBLEMS:
        report.problems.append(problem)
    elif len(report.problems) == MAX_PROBLEMS:
        report.problems.append(_too_many(problem.row))


def _too_many(row: int) -> Problem:
    return Problem(row, "", "too many problems: the rest are not listed", "warning")


@dataclass
class _State:
    """What the import knows about one customer while applying rows to them."""

    id: int
    new: bool  # created by this batch
    fields: dict[str, Any]
    phones: set[str]
    n_phones: int
    emails: set[str]
    n_emails: int
    refs: set[str]
    tag_ids: set[int]
    notes: set[str]
    booking_keys: set[tuple[Any, ...]]
    in_db: bool = True
    changed: set[str] = field(default_factory=set)
    touched: bool = False


class _Run:
    def __init__(
        self, store: Store, report: ImportReport, profile: Profile, options: ImportOptions
    ) -> None:
        self.store = store
        self.report = report
        self.profile = profile
        self.options = options
        self.system = profile.ref_system
        self.now = dt.datetime.now(dt.UTC)
        self.conn: Connection
        self.batch_id = 0
        self.next_cid = 0
        self.tag_ids: dict[str, int] = {}
        self.tag_names: dict[int, str] = {}
        self.mixed_case_emails: dict[str, int] = {}
        self.new_tags: list[int] = []
        self.updated_ids: set[int] = set()
        # bookings this import added to customers that existed before it (their history)
        self.bookings_added: collections.Counter[int] = collections.Counter()
        self.before: dict[int, dict[str, Any]] = {}
        self.log: dict[str, list[Any]] = {
            "phones": [],
            "emails": [],
            "refs": [],
            "notes": [],
            "tag_links": [],
        }
        self.floors: dict[str, int] = {}
        self.batch_refs: set[str] = set()
        self.names: dict[tuple[str, str], tuple[str, str, str]] = {}
        self.phones: dict[str, tuple[str, list[str]]] = {}
        self.word_columns: dict[tuple[str, str], tuple[str, str]] = {}
        self.writer = _BulkInsert()

    # -------------------------------------------------------------- driver

    def execute(
        self,
        source: TableSource,
        cleaner: RowCleaner,
        dates: _DateColumns,
        may_redo: bool,
        progress: Progress | None,
        cancelled: Cancelled | None,
        helper: _Helper | None = None,
    ) -> None:
        """Read, clean, match and write every row in one transaction; committed only when
        all went well (and not a dry run). Raises :class:`_Redo`, with nothing written, when
        ``may_redo`` and the whole file reads a date column otherwise than its first rows."""
        # what exists before the import (modules, metadata, caches) is not garbage: frozen,
        # the collector's full passes skip it (they cost ~10% of a big import otherwise)
        # (the window freezes its own start-up objects: they stay frozen after the import)
        frozen_before = gc.get_freeze_count()
        gc.freeze()
        thresholds = gc.get_threshold()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *thresholds[1:])
        try:
            self._execute(source, cleaner, dates, may_redo, progress, cancelled, helper)
        finally:
            gc.set_threshold(*thresholds)
            if not frozen_before:
                gc.unfreeze()

    def _execute(
        self,
        source: TableSource,
        cleaner: RowCleaner,
        dates: _DateColumns,
        may_redo: bool,
        progress: Progress | None,
        cancelled: Cancelled | None,
        helper: _Helper | None,
    ) -> None:
        report = self.report
        announced = source.estimated_rows or 0
        sniffers = dates.sniffers()
        with self.store.engine.connect() as conn:
            self.conn = conn
            trans = conn.begin()
            try:
                self._start()
                done = chunks = 0
                chunk: list[CleanRow] = []
                rows = _cleaned_rows(source, cleaner, sniffers, self.options.parallel, helper)
                for row in rows:
                    for p in row.problems:
                        _add_problem(report, p)
                    if row.bad:
                        report.skipped += 1
                    elif not row.is_empty:
                        chunk.append(row)
                    done += 1
                    if chunk_ends(done):
                        self._apply(chunk)
                        chunk = []
                        chunks += 1
                        if chunks % GC_FULL_EVERY == 0:
                            gc.collect()
                        if cancelled and cancelled():
                            raise _Cancelled
                        if progress:
                            progress(done, max(announced, done))
                self._apply(chunk)
                search_index.set_bulk_merging(conn, False)
                if cancelled and cancelled():  # asked during the last chunk: still in time
                    raise _Cancelled
                if done == 0:
                    raise ImportFileError(f"{report.source} has a header but no rows to import")
                orders, column_problems = dates.decide(sniffers)
                if may_redo and not dates.same(orders, cleaner.date_orders):
                    raise _Redo(orders)
                self._date_decisions(dates, orders, column_problems)
                report.rows = done
                if progress:
                    progress(done, done)
                report.created = self._created_count()
                report.updated = len(self.updated_ids)
                failed = report.skipped and not self.options.skip_bad_rows
                if self.options.dry_run or failed:
                    trans.rollback()
                    return
                self._finish()
                trans.commit()
                report.batch = self.batch_id
                report.committed = True
            except _Cancelled:
                trans.rollback()
                report.cancelled = True
                report.created = report.updated = 0
            except BaseException:
                trans.rollback()
                raise

    def _date_decisions(
        self, dates: _DateColumns, orders: dict[int, str], problems: list[Problem]
    ) -> None:
        """Report how each date column was read; its warnings come before the rows'."""
        report = self.report
        report.date_orders = {m.header: orders[m.index] for m in dates.columns if m.index in orders}
        merged = [*problems, *report.problems]
        report.problem_count += len(problems)
        if len(merged) > MAX_PROBLEMS:
            merged = [*merged[:MAX_PROBLEMS], _too_many(merged[MAX_PROBLEMS].row)]
        report.problems = merged

    def _start(self) -> None:
        conn = self.conn
        # the batch row first: it takes the write lock, so the ids below stay ours
        self.batch_id = conn.execute(
            insert(ImportBatch).values(created_at=self.now, source=self.report.source[:500])
        ).inserted_primary_key[0]
        self.next_cid = (conn.scalar(select(func.max(Customer.id))) or 0) + 1
        search_index.set_bulk_merging(conn, True)
        for name, tag_id in conn.execute(select(Tag.name, Tag.id)):
            self.tag_ids[cl.fold_key(name)] = tag_id
            self.tag_names[tag_id] = name
        # addresses with capitals in the local part cannot use the address index: the few
        # there are stay in memory, every other match is one indexed lookup per chunk
        for address, cid in conn.execute(
            select(CustomerEmail.address, CustomerEmail.customer_id)
            .join(Customer, Customer.id == CustomerEmail.customer_id)
            .where(
                CustomerEmail.address != func.lower(CustomerEmail.address),
                Customer.merged_into_id.is_(None),
            )
            .order_by(Customer.archived_at.is_not(None), Customer.id)
        ):
            self.mixed_case_emails.setdefault(address.lower(), cid)
        for table in (CustomerPhone, CustomerEmail, ExternalRef, Note):
            self.floors[table.__tablename__] = conn.scalar(select(func.max(table.id))) or 0

    def _created_count(self) -> int:
        return self.conn.scalar(
            select(func.count()).where(Customer.import_batch_id == self.batch_id)
        )

    def _finish(self) -> None:
        report = self.report
        undo = {
            "customers": {
                str(cid): {"before": before, "after": self._after(cid, before)}
                for cid, before in self.before.items()
            },
            "new_tags": self.new_tags,
            "floors": self.floors,
            **self.log,
        }
        summary = report.to_json()
        summary["errors"] = summary["errors"][:100]
        summary.update(
            rows=report.rows,
            unchanged=report.unchanged,
            bookings_created=report.bookings_created,
            kind=report.kind,
            profile=report.profile,
        )
        summary["batch"] = self.batch_id
        self.conn.execute(
            update(ImportBatch)
            .where(ImportBatch.id == self.batch_id)
            .values(summary=summary, undo_log=undo)
        )
        self._record_events(undo["customers"])

    def _record_events(self, customers: dict[str, dict[str, Any]]) -> None:
        """One event for the batch, and one for each existing customer it changed, in the
        customer's history; customers it created carry the batch id instead."""
        counts = {
            "created": [None, self.report.created],
            "updated": [None, self.report.updated],
            "bookings_created": [None, self.report.bookings_created],
            "source": [None, self.report.source[:200]],
        }
        events = [_batch_event("import", self.batch_id, None, counts)]
        added: dict[int, dict[str, list[Any]]] = {}
        for key, name in _LOGGED_AS.items():
            for cid, *entry in self.log[key]:
                if key == "tag_links":
                    entry = [self.tag_names.get(entry[0], str(entry[0]))]
                added.setdefault(cid, {}).setdefault(name, [None, []])[1].append(_logged(entry))
        for cid, n in self.bookings_added.items():
            added.setdefault(cid, {})["bookings"] = [None, n]
        for cid in sorted(self.updated_ids):
            entry = customers.get(str(cid), {"before": {}, "after": {}})
            changes = {
                name: [old, entry["after"].get(name)]
                for name, old in entry["before"].items()
                if name != "updated_at" and old != entry["after"].get(name)
            }
            changes.update(added.get(cid, {}))
            events.append(_batch_event("update", self.batch_id, cid, changes))
        tracking.record_events(self.conn, self.store.actor, events)

    def _after(self, cid: int, before: dict[str, Any]) -> dict[str, Any]:
        row = self.conn.execute(
            select(*[getattr(Customer, k) for k in before]).where(Customer.id == cid)
        ).one()
        return {k: _jsonable(v) for k, v in zip(before, row, strict=True)}

    # -------------------------------------------------------------- matching

    def _lookup(self, rows: list[CleanRow]) -> tuple[dict, dict, dict, set[str]]:
        conn = self.conn
        refs = sorted({r for row in rows for r in row.refs})
        phones = sorted({p.e164 for row in rows for p in row.phones})
        emails = sorted({e.address.lower() for row in rows for e in row.emails})
        booking_refs = sorted(
            {
                row.booking["external_ref"]
                for row in rows
                if row.booking and row.booking["external_ref"]
            }
        )
        by_ref = self._owners(
            select(ExternalRef.ref, ExternalRef.customer_id).where(
                ExternalRef.system == self.system
            ),
            ExternalRef.ref,
            refs,
        )
        by_phone = self._owners(
            select(CustomerPhone.e164, CustomerPhone.customer_id), CustomerPhone.e164, phones
        )
        by_email = self._owners(
            select(CustomerEmail.address, CustomerEmail.customer_id), CustomerEmail.address, emails
        )
        for address in emails:
            if address in self.mixed_case_emails:
                by_email.setdefault(address, self.mixed_case_emails[address])
        known_bookings: set[str] = set()
        for chunk in _chunks(booking_refs):
            known_bookings.update(
                conn.scalars(select(Booking.external_ref).where(Booking.external_ref.in_(chunk)))
            )
        return by_ref, by_phone, by_email, known_bookings

    def _owners(self, query: Any, column: Any, keys: list[str]) -> dict[str, int]:
        """Which live customer each key (phone, email, reference) belongs to: when several
        do, the first not archived, then the oldest.

        Two indexed lookups rather than one join: with the join, SQLite walked every live
        customer and probed their phones (0.16 s per 500 keys at 100k customers, 60 s for
        a 100k-row file); looking the keys up first is a few milliseconds.
        """
        conn = self.conn
        found: list[tuple[str, int]] = []
        for chunk in _chunks(keys):
            found.extend((k, c) for k, c in conn.execute(query.where(column.in_(chunk))))
        rank: dict[int, tuple[bool, int]] = {}
        for chunk in _chunks(sorted({cid for _key, cid in found})):
            for cid, archived, merged in conn.execute(
                select(Customer.id, Customer.archived_at, Customer.merged_into_id).where(
                    Customer.id.in_(chunk)
                )
            ):
                if merged is None:
                    rank[cid] = (archived is not None, cid)
        owners: dict[str, int] = {}
        for key, cid in found:
            if cid in rank and (key not in owners or rank[cid] < rank[owners[key]]):
                owners[key] = cid
        return owners

    def _load(self, ids: set[int], with_bookings: bool) -> dict[int, _State]:
        conn = self.conn
        states: dict[int, _State] = {}
        cols = [getattr(Customer, c) for c in _CUSTOMER_COLUMNS]
        for chunk in _chunks(sorted(ids)):
            for row in conn.execute(
                select(Customer.id, Customer.import_batch_id, *cols).where(Customer.id.in_(chunk))
            ):
                cid, batch, *values = row
                states[cid] = _State(
                    id=cid,
                    new=batch == self.batch_id,
                    fields=dict(zip(_CUSTOMER_COLUMNS, values, strict=True)),
                    phones=set(),
                    n_phones=0,
                    emails=set(),
                    n_emails=0,
                    refs=set(),
                    tag_ids=set(),
                    notes=set(),
                    booking_keys=set(),
                )
            for cid, e164 in conn.execute(
                select(CustomerPhone.customer_id, CustomerPhone.e164).where(
                    CustomerPhone.customer_id.in_(chunk)
                )
            ):
                states[cid].phones.add(e164)
                states[cid].n_phones += 1
            for cid, address in conn.execute(
                select(CustomerEmail.customer_id, CustomerEmail.address).where(
                    CustomerEmail.customer_id.in_(chunk)
                )
            ):
                states[cid].emails.add(address.lower())
                states[cid].n_emails += 1
            for cid, system, ref in conn.execute(
                select(ExternalRef.customer_id, ExternalRef.system, ExternalRef.ref).where(
                    ExternalRef.customer_id.in_(chunk)
                )
            ):
                if system == self.system:
                    states[cid].refs.add(ref)
            for cid, tag_id in conn.execute(
                select(customer_tag.c.customer_id, customer_tag.c.tag_id).where(
                    customer_tag.c.customer_id.in_(chunk)
                )
            ):
                states[cid].tag_ids.add(tag_id)
            for cid, body in conn.execute(
                select(Note.customer_id, Note.body).where(Note.customer_id.in_(chunk))
            ):
                states[cid].notes.add(body)
            if with_bookings:
                for cid, start, service, room in conn.execute(
                    select(
                        Booking.customer_id, Booking.start_at, Booking.service, Booking.room
                    ).where(Booking.customer_id.in_(chunk))
                ):
                    states[cid].booking_keys.add((start, service or room or ""))
        return states

    def _apply(self, rows: list[CleanRow]) -> None:
        if not rows:
            return
        by_ref, by_phone, by_email, known_bookings = self._lookup(rows)
        states = self._load(
            set(by_ref.values()) | set(by_phone.values()) | set(by_email.values()),
            any(r.booking for r in rows),
        )
        pending: dict[str, list[dict[str, Any]]] = {
            k: [] for k in ("phone", "email", "ref", "tag", "note", "booking")
        }
        for row in rows:
            cid = self._match(row, by_ref, by_phone, by_email)
            if cid is None:
                if not (row.first or row.last):
                    row.error(
                        row.columns.get("email") or row.columns.get("phone", ""),
                        "no name for a new customer",
                    )
                    _add_problem(self.report, row.problems[-1])
                    self.report.skipped += 1
                    continue
                cid = self.next_cid
                self.next_cid += 1
                states[cid] = self._new_state(cid, row)
            state = states[cid]
            changed = self._apply_row(state, row, pending, known_bookings)
            if not state.new:
                if changed:
                    self.updated_ids.add(cid)
                else:
                    self.report.unchanged += 1
            for ref in row.refs:
                by_ref.setdefault(ref, cid)
            for p in row.phones:
                by_phone.setdefault(p.e164, cid)
            for e in row.emails:
                by_email.setdefault(e.address.lower(), cid)
        # names and phone forms the cleaner computed (in the helper process for big files)
        self.names = {k: v for row in rows for k, v in row.names.items()}
        self.phones = {k: v for row in rows for k, v in row.phone_views.items()}
        self.word_columns = dict(row.word_columns for row in rows if row.word_columns)
        self._write(states, pending)

    def _match(self, row: CleanRow, by_ref, by_phone, by_email) -> int | None:
        found: list[tuple[str, int]] = []
        for ref in row.refs:
            if ref in by_ref:
                found.append((row.columns.get("external_ref", ""), by_ref[ref]))
        for p in row.phones:
            if p.e164 in by_phone:
                found.append(("phone", by_phone[p.e164]))
        for e in row.emails:
            if e.address.lower() in by_email:
                found.append(("email", by_email[e.address.lower()]))
        if not found:
            return None
        cid = found[0][1]
        others = sorted({c for _how, c in found if c != cid})
        if others:
            row.warn(
                "",
                f"also matches customer(s) {', '.join(f'#{o}' for o in others)}; "
                f"updated #{cid} only (possible duplicates)",
            )
            _add_problem(self.report, row.problems[-1])
        return cid

    def _new_state(self, cid: int, row: CleanRow) -> _State:
        fields: dict[str, Any] = dict.fromkeys(_CUSTOMER_COLUMNS)
        fields.update(first_name="", last_name="", marketing_consent=False)
        return _State(
            id=cid,
            new=True,
            fields=fields,
            phones=set(),
            n_phones=0,
            emails=set(),
            n_emails=0,
            refs=set(),
            tag_ids=set(),
            notes=set(),
            booking_keys=set(),
            in_db=False,
        )

    # -------------------------------------------------------------- applying

    def _set(self, state: _State, name: str, value: Any) -> None:
        if not state.new and state.id not in self.before:
            self.before[state.id] = {}
        if not state.new and name not in self.before[state.id]:
            self.before[state.id][name] = _jsonable(state.fields.get(name))
        state.fields[name] = value
        state.changed.add(name)

    def _fill(self, state: _State, row: CleanRow, name: str, value: Any) -> bool:
        current = state.fields.get(name)
        if current in (None, ""):
            self._set(state, name, value)
            return True
        same = (
            cl.same_text(str(current), str(value)) if isinstance(value, str) else current == value
        )
        if not same:
            shown = current.isoformat() if isinstance(current, dt.date) else current
            new = value.isoformat() if isinstance(value, dt.date) else value
            column = row.columns.get(name) or row.columns.get(
                {"preferred_language": "language"}.get(name, name), ""
            )
            row.warn(
                column,
                f"conflict on {_LABELS.get(name, name)} of customer #{state.id}: the store has "
                f"'{shown}', the file '{new}'; kept '{shown}'",
            )
            _add_problem(self.report, row.problems[-1])
        return False

    def _apply_row(
        self,
        state: _State,
        row: CleanRow,
        pending: dict[str, list[dict[str, Any]]],
        known_bookings: set[str],
    ) -> bool:
        changed = False
        cid = state.id
        for name, value in (("first_name", row.first), ("last_name", row.last)):
            if value:
                changed |= self._fill(state, row, name, value)
        for name in PROFILE_VALUES:
            if name in row.values:
                changed |= self._fill(state, row, name, row.values[name])
        if row.consent is True and not state.fields.get("marketing_consent"):
            if state.fields.get("consent_at") is None:
                self._set(state, "marketing_consent", True)
                self._set(state, "consent_at", self.now)
                self._set(state, "consent_method", "import")
                self._set(state, "consent_source", self.report.source[:200])
                changed = True
        elif row.consent is False and state.fields.get("marketing_consent"):
            row.warn(
                row.columns.get("marketing_consent", ""),
                f"customer #{cid} gave marketing consent in the store; the file says no: kept",
            )
            _add_problem(self.report, row.problems[-1])
        if state.new and not state.fields.get("source_channel"):
            channel = row.booking["channel"] if row.booking else self.profile.channel
            if channel:
                state.fields["source_channel"] = channel
        if state.new and not state.fields.get("first_contact"):
            state.fields["first_contact"] = (
                row.booking["start_at"].date() if row.booking else self.now.date()
            )
        for phone in row.phones:
            if phone.e164 not in state.phones:
                state.phones.add(phone.e164)
                pending["phone"].append(
                    dict(
                        customer_id=cid,
                        raw=phone.raw[:60],
                        e164=phone.e164,
                        label=None,
                        position=state.n_phones,
                    )
                )
                state.n_phones += 1
                if not state.new:
                    self.log["phones"].append([cid, phone.e164])
                changed = True
        for email in row.emails:
            if email.address.lower() not in state.emails:
                state.emails.add(email.address.lower())
                pending["email"].append(
                    dict(
                        customer_id=cid,
                        address=email.address,
                        is_relay=email.is_relay,
                        label=None,
                        position=state.n_emails,
                    )
                )
                state.n_emails += 1
                if not state.new:
                    self.log["emails"].append([cid, email.address.lower()])
                changed = True
        for ref in row.refs:
            if ref not in state.refs:
                state.refs.add(ref)
                pending["ref"].append(dict(customer_id=cid, system=self.system, ref=ref))
                if not state.new:
                    self.log["refs"].append([cid, self.system, ref])
                changed = True
        for name in row.tags:
            tag_id = self._tag(name)
            if tag_id not in state.tag_ids:
                state.tag_ids.add(tag_id)
                pending["tag"].append(dict(customer_id=cid, tag_id=tag_id))
                if not state.new:
                    self.log["tag_links"].append([cid, tag_id])
                changed = True
        for body in row.notes:
            if body not in state.notes:
                state.notes.add(body)
                pending["note"].append(
                    dict(
                        customer_id=cid,
                        body=body,
                        author="import",
                        created_at=self.now,
                        updated_at=self.now,
                        pinned=False,
                        alert=False,
                    )
                )
                if not state.new:
                    self.log["notes"].append([cid, body])
                changed = True
        if row.booking:
            booking = row.booking
            ref = booking["external_ref"]
            key = (booking["start_at"], booking["service"] or booking["room"] or "")
            if (ref and (ref in known_bookings or ref in self.batch_refs)) or (
                key in state.booking_keys
            ):
                row.warn(
                    row.columns.get("booking_start", ""),
                    f"booking {ref or booking['start_at'].date().isoformat()} is already "
                    "in the store: not added again",
                )
                _add_problem(self.report, row.problems[-1])
            else:
                state.booking_keys.add(key)
                if ref:
                    self.batch_refs.add(ref)
                pending["booking"].append(
                    dict(
                        booking,
                        customer_id=cid,
                        import_batch_id=self.batch_id,
                        created_at=self.now,
                        updated_at=self.now,
                    )
                )
                self.report.bookings_created += 1
                if not state.new:
                    self.bookings_added[cid] += 1
                changed = True
        if changed:
            state.touched = True
        return changed

    def _tag(self, name: str) -> int:
        key = cl.fold_key(name)
        if key not in self.tag_ids:
            tag_id = self.conn.execute(
                insert(Tag).values(name=name, colour="#808080", is_default=False)
            ).inserted_primary_key[0]
            self.tag_ids[key] = tag_id
            self.tag_names[tag_id] = name
            self.new_tags.append(tag_id)
        return self.tag_ids[key]

    # -------------------------------------------------------------- writing

    def _write(self, states: dict[int, _State], pending: dict[str, list[dict[str, Any]]]) -> None:
        conn = self.conn
        new_rows = []
        touched: set[int] = set()
        for state in states.values():
            f = state.fields
            if not state.in_db:
                display, sort, names = self._names(f["first_name"], f["last_name"])
                new_rows.append(
                    dict(
                        {k: f.get(k) for k in _CUSTOMER_COLUMNS},
                        id=state.id,
                        display_name=display,
                        sort_name=sort,
                        _names=names,
                        marketing_consent=bool(f.get("marketing_consent")),
                        created_at=self.now,
                        updated_at=self.now,
                        import_batch_id=self.batch_id,
                    )
                )
            elif state.touched:
                values = {k: f[k] for k in state.changed}
                if {"first_name", "last_name"} & state.changed:
                    values["display_name"] = display_name(f["first_name"], f["last_name"])
                    values["sort_name"] = sort_key(f["first_name"], f["last_name"])
                    if not state.new:
                        before = self.before[state.id]
                        for k in ("display_name", "sort_name"):
                            if k not in before:
                                before[k] = self._current(state.id, k)
                if not state.new:
                    before = self.before.setdefault(state.id, {})
                    before.setdefault("updated_at", _jsonable(f["updated_at"]))
                values["updated_at"] = self.now
                conn.execute(update(Customer).where(Customer.id == state.id).values(**values))
                touched.add(state.id)
        if new_rows:
            self._add_derived(new_rows, pending)
            search_rows = [r.pop("_search") for r in new_rows]
            self.writer.insert(conn, Customer.__table__, new_rows)
        for key, table in (
            ("phone", CustomerPhone.__table__),
            ("email", CustomerEmail.__table__),
            ("ref", ExternalRef.__table__),
            ("tag", customer_tag),
            ("note", Note.__table__),
            ("booking", Booking.__table__),
        ):
            self.writer.insert(conn, table, pending[key])
        for row in pending["email"]:
            if row["address"] != row["address"].lower():
                self.mixed_case_emails.setdefault(row["address"].lower(), row["customer_id"])
        if new_rows:
            search_index.replace_rows(conn, search_rows, fresh=True)
        # customers that existed before this chunk: the shared refresh, as every writer uses
        tracking.refresh_derived(conn, touched)

    def _names(self, first: str, last: str) -> tuple[str, str, str]:
        return self.names.get((first, last)) or name_views(first, last)

    def _add_derived(
        self, new_rows: list[dict[str, Any]], pending: dict[str, list[dict[str, Any]]]
    ) -> None:
        """Figures, list columns and search rows of customers created in this chunk.

        They are computed here, from what this chunk writes (a new customer has nothing
        else), rather than read back: the same values ``tracking.refresh_derived`` would
        write (a test compares the two), for a fraction of the cost at 100k rows.
        """
        new_ids = {r["id"] for r in new_rows}
        phones: dict[int, list[str]] = {}
        emails: dict[int, list[str]] = {}
        tags: dict[int, list[str]] = {}
        bookings: dict[int, list[dict[str, Any]]] = {}
        for row in pending["phone"]:
            if row["customer_id"] in new_ids:
                phones.setdefault(row["customer_id"], []).append(row["e164"])
        for row in pending["email"]:
            if row["customer_id"] in new_ids:
                emails.setdefault(row["customer_id"], []).append(row["address"])
        for row in pending["tag"]:
            if row["customer_id"] in new_ids:
                tags.setdefault(row["customer_id"], []).append(self.tag_names[row["tag_id"]])
        for row in pending["booking"]:
            if row["customer_id"] in new_ids:
                bookings.setdefault(row["customer_id"], []).append(row)
        for row in new_rows:
            cid = row["id"]
            row.update(_figures(bookings.get(cid, []), self.now))
            cid_phones, cid_emails = phones.get(cid, []), emails.get(cid, [])
            views = [self.phones.get(e164) or phone_views(e164) for e164 in cid_phones]
            row["primary_phone"] = views[0][0] if views else None
            row["primary_email"] = cid_emails[0] if cid_emails else None
            row["tag_names"] = ", ".join(sorted(tags.get(cid, []))) or None
            # the same row build_row() makes, from spellings cleaned in the helper process
            # (and, for a customer made from one row, the word columns it made from them)
            names, addresses = row.pop("_names"), " ".join(a.lower() for a in cid_emails)
            row["_search"] = search_index.IndexRow(
                customer_id=cid,
                recency=search_index.recency_of(row["last_visit_at"]),
                archived=False,
                names=names,
                phones=" ".join(form for _intl, forms in views for form in forms),
                emails=addresses,
                word_columns=self.word_columns.get((names, addresses)),
            )

    def _current(self, cid: int, name: str) -> Any:
        return _jsonable(
            self.conn.scalar(select(getattr(Customer, name)).where(Customer.id == cid))
        )


class _BulkInsert:
    """Inserts many rows through the DB-API cursor of the import's connection.

    SQLAlchemy's per-row parameter processing cost as much as the inserts themselves (about
    0.9 s per 10k customers with their phones, emails and bookings). The values are still
    converted by each column type's own bind processor, and every column is named (NULL
    bound as NULL, cheaply since ``models.engine`` registers an adapter for None), so what
    lands in the file is exactly what ``conn.execute(insert(table), rows)`` would write;
    instants and dates repeat (the import's "now", a day's bookings), so their conversions
    are memoised.
    """

    def __init__(self) -> None:
        self._plans: dict[tuple[str, tuple[str, ...]], _InsertPlan] = {}

    def _plan(self, conn: Connection, table: Any, keys: tuple[str, ...]) -> _InsertPlan:
        plan = self._plans.get((table.name, keys))
        if plan is not None:
            return plan
        dialect = conn.dialect

        def processor(name: str) -> Callable[[Any], Any] | None:
            kind = table.c[name].type
            proc = kind.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None and proc(None) is not None:
                raise ValueError(f"{table.name}.{name}: NULL must stay NULL when bound")
            if proc is not None and isinstance(getattr(kind, "impl", kind), Date | DateTime):
                proc = _memoised(proc)
            return proc

        fixed: dict[str, Any] = {}
        for col in table.columns:
            if col.name in keys or col.default is None:
                continue
            if not col.default.is_scalar:
                raise ValueError(f"{table.name}.{col.name}: a computed default needs a value")
            proc = processor(col.name)
            fixed[col.name] = proc(col.default.arg) if proc else col.default.arg
        names = (*keys, *fixed)
        plan = _InsertPlan(
            converted=[(i, c) for i, k in enumerate(keys) if (c := processor(k)) is not None],
            fixed=tuple(fixed.values()),
            sql=f"INSERT INTO {table.name} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' * len(names))})",
        )
        self._plans[(table.name, keys)] = plan
        return plan

    def insert(self, conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        keys = tuple(rows[0])
        plan = self._plan(conn, table, keys)
        values_of = operator.itemgetter(*keys) if len(keys) > 1 else lambda r: (r[keys[0]],)
        converted, fixed, width = plan.converted, plan.fixed, len(keys)
        params = []
        for row in rows:
            if len(row) != width:
                raise ValueError(f"{table.name}: rows with different columns")
            values = list(values_of(row))
            # a bind processor maps NULL to NULL (checked when planned): None is not passed in
            for i, convert in converted:
                value = values[i]
                if value is not None:
                    values[i] = convert(value)
            if fixed:
                values.extend(fixed)
            params.append(values)
        # rows without ids of their own are numbered by SQLite in this (file) order
        conn.connection.dbapi_connection.executemany(plan.sql, params)


@dataclass
class _InsertPlan:
    converted: list[tuple[int, Callable[[Any], Any]]]  # (position, bind processor)
    fixed: tuple[Any, ...]  # scalar defaults of the columns the rows do not name, bound
    sql: str


def _memoised(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        out = cache.get(value, _MISSING)
        if out is _MISSING:
            if len(cache) > 4096:  # bounded: memory stays flat
                cache.clear()
            out = cache[value] = proc(value)
        return out

    return convert


_MISSING = object()


def _figures(bookings: list[dict[str, Any]], now: dt.datetime) -> dict[str, Any]:
    """A new customer's figures from their bookings (as ``tracking`` computes them)."""
    visits = [b["start_at"] for b in bookings if b["status"] in ("checked-in", "completed")]
    upcoming = [
        b["start_at"]
        for b in bookings
        if b["status"] in ("requested", "confirmed") and b["start_at"] > now
    ]
    value: dict[str, int] = {}
    for b in bookings:
        if b["status"] in ("checked-in", "completed"):
            value[b["currency"]] = value.get(b["currency"], 0) + b["price_minor"]
    return {
        "booking_count": sum(1 for b in bookings if b["status"] != "cancelled"),
        "no_show_count": sum(1 for b in bookings if b["status"] == "no-show"),
        "first_visit_at": min(visits) if visits else None,
        "last_visit_at": max(visits) if visits else None,
        "next_booking_at": min(upcoming) if upcoming else None,
        "total_spent": None,
        "lifetime_value": value or None,
    }


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"datetime": value.astimezone(dt.UTC).isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and "datetime" in value:
        return dt.datetime.fromisoformat(value["datetime"])
    if isinstance(value, dict) and "date" in value:
        return dt.date.fromisoformat(value["date"])
    return value


# ---------------------------------------------------------------- undo


def undo_import(store: Store, batch_id: int) -> UndoReport:
    """Remove what an import created and restore what it changed.

    A field an import filled is put back only if it still holds the imported value; later
    edits by staff are kept and listed in the report.

    Raises:
        NotFoundError: no such batch.
        ServiceError: the batch was undone already, or a customer it created has been
            merged since (undo the merge first); nothing is changed.
    """
    with store.engine.begin() as conn:
        batch = conn.execute(
            select(ImportBatch.undo_log, ImportBatch.undone_at).where(ImportBatch.id == batch_id)
        ).one_or_none()
        if batch is None:
            raise NotFoundError(f"no import batch {batch_id}")
        undo_log, undone_at = batch
        if undone_at is not None:
            raise ServiceError(f"import batch {batch_id} was already undone")
        undo_log = undo_log or {}
        floors = undo_log.get("floors", {})
        created = list(
            conn.scalars(select(Customer.id).where(Customer.import_batch_id == batch_id))
        )
        created_set = set(created)
        _refuse_after_merges(conn, created_set)
        booking_owners = set(
            conn.scalars(select(Booking.customer_id).where(Booking.import_batch_id == batch_id))
        )
        bookings_deleted = conn.execute(
            delete(Booking).where(Booking.import_batch_id == batch_id)
        ).rowcount
        for chunk in _chunks(created):
            conn.execute(delete(Customer).where(Customer.id.in_(chunk)))
        for cid, e164 in undo_log.get("phones", []):
            conn.execute(
                delete(CustomerPhone).where(
                    CustomerPhone.customer_id == cid,
                    CustomerPhone.e164 == e164,
                    CustomerPhone.id > floors.get("customer_phone", 0),
                )
            )
        for cid, address in undo_log.get("emails", []):
            conn.execute(
                delete(CustomerEmail).where(
                    CustomerEmail.customer_id == cid,
                    func.lower(CustomerEmail.address) == address,
                    CustomerEmail.id > floors.get("customer_email", 0),
                )
            )
        for cid, system, ref in undo_log.get("refs", []):
            conn.execute(
                delete(ExternalRef).where(
                    ExternalRef.customer_id == cid,
                    ExternalRef.system == system,
                    ExternalRef.ref == ref,
                    ExternalRef.id > floors.get("external_ref", 0),
                )
            )
        for cid, body in undo_log.get("notes", []):
            conn.execute(
                delete(Note).where(
                    Note.customer_id == cid,
                    Note.body == body,
                    Note.author == "import",
                    Note.id > floors.get("note", 0),
                )
            )
        for cid, tag_id in undo_log.get("tag_links", []):
            conn.execute(
                delete(customer_tag).where(
                    customer_tag.c.customer_id == cid, customer_tag.c.tag_id == tag_id
                )
            )
        kept: list[str] = []
        restored = 0
        changed_ids = []
        put_back: dict[int, dict[str, list[Any]]] = {}
        for key, entry in undo_log.get("customers", {}).items():
            cid = int(key)
            before, after = entry["before"], entry["after"]
            current = conn.execute(
                select(*[getattr(Customer, k) for k in before]).where(Customer.id == cid)
            ).one_or_none()
            if current is None:
                continue
            now = dict(zip(before, current, strict=True))
            values: dict[str, Any] = {}
            later = []
            for name, old in before.items():
                if name in _DERIVED_NAMES:
                    continue
                if _jsonable(now[name]) == after.get(name):
                    values[name] = _from_json(old)
                else:
                    later.append(name)
            if later:
                kept += [f"customer #{cid}: {n} was changed after the import; kept" for n in later]
                first = values.get("first_name", now.get("first_name"))
                last = values.get("last_name", now.get("last_name"))
                if first is not None and last is not None:
                    values["display_name"] = display_name(first, last)
                    values["sort_name"] = sort_key(first, last)
            else:
                values.update({k: _from_json(before[k]) for k in _DERIVED_NAMES if k in before})
            if values:
                conn.execute(update(Customer).where(Customer.id == cid).values(**values))
            restored += 1
            changed_ids.append(cid)
            put_back[cid] = {
                k: [_jsonable(now[k]), _jsonable(v)] for k, v in values.items() if k != "updated_at"
            }
        for tag_id in undo_log.get("new_tags", []):
            still_used = conn.scalar(
                select(func.count())
                .select_from(customer_tag)
                .where(customer_tag.c.tag_id == tag_id)
            )
            if not still_used:
                conn.execute(delete(Tag).where(Tag.id == tag_id))
        touched = set(created) | booking_owners | set(changed_ids)
        touched |= {cid for cid, *_ in undo_log.get("phones", [])}
        touched |= {cid for cid, *_ in undo_log.get("emails", [])}
        touched |= {cid for cid, *_ in undo_log.get("tag_links", [])}
        tracking.refresh_derived(conn, touched)
        conn.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id)
            .values(undone_at=dt.datetime.now(dt.UTC))
        )
        counts = {
            "customers_deleted": [len(created), 0],
            "bookings_deleted": [bookings_deleted, 0],
            "customers_restored": [None, restored],
        }
        for key in ("phones", "emails", "refs"):
            for cid, *entry in undo_log.get(key, []):
                if cid not in created_set:
                    removed = put_back.setdefault(cid, {}).setdefault(_LOGGED_AS[key], [[], None])
                    removed[0].append(_logged(entry))
        events = [_batch_event("undo-import", batch_id, None, counts)]
        events += [
            _batch_event("undo-import", batch_id, cid, changes)
            for cid, changes in sorted(put_back.items())
        ]
        tracking.record_events(conn, store.actor, events)
    return UndoReport(
        batch=batch_id,
        customers_deleted=len(created),
        bookings_deleted=bookings_deleted,
        customers_restored=restored,
        kept_later_changes=kept,
    )


# the undo log's lists of what an import added, by the names its audit events give them
_LOGGED_AS = {
    "phones": "phones",
    "emails": "emails",
    "refs": "external_refs",
    "tag_links": "tags",
    "notes": "notes",
}


def _logged(entry: list[Any]) -> str:
    """An undo-log entry without its customer id, as the audit event shows it."""
    return ":".join(str(part) for part in entry)


def _batch_event(
    action: str, batch_id: int, customer_id: int | None, changes: dict[str, list[Any]]
) -> dict[str, Any]:
    return {
        "action": action,
        "entity": "import_batch",
        "entity_id": batch_id,
        "customer_id": customer_id,
        "changes": changes,
    }


def _refuse_after_merges(conn: Connection, created: set[int]) -> None:
    """A customer this import created that has since been merged holds, or gave away, rows
    that are not the import's: deleting it would delete another customer's bookings and
    contacts. The merge is undone first (it restores both sides), then the import."""
    if not created:
        return
    for merge_id, survivor, merged in conn.execute(
        select(MergeRecord.id, MergeRecord.survivor_id, MergeRecord.merged_ids).where(
            MergeRecord.undone_at.is_(None)
        )
    ):
        involved = {survivor, *merged} & created
        if involved:
            first = min(involved)
            partners = ", ".join(f"#{o}" for o in sorted({survivor, *merged} - {first}))
            raise ServiceError(
                f"customer #{first}, created by this import, was merged with {partners} "
                f"afterwards (merge {merge_id}): undo that merge first, then the import"
            )


def list_batches(store: Store) -> list[BatchInfo]:
    """Every import, newest first."""
    with store.reader() as s:
        return [
            BatchInfo(b.id, b.created_at, b.source, b.summary, b.undone_at)
            for b in s.scalars(select(ImportBatch).order_by(ImportBatch.id.desc()))
        ]
