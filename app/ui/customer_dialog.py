"""New / edit customer, with live validation: phones shown in international form as you
type, email syntax, and a duplicate warning (a hook the duplicates feature can replace)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.services import customers, search
from app.services import settings as settings_svc
from app.services.errors import ServiceError, ValidationError
from app.services.normalize import format_phone, parse_email, parse_phone

LANGUAGES = ("", "fr", "de", "en", "zh", "it", "es", "nl", "pt", "ja", "ko")

# (store, input, customer id being edited or None) -> sentences naming possible duplicates
DuplicateCheck = Callable[[object, customers.CustomerInput, int | None], list[str]]


def _contact_duplicates(store, data: customers.CustomerInput, own_id: int | None) -> list[str]:
    """Customers already holding one of these phone numbers or email addresses."""
    found: dict[int, str] = {}
    region = settings_svc.get(store, "default_region")
    for raw in data.phones or []:
        try:
            digits = parse_phone(raw, region).e164.lstrip("+")
        except ValidationError:
            continue
        for hit in search.search(store, digits, limit=3, include_archived=True):
            if hit.id != own_id:
                found.setdefault(hit.id, f"{hit.display_name} ({hit.phone or ''})")
    for raw in data.emails or []:
        address = raw.strip().lower()
        if len(address) < 3:
            continue
        for hit in search.search(store, address, limit=3, include_archived=True):
            if hit.id != own_id and (hit.email or "").lower() == address:
                found.setdefault(hit.id, f"{hit.display_name} ({hit.email})")
    return list(found.values())


duplicate_check: DuplicateCheck = _contact_duplicates


def set_duplicate_check(check: DuplicateCheck) -> None:
    """Replace the duplicate warning (the duplicates feature plugs its scorer in here)."""
    global duplicate_check
    duplicate_check = check


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


class CustomerDialog(QDialog):
    """``submit(data)`` writes (raising ServiceError to keep the dialog open); without it,
    the dialog creates a new customer and sets ``created_id``."""

    def __init__(
        self,
        store,
        parent: QWidget | None = None,
        profile: customers.CustomerProfile | None = None,
        submit: Callable[[customers.CustomerInput], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("customerDialog")
        self.store = store
        self.profile = profile
        self.submit = submit
        self.created_id: int | None = None
        self.region = settings_svc.get(store, "default_region")
        self.setWindowTitle(self.tr("Edit customer") if profile else self.tr("New customer"))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)

        def line(name: str, placeholder: str = "") -> QLineEdit:
            edit = QLineEdit(objectName=name)
            edit.setPlaceholderText(placeholder)
            return edit

        self.first_name = line("firstName")
        self.last_name = line("lastName")
        self.phones = line("phones", self.tr("06 52 52 72 72, +49 151 …"))
        self.phone_hint = QLabel(objectName="phoneHint")
        self.emails = line("emails", self.tr("name@example.org"))
        self.email_hint = QLabel(objectName="emailHint")
        self.language = QComboBox(objectName="language")
        self.language.setEditable(True)
        self.language.addItems(LANGUAGES)
        self.birthday = line("birthday", self.tr("YYYY-MM-DD"))
        self.street = line("street")
        self.postcode = line("postcode")
        self.city = line("city")
        self.country = line("country", self.tr("FR, DE, CN…"))
        self.company = line("company")
        self.nationality = line("nationality", self.tr("FR, DE, CN…"))
        self.id_type = line("idDocumentType", self.tr("passport, ID card…"))
        self.id_number = line("idDocumentNumber")
        self.consent = QCheckBox(self.tr("Agrees to receive marketing"), objectName="consent")
        self.duplicates = QLabel(objectName="duplicateWarning")
        self.duplicates.setWordWrap(True)
        self.duplicates.setStyleSheet("color: #b26a00;")
        self.error = QLabel(objectName="errorText")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828;")

        form.addRow(self.tr("First name"), self.first_name)
        form.addRow(self.tr("Last name"), self.last_name)
        form.addRow(self.tr("Phones"), self.phones)
        form.addRow("", self.phone_hint)
        form.addRow(self.tr("Emails"), self.emails)
        form.addRow("", self.email_hint)
        form.addRow(self.tr("Language"), self.language)
        form.addRow(self.tr("Birthday"), self.birthday)
        form.addRow(self.tr("Street"), self.street)
        form.addRow(self.tr("Postcode, city"), self._pair(self.postcode, self.city))
        form.addRow(self.tr("Country"), self.country)
        form.addRow(self.tr("Company"), self.company)
        form.addRow(self.tr("Nationality"), self.nationality)
        form.addRow(self.tr("ID document"), self._pair(self.id_type, self.id_number))
        form.addRow("", self.consent)
        layout.addWidget(self.duplicates)
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self._dup_timer = QTimer(self, singleShot=True, interval=250)
        self._dup_timer.timeout.connect(self._check_duplicates)
        self.phones.textChanged.connect(self._phones_changed)
        self.emails.textChanged.connect(self._emails_changed)
        if profile is not None:
            self._load(profile)
        self._phones_changed()
        self._emails_changed()
        self.resize(480, self.sizeHint().height())

    @staticmethod
    def _pair(a: QWidget, b: QWidget) -> QWidget:
        box = QWidget()
        row = QFormLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addRow(a, b)
        return box

    def _load(self, p: customers.CustomerProfile) -> None:
        self.first_name.setText(p.first_name)
        self.last_name.setText(p.last_name)
        self.phones.setText(", ".join(ph.raw for ph in p.phones))
        self.emails.setText(", ".join(e.address for e in p.emails))
        self.language.setCurrentText(p.preferred_language or "")
        self.birthday.setText(p.birthday.isoformat() if p.birthday else "")
        self.street.setText(p.street or "")
        self.postcode.setText(p.postcode or "")
        self.city.setText(p.city or "")
        self.country.setText(p.country or "")
        self.company.setText(p.company or "")
        self.nationality.setText(p.nationality or "")
        self.id_type.setText(p.id_document_type or "")
        self.id_number.setText(p.id_document_number or "")
        self.consent.setChecked(p.marketing_consent)

    # ------------------------------------------------------------ live validation

    def _phones_changed(self) -> None:
        shown, bad = [], []
        for raw in _split(self.phones.text()):
            try:
                shown.append(format_phone(parse_phone(raw, self.region).e164))
            except ValidationError:
                bad.append(raw)
        if bad:
            self._hint(
                self.phone_hint, self.tr("not a valid number: {0}").format(", ".join(bad)), False
            )
        else:
            self._hint(self.phone_hint, "  ·  ".join(shown), True)
        self._dup_timer.start()

    def _emails_changed(self) -> None:
        bad = []
        for raw in _split(self.emails.text()):
            try:
                parse_email(raw)
            except ValidationError:
                bad.append(raw)
        if bad:
            self._hint(
                self.email_hint, self.tr("not a valid address: {0}").format(", ".join(bad)), False
            )
        else:
            self._hint(self.email_hint, "", True)
        self._dup_timer.start()

    @staticmethod
    def _hint(label: QLabel, text: str, ok: bool) -> None:
        label.setText(text)
        label.setStyleSheet("color: palette(placeholder-text);" if ok else "color: #c62828;")
        label.setVisible(bool(text))

    def _check_duplicates(self) -> None:
        try:
            names = duplicate_check(
                self.store, self.data(), self.profile.id if self.profile else None
            )
        except ServiceError:
            names = []
        self.duplicates.setText(
            self.tr("Possible duplicate of: {0}").format("; ".join(names)) if names else ""
        )
        self.duplicates.setVisible(bool(names))

    # ------------------------------------------------------------ result

    def data(self) -> customers.CustomerInput:
        return customers.CustomerInput(
            first_name=self.first_name.text(),
            last_name=self.last_name.text(),
            phones=_split(self.phones.text()),
            emails=_split(self.emails.text()),
            preferred_language=self.language.currentText().strip(),
            birthday=self.birthday.text().strip(),
            street=self.street.text(),
            postcode=self.postcode.text(),
            city=self.city.text(),
            country=self.country.text(),
            company=self.company.text(),
            nationality=self.nationality.text(),
            id_document_type=self.id_type.text(),
            id_document_number=self.id_number.text(),
            marketing_consent=self.consent.isChecked(),
        )

    def accept(self) -> None:
        data = self.data()
        try:
            if self.submit is not None:
                self.submit(data)
            else:
                self.created_id = customers.add_customer(self.store, data).id
        except ServiceError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


def open_customer_dialog(parent, store, profile=None, submit=None) -> CustomerDialog:
    dialog = CustomerDialog(store, parent, profile, submit)
    dialog.open()
    return dialog
