"""Starting up: unlocking without a dialog, the first-run wizard, the unlock dialog, demo data
through the worker, settings."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from app.services import datadir, vault
from app.services import settings as settings_svc
from app.ui import launch
from app.ui.main_window import MainWindow
from app.ui.settings_dialog import SettingsDialog
from app.ui.setup_dialog import SetupDialog
from app.ui.unlock_dialog import UnlockDialog
from tests.conftest import PASSPHRASE


@pytest.fixture(autouse=True)
def ui_settings(tmp_path):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qs"))


def test_regulars_passphrase_opens_without_a_dialog(demo_store, monkeypatch):
    directory = demo_store.data_dir
    monkeypatch.setenv("REGULARS_PASSPHRASE", PASSPHRASE)
    store, how, why = launch.unlock_without_asking(directory)
    assert store is not None and how == "passphrase" and why == ""
    store.close()
    monkeypatch.setenv("REGULARS_PASSPHRASE", "not it")
    store, _how, why = launch.unlock_without_asking(directory)
    assert store is None and "wrong passphrase" in why


def test_fresh_dir_with_passphrase_creates_store_and_returns_the_kit(tmp_path, monkeypatch):
    monkeypatch.setenv("REGULARS_PASSPHRASE", "a long enough passphrase")
    store, want_demo, kit = launch._create(tmp_path / "new", with_demo=True)
    try:
        assert want_demo
        assert "AGE-SECRET-KEY-1" in kit
        assert datadir.store_exists(tmp_path / "new")
    finally:
        store.close()


def test_demo_data_fills_the_window_through_the_worker(qtbot, empty_store):
    window = MainWindow(empty_store, unlocked_by="created")
    qtbot.addWidget(window)
    window.show()
    op = window.generate_demo(60)
    with qtbot.waitSignal(op.finished, timeout=60000):
        pass
    qtbot.waitUntil(lambda: window.model.rowCount() == 60, timeout=10000)
    assert window.count_label.text() == "60 customers"
    window.close()


def test_setup_wizard_without_keyring_needs_a_matching_passphrase(qtbot, tmp_path, monkeypatch):
    monkeypatch.delenv("REGULARS_PASSPHRASE", raising=False)
    wizard = SetupDialog(tmp_path / "store", offer_demo=True)
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.protect
    assert page.needs_passphrase
    page.passphrase.setText("short")
    assert not page.isComplete()
    page.passphrase.setText("Zoé's long passphrase")
    page.confirm.setText("Zoé's long passphrase!")
    assert not page.isComplete() and "differ" in page.hint.text()
    page.confirm.setText("Zoé's long passphrase")
    assert page.isComplete()
    wizard.next()
    assert wizard.store is not None and wizard.want_demo
    assert "AGE-SECRET-KEY-1" in wizard.kit_page.view.text.toPlainText()
    assert not wizard.kit_page.isComplete()
    saved = tmp_path / "kit.txt"
    wizard.kit_page.view.save_to(str(saved))
    assert vault.parse_recovery_key(saved.read_text()) in wizard.kit_text
    wizard.kit_page.confirm.setChecked(True)
    assert wizard.kit_page.isComplete()
    wizard.store.close()
    # the passphrase chosen in the wizard opens the store
    vault.unlock(tmp_path / "store", passphrase="Zoé's long passphrase")


def test_unlock_dialog_says_wrong_passphrase_then_opens(qtbot, demo_store):
    dialog = UnlockDialog(demo_store.data_dir)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.passphrase, "nope")
    dialog.accept()
    assert dialog.store is None
    assert "Wrong passphrase" in dialog.error.text()
    dialog.passphrase.setText(PASSPHRASE)
    dialog.accept()
    assert dialog.store is not None
    dialog.store.close()


def test_settings_dialog_saves_and_refuses_bad_values(qtbot, empty_store):
    dialog = SettingsDialog(empty_store)
    qtbot.addWidget(dialog)
    dialog.fields["business_name"].setText("Gästehaus Lindenhof")
    dialog.fields["timezone"].setCurrentText("Europe/Berlin")
    dialog.fields["currency"].setText("EURO")
    assert not dialog.save()
    assert "Currency" in dialog.error.text()
    assert settings_svc.get(empty_store, "business_name") != "Gästehaus Lindenhof"
    dialog.fields["currency"].setText("EUR")
    assert dialog.save()
    assert settings_svc.get(empty_store, "business_name") == "Gästehaus Lindenhof"
    assert settings_svc.get(empty_store, "timezone") == "Europe/Berlin"
