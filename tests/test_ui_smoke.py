"""The window opens on a real store and finds a customer as you type."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLineEdit, QTableView

from app.ui.main_window import MainWindow


def test_typing_in_search_box_lists_matches(qtbot, demo_store, tmp_path):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    window = MainWindow(demo_store)
    qtbot.addWidget(window)
    window.show()
    box = window.findChild(QLineEdit, "searchBox")
    table = window.findChild(QTableView, "customerTable")
    qtbot.keyClicks(box, "lefevre zoe")
    qtbot.waitUntil(lambda: table.model().rowCount() > 0)
    names = [table.model().index(r, 0).data() for r in range(table.model().rowCount())]
    assert "Zoé Lefèvre" in names
    window.close()
