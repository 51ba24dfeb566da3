"""The export dialog: what to export, in which format, where; progress off the UI thread.

Opened from File ▸ Export… (:func:`open_export_dialog`) and File ▸ Export year for
accountant… (:func:`open_year_export_dialog`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.services import exporting
from app.services import settings as settings_svc
from app.services import tags as tags_svc
from app.services.exporting import CustomerSelection, ExportResult
from app.services.store import Store
from app.ui.worker import Operation, run_in_background

KINDS = ("customers", "year", "vcard", "record")


def _slug(text: str) -> str:
    return re.sub(r"[^\w-]+", "-", text, flags=re.UNICODE).strip("-").lower() or "regulars"


class ExportDialog(QDialog):
    """Choose what to export (customer list, yearly workbook, vCards, one customer's record),
    the format and the file; the export runs in the background with progress and cancel."""

    def __init__(
        self,
        store: Store,
        parent: QWidget | None = None,
        *,
        kind: str = "customers",
        customer_ids: Sequence[int] | None = None,
        customer_id: int | None = None,
        year: int | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.customer_ids = list(customer_ids) if customer_ids is not None else None
        self.operation: Operation | None = None
        self.last_result: ExportResult | None = None
        self.setObjectName("exportDialog")
        self.setWindowTitle(self.tr("Export"))
        self.business = settings_svc.get(store, "business_name")
        self._build(customer_id, year)
        self.kind_box.setCurrentIndex(KINDS.index(kind))
        self._kind_changed()
        self.resize(560, 0)

    # ------------------------------------------------------------------ layout

    def _build(self, customer_id: int | None, year: int | None) -> None:
        form = QFormLayout()
        self.kind_box = QComboBox(objectName="exportKind")
        for label in (
            self.tr("Customer list"),
            self.tr("Year for the accountant (bookings, payments, summary)"),
            self.tr("Contact cards (vCard)"),
            self.tr("One customer's full record"),
        ):
            self.kind_box.addItem(label)
        form.addRow(self.tr("What"), self.kind_box)

        self.scope_box = QComboBox(objectName="exportScope")
        self.scope_box.addItem(self.tr("Everyone"), "all")
        if self.customer_ids is not None:
            self.scope_box.addItem(
                self.tr("The customers shown in the window (%n)", "", len(self.customer_ids)),
                "view",
            )
        self.scope_box.addItem(self.tr("Customers with the tag…"), "tag")
        self.scope_box.addItem(self.tr("Customers found by a search…"), "query")
        if self.customer_ids is not None:
            self.scope_box.setCurrentIndex(1)
        self.tag_box = QComboBox(objectName="exportTag")
        for tag in tags_svc.list_tags(self.store):
            self.tag_box.addItem(tag.name)
        self.query_edit = QLineEdit(objectName="exportQuery")
        self.query_edit.setPlaceholderText(self.tr("Name, phone digits or email…"))
        self.archived_box = QCheckBox(self.tr("Include archived customers"))
        self.archived_box.setObjectName("exportArchived")
        self.scope_row = QWidget()
        scope_layout = QHBoxLayout(self.scope_row)
        scope_layout.setContentsMargins(0, 0, 0, 0)
        scope_layout.addWidget(self.scope_box)
        scope_layout.addWidget(self.tag_box)
        scope_layout.addWidget(self.query_edit, 1)
        form.addRow(self.tr("Which"), self.scope_row)
        form.addRow("", self.archived_box)

        self.year_spin = QSpinBox(objectName="exportYear")
        self.year_spin.setRange(1990, 2200)
        self.year_spin.setValue(year or dt.date.today().year - 1)
        form.addRow(self.tr("Year"), self.year_spin)

        self.customer_spin = QSpinBox(objectName="exportCustomerId")
        self.customer_spin.setRange(1, 2_000_000_000)
        if customer_id is not None:
            self.customer_spin.setValue(customer_id)
        form.addRow(self.tr("Customer number"), self.customer_spin)

        self.format_box = QComboBox(objectName="exportFormat")
        self.delimiter_box = QComboBox(objectName="exportDelimiter")
        for value, label in (
            (",", self.tr("Comma (,)")),
            (";", self.tr("Semicolon (;)")),
            ("tab", self.tr("Tab")),
            ("|", self.tr("Pipe (|)")),
        ):
            self.delimiter_box.addItem(label, value)
        fmt_row = QWidget()
        fmt_layout = QHBoxLayout(fmt_row)
        fmt_layout.setContentsMargins(0, 0, 0, 0)
        fmt_layout.addWidget(self.format_box)
        fmt_layout.addWidget(self.delimiter_box)
        fmt_layout.addStretch(1)
        form.addRow(self.tr("Format"), fmt_row)

        self.path_edit = QLineEdit(objectName="exportPath")
        self.browse_button = QPushButton(self.tr("Choose…"), objectName="exportBrowse")
        where = QWidget()
        where_layout = QHBoxLayout(where)
        where_layout.setContentsMargins(0, 0, 0, 0)
        where_layout.addWidget(self.path_edit, 1)
        where_layout.addWidget(self.browse_button)
        form.addRow(self.tr("Save as"), where)

        self.status = QLabel(objectName="exportStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_button = QPushButton(self.tr("Export"), objectName="exportButton")
        self.export_button.setDefault(True)
        self.open_folder_button = QPushButton(self.tr("Open folder"), objectName="openFolderButton")
        self.open_folder_button.hide()
        close = QPushButton(self.tr("Close"), objectName="exportClose")
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_folder_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.form = form

        self.kind_box.currentIndexChanged.connect(self._kind_changed)
        self.scope_box.currentIndexChanged.connect(self._scope_changed)
        self.format_box.currentIndexChanged.connect(self._format_changed)
        self.browse_button.clicked.connect(self._browse)
        self.export_button.clicked.connect(self.start_export)
        self.open_folder_button.clicked.connect(self._open_folder_clicked)
        close.clicked.connect(self.reject)
        self.year_spin.valueChanged.connect(lambda _v: self._suggest_path())
        self.customer_spin.valueChanged.connect(lambda _v: self._suggest_path())

    def _show_row(self, widget: QWidget, visible: bool) -> None:
        self.form.setRowVisible(widget, visible)

    @property
    def kind(self) -> str:
        return KINDS[self.kind_box.currentIndex()]

    @property
    def fmt(self) -> str:
        return self.format_box.currentData() or ""

    def _kind_changed(self) -> None:
        kind = self.kind
        lists = kind in ("customers", "vcard")
        self._show_row(self.scope_row, lists)
        self._show_row(self.archived_box, lists)
        self._show_row(self.year_spin, kind == "year")
        self._show_row(self.customer_spin, kind == "record")
        query_index = self.scope_box.findData("query")
        # vCards are for a chosen group of people: everyone, the window's view or a tag
        if query_index >= 0:
            self.scope_box.model().item(query_index).setEnabled(kind == "customers")
            if kind != "customers" and self.scope_box.currentIndex() == query_index:
                self.scope_box.setCurrentIndex(0)
        self.format_box.blockSignals(True)
        self.format_box.clear()
        for fmt in exporting.FORMATS[kind]:
            self.format_box.addItem(fmt.upper(), fmt)
        self.format_box.blockSignals(False)
        self._scope_changed()
        self._format_changed()

    def _scope_changed(self) -> None:
        scope = self.scope_box.currentData()
        self.tag_box.setVisible(scope == "tag")
        self.query_edit.setVisible(scope == "query")

    def _format_changed(self) -> None:
        self.delimiter_box.setVisible(self.fmt == "csv")
        self._suggest_path()

    def _folder(self) -> Path:
        current = self.path_edit.text().strip()
        if current:
            return Path(current).expanduser().parent
        docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        return Path(docs) if docs and Path(docs).is_dir() else Path.home()

    def _suggest_path(self) -> None:
        today = dt.date.today().isoformat()
        names = {
            "customers": f"customers-{today}",
            "year": f"{_slug(self.business)}-{self.year_spin.value()}",
            "vcard": f"contacts-{today}",
            "record": f"customer-{self.customer_spin.value()}-record",
        }
        self.path_edit.setText(str(self._folder() / f"{names[self.kind]}.{self.fmt}"))

    def _browse(self) -> None:
        fmt = self.fmt
        chosen, _filter = QFileDialog.getSaveFileName(
            self,
            self.tr("Export to"),
            self.path_edit.text(),
            self.tr("%1 files (*.%2)").replace("%1", fmt.upper()).replace("%2", fmt),
        )
        if chosen:
            if not chosen.lower().endswith("." + fmt):
                chosen += "." + fmt
            self.path_edit.setText(chosen)

    # ------------------------------------------------------------------ running

    def _selection(self) -> CustomerSelection:
        scope = self.scope_box.currentData()
        archived = self.archived_box.isChecked()
        if scope == "view":
            return CustomerSelection(ids=self.customer_ids, include_archived=archived)
        if scope == "tag":
            return CustomerSelection(tag=self.tag_box.currentText(), include_archived=archived)
        if scope == "query":
            return CustomerSelection(query=self.query_edit.text(), include_archived=archived)
        return CustomerSelection(include_archived=archived)

    def _job(self, path: Path) -> Any:
        kind = self.kind
        if kind == "customers":
            return partial(
                exporting.export_customers,
                self.store,
                path,
                self._selection(),
                delimiter=self.delimiter_box.currentData(),
            )
        if kind == "year":
            return partial(exporting.export_year, self.store, self.year_spin.value(), path)
        if kind == "vcard":
            sel = self._selection()
            return partial(
                exporting.export_vcards,
                self.store,
                path,
                ids=sel.ids,
                tag=sel.tag,
                include_archived=sel.include_archived,
            )
        customer_id = self.customer_spin.value()

        def record(progress: Any = None, cancelled: Any = None) -> ExportResult:
            return exporting.export_record(self.store, customer_id, path)

        return record

    def confirm_overwrite(self, path: Path) -> bool:
        answer = QMessageBox.question(
            self,
            self.tr("Replace file?"),
            self.tr("%1 already exists. Replace it?").replace("%1", path.name),
        )
        return answer == QMessageBox.StandardButton.Yes

    def start_export(self) -> None:
        text = self.path_edit.text().strip()
        if not text:
            self._say(self.tr("Choose where to save the file."), error=True)
            return
        searching = self.kind == "customers" and self.scope_box.currentData() == "query"
        if searching and not self.query_edit.text().strip():
            self._say(self.tr("Type what to search for."), error=True)
            return
        path = Path(text).expanduser()
        if path.exists() and not self.confirm_overwrite(path):
            return
        self.export_button.setEnabled(False)
        self.open_folder_button.hide()
        self._say(self.tr("Exporting…"))
        self.operation = run_in_background(
            self,
            self._job(path),
            with_progress=True,
            label=self.tr("Exporting to %1…").replace("%1", path.name),
            on_done=self._done,
            on_error=self._failed,
        )

    def _done(self, result: ExportResult) -> None:
        self.export_button.setEnabled(True)
        self.last_result = result
        n = result.rows
        # "%n" plurals read right in English only with a translation loaded; say "1 x" plainly
        what = {
            "customers": self.tr("1 customer") if n == 1 else self.tr("%n customers", "", n),
            "year": self.tr("%1 bookings and %2 payments")
            .replace("%1", f"{result.details.get('bookings', 0):,}")
            .replace("%2", f"{result.details.get('payments', 0):,}"),
            "vcard": self.tr("1 contact card") if n == 1 else self.tr("%n contact cards", "", n),
            "record": self.tr("the customer's full record"),
        }[result.kind]
        self._say(self.tr("Exported %1 to %2.").replace("%1", what).replace("%2", str(result.path)))
        self.open_folder_button.show()
        self.open_folder_button.setFocus()

    def _failed(self, message: str) -> None:
        self.export_button.setEnabled(True)
        if self.operation is not None and self.operation.cancelled_by_user:
            self._say(self.tr("Cancelled. No file was written."))
        else:
            self._say(self.tr("Export failed: %1").replace("%1", message), error=True)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status.setStyleSheet("color: #b00020;" if error else "")
        self.status.setText(text)

    def _open_folder_clicked(self) -> None:
        if self.last_result is not None:
            self.open_folder(Path(self.last_result.path).resolve().parent)

    def open_folder(self, folder: Path) -> None:
        """Show the folder in the system's file manager."""
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def open_export_dialog(
    parent: QWidget | None,
    store: Store,
    *,
    customer_ids: Sequence[int] | None = None,
    customer_id: int | None = None,
    kind: str = "customers",
) -> ExportDialog:
    """File ▸ Export…: pass the window's current (filtered, sorted) customer ids so the
    list can be exported as shown, and the selected customer for the full-record export."""
    dialog = ExportDialog(
        store, parent, kind=kind, customer_ids=customer_ids, customer_id=customer_id
    )
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def open_year_export_dialog(
    parent: QWidget | None, store: Store, year: int | None = None
) -> ExportDialog:
    """File ▸ Export year for accountant…: the dialog set to last year's workbook."""
    dialog = ExportDialog(store, parent, kind="year", year=year)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
