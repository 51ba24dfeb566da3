"""One customer's full record, as XLSX or JSON: what a customer receives when they ask
for their data (profile, bookings, payments, notes, tags, messages, consent history)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from xlsxwriter.worksheet import Worksheet

from app import __version__
from app.models import AuditEvent
from app.services import customers as customers_svc
from app.services import export_sheets as xs
from app.services import settings as settings_svc
from app.services.export_files import ExportResult, atomic_output, output_format
from app.services.store import Store
from app.services.timeutil import zone

FORMAT_NAME = "regulars.customer-record"
FORMAT_VERSION = 1
CONSENT_FIELDS = ("marketing_consent", "consent_at", "consent_method", "consent_source")


def consent_history(store: Store, customer_id: int, current: dict[str, Any]) -> list[dict]:
    """Every recorded state of the marketing consent, oldest first, from the audit trail.

    The state at creation is inferred from the first change's 'before' values (or the
    current values when consent never changed). Customers written in bulk (demo data,
    imports) may have no audit trail; then the current state is the only entry.
    """
    with store.reader() as s:
        events = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.customer_id == customer_id, AuditEvent.entity == "customer")
            .order_by(AuditEvent.at, AuditEvent.id)
        ).all()
        events = [(e.at, e.actor, e.action, e.changes or {}) for e in events]
    changes = [
        (at, actor, {k: v for k, v in ch.items() if k in CONSENT_FIELDS})
        for at, actor, action, ch in events
        if action == "update"
    ]
    changes = [c for c in changes if c[2]]
    state = {k: current.get(k) for k in CONSENT_FIELDS}
    for field in CONSENT_FIELDS:
        for _at, _actor, ch in changes:
            if field in ch:
                state[field] = ch[field][0]
                break
    history = []
    created = next((e for e in events if e[2] == "create"), None)
    if created is not None:
        history.append({"at": created[0], "actor": created[1], "event": "profile created", **state})
    for at, actor, ch in changes:
        state = {**state, **{k: v[1] for k, v in ch.items()}}
        history.append({"at": at, "actor": actor, "event": "consent changed", **state})
    if not history:
        history.append(
            {
                "at": current.get("consent_at"),
                "actor": "",
                "event": "current state (no change history recorded)",
                **state,
            }
        )
    for entry in history:
        value = entry.get("consent_at")
        if isinstance(value, str):
            entry["consent_at"] = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        entry["marketing_consent"] = bool(entry.get("marketing_consent"))
    return history


def customer_record(store: Store, customer_id: int) -> dict[str, Any]:
    """The full record as plain data (aware datetimes in the business's zone, money as
    exact decimal strings with their currency)."""
    conf = settings_svc.get_all(store)
    tz = zone(conf["timezone"])
    p = customers_svc.get_profile(store, customer_id).to_dict()
    history = consent_history(store, customer_id, p)

    def when(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.astimezone(tz)
        return value

    def amount(minor: int, currency: str) -> str:
        return str(xs.money(minor, currency))

    bookings, payments = [], []
    for b in p["bookings"]:
        bookings.append(
            {
                "id": b["id"],
                "kind": b["kind"],
                "start": when(b["start_at"]),
                "end": when(b["end_at"]),
                "room": b["room"],
                "service": b["service"],
                "staff": b["staff"],
                "location": b["location"],
                "status": b["status"],
                "channel": b["channel"],
                "party_size": b["party_size"],
                "price": amount(b["price_minor"], b["currency"]),
                "currency": b["currency"],
                "paid": amount(b["paid_minor"], b["currency"]),
                "balance": amount(b["balance_minor"], b["currency"]),
                "special_requests": b["special_requests"],
                "external_ref": b["external_ref"],
            }
        )
        for pay in b["payments"]:
            payments.append(
                {
                    "id": pay["id"],
                    "booking_id": b["id"],
                    "paid_at": when(pay["paid_at"]),
                    "method": pay["method"],
                    "amount": amount(pay["amount_minor"], pay["currency"]),
                    "currency": pay["currency"],
                    "reference": pay["reference"],
                }
            )
    payments.sort(key=lambda x: (x["paid_at"], x["id"]))
    figures = p["figures"]
    profile = {
        k: when(p[k])
        for k in (
            "id",
            "first_name",
            "last_name",
            "display_name",
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
            "marketing_consent",
            "consent_at",
            "consent_method",
            "consent_source",
            "source_channel",
            "first_contact",
            "created_at",
            "updated_at",
            "archived_at",
        )
    }
    profile["phones"] = [
        {"international": ph["international"], "e164": ph["e164"], "as_typed": ph["raw"]}
        for ph in p["phones"]
    ]
    profile["emails"] = [e["address"] for e in p["emails"]]
    profile["external_refs"] = p["external_refs"]
    profile["figures"] = {
        "booking_count": figures["booking_count"],
        "no_show_count": figures["no_show_count"],
        "first_visit": when(figures["first_visit_at"]),
        "last_visit": when(figures["last_visit_at"]),
        "total_spent": {c: amount(v, c) for c, v in figures["total_spent"].items()},
        "balance_due": {c: amount(v, c) for c, v in figures["balance_due"].items()},
    }
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "exported_at": dt.datetime.now(tz),
        "exported_by": f"Regulars {__version__}",
        "business": {"name": conf["business_name"], "timezone": conf["timezone"]},
        "profile": profile,
        "tags": p["tags"],
        "bookings": bookings,
        "payments": payments,
        "notes": [
            {
                "created_at": when(n["created_at"]),
                "author": n["author"],
                "alert": n["alert"],
                "pinned": n["pinned"],
                "text": n["body"],
            }
            for n in p["notes"]
        ],
        "messages": [
            {
                "created_at": when(m["created_at"]),
                "sent_at": when(m["sent_at"]),
                "channel": m["channel"],
                "direction": m["direction"],
                "kind": m["kind"],
                "status": m["status"],
                "recipient": m["recipient"],
                "subject": m["subject"],
                "body": m["body"],
            }
            for m in p["communications"]
        ],
        "consent_history": [
            {**e, "at": when(e["at"]), "consent_at": when(e["consent_at"])} for e in history
        ],
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def export_record(store: Store, customer_id: int, path: str | Path) -> ExportResult:
    """Write one customer's full record to ``path`` (.xlsx or .json).

    Args:
        store: The open store.
        customer_id: The customer.
        path: Target file; written to a temp file first and renamed when complete.

    Returns:
        The path written; ``rows`` counts bookings, payments, notes and messages.
    """
    fmt = output_format(path, ("xlsx", "json"), "a customer's record")
    record = customer_record(store, customer_id)
    rows = sum(len(record[k]) for k in ("bookings", "payments", "notes", "messages"))
    with atomic_output(path) as tmp:
        if fmt == "json":
            tmp.write_text(
                json.dumps(record, ensure_ascii=False, indent=2, default=_json_default) + "\n",
                encoding="utf-8",
            )
        else:
            _write_xlsx(tmp, record)
    return ExportResult(Path(path), "record", fmt, rows)


# ------------------------------------------------------------------------------ XLSX


def _value(value: Any) -> Any:
    """A cell value: local wall-clock times without tzinfo, lists joined, text cleaned."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, str):
        return xs.clean(value)
    return value


