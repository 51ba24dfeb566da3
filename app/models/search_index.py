"""The customer search index: an FTS5 trigram table keyed by customer id.

Rows are written by the services in the same transaction as the customer they describe;
this module only knows the table's shape.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

TABLE = "customer_search"
# names: normalised name variants (accents folded, pinyin for CJK); phones: digit strings
# in every form a caller might quote; emails: lower-cased addresses
CREATE_SQL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
    "names, phones, emails, tokenize='trigram remove_diacritics 1')"
)
DROP_SQL = f"DROP TABLE IF EXISTS {TABLE}"


def is_search_index_table(name: str) -> bool:
    return name == TABLE or name.startswith(TABLE + "_")


def replace_rows(conn: Connection, rows: Iterable[tuple[int, str, str, str]]) -> None:
    """Write (customer_id, names, phones, emails) rows, replacing any earlier ones."""
    rows = list(rows)
    if not rows:
        return
    conn.execute(text(f"DELETE FROM {TABLE} WHERE rowid = :id"), [{"id": r[0]} for r in rows])
    conn.execute(
        text(f"INSERT INTO {TABLE}(rowid, names, phones, emails) VALUES (:id, :n, :p, :e)"),
        [{"id": r[0], "n": r[1], "p": r[2], "e": r[3]} for r in rows],
    )


def delete_rows(conn: Connection, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        conn.execute(text(f"DELETE FROM {TABLE} WHERE rowid = :id"), [{"id": i} for i in ids])
