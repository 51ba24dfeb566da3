"""The message history of a customer, newest first; the selected message's text below."""

from __future__ import annotations

from PySide6.QtCore import Qt
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

BODY_ROLE = Qt.ItemDataRole.UserRole + 1


class CommunicationsPane(QWidget):
    def __init__(self, formatter: Formatter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("communicationsPane")
        self.fmt = formatter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.empty = QLabel(self.tr("No messages yet."))
        layout.addWidget(self.empty)
        split = QSplitter(Qt.Orientation.Vertical)
        self.tree = QTreeWidget(objectName="messageList")
        self.tree.setRootIsDecorated(False)
        self.tree.setHeaderLabels(
            [self.tr("When"), self.tr("Channel"), self.tr("Kind"), self.tr("Subject"),
             self.tr("Status")]
        )  # fmt: skip
        for col, width in enumerate((130, 80, 110, 240)):
            self.tree.setColumnWidth(col, width)
        self.body = QPlainTextEdit(objectName="messageBody")
        self.body.setReadOnly(True)
        split.addWidget(self.tree)
        split.addWidget(self.body)
        layout.addWidget(split, 1)
        self.tree.currentItemChanged.connect(self._show_body)

    def show_messages(self, messages: list[dict] | None) -> None:
        self.tree.clear()
        self.body.clear()
        messages = messages or []
        self.empty.setVisible(not messages)
        for m in messages:  # the service hands them newest first
            arrow = "→" if m["direction"] == "out" else "←"
            item = QTreeWidgetItem(
                [
                    self.fmt.when(m["sent_at"] or m["created_at"]),
                    f"{arrow} {m['channel']}",
                    m["kind"] or "",
                    m["subject"] or (m["body"] or "").split("\n", 1)[0][:80],
                    self.tr(m["status"]),
                ]
            )
            item.setData(0, BODY_ROLE, m["body"])
            if m["status"] == "failed":
                item.setForeground(4, Qt.GlobalColor.red)
            self.tree.addTopLevelItem(item)

    def _show_body(self, item: QTreeWidgetItem | None, _previous=None) -> None:
        self.body.setPlainText(item.data(0, BODY_ROLE) if item is not None else "")
