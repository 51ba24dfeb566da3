"""Merging duplicate profiles into one, and taking a merge back.

A merge keeps one profile (the survivor) and hides the others (``merged_into_id`` set):
per field, a person picks whose value survives; phones, emails, external references and
tags of all profiles are kept; bookings (with their payments), notes and messages move to
the survivor. Before anything changes, every affected row is written to a
:class:`MergeRecord` snapshot, so :func:`unmerge` puts every profile back exactly as it
was. All writes go through the ORM, so figures, list columns and search rows of every
profile involved are refreshed in the same transaction (see ``tracking.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Date, select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    Booking,
    Communication,
    Customer,
    CustomerEmail,
    CustomerPhone,
    ExternalRef,
    MergeRecord,
    Note,
    Tag,
)
from app.models.base import UTCDateTime, utcnow
from app.services.errors import NotFoundError, ServiceError, ValidationError
from app.services.normalize import email_key
from app.services.store import Store


class MergeError(ServiceError):
    """A merge or unmerge that cannot be done as asked."""


@dataclass(frozen=True)
class MergeField:
    """A choice on the review screen: columns that survive together from one profile."""

    key: str
    label: str
    columns: tuple[str, ...]


MERGE_FIELDS: tuple[MergeField, ...] = (
    MergeField("name", "Name", ("first_name", "last_name", "display_name", "sort_name")),
    MergeField("birthday", "Birthday", ("birthday",)),
    MergeField("preferred_language", "Language", ("preferred_language",)),
    MergeField("address", "Address", ("street", "postcode", "city", "region", "country")),
    MergeField("company", "Company", ("company",)),
    MergeField("nationality", "Nationality", ("nationality",)),
    MergeField(
        "id_document",
        "ID document",
        ("id_document_type", "id_document_number", "id_document_country", "id_document_expiry"),
    ),
    MergeField(
        "marketing_consent",
        "Marketing consent",
        ("marketing_consent", "consent_at", "consent_method", "consent_source"),
    ),
    MergeField("source_channel", "Source", ("source_channel",)),
    MergeField("first_contact", "First contact", ("first_contact",)),
)
FIELDS_BY_KEY = {f.key: f for f in MERGE_FIELDS}


@dataclass
class MergeOutcome:
    merge_id: int
    survivor_id: int
    merged_ids: list[int]
    moved: dict[str, int]


@dataclass
class MergeInfo:
    id: int
    created_at: dt.datetime
    survivor_id: int
    merged_ids: list[int]
    undone_at: dt.datetime | None
    # display names as they were just before the merge
    names: dict[int, str] = field(default_factory=dict)


# ---------------------------------------------------------------- defaults


def _filled(c: Customer, f: MergeField) -> bool:
    if f.key == "name":
        return bool(c.first_name or c.last_name)
    if f.key == "marketing_consent":
        return c.consent_at is not None
    return any(getattr(c, col) not in (None, "") for col in f.columns)


def _default_choices(customers: Sequence[Customer]) -> dict[str, int]:
    """Most recent non-empty value; the longest name; the earliest first contact."""
    survivor = customers[0]
    newest_first = sorted(customers, key=lambda c: (c.updated_at, c.id), reverse=True)
    out: dict[str, int] = {}
    for f in MERGE_FIELDS:
        filled = [c for c in newest_first if _filled(c, f)]
        if not filled:
            out[f.key] = survivor.id
        elif f.key == "name":
            # 'Jean-Pierre Dupont' rather than 'J-P Dupont'; ties go to the newest
            out[f.key] = max(filled, key=lambda c: len(c.display_name or "")).id
        elif f.key == "first_contact":
            out[f.key] = min(filled, key=lambda c: c.first_contact).id
        elif f.key == "marketing_consent":
            out[f.key] = max(filled, key=lambda c: c.consent_at).id
        else:
            out[f.key] = filled[0].id
    return out


def default_choices(store: Store, keep_id: int, other_ids: Iterable[int]) -> dict[str, int]:
    """Which profile each field is taken from unless a person picks otherwise.

    Returns:
        ``{field key: customer id}`` for every field in :data:`MERGE_FIELDS`.
    """
    ids = _check_ids(keep_id, other_ids)
    with store.reader() as s:
        return _default_choices(_load(s, ids))


# ---------------------------------------------------------------- snapshot


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def _row_dict(obj: Any) -> dict[str, Any]:
    return {c.key: _plain(getattr(obj, c.key)) for c in obj.__table__.columns}


def _typed(table_obj: type, column: str, value: Any) -> Any:
    if value is None:
        return None
    col_type = table_obj.__table__.c[column].type
    if isinstance(col_type, UTCDateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(col_type, Date):
        return dt.date.fromisoformat(value)
    return value


def _snapshot(s: Session, customers: Sequence[Customer]) -> dict[str, Any]:
    ids = [c.id for c in customers]
    notes = s.execute(
        select(Note.id, Note.customer_id, Note.updated_at).where(Note.customer_id.in_(ids))
    ).all()
    bookings = s.execute(
        select(Booking.id, Booking.customer_id, Booking.updated_at).where(
            Booking.customer_id.in_(ids)
        )
    ).all()
    comms = s.execute(
        select(Communication.id, Communication.customer_id).where(
            Communication.customer_id.in_(ids)
        )
    ).all()
    return {
        "customers": {str(c.id): _row_dict(c) for c in customers},
        "phones": [_row_dict(p) for c in customers for p in c.phones],
        "emails": [_row_dict(e) for c in customers for e in c.emails],
        "external_refs": [_row_dict(r) for c in customers for r in c.external_refs],
        "tags": {str(c.id): [t.id for t in c.tags] for c in customers},
        "notes": {str(i): [cid, _plain(u)] for i, cid, u in notes},
        "bookings": {str(i): [cid, _plain(u)] for i, cid, u in bookings},
        "communications": {str(i): cid for i, cid in comms},
    }


# ---------------------------------------------------------------- merge


def _check_ids(keep_id: int, other_ids: Iterable[int]) -> list[int]:
    others = list(dict.fromkeys(other_ids))
    if not others:
        raise ValidationError(
            "merge", "give at least one other customer to merge into the kept one"
        )
    if keep_id in others:
        raise ValidationError("merge", f"customer {keep_id} cannot be merged into itself")
    return [keep_id, *others]


def _load(s: Session, ids: list[int]) -> list[Customer]:
    found = {
        c.id: c
        for c in s.scalars(
            select(Customer)
            .where(Customer.id.in_(ids))
            .options(
                selectinload(Customer.phones),
                selectinload(Customer.emails),
                selectinload(Customer.external_refs),
                selectinload(Customer.tags),
            )
        )
    }
    for cid in ids:
        c = found.get(cid)
        if c is None:
            raise NotFoundError(f"no customer with id {cid}")
        if c.merged_into_id is not None:
            raise MergeError(f"customer {cid} was already merged into customer {c.merged_into_id}")
    return [found[i] for i in ids]


def merge(
    store: Store,
    keep_id: int,
    other_ids: Iterable[int],
    choices: dict[str, int] | None = None,
) -> MergeOutcome:
    """Merge ``other_ids`` into ``keep_id``; undo with :func:`unmerge`.

    Args:
        store: the open store.
        keep_id: the profile that survives.
        other_ids: profiles merged into it (hidden from lists and search afterwards).
        choices: ``{field key: customer id}`` overriding :func:`default_choices` for any
            field in :data:`MERGE_FIELDS`.

    Returns:
        The merge record's id, who survived, who was merged, and how many rows moved.
    """
    ids = _check_ids(keep_id, other_ids)
    with store.session() as s:
        customers = _load(s, ids)
        survivor, others = customers[0], customers[1:]
        picked = _default_choices(customers)
        for key, cid in (choices or {}).items():
            if key not in FIELDS_BY_KEY:
                known = ", ".join(FIELDS_BY_KEY)
                raise ValidationError("field", f"'{key}' is not a merge field ({known})")
            if cid not in ids:
                raise ValidationError(key, f"customer {cid} is not one of those being merged")
            picked[key] = cid
        snapshot = _snapshot(s, customers)
        by_id = {c.id: c for c in customers}
        for f in MERGE_FIELDS:
            source = by_id[picked[f.key]]
            if source is not survivor:
                for col in f.columns:
                    setattr(survivor, col, getattr(source, col))
        moved = _move_contacts(s, survivor, others)
        survivor.tags = list(dict.fromkeys(t for c in customers for t in c.tags))
        for other in others:
            other.tags = []
        for model in (Booking, Note, Communication):
            rows = s.scalars(select(model).where(model.customer_id.in_(ids[1:]))).all()
            for row in rows:
                row.customer_id = survivor.id
            moved[model.__tablename__ + "s"] = len(rows)
        now = utcnow()
        survivor.updated_at = now
        for other in others:
            other.merged_into_id = survivor.id
            other.updated_at = now
        record = MergeRecord(
            survivor_id=survivor.id, merged_ids=ids[1:], snapshot=snapshot, created_at=now
        )
        s.add(record)
        s.flush()
        return MergeOutcome(record.id, survivor.id, ids[1:], moved)


def _move_contacts(s: Session, survivor: Customer, others: list[Customer]) -> dict[str, int]:
    """Keep every phone, email and reference once, the survivor's first."""
    moved = {"phones": 0, "emails": 0, "external_refs": 0}
    seen_phones = {p.e164 for p in survivor.phones}
    seen_emails = {email_key(e.address) for e in survivor.emails}
    seen_refs = {(r.system, r.ref) for r in survivor.external_refs}
    phones, emails, refs = (
        list(survivor.phones),
        list(survivor.emails),
        list(survivor.external_refs),
    )
    for other in others:
        for p in list(other.phones):
            if p.e164 in seen_phones:
                s.delete(p)
            else:
                seen_phones.add(p.e164)
                phones.append(p)
                moved["phones"] += 1
        for e in list(other.emails):
            if email_key(e.address) in seen_emails:
                s.delete(e)
            else:
                seen_emails.add(email_key(e.address))
                emails.append(e)
                moved["emails"] += 1
        for r in list(other.external_refs):
            if (r.system, r.ref) in seen_refs:
                s.delete(r)
            else:
                seen_refs.add((r.system, r.ref))
                refs.append(r)
                moved["external_refs"] += 1
        other.phones, other.emails, other.external_refs = [], [], []
    survivor.phones, survivor.emails, survivor.external_refs = phones, emails, refs
    for pos, p in enumerate(phones):
        p.position = pos
    for pos, e in enumerate(emails):
        e.position = pos
    return moved


