"""Customer lookup over the FTS5 trigram index (kept fresh by :mod:`tracking`)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import text

from app.services.normalize import fold
from app.services.store import Store

_PHONEISH = re.compile(r"^[\d\s+().\-/]+$")


@dataclass(frozen=True)
class SearchHit:
    id: int
    display_name: str
    phone: str | None
    email: str | None
    last_visit_at: dt.datetime | None
    archived: bool


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def search(
    store: Store, query: str, *, limit: int = 50, include_archived: bool = False
) -> list[SearchHit]:
    """Customers matching a name fragment, 3+ phone digits or an email fragment."""
    q = query.strip()
    if not q:
        return []
    params: dict[str, object] = {"limit": limit}
    archived = "" if include_archived else "AND c.archived_at IS NULL"
    if _PHONEISH.match(q) and sum(ch.isdigit() for ch in q) >= 3:
        digits = re.sub(r"\D", "", q)
        params["m"] = "phones : " + _fts_phrase(digits)
        where = "c.id IN (SELECT rowid FROM customer_search WHERE customer_search MATCH :m)"
    else:
        terms = [t for t in fold(q).split(" ") if t]
        if all(len(t) >= 3 for t in terms):
            params["m"] = " AND ".join(_fts_phrase(t) for t in terms)
            where = "c.id IN (SELECT rowid FROM customer_search WHERE customer_search MATCH :m)"
        else:
            params["p"] = fold(q) + "%"
            params["p2"] = "% " + fold(q) + "%"
            where = "(c.sort_name LIKE :p OR c.sort_name LIKE :p2)"
    sql = text(
        f"""
        SELECT c.id, c.display_name, c.primary_phone, c.primary_email, c.last_visit_at,
               c.archived_at IS NOT NULL
        FROM customer c
        WHERE {where} AND c.merged_into_id IS NULL {archived}
        ORDER BY c.last_visit_at IS NULL, c.last_visit_at DESC, c.id
        LIMIT :limit
        """
    )
    with store.reader() as s:
        rows = s.execute(sql, params).all()
    return [
        SearchHit(
            r[0],
            r[1],
            r[2],
            r[3],
            dt.datetime.fromisoformat(str(r[4])).replace(tzinfo=dt.UTC) if r[4] else None,
            bool(r[5]),
        )
        for r in rows
    ]
