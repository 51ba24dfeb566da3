"""Unlocking the store: passphrase, or the recovery key when the passphrase is lost."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME
from app.services import vault
from app.services.store import Store, StoreError, open_store


class UnlockDialog(QDialog):
    """On accept, ``store`` is the open store."""

    def __init__(self, data_dir: Path, parent: QWidget | None = None, reason: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("unlockDialog")
        self.setWindowTitle(self.tr("Unlock {0}").format(APP_NAME))
        self.data_dir = data_dir
        self.store: Store | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr("The customer store in {0} is encrypted.").format(str(data_dir))
            + ("\n" + reason if reason else "")
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.passphrase = QLineEdit(objectName="passphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.use_recovery = QCheckBox(
            self.tr("I lost the passphrase: use the recovery key"), objectName="useRecovery"
        )
        self.recovery = QLineEdit(objectName="recoveryKey")
        self.recovery.setPlaceholderText("AGE-SECRET-KEY-1…")
        self.recovery.setVisible(False)
        form.addRow(self.tr("Passphrase"), self.passphrase)
        form.addRow("", self.use_recovery)
        form.addRow("", self.recovery)
        layout.addLayout(form)
        self.error = QLabel(objectName="errorText")
        self.error.setStyleSheet("color: #c62828;")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Unlock"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.use_recovery.toggled.connect(self._toggle)

    def _toggle(self, on: bool) -> None:
        self.recovery.setVisible(on)
        self.passphrase.setEnabled(not on)
        (self.recovery if on else self.passphrase).setFocus()

    def accept(self) -> None:
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            if self.use_recovery.isChecked():
                key = vault.unlock(self.data_dir, recovery_key=self.recovery.text())
            else:
                key = vault.unlock(self.data_dir, passphrase=self.passphrase.text())
            self.store = open_store(self.data_dir, key)
        except vault.WrongSecretError as exc:
            self.error.setText(str(exc).capitalize())
            self.passphrase.selectAll()
            return
        except (vault.VaultError, StoreError, ValueError) as exc:
            self.error.setText(str(exc))
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
        super().accept()