# ---------------------------------------------------------------- unmerge


def unmerge(store: Store, merge_id: int) -> MergeInfo:
    """Take a merge back: every profile involved returns to its state just before it.

    Bookings, notes and messages that belonged to a merged profile go back to it; ones
    created on the survivor after the merge stay there. Profile fields, phones, emails,
    references and tags of every profile involved are restored from the snapshot, so
    edits made to the survivor since the merge are replaced.

    Raises:
        MergeError: the merge was already undone, or a later merge involving the same
            profiles must be undone first.
    """
    with store.session() as s:
        record = s.get(MergeRecord, merge_id)
        if record is None:
            raise NotFoundError(f"no merge with id {merge_id}")
        if record.undone_at is not None:
            raise MergeError(f"merge {merge_id} was already undone on {record.undone_at:%Y-%m-%d}")
        snap = record.snapshot
        ids = [int(i) for i in snap["customers"]]
        later = s.scalars(
            select(MergeRecord).where(MergeRecord.id > merge_id, MergeRecord.undone_at.is_(None))
        ).all()
        for other in later:
            if {other.survivor_id, *other.merged_ids} & set(ids):
                raise MergeError(
                    f"undo the later merge {other.id} first: it involves these profiles"
                )
        customers = {
            c.id: c
            for c in s.scalars(
                select(Customer)
                .where(Customer.id.in_(ids))
                .options(
                    selectinload(Customer.phones),
                    selectinload(Customer.emails),
                    selectinload(Customer.external_refs),
                    selectinload(Customer.tags),
                )
            )
        }
        missing = [i for i in ids if i not in customers]
        if missing:
            raise MergeError(
                f"cannot undo merge {merge_id}: customer(s) {', '.join(map(str, missing))} "
                "were erased since"
            )
        for cid_text, values in snap["customers"].items():
            c = customers[int(cid_text)]
            for col, value in values.items():
                if col != "id":
                    setattr(c, col, _typed(Customer, col, value))
        _restore_rows(s, customers, CustomerPhone, "phones", snap["phones"])
        _restore_rows(s, customers, CustomerEmail, "emails", snap["emails"])
        _restore_rows(s, customers, ExternalRef, "external_refs", snap["external_refs"])
        tags = {t.id: t for t in s.scalars(select(Tag))}
        for cid_text, tag_ids in snap["tags"].items():
            customers[int(cid_text)].tags = [tags[t] for t in tag_ids if t in tags]
        for model, key in ((Booking, "bookings"), (Note, "notes")):
            wanted = {int(i): v for i, v in snap[key].items()}
            for row in s.scalars(select(model).where(model.id.in_(list(wanted)))):
                cid, updated = wanted[row.id]
                if row.customer_id != cid:
                    row.customer_id = cid
                    # set explicitly so the column's onupdate does not stamp 'now'
                    row.updated_at = _typed(model, "updated_at", updated)
        wanted_comms = {int(i): cid for i, cid in snap["communications"].items()}
        for row in s.scalars(select(Communication).where(Communication.id.in_(list(wanted_comms)))):
            row.customer_id = wanted_comms[row.id]
        record.undone_at = utcnow()
        return MergeInfo(
            record.id, record.created_at, record.survivor_id, record.merged_ids, record.undone_at
        )


