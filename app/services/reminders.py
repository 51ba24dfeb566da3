"""The draft queue: which message each customer should get today, in their language.

Kinds (see :data:`templates.KINDS`):

* ``confirmation`` — upcoming confirmed bookings recorded in the last week and not yet
  confirmed (skipped when the reminder for the same booking is due: one message a day);
* ``reminder`` — ``reminder_hours_salon`` before an appointment, ``reminder_hours_stay``
  before a stay;
* ``pre-arrival`` — stays only, the day before arrival: check-in time, directions, code;
* ``follow-up`` — thank-you after a completed visit of the last week (review link);
* ``birthday`` — birthdays in the coming week; ``win-back`` — no visit for
  ``winback_months`` months (reached within the last 30 days) and nothing booked.
  These two are marketing: only with recorded consent and a reachable address that is
  not a booking-site relay.

A booking-bound message that was marked sent is never drafted again for that booking;
cancelled (and merely requested) bookings get none: only confirmed ones are reminded.
Nothing here sends anything: :mod:`messaging` does, and :func:`mark_sent` records it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from app.models import Booking, Communication, Customer, CustomerEmail, CustomerPhone, Payment
from app.models.base import utcnow
from app.services import communications, templates
from app.services import settings as settings_svc
from app.services.errors import NotFoundError, ValidationError
from app.services.money import format_money
from app.services.store import Store
from app.services.timeutil import zone

CONFIRMATION_WINDOW = dt.timedelta(days=7)  # bookings older than this are not "new"
FOLLOW_UP_WINDOW = dt.timedelta(days=7)  # a thank-you three weeks late reads odd
PRE_ARRIVAL_BEFORE = dt.timedelta(hours=24)
# bounds the follow-up scan by start date: a stay that ended last week began at most
# this long before (longer stays get no automatic thank-you)
LONGEST_STAY = dt.timedelta(days=90)
BIRTHDAY_DAYS = 7  # "this week"
# win-back goes to those who went quiet this past month, not to every customer who ever
# lapsed: after an import that would be thousands of messages on the first morning
WINBACK_WINDOW = dt.timedelta(days=30)
BIRTHDAY_REPEAT = dt.timedelta(days=180)  # one greeting a year, whatever the window
# a requested booking is not agreed yet: no reminder, and certainly no door code
_UPCOMING = ("confirmed",)
_CHUNK = 500

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


@dataclass
class Draft:
    """One message ready to go. ``to`` is an email address or an E.164 number."""

    customer_id: int
    booking_id: int | None
    kind: str
    channel: str  # email or sms; WhatsApp is offered wherever there is a phone
    language: str
    to: str
    subject: str
    body: str
    customer_name: str = ""
    due_at: dt.datetime | None = None
    email: str | None = None
    phone: str | None = None
    booking_start: dt.datetime | None = None
    # drafts listed but not yet shown are rendered on first use (see ensure_rendered)
    pending: Callable[[], tuple[str, str]] | None = field(default=None, repr=False, compare=False)

    def ensure_rendered(self) -> Draft:
        """Fill subject and body if the queue was built with ``render=False``.

        Raises:
            templates.TemplateError: when the template in effect cannot be rendered.
        """
        if self.pending is not None:
            self.subject, self.body = self.pending()
            self.pending = None
        return self

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.customer_id}:{self.booking_id or ''}"

    def to_json(self) -> dict[str, Any]:
        """The CLI's contract: exactly these keys, in this order."""
        return {
            "customer_id": self.customer_id,
            "booking_id": self.booking_id,
            "kind": self.kind,
            "channel": self.channel,
            "language": self.language,
            "to": self.to,
            "subject": self.subject,
            "body": self.body,
        }


@dataclass
class Unreachable:
    """A customer who should get a message but has no usable channel for it."""

    customer_id: int
    booking_id: int | None
    kind: str
    customer_name: str
    reason: str


@dataclass
class DraftQueue:
    drafts: list[Draft] = field(default_factory=list)
    unreachable: list[Unreachable] = field(default_factory=list)
    cancelled: bool = False


