"""The front-desk window driven as a user would: type, click, press keys, read the screen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QStyleOptionViewItem,
    QTableView,
    QTabWidget,
    QTreeWidget,
    QWidget,
)

from app.services import customers
from app.ui.customer_list_model import COLUMNS
from app.ui.main_window import MainWindow

NAME, TAGS = 0, [k for k, _ in COLUMNS].index("tags")


@pytest.fixture
def ui_settings(tmp_path):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qs"))
    return tmp_path / "qs"


@pytest.fixture
def window(qtbot, demo_store, ui_settings):
    win = MainWindow(demo_store, unlocked_by="passphrase")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(lambda: win.model.rowCount() > 0 and not win.choices_query.busy)
    yield win
    win.close()


def table_names(win) -> list[str]:
    model = win.findChild(QTableView, "customerTable").model()
    return [model.index(r, NAME).data() for r in range(model.rowCount())]


def search(qtbot, win, text: str) -> None:
    box = win.findChild(QLineEdit, "searchBox")
    box.clear()
    if text.isascii():
        qtbot.keyClicks(box, text)
    else:  # QTest only types ASCII keys; an input method inserts other text
        box.insert(text)
    qtbot.waitUntil(lambda: win.count_label.text() != win.tr("Searching…") and not win.query.busy)


def profile_name(win) -> str:
    return win.findChild(QWidget, "profilePane").findChild(QLabel, "profileName").text()


def test_object_names_from_the_design(window):
    for name in (
        "searchBox",
        "customerTable",
        "profilePane",
        "bookingTimeline",
        "notesPane",
        "tagsPane",
        "communicationsPane",
    ):
        assert window.findChild(QWidget, name) is not None, name
    assert window.objectName() == "MainWindow"
    assert [m.title().replace("&", "") for m in window.menus.values()] == [
        "File", "Edit", "Customers", "Bookings", "Tools", "Help"
    ]  # fmt: skip


def test_status_bar_counts_and_store_state(window):
    assert window.count_label.text() == "300 customers"
    assert "passphrase" in window.store_label.text()
    assert "Encrypted" in window.store_label.text()


def test_the_count_is_right_when_a_newer_list_request_overtakes_the_one_that_counts(qtbot, window):
    from app.ui.changes import Changes

    customers.add_customer(window.store, customers.CustomerInput(first_name="Neu", last_name="Z"))
    window.bus.emit(Changes(list=True))  # requeries and recounts; overtaken before it runs by…
    window.requery()  # …this one, as when a filter changes right after a write
    qtbot.waitUntil(lambda: not window.query.busy and window.model.rowCount() == 301)
    assert window.count_label.text() == "301 customers"


def test_typing_finds_the_customer_and_shows_alerts_first(qtbot, window):
    search(qtbot, window, "lefevre zoe")
    assert "Zoé Lefèvre" in table_names(window)
    # the best match is opened straight away: profile, alert banner, bookings
    qtbot.waitUntil(lambda: profile_name(window) == "Zoé Lefèvre")
    assert "1 of 300" in window.count_label.text() or "of 300" in window.count_label.text()
    contact = window.profile_pane.contact.text()
    assert "tel:+" in contact and "mailto:" in contact


def test_phone_digits_and_chinese_name(qtbot, window):
    search(qtbot, window, "zhang wei")
    assert "张伟" in table_names(window)
    search(qtbot, window, "0013 8000")
    assert "张伟" in table_names(window)


def test_typing_in_the_list_goes_to_the_search_box_and_esc_clears(qtbot, window):
    table = window.findChild(QTableView, "customerTable")
    table.setFocus()
    qtbot.keyClicks(table, "mul")
    assert window.search_box.text() == "mul"
    assert window.search_box.hasFocus()
    qtbot.waitUntil(lambda: all(n for n in table_names(window)) and window.model.rowCount() < 300)
    qtbot.keyClick(window.search_box, Qt.Key.Key_Escape)
    assert window.search_box.text() == ""
    qtbot.waitUntil(lambda: window.model.rowCount() == 300)


def test_ctrl_f_focuses_search(qtbot, window):
    window.table.setFocus()
    action = window.findChild(QAction, "findAction")
    assert action.shortcut().toString() == "Ctrl+F"
    action.trigger()
    assert window.search_box.hasFocus()


def test_pick_a_result_and_see_the_profile(qtbot, window):
    search(qtbot, window, "mul")
    rows = window.model.rowCount()
    assert rows >= 2
    second = window.model.index(1, NAME)
    window.table.setCurrentIndex(second)
    qtbot.waitUntil(lambda: profile_name(window) == second.data())
    assert window.timeline.summary.text()  # "N bookings, M upcoming" or "No bookings yet."


def test_add_a_tag_then_undo(qtbot, window):
    search(qtbot, window, "lefevre zoe")
    qtbot.waitUntil(lambda: profile_name(window) == "Zoé Lefèvre")
    before = window.tags_pane.names()
    adder = window.tags_pane.adder
    adder.lineEdit().setFocus()
    adder.lineEdit().insert("Habitué du jeudi")
    qtbot.keyClick(adder.lineEdit(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Habitué du jeudi" in window.tags_pane.names())
    row = window.model.row_of(window.customer_id)
    assert "Habitué du jeudi" in window.model.index(row, TAGS).data()
    window.undo_stack.undo()
    assert window.tags_pane.names() == before
    assert "Habitué du jeudi" not in (window.model.index(row, TAGS).data() or "")
    window.undo_stack.redo()
    assert "Habitué du jeudi" in window.tags_pane.names()


def test_remove_a_tag_by_its_chip(qtbot, window):
    search(qtbot, window, "lefevre zoe")
    qtbot.waitUntil(lambda: profile_name(window) == "Zoé Lefèvre")
    window.tags_pane.addRequested.emit("VIP")
    chip = window.tags_pane.chips["VIP"]
    qtbot.mouseClick(chip, Qt.MouseButton.LeftButton)
    assert "VIP" not in window.tags_pane.names()
    assert "VIP" not in customers.get_profile(window.store, window.customer_id).tags


def test_a_tag_with_an_ampersand_shows_it_on_its_chip(qtbot, window):
    search(qtbot, window, "lefevre zoe")
    qtbot.waitUntil(lambda: profile_name(window) == "Zoé Lefèvre")
    window.tags_pane.addRequested.emit("Friends & Family")
    chip = window.tags_pane.chips["Friends & Family"]
    # a lone '&' would underline the next letter and drop the '&' from the chip
    assert QKeySequence.mnemonic(chip.text()).isEmpty()
    assert "Friends && Family" in chip.text()


def test_add_an_alert_note_and_pin_it(qtbot, window):
    search(qtbot, window, "Jürgen Müller")
    qtbot.waitUntil(lambda: profile_name(window) == "Jürgen Müller")
    pane = window.notes_pane
    window.tabs.setCurrentWidget(pane)
    qtbot.keyClicks(pane.editor, "Allergic to hazelnuts")
    pane.new_alert.setChecked(True)
    qtbot.mouseClick(pane.add_button, Qt.MouseButton.LeftButton)
    banner = window.profile_pane.alert_banner
    assert banner.isVisible()
    assert "Allergic to hazelnuts" in window.profile_pane.alert_text.text()
    assert pane.select_note("Allergic to hazelnuts")
    qtbot.mouseClick(pane.pin_button, Qt.MouseButton.LeftButton)
    assert any(t.startswith("⚠ ★ Allergic to hazelnuts") for t in pane.texts())
    window.undo_stack.undo()  # unpin
    assert any(t.startswith("⚠ Allergic to hazelnuts") for t in pane.texts())
    window.undo_stack.undo()  # the note goes away, and the banner with it if it was alone
    assert not any("hazelnuts" in t for t in pane.texts())
    assert "hazelnuts" not in window.profile_pane.alert_text.text()


def test_create_a_booking_from_the_window(qtbot, window):
    search(qtbot, window, "Jürgen Müller")
    qtbot.waitUntil(lambda: profile_name(window) == "Jürgen Müller")
    window.findChild(QAction, "newBookingAction").trigger()
    dialog = window.dialog
    assert dialog.existing.isChecked()
    dialog.kind.setCurrentIndex(dialog.kind.findData("appointment"))
    qtbot.keyClicks(dialog.service, "Farbe & Schnitt")
    qtbot.keyClicks(dialog.price, "85.00")
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted
    rows = window.timeline.rows_text()
    assert ["Upcoming"] in rows
    booked = [r for r in rows if len(r) > 1 and r[1] == "Farbe & Schnitt"]
    assert booked and booked[0][2] == "confirmed" and "85.00" in booked[0][3]


def test_booking_for_a_new_contact_creates_the_profile(qtbot, window):
    window.findChild(QAction, "newBookingAction").trigger()
    dialog = window.dialog
    dialog.new.setChecked(True)
    qtbot.keyClicks(dialog.first_name, "Mei")
    qtbot.keyClicks(dialog.last_name, "Lin")
    qtbot.keyClicks(dialog.phone, "+86 139 1234 5678")
    qtbot.keyClicks(dialog.room, "Lavande")
    dialog.accept()
    assert dialog.error.text() == ""
    qtbot.waitUntil(lambda: profile_name(window) == "Mei Lin")
    assert any(len(r) > 1 and r[1].startswith("Lavande") for r in window.timeline.rows_text())


def test_booking_dialog_says_what_is_wrong(qtbot, window):
    window.findChild(QAction, "newBookingAction").trigger()
    dialog = window.dialog
    dialog.new.setChecked(True)
    qtbot.keyClicks(dialog.first_name, "Ana")
    qtbot.keyClicks(dialog.phone, "12")
    dialog.accept()
    assert "phone" in dialog.error.text()
    assert dialog.isVisible()


def test_edit_a_field_then_undo_and_redo(qtbot, window):
    search(qtbot, window, "lefevre zoe")
    qtbot.waitUntil(lambda: profile_name(window) == "Zoé Lefèvre")
    cid = window.customer_id
    window.findChild(QAction, "editCustomerAction").trigger()
    dialog = window.dialog
    dialog.first_name.clear()
    dialog.first_name.insert("Zoëlle")
    dialog.city.setText("Lyon")
    dialog.accept()
    assert profile_name(window) == "Zoëlle Lefèvre"
    assert "Lyon" in window.profile_pane.address.text()
    row = window.model.row_of(cid)
    assert window.model.index(row, NAME).data() == "Zoëlle Lefèvre"
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert profile_name(window) == "Zoé Lefèvre"
    assert "Lyon" not in window.profile_pane.address.text()
    assert window.model.index(row, NAME).data() == "Zoé Lefèvre"
    qtbot.keyClick(
        window.table,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert profile_name(window) == "Zoëlle Lefèvre"


def test_edit_dialog_validates_as_you_type(qtbot, window):
    search(qtbot, window, "lefevre zoe")
    qtbot.waitUntil(lambda: profile_name(window) == "Zoé Lefèvre")
    window.edit_customer()
    dialog = window.dialog
    dialog.phones.setText("06 52 52 72 72")
    assert dialog.phone_hint.text() == "+33 6 52 52 72 72"
    dialog.emails.setText("zoe@@example")
    assert "not a valid address" in dialog.email_hint.text()
    dialog.accept()
    assert "email" in dialog.error.text()
    assert dialog.isVisible()


def test_new_customer_warns_about_a_duplicate_phone(qtbot, window):
    window.findChild(QAction, "newCustomerAction").trigger()
    dialog = window.dialog
    qtbot.keyClicks(dialog.first_name, "Wei")
    qtbot.keyClicks(dialog.phones, "+86 138 0013 8000")
    qtbot.waitUntil(lambda: "张伟" in dialog.duplicates.text())
    dialog.accept()
    qtbot.waitUntil(lambda: profile_name(window) == "Wei")


def test_filters_run_in_sql(qtbot, window):
    bar = window.filter_bar
    bar.language.setCurrentIndex(bar.language.findData("de"))
    qtbot.waitUntil(lambda: 0 < window.model.rowCount() < 300)
    col = [k for k, _ in COLUMNS].index("language")
    langs = {window.model.index(r, col).data() for r in range(window.model.rowCount())}
    assert langs == {"de"}
    bar.set_tag("VIP")
    qtbot.waitUntil(lambda: not window.query.busy)
    for r in range(window.model.rowCount()):
        assert "VIP" in window.model.index(r, TAGS).data()
    bar.clear()
    qtbot.waitUntil(lambda: window.model.rowCount() == 300)


def test_sorting_by_a_column_asks_sql(qtbot, window):
    col = [k for k, _ in COLUMNS].index("booking_count")
    window.table.sortByColumn(col, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: window.sort_key == "booking_count" and not window.query.busy)
    counts = [int(window.model.index(r, col).data() or 0) for r in range(20)]
    assert counts == sorted(counts, reverse=True)


def test_list_reads_only_rows_on_screen(window):
    # 300 ids are held; only the blocks the view painted were fetched
    assert len(window.model.ids) == 300
    assert window.model.fetches <= 3


def test_search_results_arrive_with_their_rows(qtbot, window):
    # the reader thread brings the first screenful: painting them reads nothing more
    search(qtbot, window, "lefevre")
    before = window.model.fetches
    window.table.viewport().repaint()
    assert window.model.fetches == before
    assert "Zoé Lefèvre" in table_names(window)


def _painted(window, row: int, column: int) -> QStyleOptionViewItem:
    """What the table's delegate will draw for a cell (text, alignment, colours)."""
    option = QStyleOptionViewItem()
    window.table.itemDelegate().initStyleOption(option, window.model.index(row, column))
    return option


