"""The customer search index: its tables, what a customer's row holds, and its writes.

Four raw-SQL tables outside the ORM metadata, written in the same transaction as the
customer they describe (by the session hooks in ``services/tracking.py`` or by bulk
writers):

- ``search_doc``: one row per live (not merged) customer: folded name tokens, phone digit
  forms, lower-cased emails, the archived flag and ``recency`` (most recent visit first,
  then never-visited), indexed by ``(recency, customer_id)`` so a scan in result order is
  one index walk;
- ``search_fts``: an FTS5 trigram index over ``search_doc`` (external content, kept in step
  by triggers) that finds any 3+ character fragment of a name, phone or email;
- ``search_key``: ``(key, recency, customer_id)`` postings — ``e<token>`` for each whole
  name token and ``p<1–3 first letters>`` — so an exact token or a 1–3 letter prefix yields
  its most recent customers straight from the primary key, however many share it;
- ``search_fuzzy``: a deletion neighbourhood over the vocabulary of name tokens (4+
  letters) so one typo finds its candidate spellings with a handful of point lookups.

The document building lives here (not in services) because the migration that rebuilds the
index for existing stores must not import the service layer.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import phonenumbers
from pypinyin import lazy_pinyin
from sqlalchemy import Connection, bindparam, text
from unidecode import unidecode

DOC, FTS, KEY, FUZZY = "search_doc", "search_fts", "search_key", "search_fuzzy"
TABLES = (DOC, FTS, KEY, FUZZY)
LEGACY_TABLE = "customer_search"  # revision 0001's FTS5 table
PREFIX_KEY_MAX = 3  # longer prefixes use a range over the whole-token keys
FUZZY_MIN_TOKEN = 4  # a 5-letter query with one letter too many reaches 4-letter tokens
NO_VISIT = 1 << 40  # recency of customers who never came: after every visit

# revision 0001's single FTS5 table; 0001 imports these two names, so they stay as they were
CREATE_SQL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {LEGACY_TABLE} USING fts5("
    "names, phones, emails, tokenize='trigram remove_diacritics 1')"
)
DROP_SQL = f"DROP TABLE IF EXISTS {LEGACY_TABLE}"

SCHEMA_SQL = (
    f"""CREATE TABLE IF NOT EXISTS {DOC} (
        customer_id INTEGER PRIMARY KEY,
        recency INTEGER NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0,
        names TEXT NOT NULL DEFAULT '',
        phones TEXT NOT NULL DEFAULT '',
        emails TEXT NOT NULL DEFAULT '')""",
    f"CREATE INDEX IF NOT EXISTS {DOC}_recency ON {DOC}(recency, customer_id)",
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(
        names, phones, emails, content='{DOC}', content_rowid='customer_id',
        tokenize='trigram remove_diacritics 1')""",
    f"""CREATE TRIGGER IF NOT EXISTS {DOC}_ai AFTER INSERT ON {DOC} BEGIN
        INSERT INTO {FTS}(rowid, names, phones, emails)
        VALUES (new.customer_id, new.names, new.phones, new.emails);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS {DOC}_ad AFTER DELETE ON {DOC} BEGIN
        INSERT INTO {FTS}({FTS}, rowid, names, phones, emails)
        VALUES ('delete', old.customer_id, old.names, old.phones, old.emails);
    END""",
    f"""CREATE TABLE IF NOT EXISTS {KEY} (
        key TEXT NOT NULL,
        recency INTEGER NOT NULL,
        customer_id INTEGER NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (key, recency, customer_id)) WITHOUT ROWID""",
    f"""CREATE TABLE IF NOT EXISTS {FUZZY} (
        dkey TEXT NOT NULL,
        token TEXT NOT NULL,
        PRIMARY KEY (dkey, token)) WITHOUT ROWID""",
)
DROP_SCHEMA_SQL = (
    f"DROP TRIGGER IF EXISTS {DOC}_ai",
    f"DROP TRIGGER IF EXISTS {DOC}_ad",
    f"DROP TABLE IF EXISTS {FTS}",
    f"DROP TABLE IF EXISTS {KEY}",
    f"DROP TABLE IF EXISTS {FUZZY}",
    f"DROP TABLE IF EXISTS {DOC}",
)

_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def is_search_index_table(name: str) -> bool:
    """Tables the index owns (outside the ORM metadata), including FTS5 shadow tables."""
    return name in TABLES or name.startswith((FTS + "_", LEGACY_TABLE))


def fold(value: str) -> str:
    """Case- and accent-insensitive form: 'Zoé Müller' -> 'zoe muller'.

    The same rule as ``services.normalize.fold`` (kept here so the migration that rebuilds
    the index does not import the service layer).
    """
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped).strip()


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


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
                if any(is_cjk(ch) for ch in word):
                    for ch in word:
                        out[ch] = None
            if len(words) > 1:  # 'jean-pierre' is also typed 'jeanpierre'
                out["".join(words)] = None

    for value in (display, first, last):
        if value:
            add_words(value)
            add_words(value.lower().translate(_GERMAN))
            add_words(unidecode(value) if not any(is_cjk(ch) for ch in value) else "")
    if any(is_cjk(ch) for ch in first + last):
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


