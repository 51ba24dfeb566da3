"""Private team notes on a customer: pinned notes and alerts (allergies, warnings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.models import Customer, Note
from app.services.errors import NotFoundError, ValidationError
from app.services.store import Store


@dataclass
class NoteInfo:
    id: int
    customer_id: int
    body: str
    author: str
    pinned: bool
    alert: bool
    created_at: Any
    updated_at: Any


def _info(n: Note) -> NoteInfo:
    return NoteInfo(
        n.id, n.customer_id, n.body, n.author, n.pinned, n.alert, n.created_at, n.updated_at
    )


def _body(text: str) -> str:
    body = (text or "").strip()
    if not body:
        raise ValidationError("note", "a note cannot be empty")
    return body


def add_note(
    store: Store,
    customer_id: int,
    text: str,
    *,
    alert: bool = False,
    pinned: bool = False,
    author: str | None = None,
) -> NoteInfo:
    """Add a note; ``alert`` notes are shown first and prominently on the profile."""
    with store.session() as s:
        if s.get(Customer, customer_id) is None:
            raise NotFoundError(f"no customer with id {customer_id}")
        note = Note(
            customer_id=customer_id,
            body=_body(text),
            author=author if author is not None else store.actor,
            alert=alert,
            pinned=pinned,
        )
        s.add(note)
        s.flush()
        return _info(note)


def edit_note(
    store: Store,
    note_id: int,
    *,
    text: str | None = None,
    alert: bool | None = None,
    pinned: bool | None = None,
) -> NoteInfo:
    """Change a note's text, alert flag or pin (``None`` leaves it as it is)."""
    with store.session() as s:
        note = s.get(Note, note_id)
        if note is None:
            raise NotFoundError(f"no note with id {note_id}")
        if text is not None:
            note.body = _body(text)
        if alert is not None:
            note.alert = alert
        if pinned is not None:
            note.pinned = pinned
        s.flush()
        return _info(note)


def delete_note(store: Store, note_id: int) -> NoteInfo:
    """Delete a note; returns what it was (so the UI can offer undo)."""
    with store.session() as s:
        note = s.get(Note, note_id)
        if note is None:
            raise NotFoundError(f"no note with id {note_id}")
        info = _info(note)
        s.delete(note)
        return info
