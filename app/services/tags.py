"""Tags: the default set, custom tags, and tagging customers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.models import Customer, Tag, customer_tag
from app.services.errors import NotFoundError, ValidationError
from app.services.normalize import clean_text
from app.services.store import Store

DEFAULT_TAGS = (
    ("VIP", "#c9a227"),
    ("Regular", "#2e7d32"),
    ("New", "#1565c0"),
    ("Friends & Family", "#8e24aa"),
    ("Business", "#455a64"),
    ("Influencer", "#d81b60"),
    ("Local", "#00838f"),
    ("No-show", "#e65100"),
    ("Problematic", "#c62828"),
)


@dataclass(frozen=True)
class TagInfo:
    id: int
    name: str
    colour: str
    is_default: bool
    customer_count: int = 0


def ensure_default_tags(store: Store) -> None:
    """Create the default tags that are missing (idempotent)."""
    with store.session() as s:
        existing = set(s.scalars(select(Tag.name)))
        for name, colour in DEFAULT_TAGS:
            if name not in existing:
                s.add(Tag(name=name, colour=colour, is_default=True))


def list_tags(store: Store) -> list[TagInfo]:
    """All tags with how many customers carry each."""
    with store.reader() as s:
        counts = dict(
            s.execute(
                select(customer_tag.c.tag_id, func.count()).group_by(customer_tag.c.tag_id)
            ).all()
        )
        return [
            TagInfo(t.id, t.name, t.colour, t.is_default, counts.get(t.id, 0))
            for t in s.scalars(select(Tag).order_by(Tag.is_default.desc(), Tag.name))
        ]


def _get_or_create(s, name: str) -> Tag:
    name = clean_text(name)
    if not name:
        raise ValidationError("tag", "a tag needs a name")
    if len(name) > 60:
        raise ValidationError("tag", "tag names are at most 60 characters")
    tag = s.scalar(select(Tag).where(func.lower(Tag.name) == name.lower()))
    if tag is None:
        tag = Tag(name=name, colour="#607d8b")
        s.add(tag)
    return tag


def add_tag(store: Store, customer_id: int, name: str) -> list[str]:
    """Tag a customer (creating a custom tag when new); returns the customer's tags."""
    with store.session() as s:
        customer = s.get(Customer, customer_id)
        if customer is None:
            raise NotFoundError(f"no customer {customer_id}")
        tag = _get_or_create(s, name)
        if tag not in customer.tags:
            customer.tags.append(tag)
        return sorted(t.name for t in customer.tags)


def remove_tag(store: Store, customer_id: int, name: str) -> list[str]:
    """Take a tag off a customer; returns the customer's remaining tags."""
    with store.session() as s:
        customer = s.get(Customer, customer_id)
        if customer is None:
            raise NotFoundError(f"no customer {customer_id}")
        customer.tags = [t for t in customer.tags if t.name.lower() != name.strip().lower()]
        return sorted(t.name for t in customer.tags)
