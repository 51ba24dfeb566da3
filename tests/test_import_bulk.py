"""The import's fast paths write and show exactly what the general paths would."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, text

from app.models import Booking, Customer
from app.services import import_cleaning as cl
from app.services.import_rows import number_views, phone_views
from app.services.importing import _BulkInsert


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("06 52 52 72 72", "FR"),
        ("+33 6 52 52 72 72", "DE"),
        ("06 52 52 72 72 ext. 12", "FR"),
        ("0151 23456789", "DE"),
        ("06 1234 5678", "IT"),  # Italian leading zero
        ("(415) 555-2671", "US"),
        ("138 0013 8000", "CN"),
        ("020 7946 0958", "GB"),
        ("33652527272", "DE"),  # a '+' a spreadsheet ate
        (4915123456789.0, "DE"),
    ],
)
def test_phone_forms_from_the_cleaned_number_equal_those_from_e164(typed, region):
    phone, number = cl.clean_phone_number(typed, region)
    assert cl.clean_phone(typed, region) == phone
    assert number_views(phone.e164, number) == phone_views(phone.e164)


def test_bulk_insert_writes_what_a_core_insert_writes(empty_store):
    now = dt.datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
    customer = {
        "first_name": "Zoé",
        "last_name": "Lefèvre",
        "display_name": "Zoé Lefèvre",
        "sort_name": "lefevre zoe",
        "birthday": dt.date(1985, 4, 9),
        "marketing_consent": True,
        "consent_at": now,
        "created_at": now,
        "updated_at": now,
        "booking_count": 1,
        "no_show_count": 0,
        "lifetime_value": {"EUR": 24000},
        "tag_names": "VIP",
    }
    booking = {
        "start_at": dt.datetime(2024, 5, 1, 15, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "end_at": None,
        "status": "completed",
        "price_minor": 24000,
        "currency": "EUR",
        "kind": "stay",
        "created_at": now,
        "updated_at": now,
    }
    writer = _BulkInsert()
    with empty_store.engine.begin() as conn:
        conn.execute(insert(Customer), [dict(customer, id=1)])
        writer.insert(conn, Customer.__table__, [dict(customer, id=2)])
        conn.execute(insert(Booking), [dict(booking, id=1, customer_id=1)])
        writer.insert(conn, Booking.__table__, [dict(booking, id=2, customer_id=2)])
    with empty_store.engine.connect() as conn:
        for table, key in (("customer", "id"), ("booking", "customer_id")):
            rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY {key}")).mappings().all()
            one, two = ({k: v for k, v in r.items() if k not in ("id", key)} for r in rows)
            assert one == two
