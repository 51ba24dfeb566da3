"""Showing instants, dates and money the business's way (its time zone and language)."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from functools import lru_cache

from app.services.money import format_money
from app.services.timeutil import to_local


@dataclass
class Formatter:
    timezone: str = "UTC"
    locale: str = "en"

    def when(self, value: dt.datetime | None) -> str:
        if value is None:
            return ""
        return to_local(value, self.timezone).strftime("%Y-%m-%d %H:%M")

    def day(self, value: dt.datetime | dt.date | None) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return to_local(value, self.timezone).date().isoformat()
        return value.isoformat()

    def money(self, minor: int, currency: str) -> str:
        return _money(minor, currency, self.locale.replace("-", "_"))

    def amounts(self, per_currency: dict[str, int] | None) -> str:
        if not per_currency:
            return "—"
        return " + ".join(self.money(v, c) for c, v in sorted(per_currency.items()))


@lru_cache(maxsize=4096)
def _money(minor: int, currency: str, locale: str) -> str:
    # babel parses its patterns on every call (~1 ms); a profile shows dozens of amounts
    try:
        return format_money(minor, currency, locale)
    except Exception:  # an odd locale must never hide an amount
        return f"{minor / 100:.2f} {currency}"


def esc(text: object) -> str:
    return html.escape(str(text or ""))
