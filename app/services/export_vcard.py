"""Customers as vCard 3.0 (RFC 2426): phones, emails, address, birthday, a note.

For address books on phones and in mail programs. The note holds the customer's alerts
(allergies, warnings) and pinned notes, the ones staff need when the phone rings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from app import __version__
from app.services.errors import NotFoundError
from app.services.export_files import (
    Cancelled,
    ExportResult,
    Progress,
    Ticker,
    atomic_output,
    output_format,
)
from app.services.normalize import format_phone
from app.services.store import Store

_PHONE_TYPES = {
    "mobile": "CELL",
    "cell": "CELL",
    "home": "HOME",
    "work": "WORK",
    "office": "WORK",
    "fax": "FAX",
}


def escape(value: str) -> str:
    """Escape a text value (RFC 2426 §4): backslash, newline, comma, semicolon."""
    return (
        value.replace("\\", "\\\\")
        .replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\n", "\\n")
        .replace(",", "\\,")
        .replace(";", "\\;")
    )


def fold(line: str) -> str:
    """Fold a content line at 75 octets (never inside a UTF-8 sequence), CRLF-terminated."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    parts = []
    current = ""
    size = 0
    limit = 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            parts.append(current)
            current, size, limit = "", 0, 74  # continuation lines start with a space
        current += ch
        size += n
    parts.append(current)
    return "\r\n ".join(parts) + "\r\n"


def vcard(
    person: dict,
    phones: list[tuple[str, str | None]],
    emails: list[tuple[str, bool]],
    notes: list[tuple[str, bool]],
) -> str:
    """One vCard 3.0 for a customer row (see :func:`_people`)."""
    first, last = person["first_name"] or "", person["last_name"] or ""
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"PRODID:-//Regulars//Regulars {__version__}//EN",
        f"UID:regulars-customer-{person['id']}",
        f"N:{escape(last)};{escape(first)};;;",
        f"FN:{escape(person['display_name'] or (first + ' ' + last).strip())}",
    ]
    if person["company"]:
        lines.append(f"ORG:{escape(person['company'])}")
    for e164, label in phones:
        kind = _PHONE_TYPES.get((label or "").strip().lower(), "VOICE")
        lines.append(f"TEL;TYPE={kind}:{format_phone(e164)}")
    for address, _relay in emails:
        lines.append(f"EMAIL;TYPE=INTERNET:{escape(address)}")
    parts = [person[k] or "" for k in ("street", "city", "region", "postcode", "country")]
    if any(parts):
        lines.append("ADR;TYPE=HOME:;;" + ";".join(escape(p) for p in parts))
    if person["birthday"]:
        lines.append(f"BDAY:{str(person['birthday'])[:10]}")
    if person["tag_names"]:
        tags = [t.strip() for t in person["tag_names"].split(",") if t.strip()]
        lines.append("CATEGORIES:" + ",".join(escape(t) for t in tags))
    if notes:
        text = "\n".join(("⚠ " if alert else "") + body for body, alert in notes)
        lines.append(f"NOTE:{escape(text)}")
    lines.append("END:VCARD")
    return "".join(fold(line) for line in lines)


def _ids(store: Store, ids: Sequence[int] | None, tag: str | None, archived: bool) -> list[int]:
    with store.reader() as s:
        conn = s.connection().connection
        if ids is not None:
            return list(dict.fromkeys(int(i) for i in ids))
        live = "merged_into_id IS NULL" + ("" if archived else " AND archived_at IS NULL")
        if tag:
            row = conn.execute(
                "SELECT id FROM tag WHERE name = ? COLLATE NOCASE", (tag.strip(),)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no tag named '{tag}'")
            sql = (
                f"SELECT id FROM customer WHERE {live} AND id IN "
                "(SELECT customer_id FROM customer_tag WHERE tag_id = ?) ORDER BY sort_name, id"
            )
            return [r[0] for r in conn.execute(sql, (row[0],))]
        return [r[0] for r in conn.execute(f"SELECT id FROM customer WHERE {live} ORDER BY id")]


_PERSON_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "display_name",
    "company",
    "street",
    "city",
    "region",
    "postcode",
    "country",
    "birthday",
    "tag_names",
)


def _people(store: Store, ids: list[int]) -> Iterator[str]:
    """vCards for ``ids`` in that order, read 500 customers at a time."""
    with store.reader() as s:
        conn = s.connection().connection
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            people = {
                r[0]: dict(zip(_PERSON_COLUMNS, r, strict=True))
                for r in conn.execute(
                    f"SELECT {', '.join(_PERSON_COLUMNS)} FROM customer WHERE id IN ({marks})",
                    chunk,
                )
            }
            phones: dict[int, list] = {}
            for cid, e164, label in conn.execute(
                f"SELECT customer_id, e164, label FROM customer_phone "
                f"WHERE customer_id IN ({marks}) ORDER BY customer_id, position, id",
                chunk,
            ):
                phones.setdefault(cid, []).append((e164, label))
            emails: dict[int, list] = {}
            for cid, address, relay in conn.execute(
                f"SELECT customer_id, address, is_relay FROM customer_email "
                f"WHERE customer_id IN ({marks}) ORDER BY customer_id, position, id",
                chunk,
            ):
                emails.setdefault(cid, []).append((address, bool(relay)))
            notes: dict[int, list] = {}
            for cid, body, alert in conn.execute(
                f"SELECT customer_id, body, alert FROM note WHERE customer_id IN ({marks}) "
                "AND (alert OR pinned) ORDER BY customer_id, alert DESC, created_at, id",
                chunk,
            ):
                notes.setdefault(cid, []).append((body, bool(alert)))
            for cid in chunk:
                person = people.get(cid)
                if person is not None:
                    yield vcard(
                        person, phones.get(cid, []), emails.get(cid, []), notes.get(cid, [])
                    )


def export_vcards(
    store: Store,
    path: str | Path,
    *,
    ids: Sequence[int] | None = None,
    tag: str | None = None,
    include_archived: bool = False,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> ExportResult:
    """Write customers as vCard 3.0 to ``path`` (.vcf).

    Args:
        store: The open store.
        path: Target file; written to a temp file first and renamed when complete.
        ids: These customers, in this order (unknown ids are an error).
        tag: Otherwise everyone carrying this tag; with neither, every live customer.
        include_archived: Include archived customers when selecting by tag or everyone.
        progress: Called with (cards done, cards in total).
        cancelled: Polled as often; True stops the export and leaves no file behind.

    Returns:
        The path and the number of cards written.
    """
    output_format(path, ("vcf",), "vCards")
    wanted = _ids(store, ids, tag, include_archived)
    if ids is not None:
        with store.reader() as s:
            conn = s.connection().connection
            known: set[int] = set()
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                known.update(
                    r[0]
                    for r in conn.execute(f"SELECT id FROM customer WHERE id IN ({marks})", chunk)
                )
        missing = [i for i in wanted if i not in known]
        if missing:
            raise NotFoundError(f"no customer with id {', '.join(map(str, missing[:10]))}")
    ticker = Ticker(len(wanted), progress, cancelled)
    ticker.check()
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            for card in _people(store, wanted):
                fh.write(card)
                ticker.tick()
        ticker.finish()
    return ExportResult(Path(path), "vcard", "vcf", ticker.done)
