"""Customer profile tables: the person, their contact points, references and tags."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, JSONText, UTCDateTime, utcnow

customer_tag = Table(
    "customer_tag",
    Base.metadata,
    Column("customer_id", ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_customer_tag_tag_id", "tag_id"),
)


HIDDEN_SQL = "merged_into_id IS NOT NULL OR archived_at IS NOT NULL"


class Customer(Base):
    __tablename__ = "customer"
    # duplicate check on save: name prefix + birthday or postcode, answered from the index
    __table_args__ = (
        Index("ix_customer_match_name", "sort_name", "birthday", "postcode"),
        # the few customers the list hides: found without reading every customer row
        Index("ix_customer_hidden", "id", sqlite_where=text(HIDDEN_SQL)),
        # for ON DELETE SET NULL and merge lookups only: the NULLs of the unmerged majority
        # are left out (every import paid for them)
        Index(
            "ix_customer_merged_into_id",
            "merged_into_id",
            sqlite_where=text("merged_into_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    # no index: nothing looks customers up or sorts them by it (sort_name does that)
    display_name: Mapped[str] = mapped_column(String(401), default="")
    # casefolded, accent-free key so sorting by name is one index scan
    sort_name: Mapped[str] = mapped_column(String(401), default="", index=True)
    preferred_language: Mapped[str | None] = mapped_column(String(16))
    birthday: Mapped[dt.date | None] = mapped_column(Date)
    street: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(2))
    company: Mapped[str | None] = mapped_column(String(200))
    # guest registration (police forms in many countries)
    nationality: Mapped[str | None] = mapped_column(String(2))
    id_document_type: Mapped[str | None] = mapped_column(String(40))
    id_document_number: Mapped[str | None] = mapped_column(String(80))
    id_document_country: Mapped[str | None] = mapped_column(String(2))
    id_document_expiry: Mapped[dt.date | None] = mapped_column(Date)
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    consent_method: Mapped[str | None] = mapped_column(String(40))
    consent_source: Mapped[str | None] = mapped_column(String(200))
    source_channel: Mapped[str | None] = mapped_column(String(40))
    first_contact: Mapped[dt.date | None] = mapped_column(Date, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # set by the services on profile edits (not by figure refreshes)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="SET NULL")
    )
    import_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batch.id", ondelete="SET NULL"), index=True
    )

    # Derived figures, refreshed in the same transaction as the bookings they summarise,
    # so a list of 100k customers reads them without aggregating.
    booking_count: Mapped[int] = mapped_column(Integer, default=0, index=True)
    no_show_count: Mapped[int] = mapped_column(Integer, default=0)
    first_visit_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_visit_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    next_booking_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    # {"EUR": 12345} — payments received, per currency, minor units
    total_spent: Mapped[dict | None] = mapped_column(JSONText)
    # completed bookings' prices per currency, minor units
    lifetime_value: Mapped[dict | None] = mapped_column(JSONText)
    # first phone / email, denormalised for the list view
    primary_phone: Mapped[str | None] = mapped_column(String(40))
    primary_email: Mapped[str | None] = mapped_column(String(320))
    tag_names: Mapped[str | None] = mapped_column(Text)

    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer",
        cascade="all, delete-orphan",
        order_by="CustomerPhone.position",
    )
    emails: Mapped[list[CustomerEmail]] = relationship(
        back_populates="customer",
        cascade="all, delete-orphan",
        order_by="CustomerEmail.position",
    )
    external_refs: Mapped[list[ExternalRef]] = relationship(
        back_populates="customer", cascade="all, delete-orphan"
    )
    tags: Mapped[list[Tag]] = relationship(secondary=customer_tag, order_by="Tag.name")


class CustomerPhone(Base):
    __tablename__ = "customer_phone"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    raw: Mapped[str] = mapped_column(String(60))
    e164: Mapped[str] = mapped_column(String(20), index=True)
    label: Mapped[str | None] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)

    customer: Mapped[Customer] = relationship(back_populates="phones")


class CustomerEmail(Base):
    __tablename__ = "customer_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(320), index=True)
    # relay addresses from booking channels reach the guest only through that channel
    is_relay: Mapped[bool] = mapped_column(Boolean, default=False)
    label: Mapped[str | None] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)

    customer: Mapped[Customer] = relationship(back_populates="emails")


class ExternalRef(Base):
    __tablename__ = "external_ref"
    __table_args__ = (UniqueConstraint("system", "ref", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    system: Mapped[str] = mapped_column(String(60), default="")
    ref: Mapped[str] = mapped_column(String(200), index=True)

    customer: Mapped[Customer] = relationship(back_populates="external_refs")


class Tag(Base):
    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    colour: Mapped[str] = mapped_column(String(9), default="#808080")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