@dataclass
class _Person:
    id: int
    first_name: str
    last_name: str
    display_name: str
    language: str | None
    consent: bool
    last_visit_at: dt.datetime | None
    emails: list[tuple[str, bool]] = field(default_factory=list)  # (address, is_relay)
    phones: list[str] = field(default_factory=list)  # E.164


@dataclass(frozen=True)
class _BookingFacts:
    """What the placeholders need from a booking, readable after the session ends."""

    id: int
    kind: str
    status: str
    start_at: dt.datetime
    end_at: dt.datetime | None
    room: str | None
    service: str | None
    staff: str | None
    price_minor: int
    currency: str

    @classmethod
    def of(cls, b: Booking) -> _BookingFacts:
        return cls(
            b.id, b.kind, b.status, b.start_at, b.end_at, b.room, b.service, b.staff,
            b.price_minor, b.currency,
        )  # fmt: skip


@dataclass
class _Candidate:
    kind: str
    customer_id: int
    due_at: dt.datetime
    booking: Booking | None = None


# ---------------------------------------------------------------- channels


def choose_channel(person: _Person, kind: str) -> tuple[str, str] | str:
    """(channel, address) for this kind of message, or the reason there is none.

    Transactional messages prefer a real email, then a phone, then a booking-site relay
    address (it does reach the guest, through the channel). Marketing never goes to a
    relay address: the guest gave it to the booking site, not to us.
    """
    own = [a for a, relay in person.emails if not relay]
    relay = [a for a, is_relay in person.emails if is_relay]
    if own:
        return "email", own[0]
    if person.phones:
        return "sms", person.phones[0]
    if kind in templates.MARKETING_KINDS:
        if relay:
            return (
                f"only a booking-site relay address ({relay[0]}), which may not be used "
                "for marketing"
            )
        return "no email address or phone number"
    if relay:
        return "email", relay[0]
    return "no email address or phone number"


# ---------------------------------------------------------------- placeholders


def _booking_values(booking: _BookingFacts, paid: int, tz_name: str, loc: Locale) -> dict[str, Any]:
    start = booking.start_at.astimezone(zone(tz_name))
    end = booking.end_at.astimezone(zone(tz_name)) if booking.end_at else None
    is_stay = booking.kind == "stay"
    owed = 0 if booking.status in ("cancelled", "no-show") else booking.price_minor
    balance = max(owed - paid, 0)
    values: dict[str, Any] = {
        "date": format_date(start.date(), format="full", locale=loc),
        "time": format_time(start.timetz(), format="short", locale=loc),
        "end_date": format_date(end.date(), format="full", locale=loc)
        if end and end.date() != start.date()
        else "",
        "nights": str((end.date() - start.date()).days) if is_stay and end else "",
        "is_stay": "yes" if is_stay else "",
        "room": booking.room or "",
        "service": booking.service or "",
        "what": (booking.room if is_stay else booking.service) or booking.room or booking.service,
        "staff": booking.staff or "",
        "balance_due": format_money(balance, booking.currency, str(loc)) if balance else "",
    }
    return values


def _values(
    person: _Person,
    booking: _BookingFacts | Booking | None,
    paid: int,
    conf: dict[str, Any],
    loc: Locale,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "first_name": person.first_name or person.display_name,
        "last_name": person.last_name,
        "display_name": person.display_name,
        "business_name": conf["business_name"],
        "business_address": conf["address"],
        "business_phone": conf["phone"],
        "business_email": conf["email"],
        "checkin_time": _clock(conf["checkin_time"], loc),
        "directions": conf["directions"],
        "door_code": conf["door_code"],
        "review_link": conf["review_link"],
    }
    if booking is not None:
        values.update(_booking_values(booking, paid, conf["timezone"], loc))
    return values


@functools.lru_cache(maxsize=64)
def _clock(value: str, loc: Locale) -> str:
    try:
        return format_time(dt.time.fromisoformat(value), format="short", locale=loc)
    except ValueError:
        return value


# ---------------------------------------------------------------- loading


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = sorted(set(ids))
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def _active():
    return and_(Customer.archived_at.is_(None), Customer.merged_into_id.is_(None))


