"""The customer search index: its tables, what a customer's row holds, and its writes.

Every table is keyed by one integer, the customer's **order key**: archived flag, then
recency (most recent visit first, never-visited customers last), then customer id, packed
so that ascending key order is result order. A query asks an FTS5 index for its matches
``ORDER BY rowid LIMIT n``; FTS5 walks its doclists in rowid order and stops after ``n``,
so a query reads about ``limit`` postings whether 10 or 100,000 customers match.

Four raw-SQL tables outside the ORM metadata, written in the same transaction as the
customer they describe (by the session hooks in ``services/tracking.py`` or by bulk
writers):

- ``search_doc``: one row per live (not merged) customer, keyed by its order key: folded
  name tokens, phone digit forms, lower-cased emails, the archived flag and recency;
- ``search_fts``: an FTS5 trigram index over ``search_doc`` (external content, kept in step
  by triggers) that finds any 3+ character fragment of a name, phone or email;
- ``search_word``: an FTS5 index of whole words (contentless, written here), with prefix
  indexes for 1–6 characters, for exact-word and prefix matches: ``words`` (name tokens and
  the start of each address: ``jean.dupont@gmail.com``, ``jean.dupont@``, ``jean.dupont``),
  ``domains`` (``@gmail.com``, ``gmail.com``, ``gmail``: matched whole only) and
  ``phones`` (digit forms);
- ``search_fuzzy``: a deletion neighbourhood over the vocabulary of name tokens (4+
  letters) so one typo finds its candidate spellings with a handful of point lookups.

The document building lives here (not in services) because the migration that rebuilds the
index for existing stores must not import the service layer.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import json
import multiprocessing
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import phonenumbers
from pypinyin import lazy_pinyin
from sqlalchemy import Connection, bindparam, text
from unidecode import unidecode

DOC, FTS, WORD, FUZZY = "search_doc", "search_fts", "search_word", "search_fuzzy"
TABLES = (DOC, FTS, WORD, FUZZY)
OLD_KEY_TABLE = "search_key"  # revision search_0002's postings, replaced by search_word
LEGACY_TABLE = "customer_search"  # revision 0001's FTS5 table
PREFIX_INDEX = (1, 2, 3, 4, 5, 6)  # prefix lengths FTS5 keeps ready-made doclists for
FUZZY_MIN_TOKEN = 4  # a 5-letter query with one letter too many reaches 4-letter tokens
NO_VISIT = 1 << 40  # recency of customers who never came: after every visit

# order key: [archived:1][recency:35][customer id:27] in 63 bits, so ascending key order is
# (archived, recency, id): live customers first, then most recent visit, then lower id
ID_BITS = 27
MAX_CUSTOMER_ID = (1 << ID_BITS) - 1
_RECENCY_BITS = 35
_RECENCY_OFFSET = 1 << (_RECENCY_BITS - 1)  # visits from 1425 to 2514 keep their order
_RECENCY_NONE = (1 << _RECENCY_BITS) - 1
ARCHIVED_BIT = 1 << (ID_BITS + _RECENCY_BITS)
MAX_KEY = (1 << 63) - 1

# revision 0001's single FTS5 table; 0001 imports these two names, so they stay as they were
CREATE_SQL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {LEGACY_TABLE} USING fts5("
    "names, phones, emails, tokenize='trigram remove_diacritics 1')"
)
DROP_SQL = f"DROP TABLE IF EXISTS {LEGACY_TABLE}"

# words are already folded and space-separated: only white space and control characters
# separate them, so 'jean.dupont@', '@gmail.com' and 'o_brien' stay one token each
_WORD_TOKENIZER = "unicode61 remove_diacritics 0 categories 'L* N* Co M* P* S*'"

SCHEMA_SQL = (
    f"""CREATE TABLE IF NOT EXISTS {DOC} (
        sortkey INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL UNIQUE,
        recency INTEGER NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0,
        names TEXT NOT NULL DEFAULT '',
        phones TEXT NOT NULL DEFAULT '',
        emails TEXT NOT NULL DEFAULT '')""",
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(
        names, phones, emails, content='{DOC}', content_rowid='sortkey',
        tokenize='trigram remove_diacritics 1')""",
    f"""CREATE TRIGGER IF NOT EXISTS {DOC}_ai AFTER INSERT ON {DOC} BEGIN
        INSERT INTO {FTS}(rowid, names, phones, emails)
        VALUES (new.sortkey, new.names, new.phones, new.emails);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS {DOC}_ad AFTER DELETE ON {DOC} BEGIN
        INSERT INTO {FTS}({FTS}, rowid, names, phones, emails)
        VALUES ('delete', old.sortkey, old.names, old.phones, old.emails);
    END""",
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {WORD} USING fts5(
        words, domains, phones, content='', contentless_delete=1, detail=column,
        prefix='{" ".join(str(n) for n in PREFIX_INDEX)}', tokenize="{_WORD_TOKENIZER}")""",
    f"""CREATE TABLE IF NOT EXISTS {FUZZY} (
        dkey TEXT NOT NULL,
        token TEXT NOT NULL,
        PRIMARY KEY (dkey, token)) WITHOUT ROWID""",
)
# every format's tables: a rebuild or downgrade starts from none of them
DROP_SCHEMA_SQL = (
    f"DROP TRIGGER IF EXISTS {DOC}_ai",
    f"DROP TRIGGER IF EXISTS {DOC}_ad",
    f"DROP TABLE IF EXISTS {FTS}",
    f"DROP TABLE IF EXISTS {WORD}",
    f"DROP TABLE IF EXISTS {OLD_KEY_TABLE}",
    f"DROP TABLE IF EXISTS {FUZZY}",
    f"DROP TABLE IF EXISTS {DOC}",
)

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def is_search_index_table(name: str) -> bool:
    """Tables the index owns (outside the ORM metadata), including FTS5 shadow tables."""
    return name in TABLES or name.startswith((FTS + "_", WORD + "_", OLD_KEY_TABLE, LEGACY_TABLE))


def fold(value: str) -> str:
    """Case- and accent-insensitive form: 'Zoé Müller' -> 'zoe muller'.

    Here rather than in ``services.normalize`` (which takes it from here) so the migration
    that rebuilds the index does not import the service layer.
    """
    if value.isascii():  # most names: nothing to decompose (same answer, 5x sooner)
        return _SPACES.sub(" ", value.lower()).strip()
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped).strip()


_CJK = re.compile("[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]")


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a CJK ideograph (the unified blocks and the compatibility one)."""
    return _CJK.search(text) is not None


