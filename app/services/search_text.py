"""What search reads and writes as text: index rows for customers, terms for queries.

The index row is built by :func:`app.models.search_index.build_row` (the migration that
rebuilds the index uses it too); this module is the service-side door to it and holds the
query side: how typed text becomes terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.models.search_index import IndexRow, build_row, fold

__all__ = ["IndexRow", "Query", "build_row", "parse_query"]

_PHONEISH = re.compile(r"^[\d\s+().\-/]+$")
_TERM_SPLIT = re.compile(r"[\s,;]+")
_NAME_PUNCT = re.compile(r"[\-'’.]")


@dataclass(frozen=True)
class Query:
    """A parsed query: either phone digits, or folded terms that must all match."""

    digits: str = ""
    terms: tuple[str, ...] = ()

    @property
    def is_phone(self) -> bool:
        return bool(self.digits)


def parse_query(raw: str) -> Query:
    """'+33 6 52' -> digits '33652'; 'Dupont  Jean' -> terms ('dupont', 'jean').

    A query made only of phone characters with 3+ digits is a phone query; anything else is
    split into folded terms (names, email fragments) that must all match.
    """
    q = raw.strip()
    if not q:
        return Query()
    if _PHONEISH.match(q) and sum(ch.isdigit() for ch in q) >= 3:
        digits = re.sub(r"\D", "", q)
        # '0049 151…' dials out like '+49 151…': the index holds the form without 00
        if digits.startswith("00") and len(digits) > 4:
            digits = digits[2:]
        return Query(digits=digits)
    terms = []
    for part in _TERM_SPLIT.split(fold(q)):
        if not part:
            continue
        if "@" in part or "." in part.strip("."):
            terms.append(part)  # an email fragment keeps its dots
            continue
        # 'jean-pierre' typed with its hyphen is the token 'jeanpierre'
        joined = _NAME_PUNCT.sub("", part)
        if joined:
            terms.append(joined)
    return Query(terms=tuple(dict.fromkeys(terms)))
