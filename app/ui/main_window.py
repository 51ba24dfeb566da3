"""The front-desk window: search box and filter bar over the customer list; the selected
customer's profile, tags, bookings, notes and messages beside it.

The window only composes panes and routes events: the list model, panes, dialogs and undo
commands live in their own modules; every read and write goes through app/services.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import APP_NAME
from app.services import audit, bookings, customer_list, customers, demo
from app.services import settings as settings_svc
from app.services import tags as tags_svc
from app.services.errors import ServiceError
from app.services.store import Store
from app.ui import undo_commands as cmds
from app.ui.booking_dialog import open_booking_dialog
from app.ui.booking_timeline import BookingTimeline
from app.ui.changes import ChangeBus, Changes
from app.ui.communications_pane import CommunicationsPane
from app.ui.customer_dialog import open_customer_dialog
from app.ui.customer_list_model import ID_ROLE, CustomerListModel, display_rows, first_screen
from app.ui.filter_bar import FilterBar
from app.ui.formatting import Formatter
from app.ui.history_pane import HistoryPane
from app.ui.icons import icon
from app.ui.notes_pane import NotesPane
from app.ui.profile_pane import ProfilePane
from app.ui.settings_dialog import open_settings_dialog
from app.ui.tags_pane import TagsPane
from app.ui.worker import LatestQuery, run_in_background

COLUMN_WIDTHS = (140, 140, 165, 48, 110, 40, 84, 84)
# the profile follows the list selection after this pause (well under a glance)
PROFILE_DELAY_MS = 60
MENUS = ("File", "Edit", "Customers", "Bookings", "Tools", "Help")


def ui_settings() -> QSettings:
    """Window layout only (geometry, columns); never secrets, never customer data."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, APP_NAME, "window")