def name_tokens(first: str, last: str, display: str) -> list[str]:
    """Every spelling of a name a caller might type, as folded whole words.

    'Jean-Pierre Dupont' -> jean, pierre, jeanpierre, dupont; 'Jürgen Müller' adds
    mueller and juergen; 张伟 -> 张伟, 张, 伟, zhang, wei, zhangwei, weizhang, zw.
    """
    out: dict[str, None] = {}

    def add_words(value: str) -> None:
        for chunk in fold(value).split(" "):
            words = _WORD.findall(chunk)
            for word in words:
                out[word] = None
                if has_cjk(word):
                    for ch in word:
                        out[ch] = None
            if len(words) > 1:  # 'jean-pierre' is also typed 'jeanpierre'
                out["".join(words)] = None

    for value in (display, first, last):
        if value:
            add_words(value)
            add_words(value.lower().translate(_GERMAN))
            add_words(unidecode(value) if not has_cjk(value) else "")
    if has_cjk(first + last):
        family = lazy_pinyin(last, errors="ignore")
        given = lazy_pinyin(first, errors="ignore")
        for syllable in family + given:
            out[fold(syllable)] = None
        initials = [s[0] for s in family + given if s]
        for variant in (family + given, given + family, family, given):
            if variant:
                out[fold("".join(variant))] = None
        if initials:
            out["".join(initials)] = None
    out.pop("", None)
    return list(out)


# names repeat (families, common first names, bulk imports): spare the transliterations
_name_tokens_cached = functools.lru_cache(maxsize=8192)(name_tokens)


def email_words(address: str) -> tuple[list[str], list[str]]:
    """The parts of an address a caller might type, as whole words: (start words, domain words).

    'jean.dupont@mail.example.org' -> (['jean.dupont@mail.example.org', 'jean.dupont@',
    'jean.dupont'], ['@mail.example.org', 'mail.example.org', 'mail', 'example']). Start
    words begin where the address begins, so their prefixes are the address's prefixes
    (a prefix match, as before); domain words match only whole ('gm' must not bring every
    Gmail user ahead of the names starting with 'gm'). The top-level domain is left out:
    'fr' or 'de' would make every French or German address a word match.
    """
    address = address.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return ([address] if address else []), []
    start = [address, local + "@" if local else "", local]
    domains = ["@" + domain if domain else "", domain, *domain.split(".")[:-1]]
    return [t for t in dict.fromkeys(start) if t], [t for t in dict.fromkeys(domains) if t]