def _put(
    book: xs.Book, ws: Worksheet, row: int, col: int, value: Any, money_currency: str | None
) -> None:
    if money_currency and value is not None:
        ws.write_number(row, col, float(Decimal(value)), book.money(money_currency))
        return
    value = _value(value)
    if value is None:
        return
    if isinstance(value, str):
        # write_string: text, never a formula, whatever it starts with
        wrap = "\n" in value or len(value) > 60
        ws.write_string(row, col, value, book.wrap if wrap else None)
    elif isinstance(value, dt.datetime):
        ws.write_number(row, col, xs.excel_datetime(value), book.datetime)
    elif isinstance(value, dt.date):
        ws.write_number(row, col, xs.excel_date(value), book.date)
    else:
        ws.write_number(row, col, value)


def _table(
    book: xs.Book,
    title: str,
    headers: list[str],
    rows: list[list[Any]],
    money: dict[int, int] | None = None,
) -> None:
    """A sheet with a bold frozen header, autofilter and widths measured from the cells
    (records are small, so measuring is cheap). ``money`` maps a value column to the
    column holding its currency."""
    widths = []
    for c, name in enumerate(headers):
        longest = max(
            [len(name)]
            + [
                max((len(line) for line in str(_value(v[c])).split("\n")), default=0)
                for v in rows
                if v[c] is not None
            ]
        )
        width = 18 if rows and isinstance(_value(rows[0][c]), dt.datetime) else longest + 2
        widths.append(max(8, min(width, 70)))
    ws = book.sheet(title, widths)
    book.header(ws, 0, headers)
    for r, values in enumerate(rows, 1):
        for c, value in enumerate(values):
            currency = values[money[c]] if money and c in money else None
            _put(book, ws, r, c, value, currency)
    if rows:
        ws.autofilter(0, 0, len(rows), len(headers) - 1)


