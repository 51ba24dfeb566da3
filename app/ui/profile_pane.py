"""The profile at a glance: alerts first, then name, contact links, details and figures."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.customers import CustomerProfile
from app.ui.formatting import Formatter, esc

ALERT_STYLE = (
    "QFrame#alertBanner { background: #fdecea; border: 1px solid #e0675b; border-radius: 6px; }"
    " QFrame#alertBanner QLabel { color: #8a1c12; }"
)
PINNED_STYLE = (
    "QFrame#pinnedNotes { background: palette(alternate-base); border: 1px solid palette(mid);"
    " border-radius: 6px; }"
)


def _label(text: str = "", name: str = "") -> QLabel:
    label = QLabel(text)
    if name:
        label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    return label


class ProfilePane(QWidget):
    """Shows one :class:`CustomerProfile`; ``editRequested`` asks the window to open the
    edit dialog."""

    editRequested = Signal()

    def __init__(self, formatter: Formatter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("profilePane")
        self.fmt = formatter
        self.profile: CustomerProfile | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        self.alert_banner = QFrame(objectName="alertBanner")
        self.alert_banner.setStyleSheet(ALERT_STYLE)
        banner = QVBoxLayout(self.alert_banner)
        banner.setContentsMargins(10, 6, 10, 6)
        self.alert_text = _label(name="alertText")
        banner.addWidget(self.alert_text)
        layout.addWidget(self.alert_banner)

        header = QHBoxLayout()
        self.name = _label(name="profileName")
        font = self.name.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.name.setFont(font)
        self.edit_button = QPushButton(self.tr("Edit…"), objectName="editCustomerButton")
        self.edit_button.clicked.connect(self.editRequested)
        header.addWidget(self.name, 1)
        header.addWidget(self.edit_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(header)
        self.subtitle = _label(name="profileSubtitle")
        self.subtitle.setStyleSheet("color: palette(placeholder-text);")
        layout.addWidget(self.subtitle)

        self.pinned = QFrame(objectName="pinnedNotes")
        self.pinned.setStyleSheet(PINNED_STYLE)
        pinned_layout = QVBoxLayout(self.pinned)
        pinned_layout.setContentsMargins(10, 6, 10, 6)
        self.pinned_text = _label(name="pinnedText")
        pinned_layout.addWidget(self.pinned_text)
        layout.addWidget(self.pinned)

        self.details = QFormLayout()
        self.details.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.contact = _label(name="contactLinks")
        self.contact.setOpenExternalLinks(True)
        self.language = _label(name="languageValue")
        self.consent = _label(name="consentValue")
        self.birthday = _label(name="birthdayValue")
        self.address = _label(name="addressValue")
        self.registration = _label(name="registrationValue")
        for title, widget in (
            (self.tr("Contact"), self.contact),
            (self.tr("Language"), self.language),
            (self.tr("Consent"), self.consent),
            (self.tr("Birthday"), self.birthday),
            (self.tr("Address"), self.address),
            (self.tr("ID / registration"), self.registration),
        ):
            self.details.addRow(title, widget)

        # the figures as a row of small tiles: number on top, caption below
        figures = QGridLayout()
        figures.setHorizontalSpacing(18)
        figures.setVerticalSpacing(0)
        self.figures: dict[str, QLabel] = {}
        for pos, (key, title) in enumerate(
            (
                ("booking_count", self.tr("Bookings")),
                ("last_visit", self.tr("Last visit")),
                ("next_booking", self.tr("Next booking")),
                ("lifetime", self.tr("Lifetime spend")),
                ("no_shows", self.tr("No-shows")),
                ("balance", self.tr("Balance due")),
            )
        ):
            value = QLabel(objectName=f"figure_{key}")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            big = value.font()
            big.setPointSizeF(big.pointSizeF() * 1.15)
            big.setBold(True)
            value.setFont(big)
            caption = QLabel(title)
            caption.setStyleSheet("color: palette(placeholder-text);")
            row, col = divmod(pos, 3)
            figures.addWidget(value, row * 2, col)
            figures.addWidget(caption, row * 2 + 1, col)
            self.figures[key] = value
        figures.setColumnStretch(3, 1)
        # figures and details disappear while nobody is selected
        self.body = QWidget(objectName="profileBody")
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(figures)
        body.addSpacing(4)
        body.addLayout(self.details)
        layout.addWidget(self.body)
        self.show_profile(None)

    def show_profile(self, profile: CustomerProfile | None) -> None:
        self.profile = profile
        self.edit_button.setEnabled(profile is not None)
        self.body.setVisible(profile is not None)
        if profile is None:
            self.name.setText(self.tr("No customer selected"))
            self.subtitle.setText(self.tr("Type a name, 3+ phone digits or an email above."))
            self.alert_banner.hide()
            self.pinned.hide()
            for widget in (
                self.contact, self.language, self.consent, self.birthday, self.address,
                self.registration, *self.figures.values(),
            ):  # fmt: skip
                widget.clear()
            return
        self.name.setText(profile.display_name)
        bits = []
        if profile.company:
            bits.append(profile.company)
        if profile.first_contact:
            bits.append(self.tr("customer since {0}").format(self.fmt.day(profile.first_contact)))
        if profile.source_channel:
            bits.append(self.tr("via {0}").format(profile.source_channel))
        if profile.archived_at:
            bits.append(self.tr("archived"))
        self.subtitle.setText(" · ".join(bits))
        self.show_notes(profile.notes)
        self._details(profile)
        self._figures(profile)

    def show_notes(self, notes: list[dict]) -> None:
        """Alerts in the red banner, pinned notes under the name (both without a click)."""
        alerts = [n for n in notes if n["alert"]]
        pinned = [n for n in notes if n["pinned"] and not n["alert"]]
        self.alert_banner.setVisible(bool(alerts))
        self.alert_text.setText(
            "<br>".join(f"⚠ <b>{esc(n['body'])}</b>" for n in alerts) if alerts else ""
        )
        self.pinned.setVisible(bool(pinned))
        self.pinned_text.setText("<br>".join(f"★ {esc(n['body'])}" for n in pinned))

    def _details(self, p: CustomerProfile) -> None:
        links = [f'<a href="tel:{esc(ph.e164)}">{esc(ph.international)}</a>' for ph in p.phones] + [
            f'<a href="mailto:{esc(em.address)}">{esc(em.address)}</a>'
            + (f" <i>({esc(self.tr('booking channel relay'))})</i>" if em.is_relay else "")
            for em in p.emails
        ]
        self.contact.setText("<br>".join(links) or esc(self.tr("no phone or email")))
        self.language.setText(p.preferred_language or "—")
        if p.marketing_consent:
            consent = self.tr("yes, since {0}").format(self.fmt.day(p.consent_at))
            if p.consent_method:
                consent += f" ({p.consent_method})"
        else:
            consent = self.tr("no marketing")
        self.consent.setText(consent)
        self.birthday.setText(self.fmt.day(p.birthday) or "—")
        place = " ".join(x for x in (p.postcode, p.city) if x)
        address = ", ".join(x for x in (p.street, place, p.region, p.country) if x)
        self.address.setText(address or "—")
        reg = [x for x in (p.nationality, p.id_document_type, p.id_document_number) if x]
        if p.id_document_expiry:
            reg.append(self.tr("expires {0}").format(self.fmt.day(p.id_document_expiry)))
        self.registration.setText(" · ".join(reg) or "—")

    def _figures(self, p: CustomerProfile) -> None:
        f = p.figures
        self.figures["booking_count"].setText(str(f.get("booking_count") or 0))
        self.figures["last_visit"].setText(self.fmt.day(f.get("last_visit_at")) or "—")
        self.figures["next_booking"].setText(self.fmt.when(f.get("next_booking_at")) or "—")
        self.figures["lifetime"].setText(self.fmt.amounts(f.get("lifetime_value")))
        no_shows = f.get("no_show_count") or 0
        self.figures["no_shows"].setText(str(no_shows))
        self.figures["no_shows"].setStyleSheet("color: #c62828;" if no_shows else "")
        balance = f.get("balance_due") or {}
        self.figures["balance"].setText(self.fmt.amounts(balance) if balance else "—")
        self.figures["balance"].setStyleSheet("color: #c62828;" if balance else "")
