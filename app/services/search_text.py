"""What the search index holds for a customer: folded names, pinyin, phone digits, emails."""

from __future__ import annotations

from collections.abc import Iterable

from pypinyin import Style, lazy_pinyin
from unidecode import unidecode

from app.services.normalize import fold, has_cjk, phone_digit_forms


def name_document(first: str, last: str, display: str) -> str:
    """Name variants joined by ' | ' so trigram matches never span two variants."""
    variants = [fold(display), fold(f"{first} {last}"), fold(f"{last} {first}")]
    if has_cjk(first + last):
        # 张伟 -> "zhang wei", "zhangwei", "wei zhang", "zw": callers spell it many ways
        family = lazy_pinyin(last, errors="ignore")
        given = lazy_pinyin(first, errors="ignore")
        syllables = family + given
        initials = lazy_pinyin(last + first, style=Style.FIRST_LETTER, errors="ignore")
        variants += [
            " ".join(syllables),
            "".join(syllables),
            " ".join(given + family),
            "".join(initials),
        ]
    else:
        variants.append(fold(unidecode(f"{first} {last}")))
    return " | ".join(dict.fromkeys(v for v in variants if v))


def phone_document(e164s: Iterable[str]) -> str:
    return " | ".join(form for e in e164s for form in phone_digit_forms(e))


def email_document(addresses: Iterable[str]) -> str:
    return " | ".join(a.lower() for a in addresses)
