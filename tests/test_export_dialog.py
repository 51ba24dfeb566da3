"""The export dialog driven as a person would: choose, type, click, wait, read the file."""

from __future__ import annotations

import csv
import re
import threading
from pathlib import Path

from openpyxl import load_workbook
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.services import export_files
from app.ui.export_dialog import ExportDialog, open_export_dialog, open_year_export_dialog


def _export(qtbot, dialog: ExportDialog, path: Path) -> None:
    dialog.path_edit.setText(str(path))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    # the export runs in the background: the window is not frozen while it works
    assert not dialog.export_button.isEnabled()
    assert dialog.status.text() == "Exporting…"
    qtbot.waitUntil(lambda: dialog.export_button.isEnabled(), timeout=60_000)


def test_customer_list_as_csv_then_open_the_folder(qtbot, demo_store, tmp_path, monkeypatch):
    dialog = open_export_dialog(None, demo_store)
    qtbot.addWidget(dialog)
    assert dialog.kind_box.currentText() == "Customer list"
    assert [dialog.format_box.itemText(i) for i in range(dialog.format_box.count())] == [
        "XLSX",
        "CSV",
    ]
    dialog.format_box.setCurrentIndex(1)
    assert dialog.path_edit.text().endswith(".csv")
    assert dialog.delimiter_box.isVisibleTo(dialog)
    dialog.delimiter_box.setCurrentIndex(1)  # semicolon
    out = tmp_path / "everyone.csv"
    _export(qtbot, dialog, out)
    assert "Exported 300 customers" in dialog.status.text()
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert len(rows) == 300
    assert any(r["First name"] == "Zoé" and r["Last name"] == "Lefèvre" for r in rows)
    opened = []
    monkeypatch.setattr(dialog, "open_folder", opened.append)
    assert dialog.open_folder_button.isVisibleTo(dialog)
    qtbot.mouseClick(dialog.open_folder_button, Qt.MouseButton.LeftButton)
    assert opened == [tmp_path.resolve()]


def test_the_windows_current_view_keeps_its_order(qtbot, demo_store, tmp_path):
    dialog = ExportDialog(demo_store, None, customer_ids=[5, 3, 4])
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.scope_box.currentText() == "The customers shown in the window (3)"
    out = tmp_path / "view.xlsx"
    _export(qtbot, dialog, out)
    ws = load_workbook(out).active
    assert [r[0] for r in ws.iter_rows(min_row=2, values_only=True)] == [5, 3, 4]


def test_year_for_the_accountant(qtbot, demo_store, tmp_path):
    dialog = open_year_export_dialog(None, demo_store, year=2025)
    qtbot.addWidget(dialog)
    assert dialog.year_spin.isVisibleTo(dialog) and not dialog.scope_row.isVisibleTo(dialog)
    assert dialog.path_edit.text().endswith("-2025.xlsx")
    out = tmp_path / "2025.xlsx"
    _export(qtbot, dialog, out)
    assert load_workbook(out).sheetnames == ["Summary", "Bookings", "Payments"]
    assert re.search(r"Exported [\d,]+ bookings and [\d,]+ payments to ", dialog.status.text())


def test_vcards_of_a_tag_and_a_record_as_json(qtbot, demo_store, tmp_path):
    dialog = ExportDialog(demo_store, None, kind="vcard")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.scope_box.setCurrentIndex(dialog.scope_box.findData("tag"))
    assert dialog.tag_box.isVisible()
    dialog.tag_box.setCurrentText("VIP")
    _export(qtbot, dialog, tmp_path / "vip.vcf")
    assert "contact card" in dialog.status.text()
    assert (tmp_path / "vip.vcf").read_text(encoding="utf-8").startswith("BEGIN:VCARD")
    dialog.kind_box.setCurrentIndex(3)
    dialog.customer_spin.setValue(4)
    dialog.format_box.setCurrentIndex(1)
    assert dialog.path_edit.text().endswith("customer-4-record.json")
    _export(qtbot, dialog, tmp_path / "zoe.json")
    assert '"first_name": "Zoé"' in (tmp_path / "zoe.json").read_text(encoding="utf-8")


def test_errors_are_shown_in_the_dialog(qtbot, demo_store, tmp_path):
    dialog = ExportDialog(demo_store, None, kind="record")
    qtbot.addWidget(dialog)
    dialog.customer_spin.setValue(999_999)
    _export(qtbot, dialog, tmp_path / "nobody.json")
    assert "no customer with id 999999" in dialog.status.text()
    assert not (tmp_path / "nobody.json").exists()


def test_cancel_leaves_no_file(qtbot, demo_store, tmp_path, monkeypatch):
    monkeypatch.setattr(export_files, "STEP", 1)
    dialog = ExportDialog(demo_store, None)
    qtbot.addWidget(dialog)
    original = dialog._job
    midway = threading.Event()
    cancel_pressed = threading.Event()

    def job_held_midway(path):
        fn = original(path)

        def run(progress, cancelled):
            def progress_then_wait(done, total):
                progress(done, total)
                if done and not midway.is_set():
                    # hold the export midway until the person has pressed Cancel
                    midway.set()
                    assert cancel_pressed.wait(30)

            return fn(progress=progress_then_wait, cancelled=cancelled)

        return run

    monkeypatch.setattr(dialog, "_job", job_held_midway)
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "cancelled.xlsx"
    dialog.path_edit.setText(str(out))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(midway.is_set, timeout=60_000)
    progress_dialog = dialog.operation.dialog
    cancel_button = progress_dialog.findChild(QPushButton)
    assert cancel_button.text() == "Cancel"
    qtbot.mouseClick(cancel_button, Qt.MouseButton.LeftButton)
    cancel_pressed.set()
    qtbot.waitUntil(lambda: dialog.export_button.isEnabled(), timeout=60_000)
    assert dialog.status.text() == "Cancelled. No file was written."
    assert list(folder.iterdir()) == []
