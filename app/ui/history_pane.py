"""A customer's history: every change the audit trail recorded, newest first.

Loaded only while the tab is on screen (a profile shows without this query), and again
after a write to the customer shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.formatting import Formatter

# how long a change's text may get in its cell; the tooltip and the box below hold all of it
_CELL_CHARS = 240
DETAILS_ROLE = Qt.ItemDataRole.UserRole + 1


def _tr(text: str) -> str:
    return QCoreApplication.translate("HistoryPane", text)


# what each audited table is, as a person says it
_ENTITIES = {
    "customer": "profile",
    "customer_phone": "phone",
    "customer_email": "email",
    "external_ref": "reference",
    "tag": "tag",
    "booking": "booking",
    "payment": "payment",
    "note": "note",
}
_ACTIONS = {"create": "Added", "update": "Changed", "delete": "Removed"}
# an import's events name the batch (``regulars undo-import BATCH``)
_IMPORT_ACTIONS = {
    "import": "Imported",
    "update": "Updated by import",
    "undo-import": "Import undone",
}


def describe(event: dict[str, Any]) -> str:
    """'Changed profile', 'Added booking', 'Updated by import (batch 4)'."""
    if event["entity"] == "import_batch":
        action = _tr(_IMPORT_ACTIONS.get(event["action"], event["action"]))
        return _tr("{action} (batch {batch})").format(action=action, batch=event["entity_id"])
    action = _tr(_ACTIONS.get(event["action"], event["action"]))
    entity = _ENTITIES.get(event["entity"], event["entity"].replace("_", " "))
    return f"{action} {_tr(entity)}"


def _value(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def change_lines(changes: dict[str, list[Any]] | None) -> list[str]:
    """['city: Lyon → Paris', 'phones: — → +33 6 12 34 56 78']: old → new for each field."""
    lines = []
    for name, pair in (changes or {}).items():
        old, new = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
        lines.append(f"{name.replace('_', ' ')}: {_value(old)} → {_value(new)}")
    return lines


class HistoryPane(QWidget):
    """The audit events of the customer shown; ``load(customer_id, limit)`` reads the newest
    ``limit`` of them through a service."""

    LIMIT = 200

    def __init__(
        self,
        formatter: Formatter,
        load: Callable[[int, int], list[dict[str, Any]]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("historyPane")
        self.fmt = formatter
        self._load = load
        self.customer_id: int | None = None
        self._stale = True
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.empty = QLabel(self.tr("No changes recorded yet."))
        layout.addWidget(self.empty)
        self.more = QLabel(objectName="historyMore")
        layout.addWidget(self.more)
        self.tree = QTreeWidget(objectName="historyList")
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setHeaderLabels(
            [self.tr("When"), self.tr("Who"), self.tr("What"), self.tr("Details")]
        )
        for col, width in enumerate((130, 70, 190)):
            self.tree.setColumnWidth(col, width)
        # the details column is narrow beside the profile: the chosen event's changes in full
        self.details = QPlainTextEdit(objectName="historyDetails")
        self.details.setReadOnly(True)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(self.tree)
        self.split.addWidget(self.details)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 1)
        layout.addWidget(self.split, 1)
        self.tree.currentItemChanged.connect(self._show_details)

    def show_customer(self, customer_id: int | None) -> None:
        """Remember whose history to show; read it now only if the pane is on screen."""
        self.customer_id = customer_id
        self._stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        self._stale = False
        self.tree.clear()
        self.details.clear()
        events = self._load(self.customer_id, self.LIMIT) if self.customer_id else []
        self.empty.setVisible(not events)
        self.more.setText(self.tr("Showing the newest {0} changes.").format(self.LIMIT))
        self.more.setVisible(len(events) >= self.LIMIT)
        self.split.setVisible(bool(events))
        for e in events:  # the service hands them newest first
            lines = change_lines(e["changes"])
            summary = "; ".join(lines)
            item = QTreeWidgetItem(
                [self.fmt.when(e["at"]), e["actor"] or "", describe(e), summary[:_CELL_CHARS]]
            )
            item.setToolTip(3, "\n".join(lines))
            item.setData(0, DETAILS_ROLE, "\n".join(lines))
            self.tree.addTopLevelItem(item)

    def _show_details(self, item: QTreeWidgetItem | None, _previous: Any = None) -> None:
        self.details.setPlainText(item.data(0, DETAILS_ROLE) if item is not None else "")
