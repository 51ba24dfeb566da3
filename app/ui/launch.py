"""Starting the window: unlock (or create) the store, then show the main window.

``REGULARS_PASSPHRASE`` (scripts, tests) opens the store without any dialog; a fresh data
directory with it set is created straight away and the recovery kit shown once in the window.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from app import APP_NAME
from app.services import datadir, vault
from app.services.store import Store, StoreError, create_store, open_store

DEMO_CUSTOMERS = 2000


def tr(text: str) -> str:
    return QCoreApplication.translate("launch", text)


def unlock_without_asking(directory: Path) -> tuple[Store | None, str, str]:
    """(store, how, why not): REGULARS_PASSPHRASE, then the OS keyring; no dialogs."""
    env = os.environ.get("REGULARS_PASSPHRASE")
    try:
        if env is not None:
            return open_store(directory, vault.unlock(directory, passphrase=env)), "passphrase", ""
        return open_store(directory, vault.unlock(directory)), "keyring", ""
    except vault.NoUnlockMethodError:
        return None, "", ""
    except vault.WrongSecretError as exc:
        return None, "", str(exc)
    except (vault.VaultError, StoreError) as exc:
        return None, "", str(exc)


def _unlock(directory: Path) -> tuple[Store | None, str]:
    store, how, why = unlock_without_asking(directory)
    if store is not None:
        return store, how
    from app.ui.unlock_dialog import UnlockDialog

    dialog = UnlockDialog(directory, reason=why)
    if dialog.exec() != QDialog.DialogCode.Accepted or dialog.store is None:
        return None, ""
    return dialog.store, "recovery" if dialog.use_recovery.isChecked() else "passphrase"


def _create(directory: Path, with_demo: bool) -> tuple[Store | None, bool, str]:
    """(store, fill with demo data?, recovery kit text still to show)."""
    passphrase = os.environ.get("REGULARS_PASSPHRASE")
    if passphrase:
        has_keyring, _why = vault.keyring_status()
        store, kit = create_store(directory, passphrase=passphrase, use_keyring=has_keyring)
        return store, with_demo, kit.text()
    from app.ui.setup_dialog import SetupDialog

    wizard = SetupDialog(directory, offer_demo=with_demo)
    wizard.exec()
    return wizard.store, wizard.store is not None and wizard.want_demo, ""


def run_window(args: argparse.Namespace) -> int:
    """Open the main window on the store in ``--data-dir``; returns the exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName("regulars")
    from app.ui.icons import icon

    app.setWindowIcon(icon("regulars"))
    directory = datadir.resolve(getattr(args, "data_dir", None))
    kit_text = ""
    want_demo = False
    try:
        if datadir.store_exists(directory):
            store, how = _unlock(directory)
        else:
            store, want_demo, kit_text = _create(directory, getattr(args, "demo", False))
            how = "created"
    except (StoreError, vault.VaultError, OSError) as exc:
        QMessageBox.critical(None, APP_NAME, str(exc))
        return 1
    if store is None:
        return 1
    from app.ui.feature_menus import install_features
    from app.ui.main_window import MainWindow

    window = MainWindow(store, unlocked_by=how)
    install_features(window)
    window.show()
    if kit_text:
        from app.ui.setup_dialog import RecoveryKitDialog

        kit_dialog = RecoveryKitDialog(kit_text, window)
        QTimer.singleShot(0, kit_dialog.open)
    if want_demo:
        QTimer.singleShot(0, lambda: window.generate_demo(DEMO_CUSTOMERS))
    code = app.exec()
    from app.ui.worker import wait_for_all

    wait_for_all()  # no background job may still read the store when it closes
    window.store.close()
    store.close()
    return code
