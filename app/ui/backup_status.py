"""Backup status for the status bar, and automatic backups (daily and on quit).

For the window (the lead wires these):

* ``make_backup_status_widget(parent, store)`` → a :class:`BackupStatusLabel` for the status
  bar: "Last good backup: …", or a warning when it is older than a week, the folder is
  missing or the last attempt failed. Call ``refresh()`` after a backup or restore.
* ``AutoBackup(parent, store, status=label)`` → checks every 30 minutes whether a daily
  backup is due and runs it in the background; call ``before_quit()`` from ``closeEvent``:
  it runs a backup (with progress) when something changed since the last good one.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QInputDialog, QLabel, QLineEdit, QWidget

from app.services import backup, backup_rotation
from app.services import settings as settings_svc
from app.services.store import Store
from app.ui.worker import run_in_background

CHECK_EVERY_MS = 30 * 60 * 1000
# the backup passphrase where no keyring keeps it: asked once per session, kept in memory
_session_passphrases: dict[str, str] = {}


def _tr(text: str) -> str:
    return QCoreApplication.translate("BackupStatus", text)


def status_text(status: backup_rotation.BackupStatus) -> tuple[str, bool]:
    """(text for the status bar, whether it is a warning)."""
    if status.last_good_at is not None:
        local = status.last_good_at.astimezone()
        good = _tr("Last good backup: {when}").format(when=local.strftime("%Y-%m-%d %H:%M"))
    else:
        good = ""
    if status.warning is None:
        return good, False
    warning = _tr("Backup warning: {what}").format(what=_tr(status.warning))
    return ("⚠ " + warning + (f" — {good}" if good else "")), True


class BackupStatusLabel(QLabel):
    """'Last good backup: …' with a warning style when it needs attention."""

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setObjectName("backupStatus")
        self.refresh()

    def set_store(self, store: Store) -> None:
        self.store = store
        self.refresh()

    def refresh(self) -> None:
        status = backup_rotation.backup_status(self.store)
        text, warn = status_text(status)
        self.setText(text)
        self.setProperty("warning", warn)
        self.setStyleSheet("color: #b00020; font-weight: bold;" if warn else "")
        tip = []
        if status.last_good_path:
            tip.append(self.tr("Last good backup: {path}").format(path=status.last_good_path))
        if status.folder:
            tip.append(self.tr("Automatic backups go to {folder}").format(folder=status.folder))
        if status.last_error:
            tip.append(self.tr("Last attempt failed: {why}").format(why=status.last_error))
        self.setToolTip("\n".join(tip))


def make_backup_status_widget(parent: QWidget | None, store: Store) -> BackupStatusLabel:
    return BackupStatusLabel(store, parent)


def remember_for_session(store: Store, passphrase: str) -> None:
    _session_passphrases[str(store.data_dir)] = passphrase


def backup_passphrase(parent: QWidget | None, store: Store, *, ask: bool = True) -> str | None:
    """The backup passphrase for automatic backups: keyring, else this session's, else ask
    once (only when the owner chose to protect backups with one)."""
    kept = backup.remembered_passphrase(store.data_dir)
    if kept:
        return kept
    key = str(store.data_dir)
    if key in _session_passphrases:
        return _session_passphrases[key] or None
    if not ask or not settings_svc.get(store, "backup_passphrase_wanted"):
        return None
    text, ok = QInputDialog.getText(
        parent,
        _tr("Backup passphrase"),
        _tr(
            "Automatic backups also open with your backup passphrase.\n"
            "There is no keyring on this computer to keep it, so it is asked once per session."
        ),
        QLineEdit.EchoMode.Password,
    )
    _session_passphrases[key] = text if ok else ""
    return text if ok and text else None


class AutoBackup(QObject):
    """Runs automatic backups: a daily check on a timer, and one before quitting."""

    def __init__(
        self, parent: QWidget, store: Store, status: BackupStatusLabel | None = None
    ) -> None:
        super().__init__(parent)
        self.parent_widget = parent
        self.store = store
        self.status = status
        self.running = None
        self.last_error: str | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_EVERY_MS)
        self.timer.timeout.connect(self.check)
        self.timer.start()
        QTimer.singleShot(5000, self.check)

    def set_store(self, store: Store) -> None:
        self.store = store

    def _now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def check(self) -> None:
        """Start a backup in the background when one is due (no dialog unless slow)."""
        if self.running is not None:
            return
        try:
            due = backup_rotation.auto_backup_due(self.store, self._now())
        except Exception:  # the store was closed or swapped meanwhile
            return
        if due:
            self.start()

    def start(self, *, label: str = ""):
        phrase = backup_passphrase(self.parent_widget, self.store)
        store = self.store

        def work(progress, cancelled):
            return backup_rotation.run_auto_backup(
                store, passphrase=phrase, progress=progress, cancelled=cancelled
            )

        self.running = run_in_background(
            self.parent_widget,
            work,
            with_progress=True,
            label=label,
            on_done=self._done,
            on_error=self._failed,
        )
        return self.running

    def _done(self, _result) -> None:
        self.running = None
        self.last_error = None
        if self.status is not None:
            self.status.refresh()

    def _failed(self, message: str) -> None:
        # recorded in the backup log by the service; the status bar shows it
        self.running = None
        self.last_error = message
        if self.status is not None:
            self.status.refresh()

    def before_quit(self) -> bool:
        """Back up before the window closes when something changed (blocks, with progress).

        Returns False when the backup failed (the status bar and log say why); quitting
        goes on either way.
        """
        if self.running is not None:
            self.running.wait(120_000)
            self.running = None
        try:
            due = backup_rotation.auto_backup_due(self.store, self._now(), on_quit=True)
        except Exception:
            return True
        if not due:
            return True
        loop = QEventLoop()
        op = self.start(label=self.tr("Backing up before closing…"))
        op.finished.connect(loop.quit)
        if self.running is not None:
            loop.exec()
        return self.last_error is None


__all__ = [
    "AutoBackup",
    "BackupStatusLabel",
    "backup_passphrase",
    "make_backup_status_widget",
    "remember_for_session",
    "status_text",
]
