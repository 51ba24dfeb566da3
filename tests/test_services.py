"""Customers, bookings, payments, notes, tags, settings and the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest

from app.services import audit, bookings, customers, notes, search, tags
from app.services import settings as settings_svc
from app.services.bookings import BookingInput
from app.services.customers import CustomerInput
from app.services.errors import NotFoundError, ValidationError


def _future(days: int) -> str:
    return (dt.datetime.now() + dt.timedelta(days=days)).strftime("%Y-%m-%d 10:00")


def _past(days: int) -> str:
    return (dt.datetime.now() - dt.timedelta(days=days)).strftime("%Y-%m-%d 10:00")


def test_add_customer_normalises_phone_and_email(empty_store):
    p = customers.add_customer(
        empty_store,
        CustomerInput(
            first_name="  Zoé ",
            last_name="Lefèvre",
            phones=["06 52 52 72 72"],
            emails=["Zoe.Lefevre@GMAIL.com"],
            birthday="1985-04-09",
            preferred_language="fr",
        ),
    )
    assert p.display_name == "Zoé Lefèvre"
    assert p.phones[0].e164 == "+33652527272"
    assert p.phones[0].raw == "06 52 52 72 72"
    assert p.phones[0].international == "+33 6 52 52 72 72"
    assert p.emails[0].address == "Zoe.Lefevre@gmail.com"
    assert p.birthday == dt.date(1985, 4, 9)


def test_chinese_name_is_family_name_first(empty_store):
    p = customers.add_customer(empty_store, CustomerInput(first_name="伟", last_name="张"))
    assert p.display_name == "张伟"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (CustomerInput(first_name="A", phones=["12"]), "phone"),
        (CustomerInput(first_name="A", emails=["not-an-email"]), "email"),
        (CustomerInput(first_name="A", birthday="09/04/1985"), "birthday"),
        (CustomerInput(first_name="A", birthday="1850-01-01"), "birthday"),
        (CustomerInput(first_name="", last_name=""), "name"),
        (CustomerInput(first_name="A", country="France"), "country"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(empty_store, data, field):
    with pytest.raises(ValidationError) as err:
        customers.add_customer(empty_store, data)
    assert err.value.field == field
    assert customers.count_customers(empty_store) == 0


def test_failed_edit_leaves_profile_unchanged(empty_store):
    p = customers.add_customer(
        empty_store, CustomerInput(first_name="Jörg", phones=["+49 151 23456789"])
    )
    with pytest.raises(ValidationError):
        customers.edit_customer(
            empty_store, p.id, CustomerInput(first_name="Jürgen", phones=["abc"])
        )
    again = customers.get_profile(empty_store, p.id)
    assert again.first_name == "Jörg" and again.phones[0].e164 == "+4915123456789"


def test_booking_attaches_to_customer_with_same_phone_and_fills_email(empty_store):
    p = customers.add_customer(
        empty_store, CustomerInput(first_name="Jean", last_name="Dupont", phones=["06 52 52 72 72"])
    )
    result = bookings.record_booking(
        empty_store,
        BookingInput(
            start=_future(3),
            contact=CustomerInput(
                first_name="Jean",
                last_name="DUPONT",
                phones=["+33652527272"],
                emails=["jean@orange.fr"],
            ),
            price="120.00",
        ),
    )
    assert result.customer_id == p.id and not result.customer_created
    assert "emails" in result.filled_fields
    profile = customers.get_profile(empty_store, p.id)
    assert [e.address for e in profile.emails] == ["jean@orange.fr"]
    assert profile.last_name == "Dupont"  # existing value never overwritten
    assert profile.bookings[0]["price_minor"] == 12000


def test_booking_for_unknown_contact_creates_profile(empty_store):
    result = bookings.record_booking(
        empty_store,
        BookingInput(
            start=_future(1),
            contact=CustomerInput(first_name="Mei", last_name="Lin", emails=["mei@qq.com"]),
        ),
    )
    assert result.customer_created
    assert customers.get_profile(empty_store, result.customer_id).display_name == "Mei Lin"


def test_figures_follow_bookings_payments_and_cancellations(empty_store):
    p = customers.add_customer(empty_store, CustomerInput(first_name="Lena", last_name="Weiß"))
    b1 = bookings.record_booking(
        empty_store, BookingInput(start=_past(30), customer_id=p.id, price="80", status="completed")
    ).booking
    bookings.add_payment(empty_store, b1["id"], "80.00", method="cash")
    b2 = bookings.record_booking(
        empty_store, BookingInput(start=_past(10), customer_id=p.id, price="50", status="no-show")
    ).booking
    b3 = bookings.record_booking(
        empty_store, BookingInput(start=_future(5), customer_id=p.id, price="90")
    ).booking
    f = customers.get_profile(empty_store, p.id).figures
    assert f["booking_count"] == 3
    assert f["no_show_count"] == 1
    assert f["total_spent"] == {"EUR": 8000}
    assert f["lifetime_value"] == {"EUR": 8000}
    assert f["next_booking_at"] is not None
    assert f["balance_due"] == {"EUR": 9000}
    bookings.cancel_booking(empty_store, b3["id"])
    f = customers.get_profile(empty_store, p.id).figures
    assert f["booking_count"] == 2 and f["next_booking_at"] is None
    assert f["balance_due"] == {}
    assert b2["balance_minor"] == 0  # a no-show owes nothing by default


def test_money_refuses_too_many_decimals(empty_store):
    p = customers.add_customer(empty_store, CustomerInput(first_name="A"))
    with pytest.raises(ValidationError, match="decimals"):
        bookings.record_booking(
            empty_store, BookingInput(start=_future(1), customer_id=p.id, price="1.005")
        )
    settings_svc.set_value(empty_store, "currency", "JPY")
    b = bookings.record_booking(
        empty_store, BookingInput(start=_future(1), customer_id=p.id, price="4500")
    )
    assert (b.booking["price_minor"], b.booking["currency"]) == (4500, "JPY")


def test_times_entered_in_business_zone_are_stored_utc(empty_store):
    settings_svc.set_value(empty_store, "timezone", "Asia/Shanghai")
    p = customers.add_customer(empty_store, CustomerInput(first_name="A"))
    b = bookings.record_booking(
        empty_store, BookingInput(start="2030-01-02 09:00", customer_id=p.id)
    )
    assert b.booking["start_at"] == dt.datetime(2030, 1, 2, 1, 0, tzinfo=dt.UTC)


def test_notes_alerts_first_and_tags(empty_store):
    p = customers.add_customer(empty_store, CustomerInput(first_name="Chloé"))
    notes.add_note(empty_store, p.id, "Likes green tea")
    alert = notes.add_note(empty_store, p.id, "Allergic to latex", alert=True)
    assert customers.get_profile(empty_store, p.id).notes[0]["body"] == "Allergic to latex"
    notes.edit_note(empty_store, alert.id, alert=False, pinned=True)
    notes.delete_note(empty_store, alert.id)
    assert [n["body"] for n in customers.get_profile(empty_store, p.id).notes] == [
        "Likes green tea"
    ]
    tags.add_tag(empty_store, p.id, "VIP")
    assert tags.add_tag(empty_store, p.id, "Wedding party") == ["VIP", "Wedding party"]
    assert tags.remove_tag(empty_store, p.id, "vip") == ["Wedding party"]
    names = {t.name for t in tags.list_tags(empty_store)}
    assert {"VIP", "Regular", "No-show", "Problematic", "Wedding party"} <= names


def test_every_change_is_audited(empty_store):
    p = customers.add_customer(empty_store, CustomerInput(first_name="Anna", last_name="Koch"))
    customers.edit_customer(empty_store, p.id, CustomerInput(last_name="Köhler"))
    events = audit.events_for_customer(empty_store, p.id)
    update = next(e for e in events if e["action"] == "update" and e["entity"] == "customer")
    assert update["changes"]["last_name"] == ["Koch", "Köhler"]
    assert update["actor"] == empty_store.actor
    assert any(e["action"] == "create" for e in events)


def test_tags_given_and_taken_are_in_the_history_and_a_save_as_is_is_not(empty_store):
    p = customers.add_customer(empty_store, CustomerInput(first_name="Anna", last_name="Koch"))
    tags.add_tag(empty_store, p.id, "VIP")
    tags.add_tag(empty_store, p.id, "Wedding party")
    tags.remove_tag(empty_store, p.id, "vip")
    changes = [
        e["changes"]["tags"]
        for e in audit.events_for_customer(empty_store, p.id)
        if e["entity"] == "customer" and e["action"] == "update"
    ]
    assert changes == [
        [["VIP", "Wedding party"], ["Wedding party"]],
        [["VIP"], ["VIP", "Wedding party"]],
        [[], ["VIP"]],
    ]
    before = len(audit.events_for_customer(empty_store, p.id))
    # the edit dialog saves every field: unchanged ones must not fill the history
    customers.edit_customer(
        empty_store,
        p.id,
        CustomerInput(first_name="Anna", last_name="Koch", tags=["Wedding party"]),
    )
    assert len(audit.events_for_customer(empty_store, p.id)) == before


def test_search_is_fresh_after_edit_and_archive(empty_store):
    p = customers.add_customer(
        empty_store,
        CustomerInput(first_name="Björn", last_name="Schäfer", phones=["+49 151 11112222"]),
    )
    assert [h.id for h in search.search(empty_store, "schafer")] == [p.id]
    assert [h.id for h in search.search(empty_store, "1111")] == [p.id]
    customers.edit_customer(empty_store, p.id, CustomerInput(last_name="Hartmann"))
    assert search.search(empty_store, "schafer") == []
    assert [h.id for h in search.search(empty_store, "hartm")] == [p.id]
    customers.set_archived(empty_store, p.id)
    assert search.search(empty_store, "hartm") == []
    assert [h.id for h in search.search(empty_store, "hartm", include_archived=True)] == [p.id]


def test_unknown_ids_are_not_found(empty_store):
    with pytest.raises(NotFoundError):
        customers.get_profile(empty_store, 999)
    with pytest.raises(NotFoundError):
        bookings.cancel_booking(empty_store, 999)


def test_settings_are_validated(empty_store):
    assert settings_svc.get(empty_store, "currency") == "EUR"
    with pytest.raises(ValidationError, match="time zone"):
        settings_svc.set_value(empty_store, "timezone", "Mars/Olympus")
    with pytest.raises(ValidationError):
        settings_svc.set_value(empty_store, "default_region", "XX")
    assert settings_svc.set_value(empty_store, "default_region", "cn") == "CN"


def test_demo_data_is_valid_and_has_true_duplicates(demo_store):
    import phonenumbers
    from sqlalchemy import select

    from app.models import CustomerPhone

    with demo_store.reader() as s:
        rows = s.execute(select(CustomerPhone.raw, CustomerPhone.e164)).all()
    for raw, e164 in rows:
        parsed = phonenumbers.parse(raw, "FR")
        assert phonenumbers.is_valid_number(parsed), raw
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == e164
    dupes = [r for r in rows if r[1] == "+33652527272"]
    assert {r[0] for r in dupes} == {"06 52 52 72 72", "+33652527272"}
