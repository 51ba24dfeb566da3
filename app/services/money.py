"""Money as integer minor units plus an ISO 4217 code; never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision

from app.services.errors import ValidationError


def exponent(currency: str) -> int:
    """Digits after the decimal point: 2 for EUR, 0 for JPY, 3 for KWD."""
    return get_currency_precision(currency.upper())


def to_minor(amount: str | int | Decimal, currency: str) -> int:
    """'45.00' EUR -> 4500. Refuses more decimals than the currency has."""
    try:
        value = Decimal(str(amount).strip().replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        raise ValidationError("price", f"'{amount}' is not an amount") from None
    if not value.is_finite():
        raise ValidationError("price", f"'{amount}' is not an amount")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValidationError(
            "price", f"'{amount}' has more decimals than {currency.upper()} allows"
        )
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def format_money(minor: int, currency: str, locale: str = "en") -> str:
    """'€45.00', '45,00 €' (fr), '¥45.00' — the reader's own conventions."""
    return format_currency(from_minor(minor, currency), currency.upper(), locale=locale)
