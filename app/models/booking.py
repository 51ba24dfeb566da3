"""Bookings (stays and appointments) and the payments made against them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow

BOOKING_KINDS = ("stay", "appointment")
BOOKING_STATUSES = ("requested", "confirmed", "checked-in", "completed", "cancelled", "no-show")
# statuses that never earn revenue nor count as a visit
VOID_STATUSES = ("cancelled", "no-show")
CHANNELS = ("direct", "phone", "walk-in", "website", "booking.com", "airbnb", "other")
PAYMENT_METHODS = ("cash", "card", "transfer", "online", "voucher", "other")


class Booking(Base):
    __tablename__ = "booking"
    __table_args__ = (Index("ix_booking_customer_start", "customer_id", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), default="appointment")
    service: Mapped[str | None] = mapped_column(String(200))
    room: Mapped[str | None] = mapped_column(String(100))
    staff: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(100))
    start_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    end_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="confirmed", index=True)
    price_minor: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    channel: Mapped[str] = mapped_column(String(20), default="direct")
    party_size: Mapped[int] = mapped_column(Integer, default=1)
    special_requests: Mapped[str | None] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(String(200), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    import_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batch.id", ondelete="SET NULL"), index=True
    )

    payments: Mapped[list[Payment]] = relationship(
        back_populates="booking", cascade="all, delete-orphan", order_by="Payment.paid_at"
    )


class Payment(Base):
    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("booking.id", ondelete="CASCADE"), index=True
    )
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(20), default="card")
    paid_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    booking: Mapped[Booking] = relationship(back_populates="payments")
