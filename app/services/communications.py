"""The communication history: what was sent to (or received from) a customer."""

from __future__ import annotations

from typing import Any

from app.models import Communication, Customer
from app.models.activity import COMM_CHANNELS, COMM_STATUSES
from app.models.base import utcnow
from app.services.errors import NotFoundError, ValidationError
from app.services.store import Store


def log_message(
    store: Store,
    customer_id: int,
    *,
    channel: str,
    kind: str,
    body: str,
    subject: str | None = None,
    recipient: str | None = None,
    booking_id: int | None = None,
    direction: str = "out",
    status: str = "sent",
) -> dict[str, Any]:
    """Record a message in the customer's history; returns it with its id."""
    if channel not in COMM_CHANNELS:
        raise ValidationError("channel", f"'{channel}' is not one of {', '.join(COMM_CHANNELS)}")
    if status not in COMM_STATUSES:
        raise ValidationError("status", f"'{status}' is not one of {', '.join(COMM_STATUSES)}")
    with store.session() as s:
        if s.get(Customer, customer_id) is None:
            raise NotFoundError(f"no customer with id {customer_id}")
        msg = Communication(
            customer_id=customer_id,
            booking_id=booking_id,
            channel=channel,
            direction=direction,
            kind=kind,
            recipient=recipient,
            subject=subject,
            body=body,
            status=status,
            sent_at=utcnow() if status == "sent" else None,
        )
        s.add(msg)
        s.flush()
        return {
            "id": msg.id,
            "customer_id": customer_id,
            "booking_id": booking_id,
            "channel": channel,
            "kind": kind,
            "status": status,
            "sent_at": msg.sent_at,
        }