class MainWindow(QMainWindow):
    # for features wired in from outside (app/ui/feature_menus.py)
    profileShown = Signal(object)  # the CustomerProfile on screen, or None
    aboutToClose = Signal()

    def __init__(self, store: Store, unlocked_by: str = "") -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(icon("regulars"))
        self.store = store
        self.unlocked_by = unlocked_by
        self.bus = ChangeBus(self)
        self.undo_stack = QUndoStack(self)
        self.query = LatestQuery(self)
        self.profile_query = LatestQuery(self)
        # tag counts and distinct languages/locations scan the whole store: never on the UI
        # thread (seconds at 100k on a busy machine)
        self.choices_query = LatestQuery(self)
        self.choices = customer_list.FilterChoices()
        self._profile_timer = QTimer(self, singleShot=True, interval=PROFILE_DELAY_MS)
        self._profile_timer.timeout.connect(self._load_profile)
        self._total_stale = True
        self._lists: dict = {}
        self.conf = settings_svc.get_all(store)
        self.fmt = Formatter(self.conf["timezone"], self.conf["language"])
        self.customer_id: int | None = None
        self.profile: customers.CustomerProfile | None = None
        self.sort_key: str | None = None
        self.descending = False
        self.total = 0
        self.operations: list = []
        self.dialog = None  # the dialog opened last (tests and the lead's wiring use it)

        self._build_list()
        self._build_detail()
        splitter = QSplitter(Qt.Orientation.Horizontal, objectName="mainSplitter")
        splitter.addWidget(self.list_side)
        splitter.addWidget(self.detail_side)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter
        self.setCentralWidget(splitter)
        self._build_menus()
        self._build_status()
        self.bus.changed.connect(self._on_changed)
        self.bus.failed.connect(self._show_error)
        self.resize(1400, 860)
        self._restore_layout()
        self._choices_loaded = False
        self._pick_best = False
        self.requery()

    # ------------------------------------------------------------------ building

    def _build_list(self) -> None:
        self.list_side = QWidget()
        layout = QVBoxLayout(self.list_side)
        layout.setContentsMargins(6, 6, 0, 0)
        self.search_box = QLineEdit(objectName="searchBox")
        self.search_box.setPlaceholderText(
            self.tr("Search: name, 3+ phone digits or email  (Ctrl+F)")
        )
        self.search_box.setClearButtonEnabled(True)
        font = self.search_box.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.search_box.setFont(font)
        self.filter_bar = FilterBar()
        self.table = QTableView(objectName="customerTable")
        self.model = CustomerListModel(self.store, self.conf["timezone"], self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        # fixed row height: the view never measures 100k rows
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        for col, width in enumerate(COLUMN_WIDTHS):
            self.table.setColumnWidth(col, width)
        header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        header.setSortIndicatorShown(False)
        self.model.sortRequested.connect(self._sort_requested)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.activated.connect(lambda _index: self.open_current())
        self.table.installEventFilter(self)
        self.search_box.installEventFilter(self)
        self.search_box.textChanged.connect(self._query_changed)
        self.search_box.returnPressed.connect(self.open_current)
        self.filter_bar.changed.connect(self.requery)
        layout.addWidget(self.search_box)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.table, 1)

    def _build_detail(self) -> None:
        self.detail_side = QWidget()
        layout = QVBoxLayout(self.detail_side)
        layout.setContentsMargins(0, 6, 6, 0)
        vertical = QSplitter(Qt.Orientation.Vertical, objectName="detailSplitter")
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(8, 4, 8, 4)
        self.profile_pane = ProfilePane(self.fmt)
        self.tags_pane = TagsPane()
        top_layout.addWidget(self.profile_pane)
        top_layout.addWidget(self.tags_pane)
        top_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(top)
        self.tabs = QTabWidget(objectName="detailTabs")
        self.timeline = BookingTimeline(self.fmt)
        self.notes_pane = NotesPane(self.fmt)
        self.comms_pane = CommunicationsPane(self.fmt)
        self.history_pane = HistoryPane(
            self.fmt, lambda cid, limit: audit.events_for_customer(self.store, cid, limit)
        )
        self.tabs.addTab(self.timeline, self.tr("Bookings"))
        self.tabs.addTab(self.notes_pane, self.tr("Notes"))
        self.tabs.addTab(self.comms_pane, self.tr("Messages"))
        self.tabs.addTab(self.history_pane, self.tr("History"))
        vertical.addWidget(scroll)
        vertical.addWidget(self.tabs)
        vertical.setStretchFactor(0, 1)
        vertical.setStretchFactor(1, 1)
        self.detail_splitter = vertical
        layout.addWidget(vertical)

        self.profile_pane.editRequested.connect(self.edit_customer)
        self.tags_pane.addRequested.connect(lambda n: self._tag(n, True))
        self.tags_pane.removeRequested.connect(lambda n: self._tag(n, False))
        self.timeline.newBookingRequested.connect(self.new_booking)
        self.timeline.statusChangeRequested.connect(self._set_booking_status)
        self.notes_pane.addRequested.connect(self._add_note)
        self.notes_pane.editRequested.connect(self._edit_note)
        self.notes_pane.deleteRequested.connect(self._delete_note)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.menus: dict[str, QMenu] = {}
        titles = {
            "File": self.tr("&File"),
            "Edit": self.tr("&Edit"),
            "Customers": self.tr("&Customers"),
            "Bookings": self.tr("&Bookings"),
            "Tools": self.tr("&Tools"),
            "Help": self.tr("&Help"),
        }
        for key in MENUS:
            self.menus[key.lower()] = bar.addMenu(titles[key])

        def act(menu: str, text: str, slot, shortcut=None, name: str = "") -> QAction:
            action = QAction(text, self)
            if shortcut is not None:
                action.setShortcut(QKeySequence(shortcut))
            if name:
                action.setObjectName(name)
            action.triggered.connect(slot)
            self.menus[menu].addAction(action)
            return action

        self.toolbar = self.addToolBar(self.tr("Main"))
        self.toolbar.setObjectName("mainToolBar")
        self.toolbar.setMovable(False)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._quit_separator = self.menus["file"].addSeparator()
        act("file", self.tr("&Quit"), self.close, QKeySequence.StandardKey.Quit, "quitAction")

        undo = self.undo_stack.createUndoAction(self, self.tr("&Undo"))
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        undo.setObjectName("undoAction")
        redo = self.undo_stack.createRedoAction(self, self.tr("&Redo"))
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        redo.setObjectName("redoAction")
        self.menus["edit"].addAction(undo)
        self.menus["edit"].addAction(redo)

        find = act("customers", self.tr("&Find"), self.focus_search, "Ctrl+F", "findAction")
        find.setIcon(icon("search"))
        new_customer = act(
            "customers", self.tr("&New customer…"), self.new_customer, "Ctrl+N", "newCustomerAction"
        )
        new_customer.setIcon(icon("new-customer"))
        self.edit_action = act(
            "customers",
            self.tr("&Edit customer…"),
            self.edit_customer,
            "Ctrl+E",
            "editCustomerAction",
        )
        self.archive_action = act(
            "customers", self.tr("&Archive customer"), self.toggle_archived, None, "archiveAction"
        )
        self.menus["customers"].addSeparator()
        self.show_archived = act(
            "customers", self.tr("Show archived customers"), self.requery, None, "showArchived"
        )
        self.show_archived.setCheckable(True)
        new_booking = act(
            "bookings", self.tr("&New booking…"), self.new_booking, "Ctrl+B", "newBookingAction"
        )
        new_booking.setIcon(icon("new-booking"))
        settings = act(
            "tools",
            self.tr("&Settings…"),
            self.open_settings,
            QKeySequence.StandardKey.Preferences,
            "settingsAction",
        )
        settings.setIcon(icon("settings"))
        for action in (new_customer, new_booking, settings):
            self.toolbar.addAction(action)
        act("tools", self.tr("Add &demo data…"), self.ask_demo, None, "demoAction")
        act(
            "help",
            self.tr("&Keyboard shortcuts"),
            self.show_shortcuts,
            QKeySequence.StandardKey.HelpContents,
            "shortcutsAction",
        )
        act("help", self.tr("&About {0}").format(APP_NAME), self.show_about, None, "aboutAction")
        self._update_actions()

    def add_action(self, menu: str, action: QAction) -> None:
        """Put another feature's action into a menu: File, Edit, Customers, Bookings, Tools
        or Help (case-insensitive). File actions go above Quit."""
        target = self.menus.get(menu.strip().lower())
        if target is None:
            raise ValueError(f"no menu '{menu}'; menus: {', '.join(MENUS)}")
        if action.parent() is None:
            action.setParent(self)
        if target is self.menus["file"]:
            target.insertAction(self._quit_separator, action)
        else:
            target.addAction(action)

    def _build_status(self) -> None:
        self.count_label = QLabel(objectName="countLabel")
        self.store_label = QLabel(objectName="storeLabel")
        bar = self.statusBar()
        bar.addWidget(self.count_label, 1)
        bar.addPermanentWidget(self.store_label)
        how = {
            "passphrase": self.tr("unlocked with the passphrase"),
            "keyring": self.tr("unlocked by the OS keyring"),
            "recovery": self.tr("unlocked with the recovery key"),
            "created": self.tr("new store"),
        }.get(self.unlocked_by, self.tr("unlocked"))
        self.store_label.setText(
            self.tr("Encrypted store, {0} · {1}").format(how, str(self.store.data_dir))
        )
        self.store_label.setToolTip(str(self.store.data_dir))

    # ------------------------------------------------------------------ list

    def current_filter(self) -> customer_list.ListFilter:
        flt = self.filter_bar.current(self.search_box.text())
        if self.show_archived.isChecked():
            flt = customer_list.ListFilter(**{**flt.__dict__, "include_archived": True})
        return flt

    def requery(self, *_args) -> None:
        """Re-run the list query off the UI thread; the newest request wins."""
        flt = self.current_filter()
        sort = self.sort_key if (self.sort_key or not flt.query.strip()) else None
        store = self.store
        include_archived = flt.include_archived

        key = (flt, sort, self.descending)
        cached = None if flt.query.strip() or self._total_stale else self._lists.get(key)
        if cached is not None:
            # clearing the search box shows the full list again at once
            self.query.cancel()
            self.table.horizontalHeader().setSortIndicatorShown(sort is not None)
            self._show_ids((cached, None, None, None))
            return
        # the count stays owed until a result carries it: a newer request may supersede
        # this one before it runs, and then the newer one must count
        count = self._total_stale or include_archived != getattr(self, "_total_archived", False)
        self._total_archived = include_archived
        descending = self.descending
        timezone = self.model.timezone
        keep = self.customer_id

        def work():
            ids = customer_list.list_ids(store, flt, sort=sort, descending=descending)
            if not count:
                total = None
            elif flt.is_empty():
                total = len(ids)  # the unfiltered list is the count
            else:
                total = customer_list.count_all(store, include_archived)
            # the rows the table will paint first, read here so the UI thread only paints
            rows = display_rows(store, first_screen(ids, keep), timezone)
            return ids, total, key, rows

        self.table.horizontalHeader().setSortIndicatorShown(sort is not None)
        self.count_label.setText(self.tr("Searching…"))
        self.query.submit(work, self._show_ids, self._show_error)

    def _show_ids(self, result) -> None:
        ids, total, key, rows = result
        if key is not None and not key[0].query.strip():
            # unfiltered-by-text lists are kept (ids only) until the next write
            if len(self._lists) > 8:
                self._lists.clear()
            self._lists[key] = ids
        if total is not None:
            self.total = total
            self._total_stale = False
        keep = self.customer_id
        self.model.set_ids(ids, rows)
        row = self.model.row_of(keep) if keep is not None else -1
        if row < 0 and ids and self._pick_best and self.search_box.text().strip():
            row = 0  # a new search shows its best match straight away
        self._pick_best = False
        if row >= 0:
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        self._update_count()
        if not self._choices_loaded:
            # after the first list is on screen, so the two scans do not compete
            self._choices_loaded = True
            self.refresh_choices()
            # the ~100k objects of start-up (Qt wrappers, SQLAlchemy, the list) live as
            # long as the window; left to the collector, each full collection walks them
            # all and stalls the window mid-typing (measured 70 ms at 100k customers)
            gc.freeze()

    def _update_count(self) -> None:
        shown = self.model.rowCount()
        if shown == self.total and not self.search_box.text().strip():
            text = self.tr("{0} customers").format(f"{self.total:,}")
        else:
            text = self.tr("{0} of {1} customers shown").format(f"{shown:,}", f"{self.total:,}")
        if self.search_box.text().strip() and shown >= customer_list.SEARCH_LIMIT:
            text += " · " + self.tr("best {0} matches").format(customer_list.SEARCH_LIMIT)
        self.count_label.setText(text)

    def _query_changed(self, text: str) -> None:
        if text.strip() and self.sort_key is not None and not getattr(self, "_had_query", False):
            self.sort_key = None  # a new search ranks by relevance
            self.descending = False
            self.table.horizontalHeader().setSortIndicatorShown(False)
        self._had_query = bool(text.strip())
        self._pick_best = True
        self.requery()

    def _sort_requested(self, key: str, descending: bool) -> None:
        self.sort_key, self.descending = key, descending
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.requery()

    def _row_changed(self, current, _previous=None) -> None:
        cid = self.model.data(current, ID_ROLE) if current.isValid() else None
        if cid == self.customer_id:
            return
        if cid is None:
            self.show_customer(None)
            return
        # read the profile off the UI thread, a moment after the selection settles: typing
        # or arrowing fast loads only the profile you stop at, and the list paints first
        self.customer_id = cid
        self.profile_query.cancel()
        self._profile_timer.start()

    def _load_profile(self) -> None:
        cid, store = self.customer_id, self.store
        if cid is None:
            return
        self.profile_query.submit(
            lambda: customers.get_profile(store, cid), self._show_profile, self._show_error
        )

    def refresh_choices(self) -> None:
        """Reload the filter bar's choices and the known tags, off the UI thread."""
        store = self.store
        fmt, currency = self.fmt, self.conf["currency"]

        def work():
            # babel loads its locale and time-zone data on first use (~0.4 s): do it here
            # rather than on the UI thread when the first profile shows an amount
            fmt.money(1, currency)
            return customer_list.filter_choices(store), tags_svc.list_tags(store)

        self.choices_query.submit(work, self._show_choices, self._show_error)

    def _show_choices(self, result) -> None:
        self.choices, known = result
        self.filter_bar.set_choices(self.choices)
        self.tags_pane.set_known_tags(known)

    # ------------------------------------------------------------------ detail

    def show_customer(self, customer_id: int | None) -> None:
        self._profile_timer.stop()
        self.profile_query.cancel()
        self.customer_id = customer_id
        try:
            profile = customers.get_profile(self.store, customer_id) if customer_id else None
        except ServiceError:
            profile = None
        self._show_profile(profile)

    def _show_profile(self, profile: customers.CustomerProfile | None) -> None:
        if profile is not None and profile.id != self.customer_id:
            return
        self.profile = p = profile
        self.profile_pane.show_profile(p)
        self.tags_pane.show_tags(p.tags if p else None)
        self.timeline.show_bookings(p.bookings if p else None)
        self.notes_pane.show_notes(p.id if p else None, p.notes if p else [])
        self.comms_pane.show_messages(p.communications if p else None)
        self.history_pane.show_customer(p.id if p else None)
        self._update_actions()
        self.profileShown.emit(p)

    def _update_actions(self) -> None:
        has = self.profile is not None
        self.edit_action.setEnabled(has)
        self.archive_action.setEnabled(has)
        if has and self.profile.archived_at:
            self.archive_action.setText(self.tr("Bring back from &archive"))
        else:
            self.archive_action.setText(self.tr("&Archive customer"))

    def _on_changed(self, changes: Changes) -> None:
        """Refresh only the panes a write touched."""
        cid = changes.customer_id
        self._profile_timer.stop()
        self.profile_query.cancel()
        self._lists.clear()
        if changes.list and cid is None:
            self._total_stale = True
        if changes.settings:
            self.conf = settings_svc.get_all(self.store)
            self.fmt.timezone, self.fmt.locale = self.conf["timezone"], self.conf["language"]
            self.model.timezone = self.conf["timezone"]
            self.model.set_ids(self.model.ids)
            self.show_customer(self.customer_id)
            self.table.viewport().update()
            return
        if cid is not None and cid == self.customer_id:
            try:
                p = customers.get_profile(self.store, cid)
            except ServiceError:
                self.show_customer(None)
                p = None
            if p is not None:
                self.profile = p
                if changes.profile or changes.bookings:
                    self.profile_pane.show_profile(p)
                if changes.tags or changes.profile:
                    self.tags_pane.show_tags(p.tags)
                if changes.notes:
                    self.profile_pane.show_notes(p.notes)
                    self.notes_pane.show_notes(p.id, p.notes)
                if changes.bookings:
                    self.timeline.show_bookings(p.bookings)
                    self.comms_pane.show_messages(p.communications)
                if changes.communications:
                    self.comms_pane.show_messages(p.communications)
                self.history_pane.show_customer(p.id)  # every audited write adds to it
                self._update_actions()
        if changes.list or changes.tags or changes.bookings:
            if cid is not None:
                self.model.refresh_customer(cid)
            # membership or order may have changed (archived, renamed, tagged under a filter)
            self.requery()
        if changes.tags or changes.bookings:
            self.refresh_choices()

    # ------------------------------------------------------------------ actions

    def focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def open_current(self) -> None:
        """Enter: open the selected customer (the first match when none is selected)."""
        if self.model.rowCount() == 0:
            return
        index = self.table.currentIndex()
        if not index.isValid():
            index = self.model.index(0, 0)
            self.table.setCurrentIndex(index)
        self.show_customer(self.model.data(index, ID_ROLE))
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def select_customer(self, customer_id: int) -> None:
        """Show a customer, putting them in the list if the current search hides them."""
        row = self.model.row_of(customer_id)
        if row >= 0:
            self.table.setCurrentIndex(self.model.index(row, 0))
            self.table.scrollTo(
                self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter
            )
        self.show_customer(customer_id)

    def new_customer(self) -> None:
        dialog = open_customer_dialog(self, self.store)

        def created() -> None:
            self.customer_id = dialog.created_id
            self.show_customer(dialog.created_id)
            self._total_stale = True
            self.requery()

        dialog.accepted.connect(created)
        self.dialog = dialog

    def edit_customer(self) -> None:
        if self.profile is None:
            return
        before = cmds.profile_input(self.profile)
        cid = self.profile.id

        def submit(after: customers.CustomerInput) -> None:
            cmds.push(
                self.undo_stack, cmds.EditCustomerCommand(self.store, self.bus, cid, before, after)
            )

        self.dialog = open_customer_dialog(self, self.store, self.profile, submit)

    def toggle_archived(self) -> None:
        if self.profile is None:
            return
        archived = self.profile.archived_at is None
        try:
            customers.set_archived(self.store, self.profile.id, archived)
        except ServiceError as exc:
            self._show_error(str(exc))
            return
        self._total_stale = True
        self.bus.emit(Changes(self.profile.id, profile=True, list=True))

    def new_booking(self) -> None:
        name = self.profile.display_name if self.profile else ""
        locations = self.choices.locations
        dialog = open_booking_dialog(self, self.store, self.customer_id, name, locations)

        def booked() -> None:
            result = dialog.result_
            if result is None:
                return
            if result.customer_created:
                self._total_stale = True
            if result.customer_created or result.customer_id != self.customer_id:
                self.customer_id = result.customer_id
                self.show_customer(result.customer_id)
                self.requery()
            self.bus.emit(Changes(result.customer_id, bookings=True, list=True))
            self.tabs.setCurrentWidget(self.timeline)

        dialog.accepted.connect(booked)
        self.dialog = dialog

    def open_settings(self) -> None:
        dialog = open_settings_dialog(self, self.store)
        dialog.accepted.connect(lambda: self.bus.emit(Changes(settings=True)))
        self.dialog = dialog

    def _set_booking_status(self, booking_id: int, status: str) -> None:
        try:
            bookings.set_status(self.store, booking_id, status)
        except ServiceError as exc:
            self._show_error(str(exc))
            return
        self.bus.emit(Changes(self.customer_id, bookings=True, list=True))

    def _push(self, command) -> bool:
        try:
            cmds.push(self.undo_stack, command)
        except ServiceError as exc:
            self._show_error(str(exc))
            return False
        return True

    def _tag(self, name: str, adding: bool) -> None:
        if self.customer_id is not None:
            self._push(cmds.TagCommand(self.store, self.bus, self.customer_id, name, adding))

    def _add_note(self, text: str, alert: bool, pinned: bool) -> None:
        if self.customer_id is not None:
            self._push(
                cmds.AddNoteCommand(self.store, self.bus, self.customer_id, text, alert, pinned)
            )

    def _edit_note(self, note, values: dict) -> None:
        self._push(cmds.EditNoteCommand(self.store, self.bus, note, **values))

    def _delete_note(self, note) -> None:
        self._push(cmds.DeleteNoteCommand(self.store, self.bus, note))

    # ------------------------------------------------------------------ demo data

    def ask_demo(self) -> None:
        answer = QMessageBox.question(
            self,
            self.tr("Demo data"),
            self.tr("Add 2,000 made-up customers with bookings and notes to this store?"),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.generate_demo(2000)

    def generate_demo(self, count: int = 2000):
        """Fill the store with demo customers on a worker thread, with progress."""
        store = self.store

        def work(progress, cancelled):
            return demo.generate(store, customers=count, progress=progress, cancelled=cancelled)

        def done(_result) -> None:
            self._total_stale = True
            self.refresh_choices()
            self.requery()

        op = run_in_background(
            self,
            work,
            with_progress=True,
            label=self.tr("Creating demo customers…"),
            on_done=done,
        )
        self.operations.append(op)
        return op

    # ------------------------------------------------------------------ messages, help

    def _show_error(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)
        box = QMessageBox(QMessageBox.Icon.Warning, APP_NAME, message, parent=self)
        box.setObjectName("errorBox")
        box.open()

    def show_shortcuts(self) -> None:
        rows = [
            ("Ctrl+F", self.tr("search (typing in the list searches too)")),
            ("Esc", self.tr("clear the search")),
            ("Enter", self.tr("open the selected customer")),
            ("Ctrl+N", self.tr("new customer")),
            ("Ctrl+E", self.tr("edit the customer")),
            ("Ctrl+B", self.tr("new booking")),
            ("Ctrl+Z / Ctrl+Shift+Z", self.tr("undo / redo edits, tags and notes")),
        ]
        text = (
            "<table>"
            + "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in rows)
            + "</table>"
        )
        QMessageBox.information(self, self.tr("Keyboard shortcuts"), text)

    def show_about(self) -> None:
        from app import __version__

        QMessageBox.about(
            self,
            self.tr("About {0}").format(APP_NAME),
            self.tr("{0} {1}: the customer book for a guesthouse or salon.").format(
                APP_NAME, __version__
            ),
        )

    # ------------------------------------------------------------------ keys, layout

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if watched is self.search_box and key == Qt.Key.Key_Escape:
                self.search_box.clear()
                return True
            if watched is self.search_box and key == Qt.Key.Key_Down:
                self.open_current()
                return True
            if watched is self.table:
                if key == Qt.Key.Key_Escape:
                    self.search_box.clear()
                    self.focus_search()
                    return True
                text = event.text()
                plain = not (
                    event.modifiers()
                    & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
                )
                if plain and text and text.isprintable() and not text.isspace():
                    # typing in the list goes to the search box (like a mail client)
                    self.search_box.setFocus(Qt.FocusReason.OtherFocusReason)
                    self.search_box.setText(self.search_box.text() + text)
                    return True
        return super().eventFilter(watched, event)

    def _restore_layout(self) -> None:
        s = ui_settings()
        if s.value("geometry"):
            self.restoreGeometry(s.value("geometry"))
        if s.value("state"):
            self.restoreState(s.value("state"))
        if s.value("splitter"):
            self.splitter.restoreState(s.value("splitter"))
        if s.value("detailSplitter"):
            self.detail_splitter.restoreState(s.value("detailSplitter"))
        if s.value("columns"):
            self.table.horizontalHeader().restoreState(s.value("columns"))
            self.table.horizontalHeader().setSortIndicatorShown(False)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not getattr(self, "_sized", False):
            self._sized = True
            QTimer.singleShot(0, self._first_sizes)

    def _first_sizes(self) -> None:
        s = ui_settings()
        if not s.value("splitter") or not s.value("detailSplitter"):
            if not s.value("splitter"):
                width = self.splitter.width()
                self.splitter.setSizes([int(width * 0.56), width - int(width * 0.56)])
            if not s.value("detailSplitter"):
                height = self.detail_splitter.height()
                self.detail_splitter.setSizes([int(height * 0.5), height - int(height * 0.5)])

    def save_layout(self) -> None:
        s = ui_settings()
        s.setValue("geometry", self.saveGeometry())
        s.setValue("state", self.saveState())
        s.setValue("splitter", self.splitter.saveState())
        s.setValue("detailSplitter", self.detail_splitter.saveState())
        s.setValue("columns", self.table.horizontalHeader().saveState())
        s.sync()

    def closeEvent(self, event) -> None:
        self.aboutToClose.emit()
        running = [op for op in self.operations if op.thread.isRunning()]
        for op in running:
            op.cancel()
            op.wait()
        self.save_layout()
        self.query.close()
        self.profile_query.close()
        self.choices_query.close()
        gc.unfreeze()  # what the window held may now be garbage: let the collector see it
        super().closeEvent(event)