def _load_people(s: Session, ids: Iterable[int]) -> dict[int, _Person]:
    people: dict[int, _Person] = {}
    for chunk in _chunks(ids):
        for row in s.execute(
            select(
                Customer.id,
                Customer.first_name,
                Customer.last_name,
                Customer.display_name,
                Customer.preferred_language,
                Customer.marketing_consent,
                Customer.last_visit_at,
            ).where(Customer.id.in_(chunk))
        ):
            people[row[0]] = _Person(*row)
        for cid, address, relay in s.execute(
            select(CustomerEmail.customer_id, CustomerEmail.address, CustomerEmail.is_relay)
            .where(CustomerEmail.customer_id.in_(chunk))
            .order_by(CustomerEmail.customer_id, CustomerEmail.position, CustomerEmail.id)
        ):
            people[cid].emails.append((address, bool(relay)))
        for cid, e164 in s.execute(
            select(CustomerPhone.customer_id, CustomerPhone.e164)
            .where(CustomerPhone.customer_id.in_(chunk))
            .order_by(CustomerPhone.customer_id, CustomerPhone.position, CustomerPhone.id)
        ):
            people[cid].phones.append(e164)
    return people


def _paid(s: Session, bookings: Iterable[Booking]) -> dict[int, int]:
    currency = {b.id: b.currency for b in bookings}
    out: dict[int, int] = defaultdict(int)
    for chunk in _chunks(currency):
        for bid, cur, total in s.execute(
            select(Payment.booking_id, Payment.currency, func.sum(Payment.amount_minor))
            .where(Payment.booking_id.in_(chunk))
            .group_by(Payment.booking_id, Payment.currency)
        ):
            if cur == currency[bid]:
                out[bid] += int(total)
    return out


def _sent_for_bookings(s: Session, booking_ids: Iterable[int]) -> set[tuple[int, str]]:
    sent: set[tuple[int, str]] = set()
    for chunk in _chunks(booking_ids):
        sent.update(
            (bid, kind)
            for bid, kind in s.execute(
                select(Communication.booking_id, Communication.kind).where(
                    Communication.booking_id.in_(chunk), Communication.status == "sent"
                )
            )
        )
    return sent


def _last_sent(s: Session, customer_ids: Iterable[int], kind: str) -> dict[int, dt.datetime]:
    out: dict[int, dt.datetime] = {}
    for chunk in _chunks(customer_ids):
        for cid, at in s.execute(
            select(Communication.customer_id, func.max(Communication.sent_at))
            .where(
                Communication.customer_id.in_(chunk),
                Communication.kind == kind,
                Communication.status == "sent",
            )
            .group_by(Communication.customer_id)
        ):
            if at is not None:
                out[cid] = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(at)
                out[cid] = out[cid].replace(tzinfo=dt.UTC)
    return out


def _birthday_days(today: dt.date, span: int) -> dict[str, dt.date]:
    """'MM-DD' → the date it falls on within [today, today+span); 29 February is greeted
    on the 28th in other years."""
    out: dict[str, dt.date] = {}
    for i in range(span):
        day = today + dt.timedelta(days=i)
        out[f"{day:%m-%d}"] = day
        if day.month == 2 and day.day == 28:
            try:
                dt.date(day.year, 2, 29)
            except ValueError:
                out["02-29"] = day
    return out


