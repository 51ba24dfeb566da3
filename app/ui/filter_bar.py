"""The filter bar above the customer list: tags, language, consent, first contact, location,
upcoming booking. It only describes a filter; the window runs it (in SQL)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.services.customer_list import FilterChoices, ListFilter

_NO_DATE = QDate(2000, 1, 1)


class FilterBar(QWidget):
    """Emits ``changed`` whenever a filter changes; :meth:`current` reads them."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterBar")
        # two short rows, so the list side can be narrow and the profile wide
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(4)
        layout = QHBoxLayout()
        layout.setSpacing(6)
        second = QHBoxLayout()
        second.setSpacing(6)
        outer.addLayout(layout)
        outer.addLayout(second)

        self.tags_button = QToolButton(objectName="tagFilter")
        self.tags_button.setText(self.tr("Tags"))
        self.tags_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.tags_menu = QMenu(self.tags_button)
        self.tags_button.setMenu(self.tags_menu)
        self._tag_actions: list[QAction] = []

        self.language = QComboBox(objectName="languageFilter")
        self.language.setToolTip(self.tr("Preferred language"))
        self.consent = QComboBox(objectName="consentFilter")
        self.consent.setToolTip(self.tr("Marketing consent"))
        self.consent.addItem(self.tr("Any consent"), None)
        self.consent.addItem(self.tr("Consented"), True)
        self.consent.addItem(self.tr("No consent"), False)
        self.location = QComboBox(objectName="locationFilter")
        self.location.setToolTip(self.tr("Has a booking at this location"))

        self.since = self._date_edit("firstContactFrom", self.tr("First contact from"))
        self.until = self._date_edit("firstContactTo", self.tr("First contact until"))
        self.upcoming = QCheckBox(self.tr("Upcoming booking"), objectName="upcomingFilter")
        self.clear_button = QToolButton(objectName="clearFilters")
        self.clear_button.setText(self.tr("Clear filters"))
        self.clear_button.clicked.connect(self.clear)

        layout.addWidget(self.tags_button)
        layout.addWidget(self.language)
        layout.addWidget(self.consent)
        layout.addWidget(self.location)
        layout.addStretch(1)
        second.addWidget(QLabel(self.tr("First contact")))
        second.addWidget(self.since)
        second.addWidget(QLabel("–"))
        second.addWidget(self.until)
        second.addWidget(self.upcoming)
        second.addStretch(1)
        second.addWidget(self.clear_button)

        for combo in (self.language, self.consent, self.location):
            combo.currentIndexChanged.connect(self._emit)
        self.since.dateChanged.connect(self._emit)
        self.until.dateChanged.connect(self._emit)
        self.upcoming.toggled.connect(self._emit)
        self._quiet = False
        self.set_choices(FilterChoices())

    def _date_edit(self, name: str, tip: str) -> QDateEdit:
        edit = QDateEdit(objectName=name)
        edit.setToolTip(tip)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setMinimumDate(_NO_DATE)
        edit.setSpecialValueText(self.tr("any"))
        edit.setDate(_NO_DATE)
        return edit

    def set_choices(self, choices: FilterChoices) -> None:
        """Fill the menus with what the store holds, keeping current selections."""
        self._quiet = True
        checked = {a.data() for a in self._tag_actions if a.isChecked()}
        self.tags_menu.clear()
        self._tag_actions = []
        for name in choices.tags:
            action = self.tags_menu.addAction(name)
            action.setCheckable(True)
            action.setData(name)
            action.setChecked(name in checked)
            action.toggled.connect(self._emit)
            self._tag_actions.append(action)
        self._refill(self.language, self.tr("Any language"), choices.languages)
        self._refill(self.location, self.tr("Any location"), choices.locations)
        self._quiet = False
        self._update_tags_label()

    def _refill(self, combo: QComboBox, anything: str, values: list[str]) -> None:
        current = combo.currentData()
        combo.clear()
        combo.addItem(anything, None)
        for value in values:
            combo.addItem(value, value)
        found = combo.findData(current)
        combo.setCurrentIndex(max(found, 0))

    def set_tag(self, name: str, checked: bool = True) -> None:
        for action in self._tag_actions:
            if action.data() == name:
                action.setChecked(checked)

    def _update_tags_label(self) -> None:
        names = [a.data() for a in self._tag_actions if a.isChecked()]
        self.tags_button.setText(
            self.tr("Tags: {0}").format(", ".join(names)) if names else self.tr("Tags")
        )

    def _emit(self, *_args) -> None:
        if self._quiet:
            return
        self._update_tags_label()
        self.changed.emit()

    @staticmethod
    def _date(edit: QDateEdit) -> dt.date | None:
        value = edit.date()
        return None if value == _NO_DATE else value.toPython()

    def current(self, query: str = "") -> ListFilter:
        return ListFilter(
            query=query,
            tags=tuple(a.data() for a in self._tag_actions if a.isChecked()),
            language=self.language.currentData(),
            consent=self.consent.currentData(),
            first_contact_from=self._date(self.since),
            first_contact_to=self._date(self.until),
            location=self.location.currentData(),
            upcoming=self.upcoming.isChecked(),
        )

    def is_active(self) -> bool:
        return not self.current().is_empty()

    def clear(self) -> None:
        self._quiet = True
        for action in self._tag_actions:
            action.setChecked(False)
        for combo in (self.language, self.consent, self.location):
            combo.setCurrentIndex(0)
        self.since.setDate(_NO_DATE)
        self.until.setDate(_NO_DATE)
        self.upcoming.setChecked(False)
        self._quiet = False
        self._emit()