def test_cells_are_painted_with_text_alignment_and_archived_grey(qtbot, window):
    visits = [k for k, _ in COLUMNS].index("booking_count")
    search(qtbot, window, "jurgen muller")
    row = table_names(window).index("Jürgen Müller")
    cell = _painted(window, row, NAME)
    assert cell.text == "Jürgen Müller"
    normal = cell.palette.color(QPalette.ColorRole.Text)
    count = _painted(window, row, visits)
    assert count.text == window.model.index(row, visits).data()
    assert count.displayAlignment & Qt.AlignmentFlag.AlignRight
    assert not (cell.displayAlignment & Qt.AlignmentFlag.AlignRight)
    qtbot.waitUntil(lambda: profile_name(window) == "Jürgen Müller")
    window.findChild(QAction, "archiveAction").trigger()
    window.findChild(QAction, "showArchived").trigger()
    qtbot.waitUntil(lambda: "Jürgen Müller" in table_names(window) and not window.query.busy)
    row = table_names(window).index("Jürgen Müller")
    archived = _painted(window, row, NAME)
    grey = archived.palette.color(QPalette.ColorRole.Text)
    assert grey != normal and grey.name() == "#888888"


def test_add_action_puts_a_feature_in_a_menu(window):
    action = QAction("Import customers…")
    window.add_action("File", action)
    items = [a.text() for a in window.menus["file"].actions()]
    assert items.index("Import customers…") < items.index("&Quit")
    with pytest.raises(ValueError):
        window.add_action("Nowhere", QAction("x"))


