"""Finding and merging duplicate profiles: the scan dialog, the side-by-side review, and
the small "possible duplicate of …" hint the profile pane shows.

Entry points for the window:

- :func:`open_duplicates_dialog` — Tools ▸ Find duplicates…: scans in the background
  (progress, cancel), lists the groups, reviews the selected one.
- :func:`open_merge_review` — one group side by side (from the profile hint).
- :func:`possible_duplicates_widget` — the hint for the profile pane; call
  ``set_customer(id)`` after each save or selection.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.services import customers, duplicates, merging
from app.services.customers import CustomerProfile
from app.services.errors import ServiceError
from app.services.store import Store
from app.ui.worker import run_in_background

_Index = QModelIndex | QPersistentModelIndex


def _field_text(p: CustomerProfile, key: str) -> str:
    """A field's value as the review screen shows it."""
    if key == "name":
        return p.display_name
    if key == "birthday":
        return p.birthday.isoformat() if p.birthday else ""
    if key == "address":
        city = " ".join(x for x in (p.postcode, p.city) if x)
        return ", ".join(x for x in (p.street, city, p.region, p.country) if x)
    if key == "id_document":
        parts = [p.id_document_type, p.id_document_number, p.id_document_country]
        text = " ".join(x for x in parts if x)
        if p.id_document_expiry:
            text += f" (→ {p.id_document_expiry.isoformat()})"
        return text
    if key == "marketing_consent":
        if p.consent_at is None:
            return ""
        when = p.consent_at.date().isoformat()
        state = "yes" if p.marketing_consent else "no"
        return f"{state}, {when}" + (f", {p.consent_method}" if p.consent_method else "")
    if key == "first_contact":
        return p.first_contact.isoformat() if p.first_contact else ""
    value = getattr(p, key)
    return "" if value is None else str(value)


