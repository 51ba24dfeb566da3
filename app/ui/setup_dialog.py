"""First run: create the encrypted store, choose a passphrase where there is no OS keyring,
show the recovery kit once (Save, Print), and offer demo data."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app import APP_NAME
from app.services import vault
from app.services.errors import ServiceError
from app.services.store import Store, create_store

MIN_PASSPHRASE = 10


class RecoveryKitView(QWidget):
    """The kit's text with Save… and Print… buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kit_text = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        explain = QLabel(
            self.tr(
                "This recovery key opens the customer store and every backup if the "
                "passphrase or this computer's keyring is lost. It is shown only now: save it "
                "to a USB stick or print it, and keep it somewhere safe."
            )
        )
        explain.setWordWrap(True)
        layout.addWidget(explain)
        self.text = QPlainTextEdit(objectName="recoveryKitText")
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        layout.addWidget(self.text)
        row = QHBoxLayout()
        self.save_button = QPushButton(self.tr("Save…"), objectName="saveKitButton")
        self.print_button = QPushButton(self.tr("Print…"), objectName="printKitButton")
        self.status = QLabel(objectName="kitStatus")
        row.addWidget(self.save_button)
        row.addWidget(self.print_button)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        self.save_button.clicked.connect(self._save)
        self.print_button.clicked.connect(self._print)
        self.kept = False

    def set_kit(self, text: str) -> None:
        self.kit_text = text
        self.text.setPlainText(text)

    def save_to(self, path: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.kit_text)
        self.kept = True
        self.status.setText(self.tr("Saved to {0}").format(path))

    def _save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Save recovery kit"), "regulars-recovery-kit.txt",
            self.tr("Text files (*.txt)"),
        )  # fmt: skip
        if path:
            try:
                self.save_to(path)
            except OSError as exc:
                self.status.setText(self.tr("Could not save: {0}").format(exc.strerror or exc))

    def _print(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter()
        if QPrintDialog(printer, self).exec() == QDialog.DialogCode.Accepted:
            doc = QTextDocument()
            doc.setDefaultFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            doc.setPlainText(self.kit_text)
            doc.print_(printer)
            self.kept = True
            self.status.setText(self.tr("Sent to the printer"))


class RecoveryKitDialog(QDialog):
    """Shows a freshly made kit (store created without the wizard, e.g. from a script)."""

    def __init__(self, kit_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recoveryKitDialog")
        self.setWindowTitle(self.tr("Recovery kit"))
        layout = QVBoxLayout(self)
        self.view = RecoveryKitView()
        self.view.set_kit(kit_text)
        layout.addWidget(self.view)
        close = QPushButton(self.tr("I have kept it safe"))
        close.clicked.connect(self.accept)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
        self.resize(640, 360)


class _ProtectPage(QWizardPage):
    def __init__(self, wizard: SetupDialog) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle(self.tr("Welcome to {0}").format(APP_NAME))
        layout = QVBoxLayout(self)
        where = QLabel(
            self.tr("Your customer book will be kept encrypted in:\n{0}").format(wizard.data_dir)
        )
        where.setWordWrap(True)
        layout.addWidget(where)
        has_keyring, why = vault.keyring_status()
        self.needs_passphrase = not has_keyring and not wizard.env_passphrase
        form = QFormLayout()
        self.passphrase = QLineEdit(objectName="newPassphrase")
        self.confirm = QLineEdit(objectName="confirmPassphrase")
        for edit in (self.passphrase, self.confirm):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.textChanged.connect(self.completeChanged)
        if self.needs_passphrase:
            note = self.tr(
                "There is no OS keyring on this computer, so choose a passphrase "
                "(at least {0} characters). You will type it when {1} starts."
            ).format(MIN_PASSPHRASE, APP_NAME)
            form.addRow(self.tr("Passphrase"), self.passphrase)
            form.addRow(self.tr("Repeat it"), self.confirm)
        elif wizard.env_passphrase:
            note = self.tr("The passphrase from REGULARS_PASSPHRASE will protect the store.")
        else:
            note = self.tr("The key will be kept in {0}; no passphrase to remember.").format(why)
        label = QLabel(note)
        label.setWordWrap(True)
        layout.addWidget(label)
        layout.addLayout(form)
        self.hint = QLabel(objectName="passphraseHint")
        self.hint.setStyleSheet("color: #c62828;")
        layout.addWidget(self.hint)
        self.demo = QCheckBox(
            self.tr("Fill it with demo data (2,000 made-up customers) to try things out"),
            objectName="demoData",
        )
        self.demo.setChecked(wizard.offer_demo)
        layout.addWidget(self.demo)

    def isComplete(self) -> bool:
        if not self.needs_passphrase:
            return True
        text, again = self.passphrase.text(), self.confirm.text()
        if len(text) < MIN_PASSPHRASE:
            self.hint.setText(self.tr("At least {0} characters.").format(MIN_PASSPHRASE))
            return False
        if text != again:
            self.hint.setText(self.tr("The two passphrases differ."))
            return False
        self.hint.setText("")
        return True

    def validatePage(self) -> bool:
        passphrase = self.passphrase.text() if self.needs_passphrase else self.wiz.env_passphrase
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.wiz.create(passphrase or None)
        except (ServiceError, vault.VaultError, OSError) as exc:
            self.hint.setText(str(exc))
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        return True


class _KitPage(QWizardPage):
    def __init__(self, wizard: SetupDialog) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle(self.tr("Your recovery kit"))
        layout = QVBoxLayout(self)
        self.view = RecoveryKitView()
        layout.addWidget(self.view)
        self.confirm = QCheckBox(
            self.tr("I have saved or printed the recovery key"), objectName="kitKept"
        )
        self.confirm.toggled.connect(self.completeChanged)
        layout.addWidget(self.confirm)

    def initializePage(self) -> None:
        self.view.set_kit(self.wiz.kit_text)

    def isComplete(self) -> bool:
        return self.confirm.isChecked()


class SetupDialog(QWizard):
    """On accept: ``store`` is the new, open store; ``want_demo`` whether to fill it."""

    def __init__(
        self, data_dir: Path, parent: QWidget | None = None, offer_demo: bool = False
    ) -> None:
        super().__init__(parent)
        self.setObjectName("setupDialog")
        self.setWindowTitle(self.tr("Set up {0}").format(APP_NAME))
        self.data_dir = data_dir
        self.offer_demo = offer_demo
        self.env_passphrase = os.environ.get("REGULARS_PASSPHRASE") or ""
        self.store: Store | None = None
        self.kit_text = ""
        self.protect = _ProtectPage(self)
        self.kit_page = _KitPage(self)
        self.addPage(self.protect)
        self.addPage(self.kit_page)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.resize(640, 440)

    @property
    def want_demo(self) -> bool:
        return self.protect.demo.isChecked()

    def create(self, passphrase: str | None) -> None:
        if self.store is not None:
            return
        has_keyring, _why = vault.keyring_status()
        store, kit = create_store(self.data_dir, passphrase=passphrase, use_keyring=has_keyring)
        self.store = store
        self.kit_text = kit.text()

    def reject(self) -> None:
        # once created, the store exists: closing the wizard must not lose the only kit view
        if self.store is not None and not self.kit_page.confirm.isChecked():
            self.kit_page.view.status.setText(self.tr("Please keep the recovery key first."))
            return
        super().reject()
