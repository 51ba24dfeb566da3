"""Locating the files under ``resources/`` in a checkout and in an installed copy alike."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """Path of a shipped resource, e.g. ``resource_path("demo", "names.json")``."""
    return Path(str(files("resources").joinpath(*parts)))