def _add_months(when: dt.datetime, months: int) -> dt.datetime:
    month = when.month - 1 + months
    year, month = when.year + month // 12, month % 12 + 1
    for day in (when.day, 30, 29, 28):
        try:
            return when.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _candidates(
    s: Session, conf: dict[str, Any], now: dt.datetime, window_end: dt.datetime
) -> list[_Candidate]:
    """Every message due before ``window_end`` that has not been sent yet."""
    tz = zone(conf["timezone"])
    hours = {
        "stay": dt.timedelta(hours=int(conf["reminder_hours_stay"])),
        "appointment": dt.timedelta(hours=int(conf["reminder_hours_salon"])),
    }
    lead = max(*hours.values(), PRE_ARRIVAL_BEFORE)
    out: list[_Candidate] = []

    def upcoming_where(*extra):
        return s.scalars(
            select(Booking)
            .join(Customer, Customer.id == Booking.customer_id)
            .where(
                _active(),
                # status wrapped so SQLite walks the start_at index, not every confirmed
                # booking ever made
                Booking.status.concat("").in_(_UPCOMING),
                Booking.start_at > now,
                *extra,
            )
        ).all()

    # two index-range reads rather than one OR, which would scan every booking
    soon = upcoming_where(Booking.start_at < window_end + lead)
    recorded = upcoming_where(
        Booking.start_at >= window_end + lead,
        Booking.created_at >= now - CONFIRMATION_WINDOW,
        Booking.created_at <= now,
    )
    upcoming = [*soon, *recorded]
    ended_from = now - FOLLOW_UP_WINDOW
    completed = s.scalars(
        select(Booking)
        .join(Customer, Customer.id == Booking.customer_id)
        .where(
            _active(),
            Booking.status.concat("") == "completed",
            Booking.start_at >= ended_from - LONGEST_STAY,
            func.coalesce(Booking.end_at, Booking.start_at) >= ended_from,
            func.coalesce(Booking.end_at, Booking.start_at) < window_end,
        )
    ).all()
    sent = _sent_for_bookings(s, [b.id for b in (*upcoming, *completed)])

    for b in upcoming:
        reminder_due = b.start_at - hours.get(b.kind, hours["appointment"])
        reminder = reminder_due < window_end and (b.id, "reminder") not in sent
        if reminder:
            out.append(_Candidate("reminder", b.customer_id, reminder_due, b))
        if b.kind == "stay":
            pre_due = b.start_at - PRE_ARRIVAL_BEFORE
            if pre_due < window_end and (b.id, "pre-arrival") not in sent:
                out.append(_Candidate("pre-arrival", b.customer_id, pre_due, b))
        if (
            now - CONFIRMATION_WINDOW <= b.created_at <= now
            and not reminder
            and not {(b.id, "confirmation"), (b.id, "reminder")} & sent
        ):
            out.append(_Candidate("confirmation", b.customer_id, b.created_at, b))
    for b in completed:
        if (b.id, "follow-up") not in sent:
            out.append(_Candidate("follow-up", b.customer_id, b.end_at or b.start_at, b))

    # birthdays in the coming week (plus the look-ahead), marketing consent only
    today = now.astimezone(tz).date()
    span = max((window_end.astimezone(tz).date() - today).days, 1) + BIRTHDAY_DAYS - 1
    days = _birthday_days(today, span)
    born = s.execute(
        select(Customer.id, Customer.birthday).where(
            _active(),
            Customer.marketing_consent.is_(True),
            func.strftime("%m-%d", Customer.birthday).in_(sorted(days)),
        )
    ).all()
    greeted = _last_sent(s, [cid for cid, _ in born], "birthday")
    for cid, birthday in born:
        if cid in greeted and greeted[cid] > now - BIRTHDAY_REPEAT:
            continue
        on = days[f"{birthday:%m-%d}"]
        due = dt.datetime.combine(on, dt.time(9, 0), tz).astimezone(dt.UTC)
        out.append(_Candidate("birthday", cid, due))

    # win-back: a past visit, none for N months, nothing booked, consent
    months = int(conf["winback_months"])
    cutoff = _add_months(now, -months)
    lapsed = s.execute(
        select(Customer.id, Customer.last_visit_at).where(
            _active(),
            Customer.marketing_consent.is_(True),
            Customer.last_visit_at.is_not(None),
            Customer.last_visit_at < cutoff,
            Customer.last_visit_at >= cutoff - WINBACK_WINDOW,
            Customer.next_booking_at.is_(None),
        )
    ).all()
    asked = _last_sent(s, [cid for cid, _ in lapsed], "win-back")
    for cid, last_visit in lapsed:
        if cid in asked and asked[cid] > last_visit:
            continue  # already asked since they last came
        out.append(_Candidate("win-back", cid, _add_months(last_visit, months)))
    return out


# ---------------------------------------------------------------- the queue


def _window_end(now: dt.datetime, tz_name: str, days: int) -> dt.datetime:
    """Local midnight after the last day looked at: 'today' means until tonight."""
    tz = zone(tz_name)
    last = now.astimezone(tz).date() + dt.timedelta(days=days + 1)
    return dt.datetime.combine(last, dt.time(0, 0), tz).astimezone(dt.UTC)


