"""Merging duplicate profiles, and taking a merge back exactly."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.models import (
    Booking,
    Communication,
    Customer,
    CustomerEmail,
    CustomerPhone,
    ExternalRef,
    Note,
    Payment,
    customer_tag,
)
from app.services import bookings, communications, customers, duplicates, merging, notes, search
from app.services.customers import CustomerInput
from app.services.errors import ServiceError
from app.services.store import Store

DUMPED = (
    Customer.__table__,
    CustomerPhone.__table__,
    CustomerEmail.__table__,
    ExternalRef.__table__,
    customer_tag,
    Note.__table__,
    Booking.__table__,
    Payment.__table__,
    Communication.__table__,
)


def full_dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a merge touches, in a stable order."""
    with store.reader() as s:
        return {t.name: sorted(tuple(r) for r in s.execute(select(t)).all()) for t in DUMPED}


def _family(store: Store) -> tuple[int, int, int]:
    a = customers.add_customer(
        store,
        CustomerInput(
            first_name="J-P",
            last_name="Dupont",
            phones=["06 52 52 72 72"],
            tags=["VIP"],
            external_refs=[("salonbook", "C-17")],
        ),
    ).id
    b = customers.add_customer(
        store,
        CustomerInput(
            first_name="Jean-Pierre",
            last_name="DUPONT",
            phones=["+33652527272", "+33 7 81 22 33 44"],
            emails=["JP.Dupont@orange.fr"],
            birthday="1980-04-09",
            street="12 rue des Lilas",
            postcode="69003",
            city="Lyon",
            tags=["Regular"],
        ),
    ).id
    c = customers.add_customer(
        store,
        CustomerInput(
            first_name="Jean Pierre",
            last_name="Dupont",
            emails=["jdupont.7781@guest.booking.com", "jp.dupont@orange.fr"],
            marketing_consent=True,
            tags=["VIP", "Business"],
        ),
    ).id
    for cid, when in ((a, "2025-03-01 10:00"), (b, "2025-06-01 15:00"), (c, "2025-09-01 15:00")):
        booking = bookings.record_booking(
            store,
            bookings.BookingInput(
                start=when, customer_id=cid, room="Lavande", price="120.00", status="completed"
            ),
        ).booking
        bookings.add_payment(store, booking["id"], "120.00")
        notes.add_note(store, cid, f"note for {cid}", alert=cid == a)
        communications.log_message(
            store, cid, channel="email", kind="confirmation", subject=f"hello {cid}", body="…"
        )
    return a, b, c


@pytest.fixture
def family(empty_store: Store) -> tuple[Store, tuple[int, int, int]]:
    return empty_store, _family(empty_store)


def test_merge_moves_history_and_keeps_every_contact(family) -> None:
    store, (a, b, c) = family
    outcome = merging.merge(store, b, [a, c])
    assert outcome.survivor_id == b and outcome.merged_ids == [a, c]
    kept = customers.get_profile(store, b)
    # the longest name by default; of two equally long ones, the newer
    assert kept.display_name == "Jean Pierre Dupont"
    assert [p.e164 for p in kept.phones] == ["+33652527272", "+33781223344"]
    assert sorted(e.address for e in kept.emails) == [
        "JP.Dupont@orange.fr",
        "jdupont.7781@guest.booking.com",
    ]
    assert kept.external_refs == [{"system": "salonbook", "ref": "C-17"}]
    assert kept.tags == ["Business", "Regular", "VIP"]
    assert kept.marketing_consent is True  # the only profile with consent on record
    assert kept.birthday.isoformat() == "1980-04-09"
    assert len(kept.bookings) == 3 and all(len(bk["payments"]) == 1 for bk in kept.bookings)
    assert kept.figures["booking_count"] == 3
    assert kept.figures["total_spent"] == {"EUR": 36000}
    assert len(kept.notes) == 3 and kept.notes[0]["alert"]
    assert len(kept.communications) == 3
    for gone in (a, c):
        profile = customers.get_profile(store, gone)
        assert profile.merged_into_id == b
        assert profile.bookings == [] and profile.figures["booking_count"] == 0
    # merged profiles are hidden from search; the survivor is found by any of the names
    found = [h.id for h in search.search(store, "Dupont")]
    assert found == [b]
    assert [h.id for h in search.search(store, "jdupont.7781")] == [b]
    assert customers.count_customers(store) == 1


def test_merge_then_unmerge_round_trips_exactly(family) -> None:
    store, (a, b, c) = family
    before = full_dump(store)
    outcome = merging.merge(store, a, [b, c], choices={"name": b, "address": b})
    assert full_dump(store) != before
    assert customers.get_profile(store, a).display_name == "Jean-Pierre DUPONT"
    merging.unmerge(store, outcome.merge_id)
    after = full_dump(store)
    for table in before:
        assert after[table] == before[table], table
    # and each profile reads as before, search included
    assert {h.id for h in search.search(store, "Dupont")} == {a, b, c}


def test_unmerge_after_later_edits_and_chained_merges(family) -> None:
    store, (a, b, c) = family
    before = full_dump(store)
    first = merging.merge(store, a, [b])
    second = merging.merge(store, a, [c])
    with pytest.raises(ServiceError, match=f"undo the later merge {second.merge_id} first"):
        merging.unmerge(store, first.merge_id)
    merging.unmerge(store, second.merge_id)
    merging.unmerge(store, first.merge_id)
    assert full_dump(store) == before
    with pytest.raises(ServiceError, match="already undone"):
        merging.unmerge(store, first.merge_id)


def test_merge_refuses_bad_requests(family) -> None:
    store, (a, b, c) = family
    with pytest.raises(ServiceError, match="into itself"):
        merging.merge(store, a, [a])
    with pytest.raises(ServiceError, match="no customer with id 999"):
        merging.merge(store, a, [999])
    with pytest.raises(ServiceError, match="'colour' is not a merge field"):
        merging.merge(store, a, [b], choices={"colour": b})
    with pytest.raises(ServiceError, match="not one of those being merged"):
        merging.merge(store, a, [b], choices={"name": c})
    merging.merge(store, a, [b])
    with pytest.raises(ServiceError, match=f"customer {b} was already merged into customer {a}"):
        merging.merge(store, c, [b])


def test_default_choices_prefer_longest_name_and_newest_values(family) -> None:
    store, (a, b, c) = family
    picked = merging.default_choices(store, a, [b, c])
    assert picked["name"] == c  # as long as b's, and newer
    assert picked["birthday"] == b and picked["address"] == b  # only b has them
    assert picked["marketing_consent"] == c
    assert set(picked) == {f.key for f in merging.MERGE_FIELDS}


def test_merged_profiles_are_no_longer_suggested(family) -> None:
    store, (a, b, c) = family
    assert duplicates.find_duplicates(store).groups
    merging.merge(store, b, [a, c])
    assert duplicates.find_duplicates(store).groups == []
    assert duplicates.candidates_for(store, a) == []
