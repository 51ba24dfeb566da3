"""The Qt binding must not leak references to None (PySide6 6.12.0 did, and crashed)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel


def test_qt_calls_do_not_leak_none(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("Zoé")
    # a leak of one reference per call would show as ~2000; allow for unrelated noise
    assert before - sys.getrefcount(None) < 100
