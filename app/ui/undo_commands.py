"""Undoable edits to a customer's fields, tags and notes (Ctrl+Z / Ctrl+Shift+Z).

Each command calls a service in ``redo``/``undo`` and broadcasts what changed. A service
error leaves the stack as it was: the command is marked obsolete and the message shown.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.services import customers, notes, tags
from app.services.errors import ServiceError
from app.services.store import Store
from app.ui.changes import ChangeBus, Changes


def tr(text: str) -> str:
    return QCoreApplication.translate("undo", text)


def profile_input(profile: customers.CustomerProfile) -> customers.CustomerInput:
    """The editable state of a profile, as the input that would recreate it."""
    # "" (not None) for empty fields: None would mean "leave unchanged" on undo
    values = {
        f.name: "" if getattr(profile, f.name) is None else getattr(profile, f.name)
        for f in dataclasses.fields(customers.CustomerInput)
        if hasattr(profile, f.name) and f.name not in ("phones", "emails", "tags", "external_refs")
    }
    return customers.CustomerInput(
        phones=[p.raw for p in profile.phones],
        emails=[e.address for e in profile.emails],
        **values,
    )


class _StoreCommand(QUndoCommand):
    """Subclasses write in ``apply`` and ``revert``; Qt's ``redo``/``undo`` call them."""

    def __init__(self, store: Store, bus: ChangeBus, text: str) -> None:
        super().__init__(text)
        self.store = store
        self.bus = bus
        self._applied_by_push = False

    def apply(self) -> None:
        raise NotImplementedError

    def revert(self) -> None:
        raise NotImplementedError

    def redo(self) -> None:
        if self._applied_by_push:
            self._applied_by_push = False
            return
        self._guarded(self.apply)

    def undo(self) -> None:
        self._guarded(self.revert)

    def _guarded(self, step) -> None:
        # an exception must not escape into Qt's undo stack (it would keep a half state)
        try:
            step()
        except ServiceError as exc:
            self.setObsolete(True)
            self.bus.failed.emit(str(exc))


def push(stack: QUndoStack, command: _StoreCommand) -> None:
    """Apply ``command`` and put it on the stack; a ServiceError propagates and nothing
    is pushed, so the caller can show the message next to what the user typed."""
    command.apply()
    command._applied_by_push = True
    stack.push(command)


class EditCustomerCommand(_StoreCommand):
    """Change profile fields; undo writes the previous values back."""

    def __init__(
        self,
        store: Store,
        bus: ChangeBus,
        customer_id: int,
        before: customers.CustomerInput,
        after: customers.CustomerInput,
    ) -> None:
        super().__init__(store, bus, tr("Edit customer"))
        self.customer_id = customer_id
        self.before = before
        self.after = after

    def _write(self, data: customers.CustomerInput) -> None:
        customers.edit_customer(self.store, self.customer_id, data)
        self.bus.emit(Changes(self.customer_id, profile=True, list=True))

    def apply(self) -> None:
        self._write(self.after)

    def revert(self) -> None:
        self._write(self.before)


class TagCommand(_StoreCommand):
    """Add (``adding=True``) or remove one tag."""

    def __init__(
        self, store: Store, bus: ChangeBus, customer_id: int, name: str, adding: bool
    ) -> None:
        label = tr("Add tag “{0}”") if adding else tr("Remove tag “{0}”")
        super().__init__(store, bus, label.format(name))
        self.customer_id = customer_id
        self.name = name
        self.adding = adding

    def _set(self, present: bool) -> None:
        if present:
            tags.add_tag(self.store, self.customer_id, self.name)
        else:
            tags.remove_tag(self.store, self.customer_id, self.name)
        self.bus.emit(Changes(self.customer_id, tags=True, list=True))

    def apply(self) -> None:
        self._set(self.adding)

    def revert(self) -> None:
        self._set(not self.adding)


class AddNoteCommand(_StoreCommand):
    def __init__(
        self, store: Store, bus: ChangeBus, customer_id: int, body: str, alert: bool, pinned: bool
    ) -> None:
        super().__init__(store, bus, tr("Add note"))
        self.customer_id = customer_id
        self.body, self.alert, self.pinned = body, alert, pinned
        self.note_id: int | None = None

    def apply(self) -> None:
        info = notes.add_note(
            self.store, self.customer_id, self.body, alert=self.alert, pinned=self.pinned
        )
        self.note_id = info.id
        self.bus.emit(Changes(self.customer_id, notes=True))

    def revert(self) -> None:
        if self.note_id is not None:
            notes.delete_note(self.store, self.note_id)
        self.bus.emit(Changes(self.customer_id, notes=True))


class EditNoteCommand(_StoreCommand):
    """Change a note's text, pin or alert flag."""

    def __init__(
        self,
        store: Store,
        bus: ChangeBus,
        note: notes.NoteInfo,
        *,
        text: str | None = None,
        alert: bool | None = None,
        pinned: bool | None = None,
    ) -> None:
        if pinned is not None and text is None and alert is None:
            label = tr("Pin note") if pinned else tr("Unpin note")
        elif alert is not None and text is None:
            label = tr("Mark note as alert") if alert else tr("Unmark alert")
        else:
            label = tr("Edit note")
        super().__init__(store, bus, label)
        self.note_id = note.id
        self.customer_id = note.customer_id
        self.new = {"text": text, "alert": alert, "pinned": pinned}
        self.old = {
            "text": note.body if text is not None else None,
            "alert": note.alert if alert is not None else None,
            "pinned": note.pinned if pinned is not None else None,
        }

    def _write(self, values: dict) -> None:
        notes.edit_note(self.store, self.note_id, **values)
        self.bus.emit(Changes(self.customer_id, notes=True))

    def apply(self) -> None:
        self._write(self.new)

    def revert(self) -> None:
        self._write(self.old)


class DeleteNoteCommand(_StoreCommand):
    """Delete a note; undo writes it back (as a new note with the same text and flags)."""

    def __init__(self, store: Store, bus: ChangeBus, note: notes.NoteInfo) -> None:
        super().__init__(store, bus, tr("Delete note"))
        self.note = note
        self.note_id = note.id

    def apply(self) -> None:
        notes.delete_note(self.store, self.note_id)
        self.bus.emit(Changes(self.note.customer_id, notes=True))

    def revert(self) -> None:
        info = notes.add_note(
            self.store,
            self.note.customer_id,
            self.note.body,
            alert=self.note.alert,
            pinned=self.note.pinned,
            author=self.note.author,
        )
        self.note_id = info.id
        self.bus.emit(Changes(self.note.customer_id, notes=True))
