"""Where the store lives: platformdirs by default, overridable for scripts and tests."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DB_FILE = "regulars.db"
ENV_VAR = "REGULARS_DATA_DIR"


def resolve(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``--data-dir``, else ``REGULARS_DATA_DIR``, else the platform's."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser().resolve()
    return Path(platformdirs.user_data_dir("Regulars", appauthor=False))


def ensure(path: Path) -> Path:
    """Create the directory owner-only (0700): customer data is nobody else's business."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / DB_FILE


def store_exists(data_dir: Path) -> bool:
    return db_path(data_dir).exists()
