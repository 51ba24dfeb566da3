"""Customer lookup: names in any order, phone digits, email fragments, pinyin, one typo.

Ranking: every query term must match; a customer's rank is its weakest term's match —
exact word > prefix of a word > substring > one typo — and ties go to the most recent
visit (never-visited customers last), then to the lower id. Words are name tokens, the start
of each email address (the address, ``dupont@``, ``dupont``), its domain (``@gmail.com``,
``gmail.com``, ``gmail``: whole words only, never prefixes) and, for terms of 3+ digits,
phone numbers in national and international digits.

How it stays fast at a million customers (index shapes in ``models/search_index.py``):
every index row is keyed by an order key that sorts in result order, so each rank is one
FTS5 query ``ORDER BY rowid LIMIT n`` that stops after ``n`` postings however many
customers match. Ranks are asked best first — exact words, then word prefixes (both from
``search_word``), then substrings (``search_fts`` trigrams), then spellings one typo away
(found through ``search_fuzzy``) — and the search stops as soon as ``limit`` customers are
found. Where a rank's query alone proves the rank, the documents are not even read.
"""

from __future__ import annotations

import datetime as dt
import heapq
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import OSA

from app.models import search_index as ix
from app.services.search_text import IndexRow, Query, parse_query
from app.services.store import Store

EXACT, PREFIX, SUBSTRING, FUZZY = 0, 1, 2, 3
MATCH_KINDS = ("exact", "prefix", "substring", "fuzzy")
FUZZY_MIN_TERM = 5


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
    return _answer(store, query, limit, include_archived, _hits)


def search_ids(
    store: Store, query: str, *, limit: int = 50, include_archived: bool = False
) -> list[int]:
    """The ids :func:`search` would return, in the same order, without reading the
    customers' rows: for the window's list, which reads the rows it paints itself."""
    return _answer(store, query, limit, include_archived, _ids)


def _answer(
    store: Store,
    query: str,
    limit: int,
    include_archived: bool,
    answer: Callable[[Any, Iterable[tuple[int, int]]], list],
) -> list:
    parsed = parse_query(query)
    if limit <= 0 or not (parsed.digits or parsed.terms):
        return []
    with store.reader() as s:
        # the raw DB-API connection: a keystroke's worth of rows is too few to pay for
        # SQLAlchemy's result machinery on each
        raw = s.connection().connection.driver_connection
        return answer(raw, _Finder(raw, parsed, limit, include_archived).run())


# --- matching rules ---------------------------------------------------------------------


def _is_name_term(term: str) -> bool:
    return not term.isdigit() and "@" not in term and "." not in term


def _forms(doc: IndexRow) -> list[str]:
    return doc.phones.split(" ") if doc.phones else []


def _reaches_phones(term: str) -> bool:
    """Phone numbers answer digit terms of 3+ digits (a lone '0' or '06' is everyone)."""
    return term.isdigit() and len(term) >= 3


def _term_rank(
    term: str, doc: IndexRow, words: set[str], domains: set[str], fuzzy: bool
) -> int | None:
    forms = _forms(doc) if _reaches_phones(term) else []
    if term in words or term in forms or term in domains:
        return EXACT
    if any(w.startswith(term) for w in words) or any(p.startswith(term) for p in forms):
        return PREFIX
    if len(term) >= 3 and (term in doc.names or term in doc.emails or term in doc.phones):
        return SUBSTRING
    if fuzzy and len(term) >= FUZZY_MIN_TERM and _is_name_term(term):
        for w in words:
            if abs(len(w) - len(term)) <= 1 and OSA.distance(term, w, score_cutoff=1) <= 1:
                return FUZZY
    return None


def rank_of(query: Query, doc: IndexRow, *, fuzzy: bool = True) -> int | None:
    """The rank (EXACT…FUZZY) of this customer for the query, or None if it does not match."""
    if query.is_phone:
        forms = _forms(doc)
        if query.digits in forms:
            return EXACT
        if any(p.startswith(query.digits) for p in forms):
            return PREFIX
        return SUBSTRING if query.digits in doc.phones else None
    words, domains = set(doc.words), set(doc.domain_words)
    worst = EXACT
    for term in query.terms:
        r = _term_rank(term, doc, words, domains, fuzzy)
        if r is None:
            return None
        worst = max(worst, r)
    return worst


