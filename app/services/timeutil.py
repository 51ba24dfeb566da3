"""Instants in UTC, shown and entered in the business's time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from app.services.errors import ValidationError


def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def parse_local(value: str | dt.datetime, tz_name: str, fieldname: str = "start") -> dt.datetime:
    """Parse 'YYYY-MM-DD HH:MM' (business time) or an aware ISO string; return UTC."""
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = str(value).strip().replace("T", " ")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                fieldname, f"'{value}' is not a date and time (YYYY-MM-DD HH:MM)"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(tz_name))
    return parsed.astimezone(dt.UTC)


def to_local(value: dt.datetime, tz_name: str) -> dt.datetime:
    return value.astimezone(zone(tz_name))


def local_today(tz_name: str) -> dt.date:
    """Today's date in the business's time zone (after 23:00 UTC it is already tomorrow in
    Paris: first contacts, birthdays and 'today' lists follow the business, not the
    machine's clock)."""
    return dt.datetime.now(zone(tz_name)).date()
