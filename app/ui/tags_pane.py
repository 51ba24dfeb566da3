"""A customer's tags as coloured chips: click a chip's × to remove, type to add."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QWidget

from app.services.tags import TagInfo


def _text_colour(background: str) -> str:
    colour = QColor(background)
    return "#000000" if colour.lightnessF() > 0.6 else "#ffffff"


class TagsPane(QWidget):
    """Emits ``addRequested(name)`` / ``removeRequested(name)``; the window makes them
    undoable commands and calls :meth:`show_tags` after the write."""

    addRequested = Signal(str)
    removeRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tagsPane")
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(4)
        self.caption = QLabel(self.tr("Tags"))
        self.caption.setStyleSheet("color: palette(placeholder-text);")
        self.layout_.addWidget(self.caption)
        self.chips: dict[str, QToolButton] = {}
        self.adder = QComboBox(objectName="addTag")
        self.adder.setEditable(True)
        self.adder.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.adder.lineEdit().setPlaceholderText(self.tr("Add tag…"))
        self.adder.setMinimumContentsLength(12)
        self.adder.lineEdit().returnPressed.connect(self._add_typed)
        self.adder.activated.connect(self._add_picked)
        self.layout_.addWidget(self.adder)
        self.layout_.addStretch(1)
        self.colours: dict[str, str] = {}
        self.setEnabled(False)

    def set_known_tags(self, known: list[TagInfo]) -> None:
        self.colours = {t.name: t.colour for t in known}
        self.adder.blockSignals(True)
        self.adder.clear()
        self.adder.addItems([t.name for t in known])
        self.adder.setCurrentIndex(-1)
        self.adder.blockSignals(False)

    def show_tags(self, names: list[str] | None) -> None:
        """Show these tags (``None``: no customer selected)."""
        for chip in self.chips.values():
            chip.deleteLater()
        self.chips = {}
        self.setEnabled(names is not None)
        for pos, name in enumerate(names or []):
            chip = QToolButton(objectName=f"tagChip_{name}")
            chip.setText(f"{name.replace('&', '&&')}  ✕")  # '&' alone marks a shortcut key
            chip.setToolTip(self.tr("Remove tag “{0}”").format(name))
            background = self.colours.get(name, "#607d8b")
            chip.setStyleSheet(
                f"QToolButton {{ background: {background}; color: {_text_colour(background)};"
                " border: none; border-radius: 9px; padding: 2px 8px; }"
            )
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.clicked.connect(lambda _=False, n=name: self.removeRequested.emit(n))
            self.layout_.insertWidget(1 + pos, chip)
            self.chips[name] = chip

    def names(self) -> list[str]:
        return list(self.chips)

    def _add_typed(self) -> None:
        name = self.adder.currentText().strip()
        self.adder.setCurrentIndex(-1)
        self.adder.clearEditText()
        if name and name not in self.chips:
            self.addRequested.emit(name)

    def _add_picked(self, index: int) -> None:
        if index >= 0:
            name = self.adder.itemText(index)
            self.adder.setCurrentIndex(-1)
            self.adder.clearEditText()
            if name not in self.chips:
                self.addRequested.emit(name)
