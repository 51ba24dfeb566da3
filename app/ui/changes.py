"""What a write changed, broadcast so each pane refreshes only what it shows (Anki's
``OpChanges``)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal


@dataclass(frozen=True)
class Changes:
    """Flags for one write. ``customer_id`` is the customer it touched (None: many/unknown)."""

    customer_id: int | None = None
    profile: bool = False
    tags: bool = False
    notes: bool = False
    bookings: bool = False
    communications: bool = False
    # the list's membership, order or columns may have changed
    list: bool = False
    settings: bool = False


class ChangeBus(QObject):
    """One per window; panes connect to ``changed``."""

    changed = Signal(object)
    # a write that failed where nobody was waiting for it (an undo, a redo)
    failed = Signal(str)

    def emit(self, changes: Changes) -> None:
        self.changed.emit(changes)
