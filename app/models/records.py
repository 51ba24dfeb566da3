"""Bookkeeping tables: settings, audit trail, import batches, merges, message templates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, JSONText, UTCDateTime, utcnow


class Setting(Base):
    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONText)


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120), default="")
    action: Mapped[str] = mapped_column(String(20))  # create / update / delete
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # {"field": [old, new]}
    changes: Mapped[dict | None] = mapped_column(JSONText)


class ImportBatch(Base):
    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(500), default="")
    summary: Mapped[dict | None] = mapped_column(JSONText)
    # what the batch changed in existing rows, so undo can put it back
    undo_log: Mapped[list | None] = mapped_column(JSONText)
    undone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class MergeRecord(Base):
    __tablename__ = "merge_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    survivor_id: Mapped[int] = mapped_column(Integer, index=True)
    merged_ids: Mapped[list] = mapped_column(JSONText)
    # every affected row as it was before the merge
    snapshot: Mapped[dict] = mapped_column(JSONText)
    undone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class NotDuplicate(Base):
    """A pair a person said are different people; never suggested again."""

    __tablename__ = "not_duplicate"

    low_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    high_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageTemplate(Base):
    __tablename__ = "message_template"
    __table_args__ = (UniqueConstraint("kind", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
