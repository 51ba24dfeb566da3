"""The backup and restore dialogs and the status widget, driven as a person would."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QPushButton

from app.services import backup, customers, vault
from app.services import backup_rotation as rot
from app.services import settings as settings_svc
from app.ui import backup_dialogs, backup_status
from tests.conftest import PASSPHRASE

WAIT = 120_000


def _kit(store, tmp_path: Path) -> Path:
    kit = vault.new_recovery_kit(
        store.data_dir, vault.unlock(store.data_dir, passphrase=PASSPHRASE)
    )
    path = tmp_path / "kit.txt"
    path.write_text(kit.text())
    return path


def test_back_up_now_writes_a_checked_backup_and_updates_the_status(qtbot, demo_store, tmp_path):
    status = backup_status.make_backup_status_widget(None, demo_store)
    qtbot.addWidget(status)
    assert "no backup yet" in status.text() and status.property("warning")
    dialog = backup_dialogs.open_backup_dialog(None, demo_store)
    qtbot.addWidget(dialog)
    path = dialog.findChild(QLineEdit, "backupPath")
    path.clear()
    qtbot.keyClicks(path, str(tmp_path / "now.age"))
    qtbot.keyClicks(dialog.findChild(QLineEdit, "backupPassphrase"), "short")
    qtbot.keyClicks(dialog.findChild(QLineEdit, "backupPassphraseRepeat"), "other")
    qtbot.mouseClick(dialog.findChild(QPushButton, "backupButton"), Qt.MouseButton.LeftButton)
    result = dialog.findChild(QLabel, "backupResult")
    assert "differ" in result.text()
    for name in ("backupPassphrase", "backupPassphraseRepeat"):
        dialog.findChild(QLineEdit, name).clear()
    with qtbot.waitSignal(dialog.backed_up, timeout=WAIT):
        qtbot.mouseClick(dialog.findChild(QPushButton, "backupButton"), Qt.MouseButton.LeftButton)
    assert "written and checked" in result.text() and "300 customers" in result.text()
    assert (tmp_path / "now.age").exists()
    status.refresh()
    assert status.text().startswith("Last good backup:") and not status.property("warning")


def test_restore_dialog_checks_then_replaces_and_shows_the_new_kit(qtbot, demo_store, tmp_path):
    kit = _kit(demo_store, tmp_path)
    file = backup.create_backup(demo_store, tmp_path / "b.age").path
    customers.add_customer(demo_store, customers.CustomerInput(first_name="After", last_name="It"))
    received = []
    dialog = backup_dialogs.open_restore_dialog(None, demo_store, received.append)
    qtbot.addWidget(dialog)
    message = dialog.findChild(QLabel, "restoreMessage")
    qtbot.keyClicks(dialog.findChild(QLineEdit, "restoreFile"), str(file))
    qtbot.keyClicks(dialog.findChild(QLineEdit, "restoreKit"), str(tmp_path / "wrong.txt"))
    qtbot.mouseClick(dialog.findChild(QPushButton, "verifyButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Nothing was changed" in message.text(), timeout=WAIT)
    assert "wrong recovery key" in message.text()
    kit_edit = dialog.findChild(QLineEdit, "restoreKit")
    kit_edit.clear()
    qtbot.keyClicks(kit_edit, str(kit))
    qtbot.mouseClick(dialog.findChild(QPushButton, "verifyButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "The backup is good" in message.text(), timeout=WAIT)
    assert "300 customers" in message.text()
    qtbot.keyClicks(dialog.findChild(QLineEdit, "restoreNewPassphrase"), "a brand new one")
    qtbot.keyClicks(dialog.findChild(QLineEdit, "restoreNewPassphraseRepeat"), "a brand new one")
    qtbot.mouseClick(dialog.findChild(QPushButton, "restoreButton"), Qt.MouseButton.LeftButton)
    assert "Tick the box" in message.text()
    dialog.findChild(type(dialog.confirm), "confirmReplace").setChecked(True)
    with qtbot.waitSignal(dialog.restored, timeout=WAIT):
        qtbot.mouseClick(dialog.findChild(QPushButton, "restoreButton"), Qt.MouseButton.LeftButton)
    assert "Restored 300 customers" in message.text() and "safety copy" not in message.text()
    assert "kept in" in message.text()
    kit_view = dialog.findChild(QPlainTextEdit, "newRecoveryKit")
    assert kit_view.isVisible() and "AGE-SECRET-KEY-1" in kit_view.toPlainText()
    new_store = received[0]
    try:
        assert customers.count_customers(new_store) == 300
        assert vault.unlock(new_store.data_dir, passphrase="a brand new one")
    finally:
        new_store.close()


def test_status_warns_when_the_folder_is_missing(qtbot, demo_store, tmp_path):
    settings_svc.set_value(demo_store, "backup_folder", str(tmp_path / "usb"))
    settings_svc.set_value(demo_store, "auto_backup", True)
    label = backup_status.BackupStatusLabel(demo_store)
    qtbot.addWidget(label)
    assert "missing" in label.text() and label.property("warning")
    (tmp_path / "usb").mkdir()
    rot.run_auto_backup(demo_store, dt.datetime.now(dt.UTC))
    label.refresh()
    assert label.text().startswith("Last good backup") and not label.property("warning")


def test_auto_backup_before_quit_runs_when_changed(qtbot, demo_store, tmp_path):
    from PySide6.QtWidgets import QWidget

    settings_svc.set_value(demo_store, "backup_folder", str(tmp_path))
    settings_svc.set_value(demo_store, "auto_backup", True)
    window = QWidget()
    qtbot.addWidget(window)
    auto = backup_status.AutoBackup(window, demo_store)
    assert auto.before_quit()
    assert len(rot.list_backups(tmp_path)) == 1
    assert auto.before_quit()  # nothing changed since: no second backup
    assert len(rot.list_backups(tmp_path)) == 1