def token_keys(tokens: Iterable[str]) -> set[str]:
    """Posting keys: 'e'+token for whole tokens, 'p'+first 1–3 letters for prefixes."""
    keys: set[str] = set()
    for token in tokens:
        keys.add("e" + token)
        for i in range(1, min(PREFIX_KEY_MAX, len(token)) + 1):
            keys.add("p" + token[:i])
    return keys


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


@dataclass(frozen=True)
class IndexRow:
    """What the index holds for one customer."""

    customer_id: int
    recency: int
    archived: bool
    names: str
    phones: str
    emails: str

    @property
    def tokens(self) -> list[str]:
        return self.names.split(" ") if self.names else []


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


# written through the DB-API cursor of the same connection (same transaction): SQLAlchemy's
# per-row parameter processing cost more than the inserts themselves at 13 keys a customer
_INSERT_DOC = (
    f"INSERT INTO {DOC}(customer_id, recency, archived, names, phones, emails) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_KEY = f"INSERT INTO {KEY}(key, recency, customer_id, archived) VALUES (?, ?, ?, ?)"
_DELETE_KEY = f"DELETE FROM {KEY} WHERE key = ? AND recency = ? AND customer_id = ?"
_DELETE_DOC = f"DELETE FROM {DOC} WHERE customer_id = ?"
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


def _chunks(items: Sequence, size: int = 500) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _remember_vocabulary(conn: Connection, tokens: set[str]) -> None:
    wanted = sorted(
        t for t in tokens if len(t) >= FUZZY_MIN_TOKEN and not any(is_cjk(ch) for ch in t)
    )
    known: set[str] = set()
    for part in _chunks(wanted):
        known.update(r[0] for r in conn.execute(_KNOWN_TOKENS, {"tokens": list(part)}))
    rows = sorted({(d, t) for t in wanted if t not in known for d in deletions(t)})
    _executemany(conn, _INSERT_FUZZY, rows)


def _key_rows(row: IndexRow) -> list[tuple[str, int, int, int]]:
    return [(k, row.recency, row.customer_id, int(row.archived)) for k in token_keys(row.tokens)]


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
    changed = [r for r in rows if old.get(r.customer_id) != r]
    if not changed:
        return
    stale = [old[r.customer_id] for r in changed if r.customer_id in old]
    _delete(conn, stale)
    _executemany(
        conn,
        _INSERT_DOC,
        [(r.customer_id, r.recency, int(r.archived), r.names, r.phones, r.emails) for r in changed],
    )
    _executemany(conn, _INSERT_KEY, sorted(k for r in changed for k in _key_rows(r)))
    _remember_vocabulary(conn, {t for r in changed for t in r.tokens})


def _delete(conn: Connection, old_rows: list[IndexRow]) -> None:
    if not old_rows:
        return
    _executemany(conn, _DELETE_KEY, [k[:3] for r in old_rows for k in _key_rows(r)])
    _executemany(conn, _DELETE_DOC, [(r.customer_id,) for r in old_rows])


def delete_rows(conn: Connection, ids: Iterable[int]) -> None:
    """Remove these customers from the index (deleted or merged away)."""
    ids = list(ids)
    old: list[IndexRow] = []
    for part in _chunks(ids):
        for r in conn.execute(_OLD_DOCS, {"ids": list(part)}):
            old.append(IndexRow(r[0], r[1], bool(r[2]), r[3], r[4], r[5]))
    _delete(conn, old)


def rebuild(
    conn: Connection, *, chunk: int = 5000, progress: Callable[[int, int], None] | None = None
) -> int:
    """Empty the index and rebuild it from the customer tables; returns rows written."""
    for table in (KEY, FUZZY, DOC):
        conn.execute(text(f"DELETE FROM {table}"))
    conn.execute(text(f"INSERT INTO {FTS}({FTS}) VALUES ('delete-all')"))
    ids = [
        r[0]
        for r in conn.execute(
            text("SELECT id FROM customer WHERE merged_into_id IS NULL ORDER BY id")
        )
    ]
    written = 0
    for part in _chunks(ids, chunk):
        lo, hi = part[0], part[-1]
        phones: dict[int, list[str]] = {}
        for cid, e164 in conn.execute(
            text(
                "SELECT customer_id, e164 FROM customer_phone WHERE customer_id BETWEEN :lo AND :hi"
                " ORDER BY customer_id, position, id"
            ),
            {"lo": lo, "hi": hi},
        ):
            phones.setdefault(cid, []).append(e164)
        emails: dict[int, list[str]] = {}
        for cid, address in conn.execute(
            text(
                "SELECT customer_id, address FROM customer_email"
                " WHERE customer_id BETWEEN :lo AND :hi ORDER BY customer_id, position, id"
            ),
            {"lo": lo, "hi": hi},
        ):
            emails.setdefault(cid, []).append(address)
        rows = [
            build_row(
                cid,
                first=first,
                last=last,
                display=display,
                e164s=phones.get(cid, []),
                emails=emails.get(cid, []),
                last_visit_at=last_visit,
                archived=archived is not None,
            )
            for cid, first, last, display, last_visit, archived in conn.execute(
                text(
                    "SELECT id, first_name, last_name, display_name, last_visit_at, archived_at"
                    " FROM customer WHERE id BETWEEN :lo AND :hi AND merged_into_id IS NULL"
                ),
                {"lo": lo, "hi": hi},
            )
        ]
        replace_rows(conn, rows, fresh=True)
        written += len(rows)
        if progress:
            progress(written, len(ids))
    return written
