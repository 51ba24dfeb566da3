"""Private team notes: alerts and pinned notes first; add, edit, pin, mark as alert, delete."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.notes import NoteInfo
from app.ui.formatting import Formatter

NOTE_ROLE = Qt.ItemDataRole.UserRole + 1


class NotesPane(QWidget):
    """Emits requests; the window turns them into undoable commands and refreshes."""

    addRequested = Signal(str, bool, bool)  # text, alert, pinned
    editRequested = Signal(object, dict)  # NoteInfo, {"text"|"alert"|"pinned": value}
    deleteRequested = Signal(object)  # NoteInfo

    def __init__(self, formatter: Formatter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notesPane")
        self.fmt = formatter
        self.customer_id: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget(objectName="notesList")
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.itemDoubleClicked.connect(lambda _item: self._edit())
        layout.addWidget(self.list, 1)

        actions = QHBoxLayout()
        self.pin_button = QPushButton(self.tr("Pin"), objectName="pinNoteButton")
        self.alert_button = QPushButton(self.tr("Alert"), objectName="alertNoteButton")
        self.edit_button = QPushButton(self.tr("Edit…"), objectName="editNoteButton")
        self.delete_button = QPushButton(self.tr("Delete"), objectName="deleteNoteButton")
        self.pin_button.setToolTip(self.tr("Pin or unpin the selected note"))
        self.alert_button.setToolTip(
            self.tr("Mark the selected note as an alert (allergy, warning) or unmark it")
        )
        self.pin_button.clicked.connect(lambda: self._toggle("pinned"))
        self.alert_button.clicked.connect(lambda: self._toggle("alert"))
        self.edit_button.clicked.connect(self._edit)
        self.delete_button.clicked.connect(self._delete)
        for button in (self.pin_button, self.alert_button, self.edit_button, self.delete_button):
            actions.addWidget(button)
        actions.addStretch(1)
        layout.addLayout(actions)

        self.editor = QPlainTextEdit(objectName="newNoteText")
        self.editor.setPlaceholderText(self.tr("New note for the team…"))
        self.editor.setMaximumHeight(64)
        layout.addWidget(self.editor)
        add_row = QHBoxLayout()
        self.new_alert = QCheckBox(self.tr("Alert (allergy, warning)"), objectName="newNoteAlert")
        self.new_pinned = QCheckBox(self.tr("Pinned"), objectName="newNotePinned")
        self.add_button = QPushButton(self.tr("Add note"), objectName="addNoteButton")
        self.add_button.clicked.connect(self._add)
        add_row.addWidget(self.new_alert)
        add_row.addWidget(self.new_pinned)
        add_row.addStretch(1)
        add_row.addWidget(self.add_button)
        layout.addLayout(add_row)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.show_notes(None, [])

    def show_notes(self, customer_id: int | None, notes: list[dict]) -> None:
        selected = self.selected()
        self.customer_id = customer_id
        self.list.clear()
        self.setEnabled(customer_id is not None)
        for n in notes:
            info = NoteInfo(
                n["id"], customer_id or 0, n["body"], n["author"], n["pinned"], n["alert"],
                n["created_at"], n["updated_at"],
            )  # fmt: skip
            marks = ("⚠ " if n["alert"] else "") + ("★ " if n["pinned"] else "")
            meta = " · ".join(x for x in (n["author"], self.fmt.when(n["created_at"])) if x)
            item = QListWidgetItem(f"{marks}{n['body']}\n{meta}")
            item.setData(NOTE_ROLE, info)
            if n["alert"]:
                item.setForeground(QBrush(QColor("#b71c1c")))
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
            if selected is not None and selected.id == info.id:
                self.list.setCurrentItem(item)
        self._update_buttons()

    def selected(self) -> NoteInfo | None:
        item = self.list.currentItem()
        return item.data(NOTE_ROLE) if item is not None else None

    def select_note(self, body: str) -> bool:
        for row in range(self.list.count()):
            if self.list.item(row).data(NOTE_ROLE).body == body:
                self.list.setCurrentRow(row)
                return True
        return False

    def texts(self) -> list[str]:
        return [self.list.item(r).text() for r in range(self.list.count())]

    def _update_buttons(self) -> None:
        note = self.selected()
        for button in (self.pin_button, self.alert_button, self.edit_button, self.delete_button):
            button.setEnabled(note is not None)
        if note is not None:
            self.pin_button.setText(self.tr("Unpin") if note.pinned else self.tr("Pin"))
            self.alert_button.setText(
                self.tr("Not an alert") if note.alert else self.tr("Mark as alert")
            )

    def _add(self) -> None:
        text = self.editor.toPlainText().strip()
        if not text or self.customer_id is None:
            return
        self.addRequested.emit(text, self.new_alert.isChecked(), self.new_pinned.isChecked())
        self.editor.clear()
        self.new_alert.setChecked(False)
        self.new_pinned.setChecked(False)

    def _toggle(self, flag: str) -> None:
        note = self.selected()
        if note is not None:
            self.editRequested.emit(note, {flag: not getattr(note, flag)})

    def _edit(self) -> None:
        note = self.selected()
        if note is None:
            return
        text, ok = QInputDialog.getMultiLineText(
            self, self.tr("Edit note"), self.tr("Note:"), note.body
        )
        if ok and text.strip() and text.strip() != note.body:
            self.editRequested.emit(note, {"text": text.strip()})

    def _delete(self) -> None:
        note = self.selected()
        if note is not None:
            self.deleteRequested.emit(note)
