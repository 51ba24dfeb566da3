"""Business settings: name, kind, default country, currency, time zone, language.
Labels and defaults come from the declarative schema in services/settings.py."""

from __future__ import annotations

import zoneinfo

import phonenumbers
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.services import settings as settings_svc
from app.services.errors import ServiceError

KEYS = ("business_name", "kind", "default_region", "currency", "timezone", "language")
LANGUAGES = ("en", "fr", "de", "zh", "it", "es", "nl", "pt")


class SettingsDialog(QDialog):
    def __init__(self, store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle(self.tr("Settings"))
        self.store = store
        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)
        self.fields: dict[str, QWidget] = {
            "business_name": QLineEdit(),
            "kind": QComboBox(),
            "default_region": QComboBox(),
            "currency": QLineEdit(),
            "timezone": QComboBox(),
            "language": QComboBox(),
        }
        self.fields["kind"].addItem(self.tr("Guesthouse / B&B"), "guesthouse")
        self.fields["kind"].addItem(self.tr("Salon / spa"), "salon")
        self.fields["default_region"].addItems(sorted(phonenumbers.SUPPORTED_REGIONS))
        self.fields["timezone"].addItems(sorted(zoneinfo.available_timezones()))
        self.fields["language"].addItems(LANGUAGES)
        for key in ("default_region", "timezone", "language"):
            self.fields[key].setEditable(True)
        for key in KEYS:
            self.fields[key].setObjectName(key)
            form.addRow(self.tr(settings_svc.SCHEMA[key].label), self.fields[key])
        self.error = QLabel(objectName="errorText")
        self.error.setStyleSheet("color: #c62828;")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.load()

    def load(self) -> None:
        values = settings_svc.get_all(self.store)
        for key in KEYS:
            widget = self.fields[key]
            value = str(values[key])
            if isinstance(widget, QLineEdit):
                widget.setText(value)
            elif key == "kind":
                widget.setCurrentIndex(max(widget.findData(value), 0))
            else:
                widget.setCurrentText(value)

    def values(self) -> dict[str, str]:
        out = {}
        for key in KEYS:
            widget = self.fields[key]
            if isinstance(widget, QLineEdit):
                out[key] = widget.text()
            elif key == "kind":
                out[key] = widget.currentData()
            else:
                out[key] = widget.currentText()
        return out

    def save(self) -> bool:
        values = self.values()
        # validate every field before writing any, so a bad one changes nothing
        for key, value in values.items():
            try:
                settings_svc.SCHEMA[key].check(value)
            except (ValueError, TypeError) as exc:
                self.error.setText(f"{self.tr(settings_svc.SCHEMA[key].label)}: {exc}")
                return False
        try:
            for key, value in values.items():
                settings_svc.set_value(self.store, key, value)
        except ServiceError as exc:
            self.error.setText(str(exc))
            return False
        return True

    def accept(self) -> None:
        if self.save():
            super().accept()


def open_settings_dialog(parent, store) -> SettingsDialog:
    dialog = SettingsDialog(store, parent)
    dialog.open()
    return dialog
