"""The import wizard as a person uses it: pick a file, fix a column, read the problems,
import, undo."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QTableView, QTableWidget, QWizard

from app.services import customers, merging
from app.ui.import_wizard import ImportWizard, open_import_dialog

ROWS = [
    "Nom complet;Tél.;Courriel;Remarque perso",
    "Zoé Lefèvre;06 11 22 72 72;zoe@example.org;VIP",
    "Jürgen Müller;+49 151 23456789;jm@example.org;",
    "Mauvais Numéro;12;;",
]


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "clients.csv"
    path.write_text("\n".join(ROWS), encoding="cp1252")
    return path


def test_wizard_imports_with_a_fixed_column_then_undoes(qtbot, empty_store, tmp_path):
    wizard = open_import_dialog(None, empty_store)
    qtbot.addWidget(wizard)
    qtbot.keyClicks(wizard.findChild(QLineEdit, "importFile"), str(_file(tmp_path)))
    wizard.next()
    assert wizard.currentPage() is wizard.mapping_page
    mapping = wizard.findChild(QTableWidget, "mappingTable")
    headers = [mapping.item(r, 0).text() for r in range(mapping.rowCount())]
    assert headers == ["Nom complet", "Tél.", "Courriel", "Remarque perso"]
    page = wizard.mapping_page
    assert [page.field_of(r) for r in range(4)] == ["full_name", "phone", "email", ""]
    page.set_field(3, "tags")  # the person decides the last column holds tags
    preview = wizard.findChild(QTableView, "previewTable")
    assert preview.model().index(0, 0).data() == "Zoé Lefèvre"

    wizard.next()
    check = wizard.check_page
    qtbot.waitUntil(lambda: check.report is not None, timeout=30000)
    summary = wizard.findChild(QLabel, "checkSummary").text()
    assert "2 new customers" in summary and "1 rows with errors" in summary
    problems = wizard.findChild(QTableView, "problemsTable").model()
    assert problems.index(0, 0).data() == "4" and problems.index(0, 1).data() == "Tél."
    assert not wizard.button(QWizard.WizardButton.CommitButton).isEnabled()
    wizard.findChild(type(check.skip), "skipBadRows").setChecked(True)
    assert wizard.button(QWizard.WizardButton.CommitButton).isEnabled()
    assert customers.count_customers(empty_store) == 0  # the check wrote nothing

    qtbot.mouseClick(wizard.button(QWizard.WizardButton.CommitButton), Qt.MouseButton.LeftButton)
    run = wizard.run_page
    qtbot.waitUntil(lambda: run.report is not None, timeout=30000)
    assert "2 new customers" in wizard.findChild(QLabel, "importSummary").text()
    assert customers.count_customers(empty_store) == 2
    zoe = customers.get_profile(empty_store, 1)
    assert zoe.display_name == "Zoé Lefèvre" and zoe.tags == ["VIP"]

    # merged since: the undo is refused, says why, and can be tried again once unmerged
    merge = merging.merge(empty_store, 1, [2])
    undo = wizard.findChild(QPushButton, "undoButton")
    qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    summary = wizard.findChild(QLabel, "importSummary")
    qtbot.waitUntil(lambda: summary.text().startswith("Not undone"), timeout=30000)
    assert "undo that merge first" in summary.text() and undo.isEnabled()
    assert customers.count_customers(empty_store) == 1  # the merge is intact
    merging.unmerge(empty_store, merge.merge_id)

    qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.undone, timeout=30000)
    assert "undone" in wizard.findChild(QLabel, "importSummary").text()
    assert customers.count_customers(empty_store) == 0


def test_wizard_says_why_a_file_cannot_be_read(qtbot, empty_store, tmp_path):
    bad = tmp_path / "photo.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    wizard = ImportWizard(empty_store, None, str(bad))
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    assert wizard.currentPage() is wizard.choose_page
    assert "PNG image" in wizard.findChild(QLabel, "fileError").text()
