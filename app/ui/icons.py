"""Icons shipped in resources/icons (SVG, so they stay sharp on high-DPI screens)."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from app.assets import resource_path

ICONS = resource_path("icons")


@cache
def icon(name: str) -> QIcon:
    """``icon("new-booking")``; an empty icon if the file is missing (never an error)."""
    path = ICONS / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()
