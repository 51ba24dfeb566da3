"""The customer list as an id-backed table model: it holds only ids and fetches the rows
on screen in blocks, caching them (Anki's browser table). 100,000 customers cost an int
list; sorting and filtering are SQL (``services/customer_list``)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleDataSpan,
    QPersistentModelIndex,
    Qt,
    Signal,
)
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
# rows read with a list query's answer: a tall window shows ~45; more would delay it
FIRST_SCREEN = 60
_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
# plain ints: the span hands out ints, and int == enum costs an enum lookup per cell
_DISPLAY_INT, _ALIGN_INT, _FOREGROUND_INT = int(_DISPLAY), int(_ALIGN), int(_FOREGROUND)
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_GREY = QColor("#888888")
_COUNT_COL = [k for k, _ in COLUMNS].index("booking_count")
_TIP_COLS = frozenset([k for k, _ in COLUMNS].index(k) for k in ("email", "tags"))
CACHE_LIMIT = 5000

_Index = QModelIndex | QPersistentModelIndex
Texts = tuple  # a row's display strings, one per column, then its archived flag


def display_rows(store: Store, ids: Sequence[int], timezone: str) -> dict[int, Texts]:
    """The display texts of ``ids``, keyed by id. Qt-free, so the list query's reader
    thread can prepare the first screenful and the UI thread paints without reading."""
    return {rid: _texts(r, timezone) for rid, r in customer_list.fetch_rows(store, ids).items()}


def first_screen(ids: Sequence[int], keep: int | None) -> Sequence[int]:
    """The ids the table paints first: a block around ``keep`` when it stays in the list
    (the selection is kept and scrolled to), else the top of the list."""
    if keep is not None:
        with contextlib.suppress(ValueError):
            start = max(0, ids.index(keep) - BLOCK // 4)
            return ids[start : start + BLOCK]
    return ids[:FIRST_SCREEN]


def _texts(r: customer_list.ListRow, timezone: str) -> Texts:
    return (
        r.display_name,
        r.phone or "",
        r.email or "",
        r.language or "",
        r.tags or "",
        str(r.booking_count) if r.booking_count else "",
        _date(r.last_visit_at, timezone),
        _date(r.created_at, timezone),
        r.archived,
    )


def _date(value: dt.datetime | None, timezone: str) -> str:
    return to_local(value, timezone).date().isoformat() if value else ""


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
        self._span_layout: dict[int, tuple[int, int, int]] = {}
        self.fetches = 0  # how many block reads the view caused (tests, benchmarks)

    # ---------------------------------------------------------------- content

    def set_ids(self, ids: Sequence[int], rows: dict[int, Texts] | None = None) -> None:
        """Show ``ids``; ``rows`` (from :func:`display_rows`) saves reading them on paint."""
        self.beginResetModel()
        self.ids = list(ids)
        self._cache = dict(rows) if rows else {}
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
            self._cache.update(display_rows(self.store, block, self.timezone))
            self.fetches += 1
            found = self._cache.get(cid)
        return found

    # ---------------------------------------------------------------- Qt model

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def multiData(self, index: _Index, roleDataSpan: QModelRoleDataSpan) -> None:
        # Qt 6's delegate asks for all of a cell's roles in one call: one Python call per
        # painted cell instead of seven to data(). It asks for the same roles in the same
        # order every time, so where each one sits is learnt once per span length (and
        # checked on every call) instead of walking the span for every cell.
        span = roleDataSpan
        where = self._span_layout.get(len(span))
        if where is None or span[where[0]].role() != _DISPLAY_INT:
            where = self._learn_layout(span)
            if where is None:  # not a painting request: answer role by role
                for item in span:
                    item.setData(self.data(index, item.role()))
                return
        row = self._row(index.row())
        if row is None:
            return
        display, foreground, align = where
        column = index.column()
        span[display].setData(row[column])
        # the delegate reuses its span between cells: a role left unset keeps the last
        # cell's value, so every role this model answers is set or cleared
        if foreground >= 0:
            if row[-1]:
                span[foreground].setData(_GREY)
            else:
                span[foreground].clearData()
        if align >= 0:
            if column == _COUNT_COL:
                span[align].setData(_RIGHT)
            else:
                span[align].clearData()

    def _learn_layout(self, span: QModelRoleDataSpan) -> tuple[int, int, int] | None:
        roles = [item.role() for item in span]
        if _DISPLAY_INT not in roles:
            return None

        def at(role: int) -> int:
            return roles.index(role) if role in roles else -1

        where = (at(_DISPLAY_INT), at(_FOREGROUND_INT), at(_ALIGN_INT))
        self._span_layout[len(roles)] = where
        return where

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
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
