"""File ▸ Back up now… and File ▸ Restore… dialogs (work runs in the background).

``open_backup_dialog(parent, store)`` and ``open_restore_dialog(parent, store, on_restored)``
are what the window calls. A restore closes the live store before swapping files, so the
window passes ``on_restored(new_store)`` to take the reopened store (and a ``before_swap``
callback if it must let go of more than ``store.close()``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services import backup, backup_rotation, restore, vault
from app.services import settings as settings_svc
from app.services.store import Store
from app.ui import backup_status
from app.ui.worker import run_in_background


def _path_row(edit: QLineEdit, button: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(button)
    return row


def _password(name: str) -> QLineEdit:
    edit = QLineEdit(objectName=name)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    return edit


class BackupDialog(QDialog):
    """Back up now: where to, an optional backup passphrase, progress, the result."""

    backed_up = Signal(object)

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.operation = None
        self.setObjectName("backupDialog")
        self.setWindowTitle(self.tr("Back up now"))
        folder = str(settings_svc.get(store, "backup_folder") or "") or str(Path.home())
        name = backup_rotation.backup_name(dt.datetime.now(dt.UTC))
        self.path_edit = QLineEdit(str(Path(folder) / name), objectName="backupPath")
        choose = QPushButton(self.tr("Choose…"), objectName="backupChoose")
        choose.clicked.connect(self._choose)
        self.pass1 = _password("backupPassphrase")
        self.pass2 = _password("backupPassphraseRepeat")
        self.pass1.setPlaceholderText(self.tr("optional"))
        has_keyring, _why = vault.keyring_status()
        self.remember = QCheckBox(
            self.tr("Keep it in the OS keyring for automatic backups"),
            objectName="rememberPassphrase",
        )
        self.remember.setEnabled(has_keyring)
        if not has_keyring:
            self.remember.setToolTip(
                self.tr("No OS keyring here: automatic backups ask for it once per session")
            )
        intro = QLabel(
            self.tr(
                "The backup is encrypted. It opens with your recovery kit — on any computer, "
                "even without Regulars (age and sqlite3). A backup passphrase is optional: "
                "it opens the backup too, through a small .passphrase file kept beside it."
            )
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        form.addRow(self.tr("Backup file"), _path_row(self.path_edit, choose))
        form.addRow(self.tr("Backup passphrase"), self.pass1)
        form.addRow(self.tr("Repeat"), self.pass2)
        form.addRow("", self.remember)
        self.result_label = QLabel(objectName="backupResult")
        self.result_label.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.start_button = buttons.addButton(
            self.tr("Back up"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.start_button.setObjectName("backupButton")
        self.start_button.setDefault(True)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(self.start)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.result_label)
        layout.addWidget(buttons)
        self.resize(620, self.sizeHint().height())

    def _choose(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Back up to"), self.path_edit.text(), self.tr("Backups (*.age)")
        )
        if path:
            self.path_edit.setText(path)

    def _say(self, text: str, error: bool = False) -> None:
        self.result_label.setText(text)
        self.result_label.setStyleSheet("color: #b00020;" if error else "")

    def start(self) -> None:
        if self.operation is not None:
            return
        phrase = self.pass1.text()
        if phrase != self.pass2.text():
            self._say(self.tr("The two passphrases differ."), error=True)
            return
        if phrase and len(phrase) < 8:
            self._say(self.tr("Choose a backup passphrase of at least 8 characters."), True)
            return
        out = Path(self.path_edit.text().strip()).expanduser()
        if not out.name:
            self._say(self.tr("Give the backup file a name."), error=True)
            return
        if phrase:
            if self.remember.isChecked():
                try:
                    backup.remember_passphrase(self.store.data_dir, phrase)
                except vault.VaultError as exc:
                    self._say(str(exc), error=True)
                    return
            else:
                backup_status.remember_for_session(self.store, phrase)
            settings_svc.set_value(self.store, "backup_passphrase_wanted", True)
        store = self.store
        self.start_button.setEnabled(False)
        self._say(self.tr("Backing up…"))

        def work(progress, cancelled):
            result = backup.create_backup(
                store, out, passphrase=phrase or None, progress=progress, cancelled=cancelled
            )
            backup_rotation.record_result(store, result, "manual")
            return result

        self.operation = run_in_background(
            self,
            work,
            with_progress=True,
            label=self.tr("Backing up…"),
            on_done=self._done,
            on_error=self._failed,
        )

    def _done(self, result: backup.BackupResult) -> None:
        self.operation = None
        self.start_button.setEnabled(True)
        self._say(
            self.tr("Backup written and checked: {path} ({customers} customers, {mb} MB).").format(
                path=result.path,
                customers=f"{result.counts.get('customer', 0):,}",
                mb=f"{result.bytes / 1e6:.1f}",
            )
        )
        self.backed_up.emit(result)

    def _failed(self, message: str) -> None:
        self.operation = None
        self.start_button.setEnabled(True)
        self._say(self.tr("No backup was made: {why}").format(why=message), error=True)


class RestoreDialog(QDialog):
    """Restore: the file, the kit or backup passphrase, a check, then the swap."""

    restored = Signal(object)

    def __init__(
        self,
        store: Store | None,
        data_dir: Path,
        parent: QWidget | None = None,
        before_swap: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.data_dir = Path(data_dir)
        self.before_swap = before_swap
        self.operation = None
        self.result: restore.RestoreResult | None = None
        self.setObjectName("restoreDialog")
        self.setWindowTitle(self.tr("Restore from a backup"))
        self.file_edit = QLineEdit(objectName="restoreFile")
        choose = QPushButton(self.tr("Choose…"), objectName="restoreChoose")
        choose.clicked.connect(self._choose)
        self.kit_edit = QLineEdit(objectName="restoreKit")
        self.kit_edit.setPlaceholderText(self.tr("AGE-SECRET-KEY-1… or the kit file"))
        kit_button = QPushButton(self.tr("Kit file…"), objectName="restoreKitChoose")
        kit_button.clicked.connect(self._choose_kit)
        self.backup_pass = _password("restoreBackupPassphrase")
        self.new_pass1 = _password("restoreNewPassphrase")
        self.new_pass2 = _password("restoreNewPassphraseRepeat")
        self.has_keyring, _why = vault.keyring_status()
        if self.has_keyring:
            self.new_pass1.setPlaceholderText(self.tr("optional: the OS keyring unlocks it"))
        self.confirm = QCheckBox(
            self.tr("Replace the current customer book (it is kept as a safety copy)"),
            objectName="confirmReplace",
        )
        self.confirm.setVisible(store is not None)
        form = QFormLayout()
        form.addRow(self.tr("Backup file"), _path_row(self.file_edit, choose))
        form.addRow(self.tr("Recovery kit"), _path_row(self.kit_edit, kit_button))
        form.addRow(self.tr("or backup passphrase"), self.backup_pass)
        form.addRow(self.tr("New passphrase"), self.new_pass1)
        form.addRow(self.tr("Repeat"), self.new_pass2)
        self.message = QLabel(objectName="restoreMessage")
        self.message.setWordWrap(True)
        self.kit_view = QPlainTextEdit(objectName="newRecoveryKit")
        self.kit_view.setReadOnly(True)
        self.kit_view.setVisible(False)
        self.save_kit = QPushButton(self.tr("Save the new kit…"), objectName="saveKit")
        self.save_kit.setVisible(False)
        self.save_kit.clicked.connect(self._save_kit)
        buttons = QDialogButtonBox()
        self.verify_button = buttons.addButton(
            self.tr("Check backup"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.verify_button.setObjectName("verifyButton")
        self.verify_button.clicked.connect(self.verify)
        self.restore_button = buttons.addButton(
            self.tr("Restore"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.restore_button.setObjectName("restoreButton")
        self.restore_button.clicked.connect(self.start_restore)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.confirm)
        layout.addWidget(self.message)
        layout.addWidget(self.kit_view)
        layout.addWidget(self.save_kit)
        layout.addWidget(buttons)
        self.resize(640, self.sizeHint().height())

    # -- helpers
    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Backup file"), "", self.tr("Backups (*.age);;All files (*)")
        )
        if path:
            self.file_edit.setText(path)

    def _choose_kit(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Recovery kit"), "")
        if path:
            self.kit_edit.setText(path)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020;" if error else "")

    def _busy(self, busy: bool) -> None:
        self.verify_button.setEnabled(not busy)
        self.restore_button.setEnabled(not busy)

    def _inputs(self) -> tuple[Path, str | None, str | None] | None:
        path = Path(self.file_edit.text().strip()).expanduser()
        if not self.file_edit.text().strip():
            self._say(self.tr("Choose the backup file."), error=True)
            return None
        kit = self.kit_edit.text().strip() or None
        phrase = self.backup_pass.text() or None
        if not kit and not phrase:
            self._say(self.tr("Give the recovery kit or the backup passphrase."), error=True)
            return None
        return path, kit, phrase

    # -- check
    def verify(self) -> None:
        inputs = self._inputs()
        if inputs is None or self.operation is not None:
            return
        path, kit, phrase = inputs
        self._busy(True)
        self._say(self.tr("Checking the backup…"))

        def work(progress, cancelled):
            return backup.verify_backup(
                path, recovery_key=kit, passphrase=phrase, progress=progress, cancelled=cancelled
            )

        self.operation = run_in_background(
            self,
            work,
            with_progress=True,
            label=self.tr("Checking the backup…"),
            on_done=self._verified,
            on_error=self._failed,
        )

    def _verified(self, result: backup.VerifyResult) -> None:
        self.operation = None
        self._busy(False)
        self._say(
            self.tr("The backup is good: made {when}, {customers} customers.").format(
                when=result.manifest.created_at, customers=f"{result.customers:,}"
            )
        )

    def _failed(self, message: str) -> None:
        self.operation = None
        self._busy(False)
        self._say(self.tr("Nothing was changed: {why}").format(why=message), error=True)

    # -- restore
    def start_restore(self) -> None:
        inputs = self._inputs()
        if inputs is None or self.operation is not None:
            return
        if self.store is not None and not self.confirm.isChecked():
            self._say(self.tr("Tick the box to confirm replacing the current book."), True)
            return
        new = self.new_pass1.text()
        if new != self.new_pass2.text():
            self._say(self.tr("The two new passphrases differ."), error=True)
            return
        if not new and not self.has_keyring:
            self._say(
                self.tr("Choose a passphrase: there is no OS keyring on this computer."), True
            )
            return
        if new and len(new) < 8:
            self._say(self.tr("Choose a passphrase of at least 8 characters."), error=True)
            return
        path, kit, phrase = inputs
        data_dir = self.data_dir
        use_keyring = self.has_keyring

        def work(progress, cancelled):
            return restore.prepare_restore(
                path,
                data_dir,
                recovery_key=kit,
                backup_passphrase=phrase,
                new_passphrase=new or None,
                use_keyring=use_keyring,
                progress=progress,
                cancelled=cancelled,
            )

        self._busy(True)
        self._say(self.tr("Checking and restoring…"))
        self.operation = run_in_background(
            self,
            work,
            with_progress=True,
            label=self.tr("Restoring…"),
            on_done=self._prepared,
            on_error=self._failed,
        )

    def _prepared(self, prepared: restore.PreparedRestore) -> None:
        self.operation = None
        # the live store lets go of its files only now, when the new one is complete
        if self.before_swap is not None:
            self.before_swap()
        elif self.store is not None:
            self.store.close()
        try:
            self.result = restore.commit_restore(prepared)
            new_store = restore.open_restored(self.result)
        except Exception as exc:
            restore.discard(prepared)
            self._busy(False)
            self._say(self.tr("The restore could not finish: {why}").format(why=exc), True)
            return
        self.store = new_store
        self._busy(False)
        self.restore_button.setEnabled(False)
        lines = [
            self.tr("Restored {customers} customers from the backup of {when}.").format(
                customers=f"{self.result.counts.get('customer', 0):,}",
                when=self.result.backup_created_at,
            )
        ]
        if self.result.safety_copy:
            lines.append(
                self.tr("The replaced book is kept in {path}.").format(path=self.result.safety_copy)
            )
        lines.append(
            self.tr(
                "This is your NEW recovery kit: print it or save it somewhere safe. "
                "The old kit no longer opens this book (it still opens old backups)."
            )
        )
        self._say("\n".join(lines))
        self.kit_view.setPlainText(self.result.kit.text())
        self.kit_view.setVisible(True)
        self.save_kit.setVisible(True)
        self.restored.emit(new_store)

    def _save_kit(self) -> None:
        if self.result is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Save the recovery kit"), "regulars-recovery-kit.txt"
        )
        if path:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.result.kit.text())


def open_backup_dialog(parent: QWidget | None, store: Store) -> BackupDialog:
    """File ▸ Back up now…"""
    dialog = BackupDialog(store, parent)
    dialog.open()
    return dialog


def open_restore_dialog(
    parent: QWidget | None,
    store: Store,
    on_restored: Callable[[Store], None],
    before_swap: Callable[[], None] | None = None,
) -> RestoreDialog:
    """File ▸ Restore… ``on_restored(new_store)`` receives the reopened store."""
    dialog = RestoreDialog(store, store.data_dir, parent, before_swap=before_swap)
    dialog.restored.connect(on_restored)
    dialog.open()
    return dialog
