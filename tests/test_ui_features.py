"""Every capability is reachable from the main window's menus, as a user finds it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QWidget

from app.ui import worker
from app.ui.feature_menus import install_features
from app.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, demo_store, tmp_path):
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    w = MainWindow(demo_store)
    install_features(w)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.restored_away = True  # no automatic backup into a folder the test never chose
    w.close()


ACTIONS = {
    "importAction": "Import",
    "exportAction": "Export",
    "exportYearAction": "accountant",
    "backupAction": "Back up",
    "restoreAction": "Restore",
    "duplicatesAction": "duplicates",
    "mergesAction": "merges",
    "draftsAction": "Messages",
    "templatesAction": "templates",
}


def test_menus_offer_every_capability(window):
    for name, words in ACTIONS.items():
        action = window.findChild(QAction, name)
        assert action is not None, name
        assert words.lower() in action.text().replace("&", "").lower()
        assert action.isEnabled()


@pytest.mark.parametrize("name", ["exportYearAction", "draftsAction", "templatesAction"])
def test_menu_items_open_their_screens(qtbot, window, name):
    before = {w for w in window.findChildren(QDialog) if w.isVisible()}
    window.findChild(QAction, name).trigger()
    qtbot.waitUntil(
        lambda: any(w.isVisible() and w not in before for w in window.findChildren(QDialog))
    )
    for dialog in window.findChildren(QDialog):
        if dialog.isVisible() and dialog not in before:
            dialog.reject()
    # closing a screen mid-work cancels its background job; none may outlive the test
    qtbot.waitUntil(lambda: not worker._running, timeout=30000)


def test_profile_shows_possible_duplicate_hint(qtbot, window):
    window.show_customer(1)  # the demo's Jean-Pierre Dupont, same phone as customer 2
    hint = window.findChild(QWidget, "possibleDuplicates")
    qtbot.waitUntil(lambda: hint.isVisible())
    assert "2" in " ".join(w.text() for w in hint.findChildren(QWidget) if hasattr(w, "text"))
