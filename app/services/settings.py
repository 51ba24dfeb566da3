"""Business settings: a declarative schema with defaults, validated on write."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name

from app.models import Setting
from app.services.errors import ValidationError
from app.services.store import Store


def _choice(*options: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return check


def _region(value: str) -> str:
    value = value.upper()
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"'{value}' is not a country code such as FR, DE, CN, GB")
    return value


def _currency(value: str) -> str:
    value = value.upper()
    if len(value) != 3 or get_currency_name(value, locale="en") == value:
        raise ValueError(f"'{value}' is not an ISO 4217 currency code such as EUR, CNY")
    return value


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{value}' is not a time zone such as Europe/Paris") from None
    return value


def _language(value: str) -> str:
    try:
        Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"'{value}' is not a language code such as en, fr, de, zh") from None
    return value


def _text(value: str) -> str:
    return str(value).strip()


def _int(value: Any) -> int:
    return int(value)


def _hours(value: Any) -> int:
    hours = int(value)
    if not 0 < hours <= 24 * 30:
        raise ValueError("must be between 1 and 720 hours")
    return hours


def _months(value: Any) -> int:
    months = int(value)
    if not 0 < months <= 120:
        raise ValueError("must be between 1 and 120 months")
    return months


def _clock(value: str) -> str:
    text = str(value).strip()
    try:
        parsed = dt.time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a time of day such as 15:00") from None
    return parsed.strftime("%H:%M")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "yes", "true", "on"):
        return True
    if text in ("0", "no", "false", "off"):
        return False
    raise ValueError("must be yes or no")


@dataclass(frozen=True)
class SettingSpec:
    key: str
    default: Any
    check: Callable[[Any], Any]
    label: str
    secret: bool = False


SCHEMA: dict[str, SettingSpec] = {
    s.key: s
    for s in (
        SettingSpec("business_name", "My Guesthouse", _text, "Business name"),
        SettingSpec("kind", "guesthouse", _choice("guesthouse", "salon"), "Kind of business"),
        SettingSpec("default_region", "FR", _region, "Default country for phone numbers"),
        SettingSpec("currency", "EUR", _currency, "Currency"),
        SettingSpec("timezone", "Europe/Paris", _timezone, "Time zone"),
        SettingSpec("language", "en", _language, "Language"),
        SettingSpec("address", "", _text, "Business address"),
        SettingSpec("phone", "", _text, "Business phone"),
        SettingSpec("email", "", _text, "Business email"),
        SettingSpec("smtp_host", "", _text, "SMTP server"),
        SettingSpec("smtp_port", 587, _int, "SMTP port"),
        SettingSpec(
            "smtp_security", "starttls", _choice("starttls", "tls", "none"), "SMTP security"
        ),
        SettingSpec("smtp_user", "", _text, "SMTP user"),
        SettingSpec("smtp_from", "", _text, "Sender address"),
        SettingSpec("reminder_hours_salon", 24, _hours, "Appointment reminder (hours before)"),
        SettingSpec("reminder_hours_stay", 72, _hours, "Stay reminder (hours before arrival)"),
        SettingSpec("winback_months", 6, _months, "Win-back after (months without a visit)"),
        SettingSpec("review_link", "", _text, "Review link for follow-ups"),
        SettingSpec("checkin_time", "15:00", _clock, "Check-in from"),
        SettingSpec("directions", "", _text, "Directions for arriving guests"),
        # sensitive, but the database is encrypted; never printed in logs
        SettingSpec("door_code", "", _text, "Door or key-box code", secret=True),
        SettingSpec("backup_folder", "", _text, "Automatic backup folder"),
        SettingSpec("auto_backup", False, _bool, "Automatic backups"),
        SettingSpec(
            "backup_passphrase_wanted", False, _bool, "Backups also open with a backup passphrase"
        ),
    )
}


def get_all(store: Store) -> dict[str, Any]:
    """Every setting, defaults filled in."""
    values = {k: spec.default for k, spec in SCHEMA.items()}
    with store.reader() as s:
        for row in s.query(Setting).all():
            values[row.key] = row.value
    return values


def get(store: Store, key: str) -> Any:
    """One setting's value (its default when never set)."""
    if key not in SCHEMA:
        raise ValidationError(key, f"unknown setting; known: {', '.join(SCHEMA)}")
    with store.reader() as s:
        row = s.get(Setting, key)
        return row.value if row is not None else SCHEMA[key].default


def set_value(store: Store, key: str, value: Any) -> Any:
    """Validate and store a setting; returns the stored value."""
    spec = SCHEMA.get(key)
    if spec is None:
        raise ValidationError(key, f"unknown setting; known: {', '.join(SCHEMA)}")
    try:
        checked = spec.check(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(key, str(exc)) from None
    with store.session() as s:
        s.merge(Setting(key=key, value=checked))
    return checked
