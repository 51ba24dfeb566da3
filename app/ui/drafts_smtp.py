"""Asking for the SMTP password, and saying honestly where it will be kept."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.services import messaging
from app.services import settings as settings_svc
from app.services.errors import ServiceError
from app.services.store import Store


class SmtpPasswordDialog(QDialog):
    """Stores the SMTP password in the OS keyring (never in the database or settings)."""

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setObjectName("smtpPasswordDialog")
        self.setWindowTitle(self.tr("SMTP password"))
        conf = settings_svc.get_all(store)
        account = f"{conf['smtp_user']} @ {conf['smtp_host']}:{conf['smtp_port']}"
        intro = QLabel(
            self.tr(
                "Password for %1.\nIt is kept in this computer's keyring (the system's password "
                "store), never in the Regulars file or its backups."
            ).replace("%1", account)
        )
        intro.setWordWrap(True)
        self.password = QLineEdit(objectName="smtpPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel(objectName="smtpPasswordError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.password)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.setMinimumWidth(480)
        self.adjustSize()

    def save(self) -> None:
        try:
            messaging.set_smtp_password(self.store, self.password.text())
        except ServiceError as exc:
            self.error.setText(str(exc))
            self.adjustSize()  # make room for the explanation
            return
        self.password.clear()
        self.accept()


def open_smtp_password_dialog(parent: QWidget | None, store: Store) -> SmtpPasswordDialog:
    """Show the SMTP password dialog (modal, returns when closed)."""
    dialog = SmtpPasswordDialog(store, parent)
    dialog.exec()
    return dialog