def _draft(
    cand: _Candidate,
    person: _Person,
    paid: int,
    conf: dict[str, Any],
    tset: templates.TemplateSet,
) -> Draft | Unreachable:
    route = choose_channel(person, cand.kind)
    booking_id = cand.booking.id if cand.booking is not None else None
    if isinstance(route, str):
        return Unreachable(person.id, booking_id, cand.kind, person.display_name, route)
    channel, to = route
    template = tset.pick(cand.kind, person.language)
    facts = _BookingFacts.of(cand.booking) if cand.booking is not None else None

    def render() -> tuple[str, str]:
        loc = templates.format_locale(person.language, template.language)
        return templates.render(template, _values(person, facts, paid, conf, loc))

    marketing = cand.kind in templates.MARKETING_KINDS
    return Draft(
        customer_id=person.id,
        booking_id=booking_id,
        kind=cand.kind,
        channel=channel,
        language=template.language,
        to=to,
        subject="",
        body="",
        customer_name=person.display_name,
        due_at=cand.due_at,
        email=next((a for a, relay in person.emails if not (relay and marketing)), None),
        phone=person.phones[0] if person.phones else None,
        booking_start=cand.booking.start_at if cand.booking is not None else None,
        pending=render,
    )


def draft_queue(
    store: Store,
    *,
    days: int = 0,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    render: bool = True,
) -> DraftQueue:
    """Messages to send today (and in the next ``days`` days), rendered and routed.

    Args:
        store: the open store.
        days: look this many days further ahead (0: what is due by tonight).
        now: the current instant (tests); defaults to the clock.
        progress: called with (done, total) while drafts are rendered.
        cancelled: polled between drafts; when it returns True the queue so far is
            returned with ``cancelled=True``.
        render: fill every subject and body now; with False they are filled by
            :meth:`Draft.ensure_rendered` when a draft is shown (the window lists
            hundreds and shows one).

    Returns:
        The drafts, soonest first, and the customers who should get a message but have no
        usable channel, each with the reason.
    """
    if days < 0:
        raise ValidationError("days", "cannot look into the past")
    now = now or utcnow()
    conf = settings_svc.get_all(store)
    window_end = _window_end(now, conf["timezone"], days)
    tset = templates.TemplateSet(store, conf["language"])
    queue = DraftQueue()
    with store.reader() as s:
        cands = _candidates(s, conf, now, window_end)
        people = _load_people(s, {c.customer_id for c in cands})
        paid = _paid(s, [c.booking for c in cands if c.booking is not None])
        order = {k: i for i, k in enumerate(templates.KINDS)}
        cands.sort(key=lambda c: (c.due_at, order[c.kind], c.customer_id))
        for i, cand in enumerate(cands):
            if cancelled is not None and cancelled():
                queue.cancelled = True
                break
            bid = cand.booking.id if cand.booking is not None else None
            made = _draft(cand, people[cand.customer_id], paid.get(bid or 0, 0), conf, tset)
            if isinstance(made, Draft):
                queue.drafts.append(made.ensure_rendered() if render else made)
            else:
                queue.unreachable.append(made)
            if progress is not None and (i % 200 == 0 or i == len(cands) - 1):
                progress(i + 1, len(cands))
    return queue


def find_draft(
    store: Store,
    customer_id: int,
    kind: str,
    booking_id: int | None = None,
    *,
    days: int = 0,
    now: dt.datetime | None = None,
) -> Draft:
    """The queued draft for this customer, kind and booking (for `mark-sent`)."""
    for draft in draft_queue(store, days=days, now=now).drafts:
        if (
            draft.customer_id == customer_id
            and draft.kind == kind
            and (booking_id is None or draft.booking_id == booking_id)
        ):
            return draft
    what = f"{kind} for customer #{customer_id}"
    if booking_id:
        what += f", booking #{booking_id}"
    raise NotFoundError(f"no {what} in the queue (already sent, cancelled, or not due yet)")


