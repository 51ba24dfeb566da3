"""Keeps derived data true in the same transaction as every write.

Session hooks collect the customers a flush touched (profile, phones, emails, tags,
bookings, payments) and, just before commit, rewrite their figures and search-index rows
and record audit events. Every service — import, merge, edit — gets this for free, so a
search result or a list figure is never stale.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, event, insert, inspect, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.models import (
    AuditEvent,
    Booking,
    Communication,
    Customer,
    CustomerEmail,
    CustomerPhone,
    ExternalRef,
    Note,
    Payment,
    Setting,
    Tag,
    customer_tag,
    search_index,
)
from app.services.normalize import format_phone
from app.services.search_text import build_row

_AUDITED = (Customer, CustomerPhone, CustomerEmail, ExternalRef, Booking, Payment, Note, Tag)
_TOUCHED = "regulars.touched"


def current_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""


def _customer_id_of(obj: Any, session: Session) -> int | None:
    if isinstance(obj, Customer):
        return obj.id
    if isinstance(obj, (CustomerPhone, CustomerEmail, ExternalRef, Booking, Note, Communication)):
        return obj.customer_id
    if isinstance(obj, Payment):
        if obj.booking is not None:
            return obj.booking.customer_id
        return session.execute(
            select(Booking.customer_id).where(Booking.id == obj.booking_id)
        ).scalar()
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _changes(obj: Any) -> dict[str, list[Any]]:
    state = inspect(obj)
    out: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if hist.has_changes() and attr.key not in ("updated_at",):
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            out[attr.key] = [_jsonable(old), _jsonable(new)]
    if isinstance(obj, Customer):
        # a tag given or taken is a change of the customer's (the link table has no events)
        hist = state.attrs["tags"].history
        if hist.added or hist.deleted:
            kept = [t.name for t in hist.unchanged or ()]
            before = sorted([*kept, *(t.name for t in hist.deleted)])
            out["tags"] = [before, sorted([*kept, *(t.name for t in hist.added)])]
    return out


def install(factory: sessionmaker) -> None:
    """Attach the hooks to every session the factory makes."""

    @event.listens_for(factory, "after_flush")
    def _after_flush(session: Session, flush_context: Any) -> None:
        touched: set[int] = session.info.setdefault(_TOUCHED, set())
        audit = session.info.get("audit", True)
        actor = session.info.get("actor") or current_actor()
        rows = []
        for action, objs in (
            ("create", session.new),
            ("update", session.dirty),
            ("delete", session.deleted),
        ):
            for obj in objs:
                if isinstance(obj, (AuditEvent, Setting)):
                    continue
                cid = _customer_id_of(obj, session)
                if cid is not None:
                    touched.add(cid)
                # merges re-point bookings: the survivor's figures change too
                if isinstance(obj, Customer) and obj.merged_into_id:
                    touched.add(obj.merged_into_id)
                if not audit or not isinstance(obj, _AUDITED):
                    continue
                changes = _changes(obj) if action == "update" else None
                if action == "update" and not changes:
                    continue  # saved as it was (a collection re-assigned to the same items)
                rows.append(
                    {
                        "at": dt.datetime.now(dt.UTC),
                        "actor": actor,
                        "action": action,
                        "entity": type(obj).__tablename__,
                        "entity_id": inspect(obj).identity[0] if inspect(obj).identity else None,
                        "customer_id": cid,
                        "changes": changes,
                    }
                )
        if rows:
            session.connection().execute(insert(AuditEvent), rows)

    @event.listens_for(factory, "before_commit")
    def _before_commit(session: Session) -> None:
        session.flush()
        touched: set[int] = session.info.pop(_TOUCHED, set())
        if touched:
            refresh_derived(session.connection(), touched)

    @event.listens_for(factory, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(_TOUCHED, None)


def record_events(conn: Connection, actor: str, events: Iterable[dict[str, Any]]) -> None:
    """Audit events for a bulk writer that bypasses the session hooks (an import, its undo).

    Each event gives ``action``, ``entity``, ``entity_id``, ``customer_id`` and ``changes``
    (``{"field": [old, new]}``); the time and the actor are added here. Automatic backups
    rely on the newest event to see that the store changed since the last backup.
    """
    at = dt.datetime.now(dt.UTC)
    rows = [dict(e, at=at, actor=actor or current_actor()) for e in events]
    if rows:
        conn.execute(insert(AuditEvent), rows)


def _chunks(ids: Iterable[int], size: int = 500) -> Iterable[list[int]]:
    batch: list[int] = []
    for i in ids:
        batch.append(i)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def refresh_derived(conn: Connection, customer_ids: Iterable[int]) -> None:
    """Recompute figures, list columns and search rows for these customers."""
    for ids in _chunks(sorted(set(customer_ids))):
        _refresh_chunk(conn, ids)


_FIGURES_SQL = text(
    """
    SELECT customer_id,
           sum(status != 'cancelled'),
           sum(status = 'no-show'),
           min(CASE WHEN status IN ('checked-in', 'completed') THEN start_at END),
           max(CASE WHEN status IN ('checked-in', 'completed') THEN start_at END),
           min(CASE WHEN status IN ('requested', 'confirmed') AND start_at > :now
                    THEN start_at END)
    FROM booking WHERE customer_id IN :ids GROUP BY customer_id
    """
).bindparams(bindparam("ids", expanding=True))

_SPENT_SQL = text(
    """
    SELECT b.customer_id, p.currency, sum(p.amount_minor)
    FROM payment p JOIN booking b ON b.id = p.booking_id
    WHERE b.customer_id IN :ids GROUP BY b.customer_id, p.currency
    """
).bindparams(bindparam("ids", expanding=True))

_VALUE_SQL = text(
    """
    SELECT customer_id, currency, sum(price_minor) FROM booking
    WHERE customer_id IN :ids AND status IN ('checked-in', 'completed')
    GROUP BY customer_id, currency
    """
).bindparams(bindparam("ids", expanding=True))


def _parse_ts(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


def _refresh_chunk(conn: Connection, ids: list[int]) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    figures = {row[0]: row[1:] for row in conn.execute(_FIGURES_SQL, {"ids": ids, "now": now})}
    spent: dict[int, dict[str, int]] = defaultdict(dict)
    for cid, cur, total in conn.execute(_SPENT_SQL, {"ids": ids}):
        spent[cid][cur] = int(total)
    value: dict[int, dict[str, int]] = defaultdict(dict)
    for cid, cur, total in conn.execute(_VALUE_SQL, {"ids": ids}):
        value[cid][cur] = int(total)
    phones: dict[int, list[str]] = defaultdict(list)
    for cid, e164 in conn.execute(
        select(CustomerPhone.customer_id, CustomerPhone.e164)
        .where(CustomerPhone.customer_id.in_(ids))
        .order_by(CustomerPhone.customer_id, CustomerPhone.position, CustomerPhone.id)
    ):
        phones[cid].append(e164)
    emails: dict[int, list[str]] = defaultdict(list)
    for cid, address in conn.execute(
        select(CustomerEmail.customer_id, CustomerEmail.address)
        .where(CustomerEmail.customer_id.in_(ids))
        .order_by(CustomerEmail.customer_id, CustomerEmail.position, CustomerEmail.id)
    ):
        emails[cid].append(address)
    tags: dict[int, list[str]] = defaultdict(list)
    for cid, name in conn.execute(
        select(customer_tag.c.customer_id, Tag.name)
        .join(Tag, Tag.id == customer_tag.c.tag_id)
        .where(customer_tag.c.customer_id.in_(ids))
        .order_by(Tag.name)
    ):
        tags[cid].append(name)
    people = conn.execute(
        select(
            Customer.id,
            Customer.first_name,
            Customer.last_name,
            Customer.display_name,
            Customer.archived_at,
            Customer.merged_into_id,
        ).where(Customer.id.in_(ids))
    ).all()
    updates = []
    index_rows = []
    present = set()
    for cid, first, last, display, archived_at, merged_into in people:
        present.add(cid)
        f = figures.get(cid, (0, 0, None, None, None))
        updates.append(
            {
                "b_id": cid,
                "booking_count": int(f[0] or 0),
                "no_show_count": int(f[1] or 0),
                "first_visit_at": _parse_ts(f[2]),
                "last_visit_at": _parse_ts(f[3]),
                "next_booking_at": _parse_ts(f[4]),
                "total_spent": spent.get(cid) or None,
                "lifetime_value": value.get(cid) or None,
                "primary_phone": format_phone(phones[cid][0]) if phones.get(cid) else None,
                "primary_email": emails[cid][0] if emails.get(cid) else None,
                "tag_names": ", ".join(tags.get(cid, [])) or None,
            }
        )
        if merged_into is None:
            index_rows.append(
                build_row(
                    cid,
                    first=first,
                    last=last,
                    display=display,
                    e164s=phones.get(cid, []),
                    emails=emails.get(cid, []),
                    last_visit_at=_parse_ts(f[3]),
                    archived=archived_at is not None,
                )
            )
    if updates:
        conn.execute(
            update(Customer.__table__)
            .where(Customer.__table__.c.id == bindparam("b_id"))
            .values({k: bindparam(k) for k in updates[0] if k != "b_id"}),
            updates,
        )
    search_index.delete_rows(conn, [i for i in ids if i not in present])
    merged = [cid for cid, *_rest, merged_into in people if merged_into is not None]
    search_index.delete_rows(conn, merged)
    search_index.replace_rows(conn, index_rows)


def refresh_stale_upcoming(conn: Connection) -> int:
    """Customers whose 'next booking' has passed since the last write get fresh figures."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ids = [
        r[0]
        for r in conn.execute(
            text("SELECT id FROM customer WHERE next_booking_at <= :n"),
            {"n": now},
        )
    ]
    refresh_derived(conn, ids)
    return len(ids)
