"""Opening and creating the encrypted store: data directory, key slots, engine, migrations."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.models import engine as engine_mod
from app.models import migrate
from app.models.engine import StoreKeyError
from app.services import datadir, tracking, vault
from app.services.errors import ServiceError

log = logging.getLogger(__name__)


class StoreError(ServiceError):
    pass


@dataclass
class Store:
    """An open, unlocked store. Services take it as their first argument."""

    data_dir: Path
    engine: Engine
    factory: sessionmaker = field(repr=False)
    actor: str = ""

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.factory() as session, session.begin():
            session.info["actor"] = self.actor
            yield session

    @contextlib.contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads only (nothing is committed)."""
        with self.factory() as session:
            yield session
            session.rollback()

    def close(self) -> None:
        self.engine.dispose()


def _open_engine(data_dir: Path, key: bytes, *, create: bool) -> Engine:
    path = datadir.db_path(data_dir)
    try:
        engine = engine_mod.make_engine(path, key, must_exist=not create)
    except StoreKeyError:
        raise StoreError(
            f"the key does not open {path}: the file is damaged or belongs to another store"
        ) from None
    try:
        migrate.upgrade(engine)
    except migrate.NewerSchemaError as exc:
        engine.dispose()
        raise StoreError(str(exc)) from None
    return engine


def _wrap(data_dir: Path, engine: Engine) -> Store:
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    tracking.install(factory)
    store = Store(data_dir=data_dir, engine=engine, factory=factory, actor=tracking.current_actor())
    with store.session() as s:
        tracking.refresh_stale_upcoming(s.connection())
    return store


def open_store(data_dir: Path, key: bytes) -> Store:
    """Open an existing store with its database key (from :mod:`vault`)."""
    if not datadir.store_exists(data_dir):
        raise StoreError(f"no store in {data_dir}: run 'regulars init' first")
    return _wrap(data_dir, _open_engine(data_dir, key, create=False))


def create_store(
    data_dir: Path, *, passphrase: str | None, use_keyring: bool
) -> tuple[Store, vault.RecoveryKit]:
    """Create a new store: random key, key slots, migrated schema, default tags.

    Returns the open store and the recovery kit, which must be shown to the owner once.
    """
    datadir.ensure(data_dir)
    if datadir.store_exists(data_dir):
        raise StoreError(f"a store already exists in {data_dir}")
    key = vault.new_database_key()
    kit = vault.create_slots(data_dir, key, passphrase=passphrase, use_keyring=use_keyring)
    try:
        engine = _open_engine(data_dir, key, create=True)
    except Exception:
        for leftover in (datadir.db_path(data_dir), vault.slots_path(data_dir)):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)
        raise
    store = _wrap(data_dir, engine)
    from app.services import tags

    tags.ensure_default_tags(store)
    return store, kit