def deletions(token: str) -> set[str]:
    """The token and every spelling with one letter removed (symmetric-delete keys)."""
    return {token} | {token[:i] + token[i + 1 :] for i in range(len(token))}


def phone_digit_forms(e164: str) -> list[str]:
    """International digits and national digits (with trunk 0): '33652527272', '0652527272'."""
    forms = [e164.lstrip("+")]
    try:
        number = phonenumbers.parse(e164, None)
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        forms.append(re.sub(r"\D", "", national))
    except phonenumbers.NumberParseException:
        pass
    return list(dict.fromkeys(f for f in forms if f))


def recency_of(last_visit_at: dt.datetime | str | None) -> int:
    """Sort value: most recent visit first (smallest), never-visited customers last."""
    if last_visit_at is None:
        return NO_VISIT
    if isinstance(last_visit_at, str):
        last_visit_at = dt.datetime.fromisoformat(last_visit_at)
    if last_visit_at.tzinfo is None:
        last_visit_at = last_visit_at.replace(tzinfo=dt.UTC)
    return -int(last_visit_at.timestamp())


def order_key(recency: int, customer_id: int, archived: bool) -> int:
    """The integer whose ascending order is result order (see the module docstring)."""
    if not 0 <= customer_id <= MAX_CUSTOMER_ID:
        raise ValueError(f"customer id {customer_id} is outside the search index's range")
    if recency >= NO_VISIT:
        code = _RECENCY_NONE
    else:
        code = min(max(recency + _RECENCY_OFFSET, 0), _RECENCY_NONE - 1)
    return (ARCHIVED_BIT if archived else 0) | (code << ID_BITS) | customer_id


@dataclass(frozen=True)
class IndexRow:
    """What the index holds for one customer."""

    customer_id: int
    recency: int
    archived: bool
    names: str
    phones: str
    emails: str
    # :func:`word_columns` of names and emails when already known (an import's helper
    # process makes them with the row); not part of what the row is
    word_columns: tuple[str, str] | None = field(default=None, compare=False, repr=False)

    @property
    def tokens(self) -> list[str]:
        """Folded name tokens (the typo vocabulary)."""
        return self.names.split(" ") if self.names else []

    @property
    def words(self) -> list[str]:
        """Words matched whole or by prefix: name tokens, then each address's start words."""
        return self.words_and_domains()[0]

    @property
    def domain_words(self) -> list[str]:
        """Words matched only whole: each address's domain, its labels, '@' + domain."""
        return self.words_and_domains()[1]

    def words_and_domains(self) -> tuple[list[str], list[str]]:
        """``words`` and ``domain_words`` from one split of each address."""
        return _words_and_domains(self.names, self.emails)

    @property
    def sortkey(self) -> int:
        return order_key(self.recency, self.customer_id, self.archived)


def _words_and_domains(names: str, emails: str) -> tuple[list[str], list[str]]:
    words = dict.fromkeys(names.split(" ") if names else [])
    domains: dict[str, None] = {}
    for address in emails.split(" ") if emails else []:
        start, domain = email_words(address)
        words.update(dict.fromkeys(start))
        domains.update(dict.fromkeys(domain))
    return list(words), list(domains)


def word_columns(names: str, emails: str) -> tuple[str, str]:
    """The word table's ``words`` and ``domains`` text for an index row's names and emails."""
    words, domains = _words_and_domains(names, emails)
    return " ".join(words), " ".join(domains)


def build_row(
    customer_id: int,
    *,
    first: str,
    last: str,
    display: str,
    e164s: Iterable[str],
    emails: Iterable[str],
    last_visit_at: dt.datetime | str | None,
    archived: bool,
) -> IndexRow:
    """The index row for a customer, from the same fields the profile holds."""
    return IndexRow(
        customer_id=customer_id,
        recency=recency_of(last_visit_at),
        archived=bool(archived),
        names=" ".join(_name_tokens_cached(first or "", last or "", display or "")),
        phones=" ".join(f for e in e164s for f in phone_digit_forms(e)),
        emails=" ".join(a.lower() for a in emails),
    )


