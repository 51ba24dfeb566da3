"""The customer list as an id-backed table model: it holds only ids and fetches the rows
on screen in blocks, caching them (Anki's browser table). 100,000 customers cost an int
list; sorting and filtering are SQL (``services/customer_list``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from app.services import customer_list
from app.services.store import Store
from app.services.timeutil import to_local

# (sort key in services/customer_list.SORT_COLUMNS, header)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("language", "Lang."),
    ("tags", "Tags"),
    ("booking_count", "Visits"),
    ("last_visit", "Last booking"),
    ("created", "Created"),
)
ID_ROLE = Qt.ItemDataRole.UserRole + 1
BLOCK = 120
_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_GREY = QColor("#888888")
_COUNT_COL = [k for k, _ in COLUMNS].index("booking_count")
_TIP_COLS = frozenset([k for k, _ in COLUMNS].index(k) for k in ("email", "tags"))
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
        self._cache: dict[int, tuple] = {}
        self.fetches = 0  # how many block reads the view caused (tests, benchmarks)

    # ---------------------------------------------------------------- content

    def set_ids(self, ids: Sequence[int]) -> None:
        self.beginResetModel()
        self.ids = list(ids)
        self._cache.clear()
        self.endResetModel()

    def row_of(self, customer_id: int) -> int:
        """The row showing ``customer_id``, or -1."""
        # list.index scans in C (~1 ms at 100k); building a dict in Python costs far more
        try:
            return self.ids.index(customer_id)
        except ValueError:
            return -1

    def id_at(self, row: int) -> int | None:
        return self.ids[row] if 0 <= row < len(self.ids) else None

    def refresh_customer(self, customer_id: int) -> None:
        """Forget a cached row so it is read again when painted."""
        self._cache.pop(customer_id, None)
        row = self.row_of(customer_id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _row(self, row: int) -> tuple | None:
        """The row's display strings (computed once per fetch) plus its archived flag."""
        cid = self.ids[row]
        found = self._cache.get(cid)
        if found is None:
            if len(self._cache) > CACHE_LIMIT:
                self._cache.clear()
            start = max(0, row - BLOCK // 4)
            block = [i for i in self.ids[start : start + BLOCK] if i not in self._cache]
            for rid, fetched in customer_list.fetch_rows(self.store, block).items():
                self._cache[rid] = self._texts(fetched)
            self.fetches += 1
            found = self._cache.get(cid)
        return found

    def _texts(self, r: customer_list.ListRow) -> tuple:
        return (
            r.display_name,
            r.phone or "",
            r.email or "",
            r.language or "",
            r.tags or "",
            str(r.booking_count) if r.booking_count else "",
            self._date(r.last_visit_at),
            self._date(r.created_at),
            r.archived,
        )

    # ---------------------------------------------------------------- Qt model

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        # called ~10 times per visible cell per paint: keep every path short
        if role == _DISPLAY:
            row = self._row(index.row())
            return row[index.column()] if row is not None else None
        if role == ID_ROLE:
            return self.ids[index.row()]
        if role == _ALIGN:
            return _RIGHT if index.column() == _COUNT_COL else None
        if role == _FOREGROUND:
            row = self._row(index.row())
            return _GREY if row is not None and row[-1] else None
        if role == _TOOLTIP and index.column() in _TIP_COLS:
            row = self._row(index.row())
            return (row[index.column()] or None) if row is not None else None
        return None

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