def test_layout_is_remembered(qtbot, demo_store, ui_settings):
    first = MainWindow(demo_store)
    qtbot.addWidget(first)
    first.show()
    first.table.setColumnWidth(0, 333)
    first.close()
    second = MainWindow(demo_store)
    qtbot.addWidget(second)
    assert second.table.columnWidth(0) == 333
    second.close()
    saved = (ui_settings / "Regulars" / "window.ini").read_text(errors="replace")
    assert "passphrase" not in saved.lower()


def test_enter_in_the_search_box_opens_the_first_match(qtbot, window):
    window.table.clearSelection()
    window.table.setCurrentIndex(window.model.index(-1, -1))
    search(qtbot, window, "jurgen muller")
    qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    assert window.table.hasFocus()
    qtbot.waitUntil(lambda: profile_name(window) == "Jürgen Müller")


def test_archive_hides_the_customer_and_undo_archive_brings_back(qtbot, window):
    search(qtbot, window, "jurgen muller")
    qtbot.waitUntil(lambda: profile_name(window) == "Jürgen Müller")
    cid = window.customer_id
    window.findChild(QAction, "archiveAction").trigger()
    qtbot.waitUntil(lambda: window.model.row_of(cid) < 0 and not window.query.busy)
    window.findChild(QAction, "showArchived").trigger()
    qtbot.waitUntil(lambda: window.model.row_of(cid) >= 0 and not window.query.busy)
    assert "archived" in window.profile_pane.subtitle.text()
    window.findChild(QAction, "archiveAction").trigger()
    assert "archived" not in window.profile_pane.subtitle.text()


