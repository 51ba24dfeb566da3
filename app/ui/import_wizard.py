"""The import wizard: choose a file (sheet, encoding), check the column mapping against a
preview, see every problem a dry run finds, import with progress and cancel, undo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.services import importing
from app.services import settings as settings_svc
from app.services.errors import ServiceError
from app.services.import_mapping import FIELDS
from app.services.store import Store
from app.ui.worker import run_in_background

ENCODINGS = ("", "utf-8", "utf-16", "cp1252", "latin-1", "gb18030", "big5", "shift_jis")


class RowsModel(QAbstractTableModel):
    """A read-only table of strings (preview rows, problems)."""

    def __init__(self, headers: list[str], rows: list[list[Any]], parent=None) -> None:
        # parented: a view does not own its model, and a collected model crashes the view
        super().__init__(parent)
        self.headers = headers
        self.rows = rows

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(self.headers)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            row = self.rows[index.row()]
            return str(row[index.column()]) if index.column() < len(row) else ""
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section] if section < len(self.headers) else ""
        return None


def _field_label(field: str | None) -> str:
    return field.replace("_", " ") if field else ""


class ChooseFilePage(QWizardPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle(self.tr("Choose a file"))
        self.setSubTitle(
            self.tr("CSV, Excel (.xlsx) or vCard (.vcf): a contact list or a booking export.")
        )
        self.path_edit = QLineEdit(objectName="importFile")
        self.path_edit.setPlaceholderText(self.tr("File to import"))
        browse = QPushButton(self.tr("Browse…"), objectName="browseButton")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.sheet_combo = QComboBox(objectName="sheetCombo")
        self.sheet_combo.setEnabled(False)
        self.encoding_combo = QComboBox(objectName="encodingCombo")
        for enc in ENCODINGS:
            self.encoding_combo.addItem(enc or self.tr("Detect automatically"), enc)
        self.region_edit = QLineEdit(objectName="regionEdit")
        self.region_edit.setMaxLength(2)
        self.region_edit.setText(settings_svc.get(wizard.store, "default_region"))
        self.date_combo = QComboBox(objectName="dateOrderCombo")
        self.date_combo.addItem(self.tr("Decide from each column"), "")
        self.date_combo.addItem(self.tr("Day first (31/12/2024)"), "dmy")
        self.date_combo.addItem(self.tr("Month first (12/31/2024)"), "mdy")
        self.detected = QLabel(objectName="detectedLabel")
        self.error = QLabel(objectName="fileError")
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(self.tr("File"), row)
        form.addRow(self.tr("Sheet"), self.sheet_combo)
        form.addRow(self.tr("Encoding"), self.encoding_combo)
        form.addRow(self.tr("Country for phone numbers"), self.region_edit)
        form.addRow(self.tr("Dates like 03/04/2024"), self.date_combo)
        form.addRow("", self.detected)
        form.addRow("", self.error)
        self.path_edit.editingFinished.connect(self._load)
        self.path_edit.textChanged.connect(self.completeChanged)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("Import customers"),
            "",
            self.tr("Customer files (*.csv *.txt *.tsv *.xlsx *.vcf);;All files (*)"),
        )
        if path:
            self.path_edit.setText(path)
            self._load()

    def _load(self) -> bool:
        path = self.path_edit.text().strip()
        self.error.clear()
        if not path:
            return False
        sheet = self.sheet_combo.currentText() or None
        try:
            preview = importing.preview_file(
                self.wiz.store,
                path,
                sheet=sheet if self.sheet_combo.isEnabled() else None,
                encoding=self.encoding_combo.currentData() or None,
                default_region=self.region_edit.text().strip() or None,
            )
        except ServiceError as exc:
            self.error.setText(str(exc))
            self.wiz.preview = None
            return False
        self.wiz.preview = preview
        self.sheet_combo.blockSignals(True)
        self.sheet_combo.clear()
        self.sheet_combo.addItems(preview.sheets)
        if preview.sheet:
            self.sheet_combo.setCurrentText(preview.sheet)
        self.sheet_combo.setEnabled(bool(preview.sheets))
        self.sheet_combo.blockSignals(False)
        kind = {"csv": "CSV", "xlsx": "Excel", "vcard": "vCard"}.get(preview.kind, preview.kind)
        parts = [kind]
        if preview.encoding:
            parts.append(self.tr("encoding {0}").format(preview.encoding))
        if preview.profile != "generic":
            parts.append(self.tr("looks like a {0} export").format(preview.profile))
        self.detected.setText(", ".join(parts))
        return True

    def isComplete(self) -> bool:
        return bool(self.path_edit.text().strip())

    def validatePage(self) -> bool:
        return self._load()


class MappingPage(QWizardPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle(self.tr("Check the columns"))
        self.setSubTitle(
            self.tr("Each column of the file and the field it fills. Change any that are wrong.")
        )
        self.table = QTableWidget(0, 4, objectName="mappingTable")
        self.table.setHorizontalHeaderLabels(
            [self.tr("Column"), self.tr("Field"), self.tr("Found by"), self.tr("Examples")]
        )
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.preview = QTableView(objectName="previewTable")
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 3)
        layout.addWidget(QLabel(self.tr("First rows of the file")))
        layout.addWidget(self.preview, 2)

    def initializePage(self) -> None:
        preview = self.wiz.preview
        if preview is None:
            return
        self.table.setRowCount(len(preview.mapping))
        how_text = {
            "header": self.tr("column name"),
            "content": self.tr("the values"),
            "user": self.tr("your choice"),
            "": "",
        }
        for r, m in enumerate(preview.mapping):
            item = QTableWidgetItem(m.header)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, 0, item)
            combo = QComboBox()
            combo.addItem(self.tr("(not imported)"), "")
            for f in FIELDS:
                combo.addItem(_field_label(f), f)
            combo.setCurrentIndex(max(0, combo.findData(m.field or "")))
            self.table.setCellWidget(r, 1, combo)
            found = QTableWidgetItem(how_text.get(m.how, m.how))
            found.setFlags(found.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, 2, found)
            examples = [row[m.index] for row in preview.rows[:3] if m.index < len(row)]
            ex = QTableWidgetItem(" · ".join(e for e in examples if e))
            ex.setFlags(ex.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, 3, ex)
        self.table.resizeColumnToContents(0)
        self.table.setColumnWidth(1, 170)
        self.preview.setModel(RowsModel(preview.headers, preview.rows, self))

    def field_of(self, row: int) -> str:
        combo = self.table.cellWidget(row, 1)
        return combo.currentData() if isinstance(combo, QComboBox) else ""

    def set_field(self, row: int, field: str) -> None:
        combo = self.table.cellWidget(row, 1)
        combo.setCurrentIndex(combo.findData(field))

    def validatePage(self) -> bool:
        preview = self.wiz.preview
        if preview is None:
            return False
        overrides = {}
        for r, m in enumerate(preview.mapping):
            chosen = self.field_of(r)
            if chosen != (m.field or ""):
                overrides[str(m.index + 1)] = chosen or "ignore"
        self.wiz.overrides = overrides
        return True


class CheckPage(QWizardPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle(self.tr("Problems"))
        self.setSubTitle(self.tr("A trial run: nothing is written yet."))
        self.summary = QLabel(objectName="checkSummary")
        self.summary.setWordWrap(True)
        self.problems = QTableView(objectName="problemsTable")
        self.problems.horizontalHeader().setStretchLastSection(True)
        self.skip = QCheckBox(
            self.tr("Skip the rows with errors and import the rest"), objectName="skipBadRows"
        )
        self.skip.toggled.connect(self.completeChanged)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.problems, 1)
        layout.addWidget(self.skip)
        self.report: importing.ImportReport | None = None
        self.running = False

    def initializePage(self) -> None:
        self.report = None
        self.summary.setText(self.tr("Checking the file…"))
        self.problems.setModel(RowsModel([], [], self))
        self.running = True
        self.completeChanged.emit()
        options = self.wiz.options(dry_run=True)
        self.wiz.operation = run_in_background(
            self,
            lambda progress, cancelled: importing.import_file(
                self.wiz.store,
                self.wiz.preview.path,
                options,
                progress=progress,
                cancelled=cancelled,
            ),
            with_progress=True,
            label=self.tr("Checking the file…"),
            on_done=self._done,
            on_error=self._failed,
        )

    def _done(self, report: importing.ImportReport) -> None:
        self.running = False
        self.report = report
        if report.cancelled:
            self.summary.setText(self.tr("Check cancelled."))
        else:
            self.summary.setText(
                self.tr(
                    "{0} rows: {1} new customers, {2} updated, {3} unchanged, {4} bookings; "
                    "{5} rows with errors."
                ).format(
                    report.rows,
                    report.created,
                    report.updated,
                    report.unchanged,
                    report.bookings_created,
                    report.skipped,
                )
                + (
                    "\n" + self.tr("Not imported: {0}").format(", ".join(report.unmapped_columns))
                    if report.unmapped_columns
                    else ""
                )
            )
        self.problems.setModel(
            RowsModel(
                [self.tr("Row"), self.tr("Column"), self.tr("Kind"), self.tr("Problem")],
                [
                    [
                        p.row,
                        p.column,
                        self.tr("error") if p.severity == "error" else self.tr("warning"),
                        p.message,
                    ]
                    for p in report.problems
                ],
                self,
            )
        )
        self.problems.resizeColumnToContents(0)
        self.problems.resizeColumnToContents(2)
        self.completeChanged.emit()

    def _failed(self, message: str) -> None:
        self.running = False
        self.summary.setText(message)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        if self.running or self.report is None or self.report.cancelled:
            return False
        return not self.report.skipped or self.skip.isChecked()


class RunPage(QWizardPage):
    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self.setTitle(self.tr("Import"))
        self.setSubTitle(self.tr("Customers and bookings are written in one step."))
        self.summary = QLabel(objectName="importSummary")
        self.summary.setWordWrap(True)
        self.undo_button = QPushButton(self.tr("Undo this import"), objectName="undoButton")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self._undo)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.undo_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        self.report: importing.ImportReport | None = None
        self.running = False

    def initializePage(self) -> None:
        self.summary.setText(self.tr("Importing…"))
        self.running = True
        self.completeChanged.emit()
        options = self.wiz.options(dry_run=False)
        self.wiz.operation = run_in_background(
            self,
            lambda progress, cancelled: importing.import_file(
                self.wiz.store,
                self.wiz.preview.path,
                options,
                progress=progress,
                cancelled=cancelled,
            ),
            with_progress=True,
            label=self.tr("Importing…"),
            on_done=self._done,
            on_error=self._failed,
        )

    def _done(self, report: importing.ImportReport) -> None:
        self.running = False
        self.report = report
        self.wiz.report = report
        if report.cancelled:
            self.summary.setText(self.tr("Import cancelled: nothing was changed."))
        elif report.batch is None:
            self.summary.setText(self.tr("Nothing was imported: some rows have errors."))
        else:
            self.summary.setText(
                self.tr(
                    "Imported: {0} new customers, {1} updated, {2} bookings; {3} rows skipped."
                ).format(report.created, report.updated, report.bookings_created, report.skipped)
            )
            self.undo_button.setEnabled(True)
        self.completeChanged.emit()

    def _failed(self, message: str) -> None:
        self.running = False
        self.summary.setText(self.tr("The import failed: {0}").format(message))
        self.completeChanged.emit()

    def _undo(self) -> None:
        if self.report is None or self.report.batch is None:
            return
        self.undo_button.setEnabled(False)
        batch = self.report.batch
        self.wiz.operation = run_in_background(
            self,
            lambda: importing.undo_import(self.wiz.store, batch),
            label=self.tr("Undoing the import…"),
            on_done=self._undone,
            on_error=self._undo_refused,
        )

    def _undo_refused(self, message: str) -> None:
        # nothing was changed: the person can fix the cause (a merge) and try again
        self.summary.setText(self.tr("Not undone: {0}").format(message))
        self.undo_button.setEnabled(True)

    def _undone(self, result: importing.UndoReport) -> None:
        text = self.tr("Import undone: {0} customers and {1} bookings removed.").format(
            result.customers_deleted, result.bookings_deleted
        )
        if result.kept_later_changes:
            text += "\n" + "\n".join(result.kept_later_changes)
        self.summary.setText(text)
        self.wiz.undone = True

    def isComplete(self) -> bool:
        return not self.running


class ImportWizard(QWizard):
    """Import customers and bookings from a file, step by step."""

    def __init__(self, store: Store, parent: QWidget | None = None, path: str | None = None):
        super().__init__(parent)
        self.setObjectName("importWizard")
        self.setWindowTitle(self.tr("Import customers"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.store = store
        self.preview: importing.FilePreview | None = None
        self.overrides: dict[str, str] = {}
        self.report: importing.ImportReport | None = None
        self.undone = False
        self.operation = None
        self.choose_page = ChooseFilePage(self)
        self.mapping_page = MappingPage(self)
        self.check_page = CheckPage(self)
        self.run_page = RunPage(self)
        for page in (self.choose_page, self.mapping_page, self.check_page, self.run_page):
            self.addPage(page)
        self.setButtonText(QWizard.WizardButton.CommitButton, self.tr("Import"))
        self.check_page.setCommitPage(True)
        self.resize(820, 560)
        if path:
            self.choose_page.path_edit.setText(str(Path(path)))
            self.choose_page._load()

    def options(self, *, dry_run: bool) -> importing.ImportOptions:
        page = self.choose_page
        return importing.ImportOptions(
            sheet=self.preview.sheet if self.preview else None,
            encoding=page.encoding_combo.currentData() or None,
            mapping=dict(self.overrides),
            default_region=page.region_edit.text().strip() or None,
            date_order=page.date_combo.currentData() or None,
            dry_run=dry_run,
            skip_bad_rows=self.check_page.skip.isChecked(),
            parallel=True,
        )


def open_import_dialog(parent: QWidget | None, store: Store, path: str | None = None):
    """Show the import wizard (non-blocking); returns it."""
    wizard = ImportWizard(store, parent, path)
    wizard.show()
    return wizard
