"""The main window (minimal first cut: search box and result list)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import QLineEdit, QMainWindow, QTableView, QVBoxLayout, QWidget

from app.services import search
from app.services.store import Store


class ResultsModel(QAbstractTableModel):
    HEADERS = ("Name", "Phone", "Email")

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[search.SearchHit] = []

    def set_rows(self, rows: list[search.SearchHit]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(self.HEADERS)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        hit = self.rows[index.row()]
        return (hit.display_name, hit.phone, hit.email)[index.column()]

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.tr(self.HEADERS[section])
        return None


class MainWindow(QMainWindow):
    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.setObjectName("MainWindow")
        self.setWindowTitle(self.tr("Regulars"))
        central = QWidget()
        layout = QVBoxLayout(central)
        self.search_box = QLineEdit(objectName="searchBox")
        self.search_box.setPlaceholderText(self.tr("Name, phone digits or email…"))
        self.table = QTableView(objectName="customerTable")
        self.model = ResultsModel()
        self.table.setModel(self.model)
        layout.addWidget(self.search_box)
        layout.addWidget(self.table)
        self.setCentralWidget(central)
        self.search_box.textChanged.connect(self._search)
        self.resize(900, 600)

    def _search(self, text: str) -> None:
        self.model.set_rows(search.search(self.store, text, limit=200))
