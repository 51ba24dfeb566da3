"""Customer lookup: names in any order, phone digits, email fragments, pinyin, one typo.

Ranking: every query term must match; a customer's rank is its weakest term's match —
exact token > prefix of a token > substring > one typo — and ties go to the most recent
visit (never-visited customers last), then to the lower id.

How it stays fast at a million customers (index shapes in ``models/search_index.py``):

1. Terms of 3+ characters ask the FTS5 trigram index for candidates. When few match
   (the usual case: a surname, a phone fragment), all candidates are ranked in Python.
2. When many match ("jean", "gmail", "+336") or the query is only 1–2 characters, each
   rank is produced in result order: exact tokens and 1–3 letter prefixes come straight
   from ``search_key`` postings sorted by recency, substrings from a walk of
   ``search_doc`` in recency order (dense, so the walk stops early), and each rank stops as
   soon as ``limit`` results are found.
3. Typos: a term of 5+ letters looks up its one-deletion neighbourhood in ``search_fuzzy``
   to find real spellings within one edit, then walks those spellings' postings.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import OSA

from app.models import search_index as ix
from app.services.search_text import IndexRow, Query, parse_query
from app.services.store import Store

EXACT, PREFIX, SUBSTRING, FUZZY = 0, 1, 2, 3
MATCH_KINDS = ("exact", "prefix", "substring", "fuzzy")
# candidate sets up to this size are ranked in Python; above it, rank by rank in SQL order
SMALL_CANDIDATES = 400
# a whole-token range (prefix of 4+ letters) this small is sorted; larger ones are walked
RANGE_SORT_CAP = 2000
FUZZY_MIN_TERM = 5
# substring rank: an FTS5 probe this long tells few matches from many; with many, the
# density among the WALK_WINDOW most recent customers decides: walk in recency order if
# the page should fill within WALK_ROWS_MAX rows, else sort the trigram matches
FTS_PROBE = 300
WALK_WINDOW = 1000
WALK_ROWS_MAX = 8000


@dataclass(frozen=True)
class SearchHit:
    id: int
    display_name: str
    phone: str | None
    email: str | None
    last_visit_at: dt.datetime | None
    archived: bool
    match: str = "exact"  # exact, prefix, substring or fuzzy


def search(
    store: Store, query: str, *, limit: int = 50, include_archived: bool = False
) -> list[SearchHit]:
    """Customers matching every term of ``query``, best first.

    Args:
        store: the open store.
        query: name parts in any order, 3+ phone digits (national or international), email
            fragments, Chinese characters or pinyin; case and accents are ignored.
        limit: at most this many hits.
        include_archived: also return archived customers.

    Returns:
        Hits ranked exact > prefix > substring > one typo, then by most recent visit.
    """
    parsed = parse_query(query)
    if limit <= 0 or not (parsed.digits or parsed.terms):
        return []
    with store.reader() as s:
        # the raw DB-API connection: a keystroke's worth of rows is too few to pay for
        # SQLAlchemy's result machinery on each
        raw = s.connection().connection.driver_connection
        ranked = _Finder(raw, parsed, limit, include_archived).run()
        return _hits(raw, ranked)


# --- matching rules ---------------------------------------------------------------------


def _is_name_term(term: str) -> bool:
    return not term.isdigit() and "@" not in term and "." not in term


def _term_rank(term: str, doc: IndexRow, tokens: set[str], fuzzy: bool) -> int | None:
    if term in tokens:
        return EXACT
    emails = doc.emails.split(" ") if doc.emails else []
    if term in emails:
        return EXACT
    digits = term.isdigit() and len(term) >= 3
    phones = doc.phones.split(" ") if digits and doc.phones else []
    if term in phones:
        return EXACT
    if (
        any(t.startswith(term) for t in tokens)
        or any(e.startswith(term) for e in emails)
        or any(p.startswith(term) for p in phones)
    ):
        return PREFIX
    if len(term) >= 3 and (
        term in doc.names or term in doc.emails or (digits and term in doc.phones)
    ):
        return SUBSTRING
    if fuzzy and len(term) >= FUZZY_MIN_TERM and _is_name_term(term):
        for t in tokens:
            if abs(len(t) - len(term)) <= 1 and OSA.distance(term, t, score_cutoff=1) <= 1:
                return FUZZY
    return None


def rank_of(query: Query, doc: IndexRow, *, fuzzy: bool = True) -> int | None:
    """The rank (EXACT…FUZZY) of this customer for the query, or None if it does not match."""
    if query.is_phone:
        phones = doc.phones.split(" ") if doc.phones else []
        if query.digits in phones:
            return EXACT
        if any(p.startswith(query.digits) for p in phones):
            return PREFIX
        return SUBSTRING if query.digits in doc.phones else None
    tokens = set(doc.tokens)
    worst = EXACT
    for term in query.terms:
        r = _term_rank(term, doc, tokens, fuzzy)
        if r is None:
            return None
        worst = max(worst, r)
    return worst


# --- finding ----------------------------------------------------------------------------

_DOC_COLUMNS = "customer_id, recency, archived, names, phones, emails"


def _marks(n: int) -> str:
    return ",".join("?" * n)


_HI = "\U0010ffff"
Batch = list[tuple[int, int]]  # (recency, customer_id) pairs in result order


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class _Finder:
    def __init__(self, conn: Any, query: Query, limit: int, archived: bool) -> None:
        self.conn = conn
        self.q = query
        self.limit = limit
        self.archived = archived
        self.name_terms = [t for t in query.terms if _is_name_term(t)]
        self.trusted = False  # set by a stream whose SQL alone proves its rank

    # small helpers
    def _docs(self, ids: list[int]) -> dict[int, IndexRow]:
        out: dict[int, IndexRow] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            sql = f"SELECT {_DOC_COLUMNS} FROM {ix.DOC} WHERE customer_id IN ({_marks(len(part))})"
            for r in self.conn.execute(sql, part):
                if self.archived or not r[2]:
                    out[r[0]] = IndexRow(r[0], r[1], bool(r[2]), r[3], r[4], r[5])
        return out

    def _count(self, where: str, params: dict, cap: int) -> int:
        sql = f"SELECT count(*) FROM (SELECT 1 FROM {ix.KEY} WHERE {where} LIMIT {cap})"
        return int(self.conn.execute(sql, params).fetchone()[0] or 0)

    def run(self) -> list[tuple[int, int, int]]:
        """(rank, recency, customer_id) of the best ``limit`` customers, in order."""
        fts = self._fts_expression()
        if self.name_terms and len(self.name_terms) == len(self.q.terms):
            # names only: exact and prefix postings are cheap and usually fill the page
            return self._by_rank()
        if fts:
            ids = [
                r[0]
                for r in self.conn.execute(
                    f"SELECT rowid FROM {ix.FTS} WHERE {ix.FTS} MATCH :m LIMIT :n",
                    {"m": fts, "n": SMALL_CANDIDATES + 1},
                )
            ]
            if len(ids) <= SMALL_CANDIDATES:
                return self._rank_all(ids)
        return self._by_rank()

    def _fts_expression(self) -> str:
        if self.q.is_phone:
            return "phones : " + _fts_phrase(self.q.digits)
        return " AND ".join(_fts_phrase(t) for t in self.q.terms if len(t) >= 3)

    def _rank_all(self, ids: list[int]) -> list[tuple[int, int, int]]:
        ranked = []
        for doc in self._docs(ids).values():
            r = rank_of(self.q, doc, fuzzy=False)
            if r is not None:
                ranked.append((r, doc.recency, doc.customer_id))
        ranked.sort()
        if len(ranked) < self.limit:
            seen = {c for *_r, c in ranked}
            self.trusted = False
            ranked += self._collect(self._fuzzy_stream(), FUZZY, seen, self.limit - len(ranked))
        return ranked[: self.limit]

    def _by_rank(self) -> list[tuple[int, int, int]]:
        out: list[tuple[int, int, int]] = []
        seen: set[int] = set()
        streams = [(EXACT, self._exact_stream), (PREFIX, self._prefix_stream)]
        if self.q.is_phone or any(len(t) >= 3 for t in self.q.terms):
            streams.append((SUBSTRING, self._substring_stream))
        streams.append((FUZZY, self._fuzzy_stream))
        for rank, stream in streams:
            self.trusted = False
            out += self._collect(stream(), rank, seen, self.limit - len(out))
            if len(out) >= self.limit:
                break
        return out

    def _collect(
        self, stream: Iterator[Batch], rank: int, seen: set[int], want: int
    ) -> list[tuple[int, int, int]]:
        """Accept, in stream order, customers whose rank is at most ``rank``.

        A stream whose SQL already proved the rank (``self.trusted``) skips reading and
        re-checking the documents.
        """
        got: list[tuple[int, int, int]] = []
        if want <= 0:
            return got
        for batch in stream:
            if self.trusted:
                for recency, cid in batch:
                    if cid not in seen:
                        seen.add(cid)
                        got.append((rank, recency, cid))
                        if len(got) >= want:
                            return got
                continue
            ids = [c for c in dict.fromkeys(c for _r, c in batch) if c not in seen]
            docs = self._docs(ids)
            for cid in ids:
                doc = docs.get(cid)
                if doc is None:
                    continue
                r = rank_of(self.q, doc, fuzzy=rank == FUZZY)
                if r is not None and r <= rank:
                    seen.add(cid)
                    got.append((r, doc.recency, cid))
                    if len(got) >= want:
                        return got
        return got

    # streams: batches of customer ids, in (recency, id) order within the stream

    def _key_walk(
        self, where: str, params: dict, exists: list[str], sort: bool = False
    ) -> Iterator[Batch]:
        """Walk search_key rows matching ``where`` in recency order, keyset-paginated.

        ``exists`` are keys the same customer must also hold (point lookups on the primary
        key, since a customer's postings share its recency).
        """
        params = dict(params)
        conds = [f"({where})"]
        if not self.archived:
            conds.append("k.archived = 0")
        for i, key in enumerate(exists):
            params[f"x{i}"] = key
            conds.append(
                f"EXISTS (SELECT 1 FROM {ix.KEY} k{i} WHERE k{i}.key = :x{i} "
                f"AND k{i}.recency = k.recency AND k{i}.customer_id = k.customer_id)"
            )
        if sort:  # a small range: one sorted read
            sql = (
                f"SELECT DISTINCT k.recency, k.customer_id FROM {ix.KEY} k "
                f"WHERE {' AND '.join(conds)} ORDER BY k.recency, k.customer_id"
            )
            rows = self.conn.execute(sql, params).fetchall()
            for i in range(0, len(rows), 200):
                yield rows[i : i + 200]
            return
        sql = (
            f"SELECT k.recency, k.customer_id FROM {ix.KEY} k WHERE {' AND '.join(conds)} "
            "AND (k.recency, k.customer_id) > (:r0, :c0) "
            "ORDER BY k.recency, k.customer_id LIMIT :n"
        )
        yield from self._pages(sql, params)

    @property
    def _single_key_sql(self) -> str:
        conds = "k.key = :k" + ("" if self.archived else " AND k.archived = 0")
        return (
            f"SELECT k.recency, k.customer_id FROM {ix.KEY} k WHERE {conds} "
            "AND (k.recency, k.customer_id) > (:r0, :c0) "
            "ORDER BY k.recency, k.customer_id LIMIT :n"
        )

    def _exact_stream(self) -> Iterator[Batch]:
        terms = self.name_terms
        if not terms or len(terms) != len(self.q.terms):
            return iter(())
        counts = {t: self._count("key = :k", {"k": "e" + t}, RANGE_SORT_CAP) for t in terms}
        if min(counts.values()) == 0:
            return iter(())
        driver = min(terms, key=lambda t: counts[t])
        others = ["e" + t for t in terms if t != driver]
        self.trusted = True
        return self._key_walk("k.key = :k", {"k": "e" + driver}, others)

    def _prefix_stream(self) -> Iterator[Batch]:
        terms = self.name_terms
        if not terms:
            return iter(())
        plans = {}
        for t in terms:
            if len(t) <= ix.PREFIX_KEY_MAX:
                plans[t] = ("key", self._count("key = :k", {"k": "p" + t}, RANGE_SORT_CAP))
            else:
                n = self._count(
                    "key >= :lo AND key < :hi", {"lo": "e" + t, "hi": "e" + t + _HI}, RANGE_SORT_CAP
                )
                plans[t] = ("range", n) if n < RANGE_SORT_CAP else ("key", n)
        if min(n for _kind, n in plans.values()) == 0:
            return iter(())
        driver = min(terms, key=lambda t: plans[t][1])
        others = ["p" + t[: ix.PREFIX_KEY_MAX] for t in terms if t != driver]
        # the SQL alone proves the rank when no other term is cut to its first letters
        self.trusted = len(self.q.terms) == len(terms) and all(
            len(t) <= ix.PREFIX_KEY_MAX for t in terms if t != driver
        )
        if plans[driver][0] == "range":
            return self._key_walk(
                "k.key >= :lo AND k.key < :hi",
                {"lo": "e" + driver, "hi": "e" + driver + _HI},
                others,
                sort=True,
            )
        self.trusted = self.trusted and len(driver) <= ix.PREFIX_KEY_MAX
        return self._key_walk("k.key = :k", {"k": "p" + driver[: ix.PREFIX_KEY_MAX]}, others)

    def _substring_stream(self) -> Iterator[Batch]:
        """Substring candidates in recency order, cheap whether matches are many or few.

        A bounded probe of the FTS5 trigram index, then a test of the ``WALK_WINDOW`` most
        recent customers, estimate how dense matches are. Dense enough that walking the
        documents in recency order fills the page within ``WALK_ROWS_MAX`` rows: walk.
        Otherwise the trigram matches are read joined to the documents, sorted by recency.
        For a phone or email fragment, numbers and addresses that start with it come first.
        """
        params: dict[str, object] = {}
        conds = []
        if not self.archived:
            conds.append("d.archived = 0")
        if self.q.is_phone:
            params["t0"] = self.q.digits
            conds.append("instr(d.phones, :t0) > 0")
        for i, term in enumerate(t for t in self.q.terms if len(t) >= 3):
            params[f"t{i}"] = term
            conds.append(
                f"(instr(d.names, :t{i}) > 0 OR instr(d.emails, :t{i}) > 0"
                f" OR instr(d.phones, :t{i}) > 0)"
            )
        where = " AND ".join(conds)
        contact = self.q.digits or (
            self.q.terms[0] if len(self.q.terms) == 1 and not self.name_terms else ""
        )
        # forms and addresses are space-separated: one starts with it right after a space
        starts = "(instr(' ' || d.phones, :sw) > 0 OR instr(' ' || d.emails, :sw) > 0)"
        params["sw"] = " " + contact
        fts = self._fts_expression()
        params["m"] = fts
        probe = self.conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {ix.FTS} WHERE {ix.FTS} MATCH :m LIMIT :n)",
            {"m": fts, "n": FTS_PROBE},
        ).fetchone()[0]
        if probe == 0:
            return
        sorted_fts = (
            f"SELECT d.recency, d.customer_id, {starts if contact else '0'} FROM {ix.FTS} f "
            f"JOIN {ix.DOC} d ON d.customer_id = f.rowid "
            f"WHERE f.{ix.FTS} MATCH :m AND {where} ORDER BY d.recency, d.customer_id"
        )
        if probe >= FTS_PROBE:
            walk = (
                f"SELECT d.recency, d.customer_id, {starts if contact else '0'} FROM {ix.DOC} d "
                f"WHERE {where} AND (d.recency, d.customer_id) > (:r0, :c0) {{bound}}"
                "ORDER BY d.recency, d.customer_id LIMIT :n"
            )
            edge = self.conn.execute(
                f"SELECT recency, customer_id FROM {ix.DOC} ORDER BY recency, customer_id "
                "LIMIT 1 OFFSET :w",
                {"w": WALK_WINDOW},
            ).fetchone()
            bounded = edge is not None  # else a small store: the window is all of it
            window = self.conn.execute(
                walk.format(
                    bound="AND (d.recency, d.customer_id) <= (:er, :ec) " if bounded else ""
                ),
                {
                    **params,
                    "r0": -(1 << 62),
                    "c0": -1,
                    "er": edge and edge[0],
                    "ec": edge and edge[1],
                    "n": -1,
                },
            ).fetchall()
            # the walk fills the page after about limit * window / matches-in-window rows
            if not bounded or (window and self.limit * WALK_WINDOW / len(window) <= WALK_ROWS_MAX):
                # numbers/addresses starting with the fragment first, among the window's
                # (past it, such a hit comes in recency order with the substring hits)
                yield [(r[0], r[1]) for r in window if r[2]]
                yield [(r[0], r[1]) for r in window if not r[2]]
                if bounded:
                    yield from self._pages(walk.format(bound=""), params, start=edge)
                return
        rows = self.conn.execute(sorted_fts, params).fetchall()
        if contact:
            rows = [r for r in rows if r[2]] + [r for r in rows if not r[2]]
        step = max(self.limit * 2, 64)
        for i in range(0, len(rows), step):
            yield [(r[0], r[1]) for r in rows[i : i + step]]

    def _neighbours(self, term: str) -> list[str]:
        keys = sorted(ix.deletions(term))
        found = self.conn.execute(
            f"SELECT DISTINCT token FROM {ix.FUZZY} WHERE dkey IN ({_marks(len(keys))})", keys
        ).fetchall()
        return sorted(t for (t,) in found if OSA.distance(term, t, score_cutoff=1) <= 1)

    def _fuzzy_stream(self) -> Iterator[Batch]:
        candidates = [t for t in self.name_terms if len(t) >= FUZZY_MIN_TERM]
        if not candidates or self.q.is_phone:
            return iter(())
        # drive from the term that is not itself a known spelling (the likely typo); its
        # exact spelling was covered by the earlier ranks, so only other spellings walk
        options = [(t, self._neighbours(t)) for t in candidates]
        options.sort(key=lambda o: (o[0] in o[1], len(o[1])))
        term, spellings = options[0]
        spellings = [s for s in spellings if s != term]
        if not spellings:
            return iter(())
        # one term: a posting of a spelling one edit away is a fuzzy match by construction
        self.trusted = len(self.q.terms) == 1
        return self._merged(["e" + s for s in spellings])

    def _merged(self, keys: list[str]) -> Iterator[Batch]:
        """Several keys' postings merged into one recency order."""
        walks = [
            itertools.chain.from_iterable(self._pages(self._single_key_sql, {"k": key}))
            for key in keys
        ]
        batch: list[tuple[int, int]] = []
        for pair in heapq.merge(*walks):
            batch.append(pair)
            if len(batch) >= 200:
                yield batch
                batch = []
        if batch:
            yield batch

    def _pages(
        self, sql: str, params: dict, start: tuple[int, int] = (-(1 << 62), -1)
    ) -> Iterator[list[tuple[int, int]]]:
        """Keyset pagination over (recency, customer_id): small first page, growing pages."""
        (r0, c0), n = start, self.limit + 16
        while True:
            rows = self.conn.execute(sql, {**params, "r0": r0, "c0": c0, "n": n}).fetchall()
            if not rows:
                return
            yield [(r[0], r[1]) for r in rows]
            if len(rows) < n:
                return
            r0, c0 = rows[-1][0], rows[-1][1]
            n = min(n * 4, 4096)


def _hits(conn: Any, ranked: Iterable[tuple[int, int, int]]) -> list[SearchHit]:
    ranked = list(ranked)
    if not ranked:
        return []
    ids = [c for *_r, c in ranked]
    rows = {
        r[0]: r
        for r in conn.execute(
            "SELECT id, display_name, primary_phone, primary_email, last_visit_at,"
            f" archived_at IS NOT NULL FROM customer WHERE id IN ({_marks(len(ids))})",
            ids,
        )
    }
    hits = []
    for rank, _rec, cid in ranked:
        r = rows.get(cid)
        if r is None:
            continue
        last = dt.datetime.fromisoformat(str(r[4])).replace(tzinfo=dt.UTC) if r[4] else None
        hits.append(SearchHit(r[0], r[1], r[2], r[3], last, bool(r[5]), MATCH_KINDS[rank]))
    return hits
