"""The duplicates screens as a person uses them: scan, compare, pick, merge, undo."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QPushButton, QRadioButton

from app.services import customers, duplicates, merging
from app.services.customers import CustomerInput
from app.services.store import Store
from app.ui.duplicates_review import (
    MergeReview,
    open_duplicates_dialog,
    open_merge_review,
    open_merges_dialog,
    possible_duplicates_widget,
)


def _pair(store: Store) -> tuple[int, int]:
    a = customers.add_customer(
        store,
        CustomerInput(first_name="J-P", last_name="Dupont", phones=["06 52 52 72 72"]),
    ).id
    b = customers.add_customer(
        store,
        CustomerInput(
            first_name="Jean-Pierre",
            last_name="DUPONT",
            phones=["+33652527272"],
            birthday="1980-04-09",
            emails=["jp.dupont@orange.fr"],
        ),
    ).id
    return a, b


def test_scan_dialog_lists_groups_and_merges_the_picked_values(qtbot, empty_store) -> None:
    a, b = _pair(empty_store)
    dialog = open_duplicates_dialog(None, empty_store)
    qtbot.addWidget(dialog)
    groups = dialog.findChild(QListView, "duplicateGroups")
    qtbot.waitUntil(lambda: groups.model().rowCount() == 1, timeout=20000)
    summary = dialog.findChild(QLabel, "duplicatesSummary")
    assert summary.text() == "Groups of probable duplicates: 1 (among 2 profiles)"
    review = dialog.findChild(MergeReview, "mergeReview")
    assert review is not None
    assert "same phone +33 6 52 52 72 72" in review.findChild(QLabel, "duplicateReasons").text()
    # keep the short-name profile, but take the long name from the other one
    qtbot.mouseClick(review.findChild(QRadioButton, f"keep_{a}"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(review.findChild(QRadioButton, f"name_{b}"), Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(dialog.changed):
        qtbot.mouseClick(review.findChild(QPushButton, "mergeButton"), Qt.MouseButton.LeftButton)
    assert f"Merged into #{a}" in review.findChild(QLabel, "mergeStatus").text()
    kept = customers.get_profile(empty_store, a)
    assert kept.display_name == "Jean-Pierre DUPONT"
    assert kept.birthday.isoformat() == "1980-04-09"
    assert customers.get_profile(empty_store, b).merged_into_id == a
    # changed their mind: undo puts both profiles back
    undo = review.findChild(QPushButton, "undoMergeButton")
    qtbot.waitUntil(undo.isVisible)
    qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    assert customers.get_profile(empty_store, a).display_name == "J-P Dupont"
    assert customers.get_profile(empty_store, b).merged_into_id is None


def test_not_the_same_person_is_remembered(qtbot, empty_store) -> None:
    a, b = _pair(empty_store)
    dialog = open_merge_review(None, empty_store, [a, b])
    qtbot.addWidget(dialog)
    button = dialog.findChild(QPushButton, "notDuplicateButton")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert "different people" in dialog.findChild(QLabel, "mergeStatus").text()
    assert duplicates.candidates_for(empty_store, a) == []
    assert duplicates.find_duplicates(empty_store).groups == []


def test_profile_hint_shows_possible_duplicate_and_opens_review(qtbot, empty_store) -> None:
    a, b = _pair(empty_store)
    widget = possible_duplicates_widget(empty_store, a)
    qtbot.addWidget(widget)
    widget.show()
    text = widget.findChild(QLabel, "possibleDuplicatesText").text()
    assert f"Possible duplicate of <b>#{b} Jean-Pierre DUPONT</b>" in text
    assert "same phone +33 6 52 52 72 72" in text
    with qtbot.waitSignal(widget.reviewRequested) as signal:
        qtbot.mouseClick(
            widget.findChild(QPushButton, "reviewDuplicatesButton"), Qt.MouseButton.LeftButton
        )
    assert signal.args == [[a, b]]
    lonely = customers.add_customer(
        empty_store, CustomerInput(first_name="Käthe", last_name="Schröder")
    ).id
    widget.set_customer(lonely)
    assert not widget.isVisible()


def test_past_merges_can_be_undone_latest_first(qtbot, empty_store) -> None:
    a, b = _pair(empty_store)
    c = customers.add_customer(
        empty_store, CustomerInput(first_name="Jean Pierre", last_name="Dupont")
    ).id
    first = merging.merge(empty_store, a, [b])
    second = merging.merge(empty_store, a, [c])
    dialog = open_merges_dialog(None, empty_store)
    qtbot.addWidget(dialog)
    items = dialog.findChild(QListWidget, "mergesList")
    assert items.count() == 2
    assert f"merge {second.merge_id}: #{c} Jean Pierre Dupont into #{a} Jean-Pierre DUPONT" in (
        items.item(0).text()
    )
    undo = dialog.findChild(QPushButton, "undoSelectedMergeButton")
    items.setCurrentRow(1)  # the older one first: refused, with the reason
    qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    status = dialog.findChild(QLabel, "mergesStatus")
    assert f"undo the later merge {second.merge_id} first" in status.text()
    items.setCurrentRow(0)
    qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    assert f"Merge {second.merge_id} undone" in status.text()
    assert items.count() == 1
    qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    assert items.count() == 0
    assert customers.get_profile(empty_store, b).merged_into_id is None
    assert first.merge_id != second.merge_id
