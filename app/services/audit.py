"""Reading the audit trail (events are written by :mod:`tracking` on every change)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.models import AuditEvent
from app.services.store import Store


def events_for_customer(store: Store, customer_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The newest changes touching one customer: who, when, what changed."""
    with store.reader() as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.customer_id == customer_id)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        ).all()
        return [
            {
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "entity": e.entity,
                "entity_id": e.entity_id,
                "changes": e.changes,
            }
            for e in rows
        ]