# Documents and words are inserted many rows per statement, from one JSON array: FTS5
# writes its pending terms out as a new segment at the end of every statement, so one
# statement per customer made a segment per customer (merged again later) — two thirds of
# the index writing of a large import. Written through the DB-API cursor of the same
# connection (same transaction): SQLAlchemy's per-row processing cost more than SQLite.
_INSERT_DOC = (
    f"INSERT INTO {DOC}(sortkey, customer_id, recency, archived, names, phones, emails) "
    "SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6"
    " FROM json_each(?)"
)
_INSERT_WORD = (
    f"INSERT INTO {WORD}(rowid, words, domains, phones)"
    " SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(?)"
)
_ROWS_PER_STATEMENT = 5000
# FTS5 merges the segments of a level once it holds ``automerge`` of them (default 4). A
# bulk write (an import, a rebuild) raises that to 16 meanwhile: each posting is rewritten
# about half as often. Measured, 100k rows into a 100k store: the word index's writes
# 4.7 s -> 2.8 s; the search bench's queries on the result were as fast (18 segments
# instead of 10). Ordinary writes afterwards merge the extra segments a little at a time.
BULK_AUTOMERGE = 16
_DEFAULT_AUTOMERGE = 4
_DELETE_WORD = f"DELETE FROM {WORD} WHERE rowid = ?"
_DELETE_DOC = f"DELETE FROM {DOC} WHERE sortkey = ?"
_OLD_DOCS = text(
    f"SELECT customer_id, recency, archived, names, phones, emails FROM {DOC} "
    "WHERE customer_id IN :ids"
).bindparams(bindparam("ids", expanding=True))
_KNOWN_TOKENS = text(f"SELECT dkey FROM {FUZZY} WHERE dkey IN :tokens AND token = dkey").bindparams(
    bindparam("tokens", expanding=True)
)
_INSERT_FUZZY = f"INSERT OR IGNORE INTO {FUZZY}(dkey, token) VALUES (?, ?)"


def _executemany(conn: Connection, sql: str, rows: list[tuple]) -> None:
    if rows:
        conn.connection.dbapi_connection.executemany(sql, rows)


def _insert_json(conn: Connection, sql: str, rows: list[tuple]) -> None:
    raw = conn.connection.dbapi_connection
    for part in _chunks(rows, _ROWS_PER_STATEMENT):
        raw.execute(sql, (json.dumps(part, ensure_ascii=False),))


def set_bulk_merging(conn: Connection, bulk: bool) -> None:
    """Merge the index's segments less often (``bulk``) or as usual, until changed again.

    Stored in the FTS5 tables' configuration, so it is part of the caller's transaction: a
    rollback undoes it with the rest.
    """
    raw = conn.connection.dbapi_connection
    value = BULK_AUTOMERGE if bulk else _DEFAULT_AUTOMERGE
    for table in (FTS, WORD):
        raw.execute(f"INSERT INTO {table}({table}, rank) VALUES ('automerge', ?)", (value,))


def _chunks(items: Sequence, size: int = 500) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _remember_vocabulary(conn: Connection, tokens: set[str]) -> None:
    wanted = sorted(t for t in tokens if len(t) >= FUZZY_MIN_TOKEN and not has_cjk(t))
    known: set[str] = set()
    for part in _chunks(wanted):
        known.update(r[0] for r in conn.execute(_KNOWN_TOKENS, {"tokens": list(part)}))
    rows = sorted({(d, t) for t in wanted if t not in known for d in deletions(t)})
    _executemany(conn, _INSERT_FUZZY, rows)


def replace_rows(conn: Connection, rows: Iterable[IndexRow], *, fresh: bool = False) -> None:
    """Write these customers' index rows, replacing earlier ones (unchanged rows are skipped).

    ``fresh=True`` promises the customers have no rows yet (a rebuild or brand-new ids),
    which skips reading the old rows.
    """
    rows = list(rows)
    if not rows:
        return
    old: dict[int, IndexRow] = {}
    if not fresh:
        for part in _chunks([r.customer_id for r in rows]):
            for r in conn.execute(_OLD_DOCS, {"ids": list(part)}):
                old[r[0]] = IndexRow(r[0], r[1], bool(r[2]), r[3], r[4], r[5])
    changed = sorted((r for r in rows if old.get(r.customer_id) != r), key=lambda r: r.sortkey)
    if not changed:
        return
    _delete(conn, [old[r.customer_id] for r in changed if r.customer_id in old])
    docs, words = [], []
    for r in changed:
        key = r.sortkey
        docs.append((key, r.customer_id, r.recency, int(r.archived), r.names, r.phones, r.emails))
        start, domains = r.word_columns or word_columns(r.names, r.emails)
        words.append((key, start, domains, r.phones))
    _insert_json(conn, _INSERT_DOC, docs)
    _insert_json(conn, _INSERT_WORD, words)
    _remember_vocabulary(conn, {t for r in changed for t in r.tokens})


