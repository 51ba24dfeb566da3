"""A customer's bookings: upcoming first, then past stays grouped by year (newest year
first), oldest to newest within each group; status in colour and words, money owed."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.booking import BOOKING_STATUSES
from app.ui.formatting import Formatter

STATUS_COLOURS = {
    "requested": "#8d6e00",
    "confirmed": "#1565c0",
    "checked-in": "#00838f",
    "completed": "#2e7d32",
    "cancelled": "#757575",
    "no-show": "#c62828",
}
BOOKING_ID_ROLE = Qt.ItemDataRole.UserRole + 1


class BookingTimeline(QWidget):
    """Bookings of one customer (a handful to a few hundred, so a tree widget is fine)."""

    newBookingRequested = Signal()
    statusChangeRequested = Signal(int, str)

    def __init__(self, formatter: Formatter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bookingTimeline")
        self.fmt = formatter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.summary = QLabel()
        self.new_button = QPushButton(self.tr("New booking…"), objectName="newBookingButton")
        self.new_button.clicked.connect(self.newBookingRequested)
        top.addWidget(self.summary, 1)
        top.addWidget(self.new_button)
        layout.addLayout(top)
        self.tree = QTreeWidget(objectName="bookingTree")
        self.tree.setHeaderLabels(
            [
                self.tr("When"),
                self.tr("Room / service"),
                self.tr("Status"),
                self.tr("Price"),
                self.tr("Due"),
                self.tr("Payments"),
                self.tr("Staff"),
                self.tr("Location"),
                self.tr("Channel"),
            ]
        )
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate((150, 120, 85, 75, 70, 130, 70, 85, 80)):
            self.tree.setColumnWidth(col, width)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        layout.addWidget(self.tree)
        self.show_bookings(None)

    def show_bookings(self, bookings: list[dict] | None, now: dt.datetime | None = None) -> None:
        self.tree.clear()
        self.new_button.setEnabled(bookings is not None)
        if not bookings:
            self.summary.setText(self.tr("No bookings yet.") if bookings is not None else "")
            return
        now = now or dt.datetime.now(dt.UTC)
        upcoming = sorted(
            (b for b in bookings if b["start_at"] >= now and b["status"] not in ("cancelled",)),
            key=lambda b: b["start_at"],
        )
        past = [b for b in bookings if b not in upcoming]
        groups: list[tuple[str, list[dict]]] = []
        if upcoming:
            groups.append((self.tr("Upcoming"), upcoming))
        by_year: dict[int, list[dict]] = {}
        for b in past:
            year = int(self.fmt.day(b["start_at"])[:4])
            by_year.setdefault(year, []).append(b)
        for year in sorted(by_year, reverse=True):
            groups.append((str(year), sorted(by_year[year], key=lambda b: b["start_at"])))
        for title, items in groups:
            header = QTreeWidgetItem([title])
            header.setFirstColumnSpanned(True)
            font = header.font(0)
            font.setBold(True)
            header.setFont(0, font)
            header.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(header)
            header.setFirstColumnSpanned(True)
            for b in items:
                self.tree.addTopLevelItem(self._item(b))
        due = sum(b["balance_minor"] for b in bookings)
        text = self.tr("{0} bookings, {1} upcoming").format(len(bookings), len(upcoming))
        if due:
            currency = bookings[0]["currency"]
            text += " · " + self.tr("due: {0}").format(self.fmt.money(due, currency))
        self.summary.setText(text)

    def _item(self, b: dict) -> QTreeWidgetItem:
        what = b["room"] or b["service"] or ""
        if b["room"] and b["service"]:
            what = f"{b['room']} · {b['service']}"
        when = self.fmt.when(b["start_at"])
        if b["end_at"] and b["kind"] == "stay":
            when = f"{self.fmt.day(b['start_at'])} → {self.fmt.day(b['end_at'])[5:]}"
        paid = ", ".join(
            f"{self.fmt.money(p['amount_minor'], p['currency'])} {p['method']}"
            for p in b["payments"]
        )
        item = QTreeWidgetItem(
            [
                when,
                what,
                self.tr(b["status"]),
                self.fmt.money(b["price_minor"], b["currency"]),
                self.fmt.money(b["balance_minor"], b["currency"]) if b["balance_minor"] else "",
                paid,
                b["staff"] or "",
                b["location"] or "",
                b["channel"] or "",
            ]
        )
        item.setData(0, BOOKING_ID_ROLE, b["id"])
        colour = QColor(STATUS_COLOURS.get(b["status"], "#000000"))
        item.setForeground(2, QBrush(colour))
        font = item.font(2)
        font.setBold(True)
        item.setFont(2, font)
        for col in (3, 4):
            item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if b["balance_minor"]:
            item.setForeground(4, QBrush(QColor("#c62828")))
        if b["status"] in ("cancelled",):
            for col in range(item.columnCount()):
                font = item.font(col)
                font.setStrikeOut(True)
                item.setFont(col, font)
        if b.get("special_requests"):
            item.setToolTip(1, b["special_requests"])
        return item

    def booking_ids(self) -> list[int]:
        out = []
        for i in range(self.tree.topLevelItemCount()):
            bid = self.tree.topLevelItem(i).data(0, BOOKING_ID_ROLE)
            if bid is not None:
                out.append(bid)
        return out

    def rows_text(self) -> list[list[str]]:
        """What is on screen, row by row (group headers are one-cell rows)."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            cells = [item.text(c) for c in range(self.tree.columnCount())]
            while cells and not cells[-1]:
                cells.pop()
            out.append(cells)
        return out

    def _menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        bid = item.data(0, BOOKING_ID_ROLE) if item else None
        if bid is None:
            return
        menu = QMenu(self)
        for status in BOOKING_STATUSES:
            action = menu.addAction(self.tr("Mark as {0}").format(self.tr(status)))
            action.triggered.connect(
                lambda _=False, s=status: self.statusChangeRequested.emit(bid, s)
            )
        menu.exec(self.tree.viewport().mapToGlobal(pos))