# --- finding ----------------------------------------------------------------------------

_DOC_COLUMNS = "sortkey, customer_id, recency, archived, names, phones, emails"
_ARCHIVED = ix.ARCHIVED_BIT
_ID_MASK = ix.MAX_CUSTOMER_ID
_BATCH = 128


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _indexable(term: str) -> str:
    """The term as the word index sees it: white space and control characters separate."""
    return "".join(ch for ch in term if unicodedata.category(ch)[0] not in "ZC")


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Plan:
    """One rank's FTS5 query; ``trusted`` when a match already proves the rank."""

    table: str
    match: str
    trusted: bool


class _Finder:
    def __init__(self, conn: Any, query: Query, limit: int, archived: bool) -> None:
        self.conn = conn
        self.q = query
        self.limit = limit
        self.archived = archived
        self.name_terms = [t for t in query.terms if _is_name_term(t)]

    def run(self) -> list[tuple[int, int]]:
        """(rank, order key) of the best ``limit`` customers, in order."""
        out: list[tuple[int, int]] = []
        seen: set[int] = set()
        for rank, plan in self._plans():
            out += self._collect(plan, rank, seen, self.limit - len(out))
            if len(out) >= self.limit:
                break
        return out

    def _plans(self) -> Iterator[tuple[int, _Plan]]:
        """Each rank's query, best rank first (built lazily: the typo one costs lookups)."""
        if self.q.is_phone:
            digits = _phrase(self.q.digits)
            yield EXACT, _Plan(ix.WORD, f"phones : {digits}", True)
            yield PREFIX, _Plan(ix.WORD, f"phones : {digits}*", True)
            yield SUBSTRING, _Plan(ix.FTS, f"phones : {digits}", True)
            return
        words = [_indexable(t) for t in self.q.terms]
        if not all(words):
            return  # a term no word can hold (only control characters): nothing matches
        # a term the tokenizer would cut in two is matched as a phrase: check its rank
        whole = words == list(self.q.terms)
        exact, prefix = [], []
        for word in words:
            phones = " phones" if _reaches_phones(word) else ""
            exact.append(f"{{words domains{phones}}} : {_phrase(word)}")
            prefix.append(f"{{words{phones}}} : {_phrase(word)}*")  # domains: whole only
        yield EXACT, _Plan(ix.WORD, " AND ".join(exact), whole)
        yield PREFIX, _Plan(ix.WORD, " AND ".join(prefix), whole)
        long = [t for t in self.q.terms if len(t) >= 3]
        if long:
            # 1–2 letter terms have no substring rank: those must still be checked
            trusted = len(long) == len(self.q.terms)
            yield SUBSTRING, _Plan(ix.FTS, " AND ".join(_phrase(t) for t in long), trusted)
        plan = self._fuzzy_plan()
        if plan:
            yield FUZZY, plan

    def _neighbours(self, term: str) -> list[str]:
        keys = sorted(ix.deletions(term))
        found = self.conn.execute(
            f"SELECT DISTINCT token FROM {ix.FUZZY} WHERE dkey IN ({_marks(len(keys))})", keys
        ).fetchall()
        return sorted(t for (t,) in found if OSA.distance(term, t, score_cutoff=1) <= 1)

    def _fuzzy_plan(self) -> _Plan | None:
        candidates = [t for t in self.name_terms if len(t) >= FUZZY_MIN_TERM]
        if not candidates:
            return None
        # drive from the term that is not itself a known spelling (the likely typo); its
        # exact spelling was covered by the earlier ranks, so only other spellings are asked
        options = [(t, self._neighbours(t)) for t in candidates]
        options.sort(key=lambda o: (o[0] in o[1], len(o[1])))
        term, spellings = options[0]
        spellings = [s for s in spellings if s != term and _indexable(s) == s]
        if not spellings:
            return None
        match = "words : (" + " OR ".join(_phrase(s) for s in spellings) + ")"
        # one term: a word one edit away is a fuzzy match by construction
        return _Plan(ix.WORD, match, len(self.q.terms) == 1)

    def _collect(self, plan: _Plan, rank: int, seen: set[int], want: int) -> list[tuple[int, int]]:
        """Accept, in result order, unseen customers whose rank is at most ``rank``."""
        got: list[tuple[int, int]] = []
        if want <= 0:
            return got
        # every customer seen so far may come again in this rank's matches
        keys = self._walk(plan, want + len(seen))
        if plan.trusted:
            for key in keys:
                if key not in seen:
                    seen.add(key)
                    got.append((rank, key))
                    if len(got) >= want:
                        break
            return got
        batch: list[int] = []
        for key in keys:
            if key not in seen:
                batch.append(key)
            if len(batch) >= _BATCH:
                if self._check(batch, rank, seen, got, want):
                    return got
                batch = []
        if batch:
            self._check(batch, rank, seen, got, want)
        return got

    def _check(
        self, keys: list[int], rank: int, seen: set[int], got: list[tuple[int, int]], want: int
    ) -> bool:
        docs = self._docs(keys)
        for key in keys:
            doc = docs.get(key)
            r = None if doc is None else rank_of(self.q, doc, fuzzy=rank == FUZZY)
            if r is not None and r <= rank:
                seen.add(key)
                got.append((r, key))
                if len(got) >= want:
                    return True
        return False

    def _docs(self, keys: list[int]) -> dict[int, IndexRow]:
        sql = f"SELECT {_DOC_COLUMNS} FROM {ix.DOC} WHERE sortkey IN ({_marks(len(keys))})"
        return {
            r[0]: IndexRow(r[1], r[2], bool(r[3]), r[4], r[5], r[6])
            for r in self.conn.execute(sql, keys)
        }

    def _walk(self, plan: _Plan, first: int) -> Iterator[int]:
        """The plan's matches in result order: live customers, and archived ones if asked
        (their keys sort after every live one, so the two ranges are merged)."""
        live = self._pages(plan, -1, _ARCHIVED, first)
        if not self.archived:
            return live
        archived = self._pages(plan, _ARCHIVED - 1, ix.MAX_KEY, first)
        return heapq.merge(live, archived, key=lambda k: k & ~_ARCHIVED)

    def _pages(self, plan: _Plan, after: int, before: int, n: int) -> Iterator[int]:
        """Keyset pagination over the order key: a first page of ``n``, then growing."""
        sql = (
            f"SELECT rowid FROM {plan.table} WHERE {plan.table} MATCH ? "
            "AND rowid > ? AND rowid < ? ORDER BY rowid LIMIT ?"
        )
        while True:
            rows = self.conn.execute(sql, (plan.match, after, before, n)).fetchall()
            for (key,) in rows:
                yield key
            if len(rows) < n:
                return
            after, n = rows[-1][0], min(n * 4, 4096)


def _ids(_conn: Any, ranked: Iterable[tuple[int, int]]) -> list[int]:
    return [key & _ID_MASK for _rank, key in ranked]


def _hits(conn: Any, ranked: Iterable[tuple[int, int]]) -> list[SearchHit]:
    ranked = list(ranked)
    if not ranked:
        return []
    ids = _ids(conn, ranked)
    rows = {
        r[0]: r
        for r in conn.execute(
            "SELECT id, display_name, primary_phone, primary_email, last_visit_at,"
            f" archived_at IS NOT NULL FROM customer WHERE id IN ({_marks(len(ids))})",
            ids,
        )
    }
    hits = []
    for (rank, _key), cid in zip(ranked, ids, strict=True):
        r = rows.get(cid)
        if r is None:
            continue
        last = dt.datetime.fromisoformat(str(r[4])).replace(tzinfo=dt.UTC) if r[4] else None
        hits.append(SearchHit(r[0], r[1], r[2], r[3], last, bool(r[5]), MATCH_KINDS[rank]))
    return hits
