"""New booking: pick the customer (search as you type) or enter contact details, which
find the existing profile by exact phone/email or create it (services/bookings.py)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDateTime, Qt, QTime
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.models.booking import BOOKING_STATUSES, CHANNELS
from app.services import bookings, customers, search
from app.services import settings as settings_svc
from app.services.errors import ServiceError
from app.services.timeutil import to_local

ID_ROLE = Qt.ItemDataRole.UserRole + 1
_FMT = "%Y-%m-%d %H:%M"


class BookingDialog(QDialog):
    def __init__(
        self,
        store,
        parent: QWidget | None = None,
        customer_id: int | None = None,
        customer_name: str = "",
        locations: list[str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("bookingDialog")
        self.setWindowTitle(self.tr("New booking"))
        self.store = store
        self.conf = settings_svc.get_all(store)
        self.result_: bookings.BookingResult | None = None
        layout = QVBoxLayout(self)

        who = QGroupBox(self.tr("Customer"))
        who_layout = QVBoxLayout(who)
        self.existing = QRadioButton(self.tr("Existing customer"), objectName="existingCustomer")
        self.new = QRadioButton(self.tr("New or by contact details"), objectName="newCustomer")
        self.picker = QLineEdit(objectName="customerSearch")
        self.picker.setPlaceholderText(self.tr("Name, phone digits or email…"))
        self.matches = QListWidget(objectName="customerMatches")
        self.matches.setMaximumHeight(110)
        contact = QWidget()
        contact_form = QFormLayout(contact)
        contact_form.setContentsMargins(0, 0, 0, 0)
        self.first_name = QLineEdit(objectName="firstName")
        self.last_name = QLineEdit(objectName="lastName")
        self.phone = QLineEdit(objectName="phone")
        self.email = QLineEdit(objectName="email")
        contact_form.addRow(self.tr("First name"), self.first_name)
        contact_form.addRow(self.tr("Last name"), self.last_name)
        contact_form.addRow(self.tr("Phone"), self.phone)
        contact_form.addRow(self.tr("Email"), self.email)
        self.contact = contact
        for w in (self.existing, self.picker, self.matches, self.new, contact):
            who_layout.addWidget(w)
        layout.addWidget(who)

        form = QFormLayout()
        self.kind = QComboBox(objectName="kind")
        self.kind.addItem(self.tr("Stay"), "stay")
        self.kind.addItem(self.tr("Appointment"), "appointment")
        self.kind.setCurrentIndex(0 if self.conf["kind"] == "guesthouse" else 1)
        self.start = self._datetime("start")
        self.end = self._datetime("end")
        self.room = QLineEdit(objectName="room")
        self.service = QLineEdit(objectName="service")
        self.staff = QLineEdit(objectName="staff")
        self.location = QComboBox(objectName="location")
        self.location.setEditable(True)
        self.location.addItems(["", *(locations or [])])
        self.status = QComboBox(objectName="status")
        for status in BOOKING_STATUSES:
            self.status.addItem(self.tr(status), status)
        self.status.setCurrentIndex(BOOKING_STATUSES.index("confirmed"))
        self.price = QLineEdit(objectName="price")
        self.price.setPlaceholderText("0.00")
        self.currency = QLineEdit(self.conf["currency"], objectName="currency")
        self.currency.setMaxLength(3)
        self.channel = QComboBox(objectName="channel")
        for channel in CHANNELS:
            self.channel.addItem(channel, channel)
        self.party = QSpinBox(objectName="partySize")
        self.party.setRange(1, 99)
        self.requests = QPlainTextEdit(objectName="specialRequests")
        self.requests.setMaximumHeight(60)
        form.addRow(self.tr("Kind"), self.kind)
        form.addRow(self.tr("Start"), self.start)
        form.addRow(self.tr("End"), self.end)
        form.addRow(self.tr("Room"), self.room)
        form.addRow(self.tr("Service"), self.service)
        form.addRow(self.tr("Staff"), self.staff)
        form.addRow(self.tr("Location"), self.location)
        form.addRow(self.tr("Status"), self.status)
        form.addRow(self.tr("Price"), self.price)
        form.addRow(self.tr("Currency"), self.currency)
        form.addRow(self.tr("Channel"), self.channel)
        form.addRow(self.tr("Party size"), self.party)
        form.addRow(self.tr("Special requests"), self.requests)
        layout.addLayout(form)
        self.error = QLabel(objectName="errorText")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self.existing.toggled.connect(self._mode)
        self.picker.textChanged.connect(self._search)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.start.dateTimeChanged.connect(self._start_changed)
        self._set_default_times()
        if customer_id is not None:
            item = QListWidgetItem(customer_name or f"#{customer_id}")
            item.setData(ID_ROLE, customer_id)
            self.matches.addItem(item)
            self.matches.setCurrentItem(item)
            self.existing.setChecked(True)
        else:
            self.new.setChecked(True)
        self._mode()

    def _datetime(self, name: str) -> QDateTimeEdit:
        edit = QDateTimeEdit(objectName=name)
        edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        edit.setCalendarPopup(True)
        return edit

    def _set_default_times(self) -> None:
        now = to_local(dt.datetime.now(dt.UTC), self.conf["timezone"]).replace(tzinfo=None)
        start = QDateTime(now.date(), QTime(15 if self._is_stay() else now.hour + 1, 0))
        if not self._is_stay() and now.hour >= 22:
            start = start.addDays(1)
        self.start.setDateTime(start)
        self._start_changed()

    def _is_stay(self) -> bool:
        return self.kind.currentData() == "stay"

    def _kind_changed(self) -> None:
        self._set_default_times()

    def _start_changed(self) -> None:
        start = self.start.dateTime()
        self.end.setDateTime(
            QDateTime(start.date().addDays(1), QTime(11, 0))
            if self._is_stay()
            else start.addSecs(3600)
        )

    def _mode(self) -> None:
        existing = self.existing.isChecked()
        self.picker.setEnabled(existing)
        self.matches.setEnabled(existing)
        self.contact.setEnabled(not existing)

    def _search(self, text: str) -> None:
        self.matches.clear()
        for hit in search.search(self.store, text, limit=8):
            label = " · ".join(x for x in (hit.display_name, hit.phone, hit.email) if x)
            item = QListWidgetItem(label)
            item.setData(ID_ROLE, hit.id)
            self.matches.addItem(item)
        if self.matches.count():
            self.matches.setCurrentRow(0)

    def booking_input(self) -> bookings.BookingInput:
        data = bookings.BookingInput(
            start=self.start.dateTime().toPython().strftime(_FMT),
            end=self.end.dateTime().toPython().strftime(_FMT),
            kind=self.kind.currentData(),
            service=self.service.text(),
            room=self.room.text(),
            staff=self.staff.text(),
            location=self.location.currentText(),
            status=self.status.currentData(),
            price=self.price.text().strip() or None,
            currency=self.currency.text().strip() or None,
            channel=self.channel.currentData(),
            party_size=self.party.value(),
            special_requests=self.requests.toPlainText(),
        )
        if self.existing.isChecked():
            item = self.matches.currentItem()
            data.customer_id = item.data(ID_ROLE) if item is not None else None
        else:
            data.contact = customers.CustomerInput(
                first_name=self.first_name.text(),
                last_name=self.last_name.text(),
                phones=[self.phone.text()] if self.phone.text().strip() else [],
                emails=[self.email.text()] if self.email.text().strip() else [],
            )
        return data

    def accept(self) -> None:
        data = self.booking_input()
        if self.existing.isChecked() and data.customer_id is None:
            self.error.setText(self.tr("Pick a customer from the list, or enter contact details."))
            return
        try:
            self.result_ = bookings.record_booking(self.store, data)
        except ServiceError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


def open_booking_dialog(parent, store, customer_id=None, customer_name="", locations=None):
    dialog = BookingDialog(store, parent, customer_id, customer_name, locations)
    dialog.open()
    return dialog
