"""Take docs/screenshots/main-window.png: the main window on 2,000 demo customers.

    xvfb-run -a python docs/screenshots/take_screenshot.py

Run it under Xvfb with CJK fonts installed (fonts-noto-cjk) so Chinese names render.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

PASSPHRASE = "screenshot passphrase"


def pump(app: QApplication, seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs/screenshots/main-window.png"
    work = Path(tempfile.mkdtemp(prefix="regulars-shot-"))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "qs"))
    app = QApplication([])
    from app.services import communications, customers, demo, notes
    from app.services.store import create_store
    from app.ui.feature_menus import install_features
    from app.ui.main_window import MainWindow

    store, _kit = create_store(work / "store", passphrase=PASSPHRASE, use_keyring=False)
    demo.generate(store, customers=2000, seed=1)
    # the customer shown: someone with an alert, bookings ahead and behind, and a message
    from app.services import customer_list

    flt = customer_list.ListFilter(language="zh-Hans", upcoming=True)
    for cid in customer_list.list_ids(store, flt, sort="booking_count", descending=True):
        profile = customers.get_profile(store, cid)
        if any(n["alert"] for n in profile.notes) and profile.tags:
            break
    notes.add_note(
        store, cid, "喜欢安静的房间 — quiet room, firm pillow", pinned=True, author="Amélie"
    )
    communications.log_message(
        store,
        cid,
        channel="email",
        kind="confirmation",
        subject="预订确认 — Booking confirmed",
        body=f"{profile.display_name}，您好！We look forward to your stay.",
        recipient=profile.emails[0].address if profile.emails else None,
    )
    window = MainWindow(store, unlocked_by="passphrase")
    install_features(window)
    window.resize(1400, 860)
    window.show()
    pump(app, 0.8)
    # most recent guests first: a realistic mix of French, German, English and Chinese names
    window.table.sortByColumn(6, Qt.SortOrder.DescendingOrder)
    pump(app, 0.8)
    window.select_customer(cid)
    pump(app, 0.8)
    # a 256-colour palette keeps the PNG small; UI chrome has few distinct colours
    image = (
        window.grab()
        .toImage()
        .convertToFormat(QImage.Format.Format_Indexed8, Qt.ImageConversionFlag.ThresholdDither)
    )
    image.save(str(out), "PNG", 0)
    window.restored_away = True  # no automatic backup of this throwaway store
    window.close()
    store.close()
    shutil.rmtree(work, ignore_errors=True)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