def history_rows(win) -> list[list[str]]:
    tree = win.findChild(QWidget, "historyPane").findChild(QTreeWidget, "historyList")
    items = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    return [[item.text(c) for c in range(4)] for item in items]


def test_history_tab_lists_the_changes_to_the_customer_shown(qtbot, window, monkeypatch):
    reads: list[int] = []
    load = window.history_pane._load
    monkeypatch.setattr(
        window.history_pane, "_load", lambda cid, n: reads.append(cid) or load(cid, n)
    )
    search(qtbot, window, "lefevre zoe")
    qtbot.waitUntil(lambda: profile_name(window) == "Zoé Lefèvre")
    cid = window.customer_id
    window.findChild(QAction, "editCustomerAction").trigger()
    window.dialog.city.setText("Lyon")
    window.dialog.accept()
    assert reads == []  # the tab is not on screen: nothing read for it yet

    tabs = window.findChild(QTabWidget, "detailTabs")
    tabs.setCurrentWidget(window.history_pane)
    qtbot.waitUntil(lambda: bool(history_rows(window)))
    assert reads == [cid]
    newest = history_rows(window)[0]
    assert newest[2] == "Changed profile"
    assert "city: " in newest[3] and newest[3].endswith("→ Lyon")

    # a write to the customer shown appears at once; undo is a change of its own
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: history_rows(window)[0][3].startswith("city: Lyon → "))
    more = window.history_pane.findChild(QLabel, "historyMore")
    assert not more.isVisible()  # all of them are listed
    monkeypatch.setattr(window.history_pane, "LIMIT", 2)
    window.history_pane.refresh()
    assert len(history_rows(window)) == 2 and more.isVisible()
    assert more.text() == "Showing the newest 2 changes."