class MergeReview(QWidget):
    """One group side by side: per field, a radio button picks the surviving value.

    Columns can be left out of the merge; "Not the same person" remembers that every
    pair of the included profiles are different people.
    """

    merged = Signal(int, int)  # merge id, survivor id
    separated = Signal(list)  # customer ids marked as different people
    undone = Signal(int)  # merge id

    def __init__(
        self,
        store: Store,
        customer_ids: list[int],
        reasons: list[str] | None = None,
        score: float | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mergeReview")
        self.store = store
        self.profiles = [customers.get_profile(store, cid) for cid in customer_ids]
        self.ids = [p.id for p in self.profiles]
        self.last_merge_id: int | None = None
        layout = QVBoxLayout(self)
        heading = self.tr("These profiles may be one person")
        if score is not None:
            heading += self.tr(" (score {0}%)").format(int(score * 100))
        title = QLabel(f"<b>{heading}</b>")
        layout.addWidget(title)
        self.reasons_label = QLabel("\n".join(f"• {r}" for r in reasons or []))
        self.reasons_label.setObjectName("duplicateReasons")
        self.reasons_label.setWordWrap(True)
        layout.addWidget(self.reasons_label)

        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        self.grid = grid
        self.keep_group = QButtonGroup(self)
        self.include: dict[int, QCheckBox] = {}
        keep = max(self.profiles, key=lambda p: (p.figures["booking_count"], -p.id)).id
        for col, p in enumerate(self.profiles, start=1):
            head = QLabel(f"<b>#{p.id}</b> {p.display_name}")
            head.setTextFormat(Qt.TextFormat.RichText)
            grid.addWidget(head, 0, col)
            radio = QRadioButton(self.tr("Keep this profile"))
            radio.setObjectName(f"keep_{p.id}")
            radio.setChecked(p.id == keep)
            self.keep_group.addButton(radio, p.id)
            grid.addWidget(radio, 1, col)
            box = QCheckBox(self.tr("Include"))
            box.setObjectName(f"include_{p.id}")
            box.setChecked(True)
            box.toggled.connect(self._update_buttons)
            self.include[p.id] = box
            grid.addWidget(box, 2, col)
        defaults = merging.default_choices(store, self.ids[0], self.ids[1:])
        self.field_groups: dict[str, QButtonGroup] = {}
        row = 3
        for field in merging.MERGE_FIELDS:
            values = [_field_text(p, field.key) for p in self.profiles]
            if not any(values):
                continue
            grid.addWidget(QLabel(self.tr(field.label)), row, 0)
            group = QButtonGroup(self)
            for col, (p, value) in enumerate(zip(self.profiles, values, strict=True), start=1):
                radio = QRadioButton(value or "—")
                radio.setObjectName(f"{field.key}_{p.id}")
                radio.setChecked(defaults[field.key] == p.id)
                group.addButton(radio, p.id)
                grid.addWidget(radio, row, col)
            self.field_groups[field.key] = group
            row += 1
        for label, fn in (
            (self.tr("Phones"), lambda p: ", ".join(ph.international for ph in p.phones)),
            (self.tr("Emails"), lambda p: ", ".join(e.address for e in p.emails)),
            (self.tr("Tags"), lambda p: ", ".join(p.tags)),
            (
                self.tr("Bookings"),
                lambda p: self.tr("{0} bookings").format(p.figures["booking_count"]),
            ),
        ):
            grid.addWidget(QLabel(label), row, 0)
            for col, p in enumerate(self.profiles, start=1):
                value = QLabel(fn(p) or "—")
                value.setWordWrap(True)
                grid.addWidget(value, row, col)
            row += 1
        note = QLabel(
            self.tr(
                "All phones, emails, references and tags are kept; bookings, payments, notes "
                "and messages move to the kept profile. A merge can be undone."
            )
        )
        note.setWordWrap(True)
        inner = QWidget()
        inner.setLayout(grid)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        layout.addWidget(scroll, 1)
        layout.addWidget(note)

        buttons = QHBoxLayout()
        self.status = QLabel()
        self.status.setObjectName("mergeStatus")
        self.undo_button = QPushButton(self.tr("Undo merge"))
        self.undo_button.setObjectName("undoMergeButton")
        self.undo_button.hide()
        self.not_same_button = QPushButton(self.tr("Not the same person"))
        self.not_same_button.setObjectName("notDuplicateButton")
        self.merge_button = QPushButton(self.tr("Merge"))
        self.merge_button.setObjectName("mergeButton")
        self.merge_button.setDefault(True)
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.not_same_button)
        buttons.addWidget(self.merge_button)
        layout.addLayout(buttons)
        self.merge_button.clicked.connect(self.do_merge)
        self.not_same_button.clicked.connect(self.do_not_same)
        self.undo_button.clicked.connect(self.do_undo)
        self._update_buttons()

    def included(self) -> list[int]:
        return [cid for cid in self.ids if self.include[cid].isChecked()]

    def survivor(self) -> int:
        return self.keep_group.checkedId()

    def choices(self) -> dict[str, int]:
        """The field choices among the included profiles."""
        ids = set(self.included())
        return {
            key: group.checkedId()
            for key, group in self.field_groups.items()
            if group.checkedId() in ids
        }

    def _update_buttons(self) -> None:
        ok = len(self.included()) >= 2
        self.merge_button.setEnabled(ok and self.survivor() in self.included())
        self.not_same_button.setEnabled(ok)

    def _done(self, text: str) -> None:
        self.status.setText(text)
        self.merge_button.setEnabled(False)
        self.not_same_button.setEnabled(False)

    def _refused(self, exc: ServiceError) -> None:
        QMessageBox.warning(self, self.tr("Duplicates"), str(exc))

    def do_merge(self) -> None:
        keep = self.survivor()
        others = [cid for cid in self.included() if cid != keep]
        if keep not in self.included() or not others:
            return
        try:
            outcome = merging.merge(self.store, keep, others, choices=self.choices())
        except ServiceError as exc:  # merged or erased elsewhere since the scan
            self._refused(exc)
            return
        self.last_merge_id = outcome.merge_id
        self._done(self.tr("Merged into #{0} (merge {1}).").format(keep, outcome.merge_id))
        self.undo_button.show()
        self.merged.emit(outcome.merge_id, keep)

    def do_not_same(self) -> None:
        ids = self.included()
        try:
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    duplicates.mark_not_duplicates(self.store, a, b)
        except ServiceError as exc:
            self._refused(exc)
            return
        self._done(self.tr("Noted: these are different people; they will not be suggested again."))
        self.separated.emit(ids)

    def do_undo(self) -> None:
        if self.last_merge_id is None:
            return
        try:
            merging.unmerge(self.store, self.last_merge_id)
        except ServiceError as exc:  # a later merge must be undone first
            self._refused(exc)
            return
        self.status.setText(self.tr("Merge undone: every profile is back as it was."))
        self.undo_button.hide()
        self.undone.emit(self.last_merge_id)
        self.last_merge_id = None