def _delete(conn: Connection, old_rows: list[IndexRow]) -> None:
    if not old_rows:
        return
    keys = [(r.sortkey,) for r in old_rows]
    _executemany(conn, _DELETE_WORD, keys)
    _executemany(conn, _DELETE_DOC, keys)  # the trigger takes the trigram rows with it


def delete_rows(conn: Connection, ids: Iterable[int]) -> None:
    """Remove these customers from the index (deleted or merged away)."""
    ids = list(ids)
    old: list[IndexRow] = []
    for part in _chunks(ids):
        for r in conn.execute(_OLD_DOCS, {"ids": list(part)}):
            old.append(IndexRow(r[0], r[1], bool(r[2]), r[3], r[4], r[5]))
    _delete(conn, old)


# below this many customers a helper process costs more to start than it saves
PARALLEL_REBUILD_MIN = 20_000


def rebuild(
    conn: Connection,
    *,
    chunk: int = 5000,
    progress: Callable[[int, int], None] | None = None,
    parallel: bool | None = None,
) -> int:
    """Empty the index and rebuild it from the customer tables; returns rows written.

    From ``PARALLEL_REBUILD_MIN`` customers on a machine with two cores or more (or when
    ``parallel`` says so), a helper process builds each chunk's rows (names, spellings,
    phone forms: half the work) while this one writes the previous chunk's.
    """
    for table in (FUZZY, DOC):
        conn.execute(text(f"DELETE FROM {table}"))
    for table in (FTS, WORD):
        conn.execute(text(f"INSERT INTO {table}({table}) VALUES ('delete-all')"))
    ids = [
        r[0]
        for r in conn.execute(
            text("SELECT id FROM customer WHERE merged_into_id IS NULL ORDER BY id")
        )
    ]
    if parallel is None:
        parallel = len(ids) >= PARALLEL_REBUILD_MIN and (os.cpu_count() or 1) > 1
    written = 0

    def write(rows: list[IndexRow]) -> None:
        nonlocal written
        replace_rows(conn, rows, fresh=True)
        written += len(rows)
        if progress:
            progress(written, len(ids))

    set_bulk_merging(conn, True)
    if parallel:
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            building: collections.deque = collections.deque()
            for part in _chunks(ids, chunk):
                building.append(pool.apply_async(build_rows, (_customer_fields(conn, part),)))
                if len(building) > 1:  # one chunk building while this one is written
                    write(building.popleft().get())
            while building:
                write(building.popleft().get())
    else:
        for part in _chunks(ids, chunk):
            write(build_rows(_customer_fields(conn, part)))
    set_bulk_merging(conn, False)
    return written


def _customer_fields(conn: Connection, ids: Sequence[int]) -> list[tuple]:
    """What :func:`build_rows` needs of these (ascending) customers, read in three queries."""
    lo, hi = ids[0], ids[-1]
    phones: dict[int, list[str]] = {}
    emails: dict[int, list[str]] = {}
    for table, column, found in (
        ("customer_phone", "e164", phones),
        ("customer_email", "address", emails),
    ):
        for cid, value in conn.execute(
            text(
                f"SELECT customer_id, {column} FROM {table}"
                " WHERE customer_id BETWEEN :lo AND :hi ORDER BY customer_id, position, id"
            ),
            {"lo": lo, "hi": hi},
        ):
            found.setdefault(cid, []).append(value)
    return [
        (cid, first, last, display, phones.get(cid, []), emails.get(cid, []), visit, archived)
        for cid, first, last, display, visit, archived in conn.execute(
            text(
                "SELECT id, first_name, last_name, display_name, last_visit_at, archived_at"
                " FROM customer WHERE id BETWEEN :lo AND :hi AND merged_into_id IS NULL"
            ),
            {"lo": lo, "hi": hi},
        )
    ]


def build_rows(fields: list[tuple]) -> list[IndexRow]:
    """Index rows from :func:`_customer_fields`' tuples (run in the rebuild's helper)."""
    return [
        build_row(
            cid,
            first=first,
            last=last,
            display=display,
            e164s=e164s,
            emails=emails,
            last_visit_at=visit,
            archived=archived is not None,
        )
        for cid, first, last, display, e164s, emails, visit, archived in fields
    ]