def _write_xlsx(tmp: Path, rec: dict[str, Any]) -> None:
    # a record is small: the whole workbook in memory, no per-sheet temp files
    with xs.streaming_workbook(tmp, constant_memory=False) as book:
        _fill_xlsx(book, rec)


def _fill_xlsx(wb: xs.Book, rec: dict[str, Any]) -> None:
    prof = rec["profile"]
    fields = [
        ("Customer ID", prof["id"]),
        ("First name", prof["first_name"]),
        ("Last name", prof["last_name"]),
        ("Name", prof["display_name"]),
        ("Phones", [ph["international"] for ph in prof["phones"]]),
        ("Emails", prof["emails"]),
        ("Preferred language", prof["preferred_language"]),
        ("Birthday", prof["birthday"]),
        ("Street", prof["street"]),
        ("Postcode", prof["postcode"]),
        ("City", prof["city"]),
        ("Region", prof["region"]),
        ("Country", prof["country"]),
        ("Company", prof["company"]),
        ("Nationality", prof["nationality"]),
        ("ID document type", prof["id_document_type"]),
        ("ID document number", prof["id_document_number"]),
        ("ID document country", prof["id_document_country"]),
        ("ID document expiry", prof["id_document_expiry"]),
        ("Marketing consent", prof["marketing_consent"]),
        ("Consent recorded", prof["consent_at"]),
        ("Consent method", prof["consent_method"]),
        ("Consent source", prof["consent_source"]),
        ("Came to us through", prof["source_channel"]),
        ("First contact", prof["first_contact"]),
        ("External references", [f"{r['system']}: {r['ref']}" for r in prof["external_refs"]]),
        ("Tags", rec["tags"]),
        ("Bookings", prof["figures"]["booking_count"]),
        ("No-shows", prof["figures"]["no_show_count"]),
        ("First visit", prof["figures"]["first_visit"]),
        ("Last visit", prof["figures"]["last_visit"]),
        ("Total spent", prof["figures"]["total_spent"]),
        ("Balance due", prof["figures"]["balance_due"]),
        ("Profile created", prof["created_at"]),
        ("Profile updated", prof["updated_at"]),
        ("Archived", prof["archived_at"]),
        ("Exported", rec["exported_at"]),
        ("Exported by", f"{rec['business']['name']} ({rec['exported_by']})"),
    ]
    _table(wb, "Profile", ["Field", "Value"], [[k, v] for k, v in fields])
    _table(
        wb,
        "Bookings",
        [
            "Booking",
            "Start",
            "End",
            "Kind",
            "Room",
            "Service",
            "Staff",
            "Location",
            "Status",
            "Channel",
            "Party size",
            "Price",
            "Paid",
            "Balance",
            "Currency",
            "Special requests",
            "External ref",
        ],
        [
            [
                b["id"],
                b["start"],
                b["end"],
                b["kind"],
                b["room"],
                b["service"],
                b["staff"],
                b["location"],
                b["status"],
                b["channel"],
                b["party_size"],
                b["price"],
                b["paid"],
                b["balance"],
                b["currency"],
                b["special_requests"],
                b["external_ref"],
            ]
            for b in rec["bookings"]
        ],
        money={11: 14, 12: 14, 13: 14},
    )
    _table(
        wb,
        "Payments",
        ["Date", "Booking", "Method", "Amount", "Currency", "Reference"],
        [
            [p["paid_at"], p["booking_id"], p["method"], p["amount"], p["currency"], p["reference"]]
            for p in rec["payments"]
        ],
        money={3: 4},
    )
    _table(
        wb,
        "Notes",
        ["Written", "By", "Alert", "Pinned", "Note"],
        [[n["created_at"], n["author"], n["alert"], n["pinned"], n["text"]] for n in rec["notes"]],
    )
    _table(wb, "Tags", ["Tag"], [[t] for t in rec["tags"]])
    _table(
        wb,
        "Messages",
        ["Written", "Sent", "Channel", "Direction", "Kind", "Status", "To", "Subject", "Message"],
        [
            [
                m["created_at"],
                m["sent_at"],
                m["channel"],
                m["direction"],
                m["kind"],
                m["status"],
                m["recipient"],
                m["subject"],
                m["body"],
            ]
            for m in rec["messages"]
        ],
    )
    _table(
        wb,
        "Consent history",
        ["When", "Who", "What", "Marketing consent", "Consent recorded", "Method", "Source"],
        [
            [
                e["at"],
                e["actor"],
                e["event"],
                e["marketing_consent"],
                e["consent_at"],
                e["consent_method"],
                e["consent_source"],
            ]
            for e in rec["consent_history"]
        ],
    )
