"""Bookings and payments; a booking for new contact details creates the profile."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.models import Booking, Customer, Payment
from app.models.base import utcnow
from app.models.booking import BOOKING_KINDS, BOOKING_STATUSES, CHANNELS, PAYMENT_METHODS
from app.services import customers as customers_svc
from app.services import settings as settings_svc
from app.services.errors import NotFoundError, ValidationError
from app.services.money import to_minor
from app.services.normalize import clean_text, parse_email, parse_phone
from app.services.store import Store
from app.services.timeutil import local_today, parse_local


@dataclass
class BookingInput:
    """A booking as entered. Either ``customer_id`` or ``contact`` names the guest."""

    start: str | dt.datetime
    end: str | dt.datetime | None = None
    customer_id: int | None = None
    contact: customers_svc.CustomerInput | None = None
    kind: str | None = None
    service: str | None = None
    room: str | None = None
    staff: str | None = None
    location: str | None = None
    status: str = "confirmed"
    price: str | int | None = None
    currency: str | None = None
    channel: str = "direct"
    party_size: int = 1
    special_requests: str | None = None
    external_ref: str | None = None


@dataclass
class BookingResult:
    booking: dict[str, Any]
    customer_id: int
    customer_created: bool
    filled_fields: list[str] = field(default_factory=list)


def _check_choice(name: str, value: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValidationError(name, f"'{value}' is not one of {', '.join(options)}")
    return value


def _resolve_customer(s, store: Store, data: BookingInput, region: str, tz_name: str):
    """Existing customer by id, by exact phone/email match, or a new profile."""
    if data.customer_id is not None:
        customer = s.get(Customer, data.customer_id)
        if customer is None:
            raise NotFoundError(f"no customer with id {data.customer_id}")
        return customer, False, []
    contact = data.contact
    if contact is None:
        raise ValidationError("customer", "a booking needs a customer or contact details")
    phones = [parse_phone(p, region) for p in contact.phones or []]
    emails = [parse_email(e) for e in contact.emails or []]
    customer = customers_svc.find_by_contact(
        s, [p.e164 for p in phones], [e.address for e in emails]
    )
    if customer is None:
        today = local_today(tz_name)
        customer = Customer(first_contact=today, source_channel=data.channel)
        customers_svc._apply(s, customer, contact, region)
        s.add(customer)
        return customer, True, []
    # known guest: fill what is missing, never overwrite what staff already recorded
    filled = []
    known_phones = {p.e164 for p in customer.phones}
    new_phones = [p.raw for p in phones if p.e164 not in known_phones]
    known_emails = {e.address.lower() for e in customer.emails}
    new_emails = [e.address for e in emails if e.address.lower() not in known_emails]
    patch = customers_svc.CustomerInput()
    if new_phones:
        patch.phones = [p.raw for p in customer.phones] + new_phones
        filled.append("phones")
    if new_emails:
        patch.emails = [e.address for e in customer.emails] + new_emails
        filled.append("emails")
    for name in customers_svc.PROFILE_FIELDS:
        given = getattr(contact, name)
        if given not in (None, "") and not getattr(customer, name):
            setattr(patch, name, given)
            filled.append(name)
    if filled:
        customers_svc._apply(s, customer, patch, region)
    return customer, False, filled


def record_booking(store: Store, data: BookingInput) -> BookingResult:
    """Record a booking; attaches it to the customer matching the contact's exact phone
    (E.164) or email, filling their missing fields, or creates the profile."""
    conf = settings_svc.get_all(store)
    currency = (data.currency or conf["currency"]).upper()
    start = parse_local(data.start, conf["timezone"], "start")
    end = parse_local(data.end, conf["timezone"], "end") if data.end else None
    if end is not None and end < start:
        raise ValidationError("end", "the booking ends before it starts")
    kind = data.kind or ("stay" if conf["kind"] == "guesthouse" else "appointment")
    _check_choice("kind", kind, BOOKING_KINDS)
    _check_choice("status", data.status, BOOKING_STATUSES)
    _check_choice("channel", data.channel, CHANNELS)
    price = to_minor(data.price, currency) if data.price not in (None, "") else 0
    if price < 0:
        raise ValidationError("price", "a price cannot be negative")
    if data.party_size < 1:
        raise ValidationError("party_size", "at least one person")
    with store.session() as s:
        customer, created, filled = _resolve_customer(
            s, store, data, conf["default_region"], conf["timezone"]
        )
        booking = Booking(
            kind=kind,
            service=clean_text(data.service) or None,
            room=clean_text(data.room) or None,
            staff=clean_text(data.staff) or None,
            location=clean_text(data.location) or None,
            start_at=start,
            end_at=end,
            status=data.status,
            price_minor=price,
            currency=currency,
            channel=data.channel,
            party_size=data.party_size,
            special_requests=clean_text(data.special_requests) or None,
            external_ref=clean_text(data.external_ref) or None,
        )
        s.add(customer)
        s.flush()
        booking.customer_id = customer.id
        s.add(booking)
        s.flush()
        cid, bid = customer.id, booking.id
    return BookingResult(get_booking(store, bid), cid, created, filled)


def get_booking(store: Store, booking_id: int) -> dict[str, Any]:
    """One booking with its payments, paid and balance."""
    with store.reader() as s:
        b = s.get(Booking, booking_id)
        if b is None:
            raise NotFoundError(f"no booking with id {booking_id}")
        out = customers_svc._booking_dict(b)
        out["customer_id"] = b.customer_id
        return out


def set_status(store: Store, booking_id: int, status: str) -> dict[str, Any]:
    """Move a booking to another status (confirmed, checked-in, completed, no-show…)."""
    _check_choice("status", status, BOOKING_STATUSES)
    with store.session() as s:
        b = s.get(Booking, booking_id)
        if b is None:
            raise NotFoundError(f"no booking with id {booking_id}")
        b.status = status
        b.cancelled_at = utcnow() if status == "cancelled" else None
    return get_booking(store, booking_id)


def cancel_booking(store: Store, booking_id: int) -> dict[str, Any]:
    """Cancel a booking: kept in the history, excluded from revenue and visits."""
    return set_status(store, booking_id, "cancelled")


def add_payment(
    store: Store,
    booking_id: int,
    amount: str | int,
    *,
    currency: str | None = None,
    method: str = "card",
    paid_at: str | dt.datetime | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    """Record money received against a booking; returns the updated booking."""
    _check_choice("method", method, PAYMENT_METHODS)
    tz = settings_svc.get(store, "timezone")
    with store.session() as s:
        b = s.get(Booking, booking_id)
        if b is None:
            raise NotFoundError(f"no booking with id {booking_id}")
        cur = (currency or b.currency).upper()
        minor = to_minor(amount, cur)
        if minor == 0:
            raise ValidationError("amount", "a payment needs an amount")
        s.add(
            Payment(
                booking_id=b.id,
                amount_minor=minor,
                currency=cur,
                method=method,
                paid_at=parse_local(paid_at, tz, "paid_at") if paid_at else utcnow(),
                reference=clean_text(reference) or None,
            )
        )
    return get_booking(store, booking_id)


def bookings_between(store: Store, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Bookings starting in [start, end), oldest first, each with its customer id."""
    with store.reader() as s:
        rows = s.scalars(
            select(Booking)
            .where(Booking.start_at >= start, Booking.start_at < end)
            .order_by(Booking.start_at, Booking.id)
        ).all()
        out = []
        for b in rows:
            d = customers_svc._booking_dict(b)
            d["customer_id"] = b.customer_id
            out.append(d)
        return out