def _restore_rows(
    s: Session,
    customers: dict[int, Customer],
    model: type,
    attr: str,
    rows: list[dict[str, Any]],
) -> None:
    """Give each customer exactly its snapshot rows back (same ids, same values)."""
    current = {row.id: row for c in customers.values() for row in getattr(c, attr)}
    wanted: dict[int, list[Any]] = {cid: [] for cid in customers}
    readd = []
    for values in rows:
        row = current.pop(values["id"], None) or s.get(model, values["id"])
        if row is None:
            readd.append(values)
            continue
        for col, value in values.items():
            if col != "id":
                setattr(row, col, _typed(model, col, value))
        wanted[values["customer_id"]].append((values.get("position", 0), row))
    # rows added after the merge and rows deduplicated away are settled before re-adding
    for c in customers.values():
        setattr(c, attr, [r for _pos, r in sorted(wanted[c.id], key=lambda x: (x[0], x[1].id))])
    s.flush()
    for values in readd:
        row = model(**{col: _typed(model, col, v) for col, v in values.items()})
        s.add(row)
        c = customers[values["customer_id"]]
        getattr(c, attr).append(row)
    if readd:
        s.flush()
        for c in customers.values():
            getattr(c, attr).sort(key=lambda r: (getattr(r, "position", 0), r.id))


# ---------------------------------------------------------------- listing


def list_merges(store: Store, include_undone: bool = False, limit: int = 200) -> list[MergeInfo]:
    """Merges, newest first."""
    with store.reader() as s:
        q = select(MergeRecord).order_by(MergeRecord.id.desc()).limit(limit)
        if not include_undone:
            q = q.where(MergeRecord.undone_at.is_(None))
        return [
            MergeInfo(
                r.id,
                r.created_at,
                r.survivor_id,
                list(r.merged_ids),
                r.undone_at,
                names={
                    int(cid): c.get("display_name", "")
                    for cid, c in r.snapshot["customers"].items()
                },
            )
            for r in s.scalars(q)
        ]