class GroupsModel(QAbstractListModel):
    """The groups a scan found, best first."""

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[duplicates.DuplicateGroup] = []

    def set_groups(self, groups: list[duplicates.DuplicateGroup]) -> None:
        self.beginResetModel()
        self.groups = list(groups)
        self.endResetModel()

    def remove(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        del self.groups[row]
        self.endRemoveRows()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.groups)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        g = self.groups[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            names = " · ".join(g.names.get(i) or f"#{i}" for i in g.customer_ids)
            return f"{int(g.score * 100)}%  {names}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(g.reasons)
        return None


class DuplicatesDialog(QDialog):
    """Tools ▸ Find duplicates…: scan, list the groups, review and merge them one by one.

    ``changed`` fires after every merge, undo or "not the same person", so the window can
    refresh its customer list.
    """

    changed = Signal()

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("duplicatesDialog")
        self.setWindowTitle(self.tr("Find duplicates"))
        self.store = store
        self.operation = None
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.summary = QLabel(self.tr("Looking for profiles that are probably one person…"))
        self.summary.setObjectName("duplicatesSummary")
        self.rescan_button = QPushButton(self.tr("Scan again"))
        self.rescan_button.setObjectName("rescanButton")
        self.rescan_button.clicked.connect(self.scan)
        self.merges_button = QPushButton(self.tr("Past merges…"))
        self.merges_button.setObjectName("pastMergesButton")
        self.merges_button.clicked.connect(self._open_merges)
        top.addWidget(self.summary, 1)
        top.addWidget(self.merges_button)
        top.addWidget(self.rescan_button)
        layout.addLayout(top)
        self.splitter = QSplitter()
        self.model = GroupsModel()
        self.list = QListView()
        self.list.setObjectName("duplicateGroups")
        self.list.setModel(self.model)
        self.list.selectionModel().currentChanged.connect(self._show_group)
        self.placeholder = QLabel(self.tr("Pick a group on the left to compare its profiles."))
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.review_holder = QWidget()
        self.review_layout = QVBoxLayout(self.review_holder)
        self.review_layout.setContentsMargins(0, 0, 0, 0)
        self.review_layout.addWidget(self.placeholder)
        self.review: MergeReview | None = None
        self.splitter.addWidget(self.list)
        self.splitter.addWidget(self.review_holder)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([330, 770])
        layout.addWidget(self.splitter, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self.resize(1100, 640)

    def _open_merges(self) -> None:
        open_merges_dialog(self, self.store).changed.connect(self.changed)

    def scan(self) -> None:
        """Run the full scan in the background; the list fills when it ends."""
        self.rescan_button.setEnabled(False)
        self.summary.setText(self.tr("Looking for profiles that are probably one person…"))
        self.operation = run_in_background(
            self,
            lambda progress, cancelled: duplicates.find_duplicates(
                self.store, progress=progress, cancelled=cancelled
            ),
            with_progress=True,
            label=self.tr("Comparing profiles…"),
            on_done=self._scanned,
            on_error=self._failed,
        )

    def _scanned(self, result: duplicates.ScanResult) -> None:
        self.rescan_button.setEnabled(True)
        self.model.set_groups(result.groups)
        if result.cancelled:
            text = self.tr("Scan cancelled. Groups found so far: {0}").format(len(result.groups))
        elif result.groups:
            text = self.tr("Groups of probable duplicates: {0} (among {1} profiles)").format(
                len(result.groups), result.customers
            )
        else:
            text = self.tr("No probable duplicates among {0} profiles.").format(result.customers)
        self.summary.setText(text)
        if result.groups:
            self.list.setCurrentIndex(self.model.index(0))

    def _failed(self, message: str) -> None:
        self.rescan_button.setEnabled(True)
        self.summary.setText(message)

    def _show_group(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self.review is not None:
            self.review.setParent(None)
            self.review.deleteLater()
            self.review = None
        if not current.isValid():
            self.placeholder.show()
            return
        group = self.model.groups[current.row()]
        self.placeholder.hide()
        try:
            self.review = MergeReview(self.store, group.customer_ids, group.reasons, group.score)
        except Exception as exc:  # a profile erased or merged since the scan
            QMessageBox.information(self, self.tr("Find duplicates"), str(exc))
            return
        self.review_layout.addWidget(self.review)
        self.review.merged.connect(lambda *_: self._settled(group))
        self.review.separated.connect(lambda *_: self._settled(group))
        self.review.undone.connect(lambda *_: self.changed.emit())

    def _settled(self, group: duplicates.DuplicateGroup) -> None:
        # keep the review on screen (its Undo button) but mark the group as handled
        self.changed.emit()
        if group in self.model.groups:
            row = self.model.groups.index(group)
            group.names = {i: f"✓ {n}" for i, n in group.names.items()}
            self.model.dataChanged.emit(self.model.index(row), self.model.index(row))


class MergesDialog(QDialog):
    """Past merges, newest first; any of them can be undone (later ones first)."""

    changed = Signal()

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mergesDialog")
        self.setWindowTitle(self.tr("Past merges"))
        self.store = store
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setObjectName("mergesList")
        layout.addWidget(self.list, 1)
        self.status = QLabel()
        self.status.setObjectName("mergesStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.undo_button = buttons.addButton(
            self.tr("Undo merge"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.undo_button.setObjectName("undoSelectedMergeButton")
        self.undo_button.clicked.connect(self.undo_selected)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 380)
        self.reload()

    def reload(self) -> None:
        # a short list (at most 200 merges): an item widget is fine here
        self.list.clear()
        for m in merging.list_merges(self.store):
            names = ", ".join(f"#{i} {m.names.get(i, '')}".strip() for i in m.merged_ids)
            text = self.tr("{0}  merge {1}: {2} into #{3} {4}").format(
                m.created_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                m.id,
                names,
                m.survivor_id,
                m.names.get(m.survivor_id, ""),
            )
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, m.id)
            self.list.addItem(item)
        self.undo_button.setEnabled(self.list.count() > 0)
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            self.status.setText(self.tr("No merges to undo."))

    def undo_selected(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        merge_id = item.data(Qt.ItemDataRole.UserRole)
        try:
            merging.unmerge(self.store, merge_id)
        except ServiceError as exc:
            self.status.setText(str(exc))
            return
        self.reload()
        self.status.setText(
            self.tr("Merge {0} undone: every profile is back as it was.").format(merge_id)
        )
        self.changed.emit()


def open_merges_dialog(parent: QWidget | None, store: Store) -> MergesDialog:
    """Past merges with an Undo button."""
    dialog = MergesDialog(store, parent)
    dialog.show()
    return dialog


class MergeReviewDialog(QDialog):
    """One group in a dialog of its own (opened from the profile hint)."""

    changed = Signal()  # after a merge, undo or "not the same person"

    def __init__(
        self,
        store: Store,
        customer_ids: list[int],
        reasons: list[str] | None = None,
        score: float | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mergeReviewDialog")
        self.setWindowTitle(self.tr("Possible duplicates"))
        layout = QVBoxLayout(self)
        self.review = MergeReview(store, customer_ids, reasons, score)
        for signal in (self.review.merged, self.review.separated, self.review.undone):
            signal.connect(lambda *_: self.changed.emit())
        layout.addWidget(self.review, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self.resize(920, 640)


class PossibleDuplicates(QWidget):
    """'Possible duplicate of #2 Jean-Pierre DUPONT (99%) — same phone …  Review…'.

    Hidden when the customer has no likely duplicate. ``set_customer`` runs the
    incremental check (a few milliseconds, indexed lookups) on the calling thread.
    """

    reviewRequested = Signal(list)  # customer ids, the shown customer first
    changed = Signal()  # profiles were merged, separated or restored from the review

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("possibleDuplicates")
        self.store = store
        self.customer_id: int | None = None
        self.suggestions: list[duplicates.Suggestion] = []
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        self.label = QLabel()
        self.label.setObjectName("possibleDuplicatesText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.button = QPushButton(self.tr("Review…"))
        self.button.setObjectName("reviewDuplicatesButton")
        self.button.clicked.connect(self.open_review)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        self.setStyleSheet("#possibleDuplicates { background: #fff4ce; border-radius: 4px; }")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.hide()

    def set_customer(self, customer_id: int | None) -> None:
        """Show the hint for this customer (None hides it)."""
        self.customer_id = customer_id
        self.suggestions = (
            duplicates.candidates_for(self.store, customer_id) if customer_id is not None else []
        )
        if not self.suggestions:
            self.hide()
            return
        top = self.suggestions[0]
        text = self.tr("Possible duplicate of <b>#{0} {1}</b> ({2}%)").format(
            top.other_id, top.other_name, int(top.score * 100)
        )
        if len(self.suggestions) > 1:
            text += self.tr(" and {0} more").format(len(self.suggestions) - 1)
        why = ", ".join(r for r in top.reasons[:3])
        self.label.setText(f"{text}<br><small>{why}</small>")
        self.show()

    def open_review(self) -> None:
        if self.customer_id is None or not self.suggestions:
            return
        ids = [self.customer_id, *(s.other_id for s in self.suggestions)]
        self.reviewRequested.emit(ids)
        reasons = [r for s in self.suggestions for r in s.reasons]
        dialog = open_merge_review(
            self.window(), self.store, ids, list(dict.fromkeys(reasons)), self.suggestions[0].score
        )
        dialog.changed.connect(self.changed)
        dialog.finished.connect(lambda *_: self.set_customer(self.customer_id))


def possible_duplicates_widget(
    store: Store, customer_id: int | None = None, parent: QWidget | None = None
) -> PossibleDuplicates:
    """The profile pane's hint; call ``set_customer(id)`` whenever the shown profile changes
    or is saved."""
    widget = PossibleDuplicates(store, parent)
    if customer_id is not None:
        widget.set_customer(customer_id)
    return widget


def open_duplicates_dialog(parent: QWidget | None, store: Store) -> DuplicatesDialog:
    """Tools ▸ Find duplicates…: opens the dialog and starts the scan."""
    dialog = DuplicatesDialog(store, parent)
    dialog.show()
    dialog.scan()
    return dialog


def open_merge_review(
    parent: QWidget | None,
    store: Store,
    customer_ids: list[int],
    reasons: list[str] | None = None,
    score: float | None = None,
) -> MergeReviewDialog:
    """Review (and merge, or mark as different) a given set of profiles."""
    dialog = MergeReviewDialog(store, customer_ids, reasons, score, parent)
    dialog.show()
    return dialog
