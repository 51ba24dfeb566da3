"""Menu items, status-bar widgets and hints that plug each capability into the main window.

Each capability keeps its own screens (import wizard, export dialog, duplicate review,
message drafts, backups); this module only connects them to :class:`MainWindow` through its
public hooks (``add_action``, ``profileShown``, ``aboutToClose``), so the window itself stays
small.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QAction, QKeySequence

from app.services.store import Store
from app.ui import (
    backup_dialogs,
    backup_status,
    drafts_templates,
    drafts_window,
    duplicates_review,
    export_dialog,
    import_wizard,
)


def tr(text: str) -> str:
    return QCoreApplication.translate("features", text)


def install_features(window) -> None:
    """Add every capability's menu items, the backup status and the duplicate hint."""

    def act(menu: str, text: str, slot: Callable[[], object], shortcut: str | None, name: str):
        action = QAction(text, window)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        window.add_action(menu, action)
        return action

    def store() -> Store:
        return window.store

    def import_customers() -> None:
        wizard = import_wizard.open_import_dialog(window, store())
        wizard.finished.connect(lambda _code: window.requery())

    def export_view() -> None:
        # the list exactly as filtered and sorted on screen
        export_dialog.open_export_dialog(window, store(), customer_ids=list(window.model.ids))

    act("File", tr("&Import customers…"), import_customers, "Ctrl+I", "importAction")
    act("File", tr("&Export…"), export_view, "Ctrl+Shift+E", "exportAction")
    act(
        "File",
        tr("Export the &year for the accountant…"),
        lambda: export_dialog.open_year_export_dialog(window, store()),
        None,
        "exportYearAction",
    )

    status = backup_status.make_backup_status_widget(window, store())
    window.statusBar().addPermanentWidget(status)
    window.auto_backup = backup_status.AutoBackup(window, store(), status=status)
    window.restored_away = False

    def back_up() -> None:
        dialog = backup_dialogs.open_backup_dialog(window, store())
        dialog.backed_up.connect(status.refresh)

    def release_store() -> None:
        window.restored_away = True
        window.close()
        store().close()

    def reopen(new_store: Store) -> None:
        from app.ui.main_window import MainWindow

        replacement = MainWindow(new_store, unlocked_by=tr("restored backup"))
        install_features(replacement)
        replacement.show()

    act("File", tr("&Back up now…"), back_up, None, "backupAction")
    act(
        "File",
        tr("&Restore from a backup…"),
        lambda: backup_dialogs.open_restore_dialog(
            None, store(), on_restored=reopen, before_swap=release_store
        ),
        None,
        "restoreAction",
    )

    def before_close() -> None:
        if not window.restored_away:
            window.auto_backup.before_quit()

    window.aboutToClose.connect(before_close)

    def find_duplicates() -> None:
        dialog = duplicates_review.open_duplicates_dialog(window, store())
        dialog.changed.connect(window.requery)

    def past_merges() -> None:
        dialog = duplicates_review.open_merges_dialog(window, store())
        dialog.changed.connect(window.requery)

    act("Tools", tr("Find &duplicates…"), find_duplicates, "Ctrl+D", "duplicatesAction")
    act("Tools", tr("Past &merges…"), past_merges, None, "mergesAction")
    act(
        "Tools",
        tr("&Messages to send today…"),
        lambda: drafts_window.open_drafts_dialog(window, store()),
        "Ctrl+M",
        "draftsAction",
    )
    act(
        "Tools",
        tr("Message &templates…"),
        lambda: drafts_templates.open_template_editor(window, store()),
        None,
        "templatesAction",
    )

    # "possible duplicate of …" under the profile, checked whenever a profile is shown
    hint = duplicates_review.possible_duplicates_widget(store(), parent=window.profile_pane)
    hint.setObjectName("possibleDuplicates")
    container = window.profile_pane.parentWidget().layout()
    container.insertWidget(container.indexOf(window.profile_pane) + 1, hint)
    window.profileShown.connect(lambda p: hint.set_customer(p.id if p is not None else None))
    hint.changed.connect(window.requery)
    hint.reviewRequested.connect(
        lambda ids: duplicates_review.open_merge_review(window, store(), ids).changed.connect(
            window.requery
        )
    )