def preview_values(
    store: Store, customer_id: int, language: str, booking_id: int | None = None
) -> dict[str, Any]:
    """Placeholder values for a real customer (the template editor's live preview):
    the given booking, else their next booking, else their latest one."""
    conf = settings_svc.get_all(store)
    with store.reader() as s:
        people = _load_people(s, [customer_id])
        if customer_id not in people:
            raise NotFoundError(f"no customer with id {customer_id}")
        person = people[customer_id]
        booking = None
        if booking_id is not None:
            booking = s.get(Booking, booking_id)
            if booking is None or booking.customer_id != customer_id:
                raise NotFoundError(f"no booking #{booking_id} for customer #{customer_id}")
        else:
            now = utcnow()
            booking = s.scalar(
                select(Booking)
                .where(Booking.customer_id == customer_id, Booking.start_at > now)
                .order_by(Booking.start_at)
                .limit(1)
            ) or s.scalar(
                select(Booking)
                .where(Booking.customer_id == customer_id)
                .order_by(Booking.start_at.desc())
                .limit(1)
            )
        paid = _paid(s, [booking]).get(booking.id, 0) if booking is not None else 0
        loc = templates.format_locale(person.language, language)
        return _values(person, booking, paid, conf, loc)


def preview_customers(store: Store, limit: int = 50) -> list[tuple[int, str, str | None]]:
    """(id, name, language) of customers worth previewing on: those with bookings
    coming up first, so placeholders like the date are filled."""
    with store.reader() as s:
        rows = s.execute(
            select(Customer.id, Customer.display_name, Customer.preferred_language)
            .where(_active())
            .order_by(Customer.next_booking_at.is_(None), Customer.next_booking_at, Customer.id)
            .limit(limit)
        ).all()
    return [tuple(r) for r in rows]


# ---------------------------------------------------------------- recording


def _already_sent(s: Session, draft: Draft, now: dt.datetime) -> Communication | None:
    q = select(Communication).where(
        Communication.customer_id == draft.customer_id,
        Communication.kind == draft.kind,
        Communication.status == "sent",
    )
    if draft.booking_id is not None:
        q = q.where(Communication.booking_id == draft.booking_id)
    elif draft.kind == "birthday":
        q = q.where(Communication.sent_at > now - BIRTHDAY_REPEAT)
    elif draft.kind == "win-back":
        last = s.scalar(select(Customer.last_visit_at).where(Customer.id == draft.customer_id))
        if last is not None:
            q = q.where(Communication.sent_at > last)
    return s.scalar(q.order_by(Communication.id).limit(1))


def was_sent(store: Store, draft: Draft) -> bool:
    """Whether this draft (same customer, kind and booking) is already recorded as sent."""
    with store.reader() as s:
        return _already_sent(s, draft, utcnow()) is not None


def mark_sent(
    store: Store,
    draft: Draft,
    *,
    channel: str | None = None,
    subject: str | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """Record a draft as sent in the customer's communication history.

    Marking the same draft twice (a double click, a retry after SMTP already delivered)
    records it once; the result then carries ``already_sent=True``.

    Args:
        store: the open store.
        draft: what was sent.
        channel: how it actually went (email, sms, whatsapp…); defaults to the draft's.
        subject: the subject as sent, when edited before sending.
        body: the text as sent, when edited before sending.
    """
    channel = channel or draft.channel
    with store.reader() as s:
        existing = _already_sent(s, draft, utcnow())
        if existing is not None:
            return {
                "id": existing.id,
                "customer_id": existing.customer_id,
                "booking_id": existing.booking_id,
                "channel": existing.channel,
                "kind": existing.kind,
                "status": existing.status,
                "sent_at": existing.sent_at,
                "already_sent": True,
            }
    recipient = draft.to
    if channel in ("sms", "whatsapp") and draft.phone:
        recipient = draft.phone
    elif channel == "email" and draft.channel != "email" and draft.email:
        recipient = draft.email
    logged = communications.log_message(
        store,
        draft.customer_id,
        channel=channel,
        kind=draft.kind,
        body=body if body is not None else draft.body,
        subject=subject if subject is not None else draft.subject,
        recipient=recipient,
        booking_id=draft.booking_id,
        status="sent",
    )
    logged["already_sent"] = False
    return logged
