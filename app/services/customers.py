"""Customer profiles: create, edit, archive, read; matching by phone and email."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    Booking,
    Communication,
    Customer,
    CustomerEmail,
    CustomerPhone,
    ExternalRef,
    Note,
)
from app.models.base import utcnow
from app.services import settings as settings_svc
from app.services.errors import NotFoundError, ValidationError
from app.services.normalize import (
    clean_text,
    display_name,
    format_phone,
    parse_email,
    parse_phone,
    sort_key,
)
from app.services.store import Store
from app.services.tags import _get_or_create
from app.services.timeutil import local_today

# plain scalar fields a caller may set; phones, emails, tags, refs are handled apart
PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "preferred_language",
    "birthday",
    "street",
    "postcode",
    "city",
    "region",
    "country",
    "company",
    "nationality",
    "id_document_type",
    "id_document_number",
    "id_document_country",
    "id_document_expiry",
    "source_channel",
    "first_contact",
)
_UPPER_FIELDS = ("country", "nationality", "id_document_country")
_DATE_FIELDS = ("birthday", "id_document_expiry", "first_contact")


@dataclass
class CustomerInput:
    """What a person typed for a customer. ``None`` means 'leave unchanged' on edit."""

    first_name: str | None = None
    last_name: str | None = None
    phones: list[str] | None = None
    emails: list[str] | None = None
    tags: list[str] | None = None
    preferred_language: str | None = None
    birthday: dt.date | str | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    company: str | None = None
    nationality: str | None = None
    id_document_type: str | None = None
    id_document_number: str | None = None
    id_document_country: str | None = None
    id_document_expiry: dt.date | str | None = None
    marketing_consent: bool | None = None
    consent_method: str | None = None
    consent_source: str | None = None
    source_channel: str | None = None
    first_contact: dt.date | str | None = None
    external_refs: list[tuple[str, str]] | None = None


@dataclass
class PhoneInfo:
    raw: str
    e164: str
    international: str


@dataclass
class EmailInfo:
    address: str
    is_relay: bool


@dataclass
class CustomerSummary:
    """One row of the customer list."""

    id: int
    display_name: str
    primary_phone: str | None
    primary_email: str | None
    preferred_language: str | None
    tags: str | None
    booking_count: int
    last_visit_at: dt.datetime | None
    created_at: dt.datetime


@dataclass
class CustomerProfile:
    """Everything the profile screen and `show --json` hold about one customer."""

    id: int
    first_name: str
    last_name: str
    display_name: str
    phones: list[PhoneInfo]
    emails: list[EmailInfo]
    preferred_language: str | None
    birthday: dt.date | None
    street: str | None
    postcode: str | None
    city: str | None
    region: str | None
    country: str | None
    company: str | None
    nationality: str | None
    id_document_type: str | None
    id_document_number: str | None
    id_document_country: str | None
    id_document_expiry: dt.date | None
    marketing_consent: bool
    consent_at: dt.datetime | None
    consent_method: str | None
    consent_source: str | None
    source_channel: str | None
    first_contact: dt.date | None
    external_refs: list[dict[str, str]]
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None
    merged_into_id: int | None
    tags: list[str]
    figures: dict[str, Any]
    notes: list[dict[str, Any]] = field(default_factory=list)
    bookings: list[dict[str, Any]] = field(default_factory=list)
    communications: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _parse_date(fieldname: str, value: dt.date | str | None) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(fieldname, f"'{value}' is not a date (YYYY-MM-DD)") from None


def _validate_profile_values(data: CustomerInput) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in PROFILE_FIELDS:
        raw = getattr(data, name)
        if raw is None:
            continue
        if name in _DATE_FIELDS:
            values[name] = _parse_date(name, raw)
            continue
        text = clean_text(raw)
        if name in _UPPER_FIELDS and text:
            if len(text) != 2 or not text.isalpha():
                raise ValidationError(name, f"'{text}' is not a two-letter country code")
            text = text.upper()
        if name == "preferred_language" and text:
            text = text.replace("_", "-")
            if not all(part.isalnum() for part in text.split("-")) or len(text) > 16:
                raise ValidationError(name, f"'{text}' is not a language code such as fr or zh")
        values[name] = text or (None if name not in ("first_name", "last_name") else "")
    birthday = values.get("birthday")
    if birthday and not (dt.date(1900, 1, 1) <= birthday <= dt.date.today()):
        raise ValidationError("birthday", f"{birthday} is not a plausible birthday")
    return values


def _apply(session: Session, customer: Customer, data: CustomerInput, region: str) -> None:
    """Validate everything first, then write: a bad phone leaves the profile untouched."""
    values = _validate_profile_values(data)
    phones = [parse_phone(p, region) for p in data.phones] if data.phones is not None else None
    emails = [parse_email(e) for e in data.emails] if data.emails is not None else None
    first = values.get("first_name", customer.first_name or "")
    last = values.get("last_name", customer.last_name or "")
    if not (first or last):
        raise ValidationError("name", "a customer needs a first or last name")
    for name, value in values.items():
        setattr(customer, name, value)
    customer.display_name = display_name(first, last)
    customer.sort_name = sort_key(first, last)
    if data.marketing_consent is not None and data.marketing_consent != customer.marketing_consent:
        customer.marketing_consent = data.marketing_consent
        customer.consent_at = utcnow()
        customer.consent_method = clean_text(data.consent_method) or "recorded by staff"
        customer.consent_source = clean_text(data.consent_source) or None
    if phones is not None:
        by_e164 = {p.e164: p for p in customer.phones}
        kept = []
        for pos, phone in enumerate(dict((p.e164, p) for p in phones).values()):
            row = by_e164.get(phone.e164) or CustomerPhone(e164=phone.e164)
            row.raw, row.position = phone.raw, pos
            kept.append(row)
        customer.phones = kept
    if emails is not None:
        by_address = {e.address.lower(): e for e in customer.emails}
        kept_emails = []
        for pos, email in enumerate(dict((e.address.lower(), e) for e in emails).values()):
            row = by_address.get(email.address.lower()) or CustomerEmail(address=email.address)
            row.address, row.is_relay, row.position = email.address, email.is_relay, pos
            kept_emails.append(row)
        customer.emails = kept_emails
    if data.tags is not None:
        wanted = [_get_or_create(session, n) for n in data.tags]
        customer.tags = list(dict.fromkeys(wanted))
    if data.external_refs is not None:
        existing = {(r.system, r.ref): r for r in customer.external_refs}
        pairs = dict.fromkeys((clean_text(a), clean_text(b)) for a, b in data.external_refs)
        customer.external_refs = [
            existing.get(pair) or ExternalRef(system=pair[0], ref=pair[1])
            for pair in pairs
            if pair[1]
        ]
    customer.updated_at = utcnow()


def add_customer(store: Store, data: CustomerInput) -> CustomerProfile:
    """Create a customer from validated input; returns the stored profile."""
    region = settings_svc.get(store, "default_region")
    today = local_today(settings_svc.get(store, "timezone"))
    with store.session() as s:
        customer = Customer(first_contact=today)
        _apply(s, customer, data, region)
        s.add(customer)
        s.flush()
        cid = customer.id
    return get_profile(store, cid)


def edit_customer(store: Store, customer_id: int, data: CustomerInput) -> CustomerProfile:
    """Change the given fields (``None`` fields stay as they are)."""
    region = settings_svc.get(store, "default_region")
    with store.session() as s:
        customer = _load(s, customer_id)
        _apply(s, customer, data, region)
    return get_profile(store, customer_id)


def set_archived(store: Store, customer_id: int, archived: bool = True) -> CustomerProfile:
    """Archive (hide from lists and search) or bring back a customer; nothing is deleted."""
    with store.session() as s:
        customer = _load(s, customer_id)
        customer.archived_at = utcnow() if archived else None
        customer.updated_at = utcnow()
    return get_profile(store, customer_id)


def delete_customer(store: Store, customer_id: int) -> None:
    """Erase a customer and everything attached (a data-subject erasure request)."""
    with store.session() as s:
        s.delete(_load(s, customer_id))


def _load(s: Session, customer_id: int) -> Customer:
    customer = s.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(f"no customer with id {customer_id}")
    return customer


def find_by_contact(s: Session, e164s: list[str], emails: list[str]) -> Customer | None:
    """The live customer holding one of these exact E.164 numbers or email keys."""
    if e164s:
        found = s.scalar(
            select(Customer)
            .join(CustomerPhone)
            .where(CustomerPhone.e164.in_(e164s), Customer.merged_into_id.is_(None))
            .order_by(Customer.archived_at.is_not(None), Customer.id)
            .limit(1)
        )
        if found is not None:
            return found
    lowered = sorted({e.lower() for e in emails})
    if lowered:
        return s.scalar(
            select(Customer)
            .join(CustomerEmail)
            .where(
                func.lower(CustomerEmail.address).in_(lowered),
                Customer.merged_into_id.is_(None),
            )
            .order_by(Customer.archived_at.is_not(None), Customer.id)
            .limit(1)
        )
    return None


def _booking_dict(b: Booking) -> dict[str, Any]:
    paid = sum(p.amount_minor for p in b.payments if p.currency == b.currency)
    owed = 0 if b.status in ("cancelled", "no-show") else b.price_minor
    return {
        "id": b.id,
        "kind": b.kind,
        "service": b.service,
        "room": b.room,
        "staff": b.staff,
        "location": b.location,
        "start_at": b.start_at,
        "end_at": b.end_at,
        "status": b.status,
        "price_minor": b.price_minor,
        "currency": b.currency,
        "channel": b.channel,
        "party_size": b.party_size,
        "special_requests": b.special_requests,
        "external_ref": b.external_ref,
        "paid_minor": paid,
        "balance_minor": max(owed - paid, 0),
        "payments": [
            {
                "id": p.id,
                "amount_minor": p.amount_minor,
                "currency": p.currency,
                "method": p.method,
                "paid_at": p.paid_at,
                "reference": p.reference,
            }
            for p in b.payments
        ],
    }


def get_profile(store: Store, customer_id: int) -> CustomerProfile:
    """The full profile: contact data, tags, notes (alerts and pins first), bookings
    oldest to newest with payments, communications newest first, and figures."""
    with store.reader() as s:
        c = s.scalar(
            select(Customer)
            .where(Customer.id == customer_id)
            .options(
                selectinload(Customer.phones),
                selectinload(Customer.emails),
                selectinload(Customer.tags),
                selectinload(Customer.external_refs),
            )
        )
        if c is None:
            raise NotFoundError(f"no customer with id {customer_id}")
        notes = s.scalars(
            select(Note)
            .where(Note.customer_id == customer_id)
            .order_by(Note.alert.desc(), Note.pinned.desc(), Note.created_at.desc())
        ).all()
        bookings = s.scalars(
            select(Booking)
            .where(Booking.customer_id == customer_id)
            .options(selectinload(Booking.payments))
            .order_by(Booking.start_at, Booking.id)
        ).all()
        comms = s.scalars(
            select(Communication)
            .where(Communication.customer_id == customer_id)
            .order_by(Communication.created_at.desc(), Communication.id.desc())
        ).all()
        balance: dict[str, int] = {}
        booking_dicts = [_booking_dict(b) for b in bookings]
        for b in booking_dicts:
            if b["balance_minor"]:
                balance[b["currency"]] = balance.get(b["currency"], 0) + b["balance_minor"]
        return CustomerProfile(
            id=c.id,
            first_name=c.first_name,
            last_name=c.last_name,
            display_name=c.display_name,
            phones=[PhoneInfo(p.raw, p.e164, format_phone(p.e164)) for p in c.phones],
            emails=[EmailInfo(e.address, e.is_relay) for e in c.emails],
            preferred_language=c.preferred_language,
            birthday=c.birthday,
            street=c.street,
            postcode=c.postcode,
            city=c.city,
            region=c.region,
            country=c.country,
            company=c.company,
            nationality=c.nationality,
            id_document_type=c.id_document_type,
            id_document_number=c.id_document_number,
            id_document_country=c.id_document_country,
            id_document_expiry=c.id_document_expiry,
            marketing_consent=c.marketing_consent,
            consent_at=c.consent_at,
            consent_method=c.consent_method,
            consent_source=c.consent_source,
            source_channel=c.source_channel,
            first_contact=c.first_contact,
            external_refs=[{"system": r.system, "ref": r.ref} for r in c.external_refs],
            created_at=c.created_at,
            updated_at=c.updated_at,
            archived_at=c.archived_at,
            merged_into_id=c.merged_into_id,
            tags=[t.name for t in c.tags],
            figures={
                "booking_count": c.booking_count,
                "no_show_count": c.no_show_count,
                "first_visit_at": c.first_visit_at,
                "last_visit_at": c.last_visit_at,
                "next_booking_at": c.next_booking_at,
                "total_spent": c.total_spent or {},
                "lifetime_value": c.lifetime_value or {},
                "balance_due": balance,
            },
            notes=[
                {
                    "id": n.id,
                    "body": n.body,
                    "author": n.author,
                    "created_at": n.created_at,
                    "updated_at": n.updated_at,
                    "pinned": n.pinned,
                    "alert": n.alert,
                }
                for n in notes
            ],
            bookings=booking_dicts,
            communications=[
                {
                    "id": m.id,
                    "booking_id": m.booking_id,
                    "channel": m.channel,
                    "direction": m.direction,
                    "kind": m.kind,
                    "recipient": m.recipient,
                    "subject": m.subject,
                    "body": m.body,
                    "status": m.status,
                    "created_at": m.created_at,
                    "sent_at": m.sent_at,
                }
                for m in comms
            ],
        )


def count_customers(store: Store, include_archived: bool = False) -> int:
    """How many live (not merged away) customers the store holds."""
    with store.reader() as s:
        q = select(func.count()).select_from(Customer).where(Customer.merged_into_id.is_(None))
        if not include_archived:
            q = q.where(Customer.archived_at.is_(None))
        return s.scalar(q) or 0