def test_history_names_an_imports_changes_by_batch(qtbot, window, tmp_path):
    from app.services import importing

    search(qtbot, window, "lefevre zoe")
    qtbot.waitUntil(lambda: profile_name(window) == "Zoé Lefèvre")
    phone = window.profile.phones[0].e164
    (tmp_path / "more.csv").write_text(
        f"Name,Phone,Notes\nZoé Lefèvre,{phone},Prefers the garden room\n", encoding="utf-8"
    )
    report = importing.import_file(window.store, tmp_path / "more.csv")
    assert report.updated == 1
    importing.undo_import(window.store, report.batch)
    window.findChild(QTabWidget, "detailTabs").setCurrentWidget(window.history_pane)
    window.show_customer(window.customer_id)
    qtbot.waitUntil(lambda: len(history_rows(window)) >= 2)
    undone, imported = history_rows(window)[:2]
    assert undone[2] == f"Import undone (batch {report.batch})"
    assert imported[2] == f"Updated by import (batch {report.batch})"
    assert "notes: — → Prefers the garden room" in imported[3]
    # the narrow column is elided: the chosen event's changes are shown in full below it
    tree = window.history_pane.findChild(QTreeWidget, "historyList")
    tree.setCurrentItem(tree.topLevelItem(1))
    details = window.history_pane.findChild(QPlainTextEdit, "historyDetails").toPlainText()
    assert "notes: — → Prefers the garden room" in details.splitlines()
