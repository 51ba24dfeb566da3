"""Starting the window: unlock (or create) the store, then show the main window."""

from __future__ import annotations

import argparse
import os
import sys

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMessageBox

from app import APP_NAME
from app.services import datadir, demo, vault
from app.services.store import Store, StoreError, create_store, open_store


def tr(text: str) -> str:
    return QCoreApplication.translate("launch", text)


def _ask_passphrase(prompt: str) -> str | None:
    text, ok = QInputDialog.getText(None, APP_NAME, prompt, QLineEdit.EchoMode.Password)
    return text if ok and text else None


def _unlock(directory) -> Store | None:
    env = os.environ.get("REGULARS_PASSPHRASE")
    recovery = None
    message = tr("Passphrase for the customer store:")
    for _attempt in range(5):
        try:
            if recovery:
                key = vault.unlock(directory, recovery_key=recovery)
            elif env is not None:
                key = vault.unlock(directory, passphrase=env)
                env = None
            else:
                try:
                    key = vault.unlock(directory)
                except vault.NoUnlockMethodError:
                    pw = _ask_passphrase(message)
                    if pw is None:
                        return None
                    key = vault.unlock(directory, passphrase=pw)
            return open_store(directory, key)
        except vault.WrongSecretError:
            message = tr("Wrong passphrase. Try again:")
        except (vault.VaultError, StoreError) as exc:
            QMessageBox.critical(None, APP_NAME, str(exc))
            return None
    return None


def _create(directory, with_demo: bool) -> Store | None:
    has_keyring, _why = vault.keyring_status()
    passphrase = os.environ.get("REGULARS_PASSPHRASE")
    if not has_keyring and not passphrase:
        passphrase = _ask_passphrase(
            tr("No OS keyring here. Choose a passphrase to protect the customer store:")
        )
        if passphrase is None:
            return None
    store, kit = create_store(directory, passphrase=passphrase, use_keyring=has_keyring)
    QMessageBox.information(
        None,
        tr("Recovery kit"),
        tr("Keep this recovery key safe; it opens the store and every backup:")
        + "\n\n"
        + kit.identity,
    )
    if with_demo:
        demo.generate(store, customers=2000)
    return store


def run_window(args: argparse.Namespace) -> int:
    """Open the main window on the store in ``--data-dir``; returns the exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    directory = datadir.resolve(getattr(args, "data_dir", None))
    if datadir.store_exists(directory):
        store = _unlock(directory)
    else:
        store = _create(directory, with_demo=getattr(args, "demo", False))
    if store is None:
        return 1
    from app.ui.main_window import MainWindow

    window = MainWindow(store)
    window.show()
    code = app.exec()
    store.close()
    return code
