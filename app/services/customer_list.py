"""The customer list behind the main window: ids for a filter and sort, rows for a slice.

The list never loads 100,000 profiles. :func:`list_ids` returns only the ids that match, in
display order, with filtering and sorting done by SQLite (indexed columns); the window then
asks :func:`fetch_rows` for the few dozen rows on screen (Anki's browser table does the same).
Query text goes through :func:`app.services.search.search`, so the list finds exactly what the
search box promises (name parts, phone digits, email fragments).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import text

from app.models.customer import HIDDEN_SQL
from app.services import search
from app.services.store import Store

# column key -> SQL expression; every key is a column of the list
SORT_COLUMNS: dict[str, str] = {
    "name": "c.sort_name",
    "phone": "c.primary_phone",
    "email": "lower(c.primary_email)",
    "language": "c.preferred_language",
    "tags": "c.tag_names",
    "booking_count": "c.booking_count",
    "last_visit": "c.last_visit_at",
    "created": "c.created_at",
}
_NOT_NULL = frozenset({"name", "booking_count", "created"})
# sort keys whose column has its own index: the unfiltered list walks it (no sort step)
_INDEXED = {
    "name": "sort_name",
    "booking_count": "booking_count",
    "created": "created_at",
    "last_visit": "last_visit_at",
}
# how many search hits a query may bring into the list (the search ranks them first, so the
# caller is at the top); at 100k, search p95 CPU was 16.5 ms for 500 hits and 3.2 ms for 100
SEARCH_LIMIT = 100
_CHUNK = 500


@dataclass(frozen=True)
class ListFilter:
    """What the list shows. Empty fields do not filter."""

    query: str = ""
    tags: tuple[str, ...] = ()
    language: str | None = None
    consent: bool | None = None
    first_contact_from: dt.date | None = None
    first_contact_to: dt.date | None = None
    location: str | None = None
    upcoming: bool = False
    include_archived: bool = False

    def is_empty(self) -> bool:
        return self == ListFilter(include_archived=self.include_archived)


@dataclass(frozen=True)
class ListRow:
    """One line of the customer list (all columns are denormalised on the customer)."""

    id: int
    display_name: str
    phone: str | None
    email: str | None
    language: str | None
    tags: str | None
    booking_count: int
    last_visit_at: dt.datetime | None
    created_at: dt.datetime | None
    archived: bool


@dataclass(frozen=True)
class FilterChoices:
    """What the filter bar offers: values that actually occur in the store."""

    tags: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)


def _ts(value: object) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


def _where(flt: ListFilter, params: dict[str, object]) -> list[str]:
    clauses = ["c.merged_into_id IS NULL"]
    if not flt.include_archived:
        clauses.append("c.archived_at IS NULL")
    for i, tag in enumerate(flt.tags):
        params[f"tag{i}"] = tag.lower()
        clauses.append(
            "c.id IN (SELECT ct.customer_id FROM customer_tag ct JOIN tag t ON t.id = ct.tag_id"
            f" WHERE lower(t.name) = :tag{i})"
        )
    if flt.language:
        params["lang"] = flt.language
        clauses.append("c.preferred_language = :lang")
    if flt.consent is not None:
        params["consent"] = 1 if flt.consent else 0
        clauses.append("c.marketing_consent = :consent")
    if flt.first_contact_from:
        params["fc_from"] = flt.first_contact_from.isoformat()
        clauses.append("c.first_contact >= :fc_from")
    if flt.first_contact_to:
        params["fc_to"] = flt.first_contact_to.isoformat()
        clauses.append("c.first_contact <= :fc_to")
    if flt.location:
        params["loc"] = flt.location
        clauses.append("c.id IN (SELECT b.customer_id FROM booking b WHERE b.location = :loc)")
    if flt.upcoming:
        params["now"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        clauses.append("c.next_booking_at >= :now")
    return clauses


def list_ids(
    store: Store,
    flt: ListFilter,
    *,
    sort: str | None = "name",
    descending: bool = False,
) -> list[int]:
    """Ids of the customers matching ``flt``, in display order.

    Args:
        store: the open store.
        flt: the filters; ``flt.query`` is matched by :func:`search.search`.
        sort: a key of :data:`SORT_COLUMNS`, or ``None`` to keep the search's ranking
            (exact > prefix > substring, recent visitors first) when there is a query.
        descending: reverse the sort.

    Returns:
        Customer ids; at most :data:`SEARCH_LIMIT` when there is query text.
    """
    params: dict[str, object] = {}
    clauses = _where(flt, params)
    hit_ids: list[int] | None = None
    if flt.query.strip():
        hit_ids = search.search_ids(
            store, flt.query, limit=SEARCH_LIMIT, include_archived=flt.include_archived
        )
        if not hit_ids:
            return []
        if sort is None and len(clauses) == (1 if flt.include_archived else 2):
            # no filter beyond what the search applied already: keep its ranking as is
            return hit_ids[::-1] if descending else hit_ids
        # the hits are few (bounded): pass them as a literal list of integers
        clauses.append(f"c.id IN ({','.join(str(int(i)) for i in hit_ids)})")
    direction = "DESC" if descending else "ASC"
    if hit_ids is None and len(clauses) == (1 if flt.include_archived else 2):
        fast = _unfiltered_by_index(store, sort or "name", direction, flt.include_archived)
        if fast is not None:
            return fast
    if sort is None and hit_ids is not None:
        order = ""
    else:
        expr = SORT_COLUMNS.get(sort or "name", SORT_COLUMNS["name"])
        # empty values last whichever way the column is sorted; NOT NULL columns skip that
        # term so SQLite can walk their index instead of sorting
        nulls = "" if sort in _NOT_NULL else f"{expr} IS NULL, "
        order = f" ORDER BY {nulls}{expr} {direction}, c.id {direction}"
    sql = f"SELECT c.id FROM customer c WHERE {' AND '.join(clauses)}{order}"
    with store.reader() as s:
        ids = [r[0] for r in s.execute(text(sql), params)]
    if sort is None and hit_ids is not None:
        kept = set(ids)
        ids = [i for i in hit_ids if i in kept]
        if descending:
            ids.reverse()
    return ids


def _unfiltered_by_index(
    store: Store, sort: str, direction: str, include_archived: bool
) -> list[int] | None:
    """The whole list in index order, hidden customers dropped in Python.

    With a WHERE on archived/merged, SQLite reads all 100k rows and sorts them (~2 s on a
    busy 2-core machine); walking the sort column's index is a fraction of that, and the
    hidden customers are few.
    """
    column = _INDEXED.get(sort)
    if column is None:
        return None
    hidden_sql = f"SELECT id FROM customer WHERE {_hidden(include_archived)}"
    with store.reader() as s:
        hidden = {r[0] for r in s.execute(text(hidden_sql))}
        if sort in _NOT_NULL:
            parts = [f"SELECT id FROM customer ORDER BY {column} {direction}, id {direction}"]
        else:
            parts = [
                f"SELECT id FROM customer WHERE {column} IS NOT NULL"
                f" ORDER BY {column} {direction}, id {direction}",
                f"SELECT id FROM customer WHERE {column} IS NULL ORDER BY id {direction}",
            ]
        ids: list[int] = []
        for sql in parts:
            ids.extend(r[0] for r in s.execute(text(sql)) if r[0] not in hidden)
    return ids


def _hidden(include_archived: bool) -> str:
    """Which customers the list leaves out. Without archived ones this is exactly the WHERE
    of the partial index ix_customer_hidden, so SQLite reads only that index."""
    return "merged_into_id IS NOT NULL" if include_archived else HIDDEN_SQL


def fetch_rows(store: Store, ids: Sequence[int]) -> dict[int, ListRow]:
    """The list rows for ``ids`` (a screenful), keyed by id; unknown ids are left out."""
    out: dict[int, ListRow] = {}
    wanted = [int(i) for i in ids]
    with store.reader() as s:
        # the raw DB-API cursor: a screenful is read on every keystroke, and SQLAlchemy's
        # result machinery costs more per row than SQLite does
        raw = s.connection().connection.driver_connection
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            rows = raw.execute(
                "SELECT id, display_name, primary_phone, primary_email, preferred_language,"
                " tag_names, booking_count, last_visit_at, created_at,"
                " archived_at IS NOT NULL"
                f" FROM customer WHERE id IN ({','.join(str(i) for i in chunk)})"
            ).fetchall()
            for r in rows:
                out[r[0]] = ListRow(
                    r[0], r[1], r[2], r[3], r[4], r[5], r[6] or 0, _ts(r[7]), _ts(r[8]), bool(r[9])
                )
    return out


def count_all(store: Store, include_archived: bool = False) -> int:
    """How many customers the unfiltered list holds."""
    # everyone minus the hidden few: both counts read an index, never the customer rows
    hidden = _hidden(include_archived)
    sql = f"SELECT (SELECT count(*) FROM customer) - (SELECT count(*) FROM customer WHERE {hidden})"
    with store.reader() as s:
        return s.execute(text(sql)).scalar() or 0


def filter_choices(store: Store) -> FilterChoices:
    """Tags, languages and booking locations present in the store, for the filter bar."""
    with store.reader() as s:
        tags = [
            r[0] for r in s.execute(text("SELECT name FROM tag ORDER BY is_default DESC, name"))
        ]
        languages = [
            r[0]
            for r in s.execute(
                text(
                    "SELECT DISTINCT preferred_language FROM customer"
                    " WHERE preferred_language IS NOT NULL AND preferred_language != ''"
                    " ORDER BY 1"
                )
            )
        ]
        locations = [
            r[0]
            for r in s.execute(
                text(
                    "SELECT DISTINCT location FROM booking"
                    " WHERE location IS NOT NULL AND location != '' ORDER BY 1"
                )
            )
        ]
    return FilterChoices(tags, languages, locations)
