"""The customer list as an id-backed table model: it holds only ids and fetches the rows
on screen in blocks, caching them (Anki's browser table). 100,000 customers cost an int
list; sorting and filtering are SQL (``services/customer_list``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont

from app.services import customer_list
from app.services.store import Store
from app.services.timeutil import to_local

# (sort key in services/customer_list.SORT_COLUMNS, header)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("language", "Language"),
    ("tags", "Tags"),
    ("booking_count", "Bookings"),
    ("last_visit", "Last booking"),
    ("created", "Created"),
)
ID_ROLE = Qt.ItemDataRole.UserRole + 1
BLOCK = 120
CACHE_LIMIT = 5000

_Index = QModelIndex | QPersistentModelIndex


class CustomerListModel(QAbstractTableModel):
    """Rows are customers; ``ID_ROLE`` gives a row's customer id."""

    # a header click asks the window to re-run the query in SQL: (column key, descending)
    sortRequested = Signal(str, bool)

    def __init__(self, store: Store, timezone: str = "UTC", parent=None) -> None:
        super().__init__(parent)
        self.store = store
        self.timezone = timezone
        self.ids: list[int] = []
        self._row_of: dict[int, int] | None = None
        self._cache: dict[int, customer_list.ListRow] = {}
        self.fetches = 0  # how many block reads the view caused (tests, benchmarks)

    # ---------------------------------------------------------------- content

    def set_ids(self, ids: Sequence[int]) -> None:
        self.beginResetModel()
        self.ids = list(ids)
        self._row_of = None
        self._cache.clear()
        self.endResetModel()

    def row_of(self, customer_id: int) -> int:
        """The row showing ``customer_id``, or -1."""
        if self._row_of is None:
            self._row_of = {cid: r for r, cid in enumerate(self.ids)}
        return self._row_of.get(customer_id, -1)

    def id_at(self, row: int) -> int | None:
        return self.ids[row] if 0 <= row < len(self.ids) else None

    def refresh_customer(self, customer_id: int) -> None:
        """Forget a cached row so it is read again when painted."""
        self._cache.pop(customer_id, None)
        row = self.row_of(customer_id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _row(self, row: int) -> customer_list.ListRow | None:
        cid = self.ids[row]
        found = self._cache.get(cid)
        if found is None:
            if len(self._cache) > CACHE_LIMIT:
                self._cache.clear()
            start = max(0, row - BLOCK // 4)
            block = [i for i in self.ids[start : start + BLOCK] if i not in self._cache]
            self._cache.update(customer_list.fetch_rows(self.store, block))
            self.fetches += 1
            found = self._cache.get(cid)
        return found

    # ---------------------------------------------------------------- Qt model

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == ID_ROLE:
            return self.ids[index.row()]
        if role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.TextAlignmentRole,
            Qt.ItemDataRole.ForegroundRole,
            Qt.ItemDataRole.FontRole,
        ):
            return None
        key = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if key == "booking_count":
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        row = self._row(index.row())
        if row is None:
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor("#888888") if row.archived else None
        if role == Qt.ItemDataRole.FontRole:
            if key == "name" and row.archived:
                font = QFont()
                font.setItalic(True)
                return font
            return None
        value = self._display(row, key)
        if role == Qt.ItemDataRole.ToolTipRole:
            return value if key in ("tags", "email") and value else None
        return value

    def _display(self, row: customer_list.ListRow, key: str) -> str:
        if key == "name":
            return row.display_name
        if key == "phone":
            return row.phone or ""
        if key == "email":
            return row.email or ""
        if key == "language":
            return row.language or ""
        if key == "tags":
            return row.tags or ""
        if key == "booking_count":
            return str(row.booking_count) if row.booking_count else ""
        if key == "last_visit":
            return self._date(row.last_visit_at)
        if key == "created":
            return self._date(row.created_at)
        return ""

    def _date(self, value: dt.datetime | None) -> str:
        return to_local(value, self.timezone).date().isoformat() if value else ""

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.tr(COLUMNS[section][1])
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if 0 <= column < len(COLUMNS):
            self.sortRequested.emit(COLUMNS[column][0], order == Qt.SortOrder.DescendingOrder)
