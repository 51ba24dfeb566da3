"""The list service behind the window: filters and sorting in SQL, rows for a slice of ids."""

from __future__ import annotations

import datetime as dt

from app.services import bookings, customer_list, customers, tags
from app.services.customer_list import ListFilter
from app.services.timeutil import local_today


def test_unfiltered_list_is_every_live_customer_sorted_by_name(demo_store):
    ids = customer_list.list_ids(demo_store, ListFilter())
    assert len(ids) == customers.count_customers(demo_store) == 300
    rows = customer_list.fetch_rows(demo_store, ids[:50])
    names = [rows[i].display_name for i in ids[:50]]
    assert len(names) == 50
    assert customer_list.count_all(demo_store) == 300


def test_query_keeps_search_ranking_and_filters_narrow_it(demo_store):
    ids = customer_list.list_ids(demo_store, ListFilter(query="lefevre zoe"), sort=None)
    rows = customer_list.fetch_rows(demo_store, ids)
    assert "Zoé Lefèvre" in {r.display_name for r in rows.values()}
    none = customer_list.list_ids(
        demo_store, ListFilter(query="lefevre zoe", language="zh"), sort=None
    )
    assert none == []


def test_each_filter(demo_store):
    de = customer_list.list_ids(demo_store, ListFilter(language="de"))
    assert de and all(r.language == "de" for r in customer_list.fetch_rows(demo_store, de).values())
    cid = de[0]
    tags.add_tag(demo_store, cid, "Stammgast")
    assert customer_list.list_ids(demo_store, ListFilter(tags=("stammgast",))) == [cid]
    consenting = customer_list.list_ids(demo_store, ListFilter(consent=True))
    refusing = customer_list.list_ids(demo_store, ListFilter(consent=False))
    assert set(consenting).isdisjoint(refusing)
    assert len(consenting) + len(refusing) == 300
    start = dt.datetime.now() + dt.timedelta(days=3)
    bookings.record_booking(
        demo_store,
        bookings.BookingInput(
            start=start.strftime("%Y-%m-%d 10:00"), customer_id=cid, location="Gartenhaus"
        ),
    )
    assert customer_list.list_ids(demo_store, ListFilter(location="Gartenhaus")) == [cid]
    assert cid in customer_list.list_ids(demo_store, ListFilter(upcoming=True))
    today = local_today("Europe/Paris")
    recent = customer_list.list_ids(
        demo_store, ListFilter(first_contact_from=today - dt.timedelta(days=30))
    )
    old = customer_list.list_ids(
        demo_store, ListFilter(first_contact_to=today - dt.timedelta(days=31))
    )
    assert set(recent).isdisjoint(old)


def test_sorting_is_sql_and_empty_values_go_last(demo_store):
    ids = customer_list.list_ids(demo_store, ListFilter(), sort="booking_count", descending=True)
    counts = [customer_list.fetch_rows(demo_store, [i])[i].booking_count for i in ids]
    assert counts == sorted(counts, reverse=True)
    ids = customer_list.list_ids(demo_store, ListFilter(), sort="email")
    emails = [customer_list.fetch_rows(demo_store, [i])[i].email for i in ids]
    present = [e for e in emails if e]
    assert emails[: len(present)] == present  # customers without email at the end
    assert [e.lower() for e in present] == sorted(e.lower() for e in present)


def test_archived_customers_only_when_asked(demo_store):
    cid = customer_list.list_ids(demo_store, ListFilter())[0]
    customers.set_archived(demo_store, cid)
    assert cid not in customer_list.list_ids(demo_store, ListFilter())
    shown = customer_list.list_ids(demo_store, ListFilter(include_archived=True))
    assert cid in shown
    assert customer_list.fetch_rows(demo_store, [cid])[cid].archived


def test_filter_choices_come_from_the_store(demo_store):
    choices = customer_list.filter_choices(demo_store)
    assert "VIP" in choices.tags
    assert {"fr", "de"} <= set(choices.languages)
    assert choices.locations


def test_index_walk_matches_a_plain_sql_sort(demo_store):
    """The unfiltered fast path (index order, hidden customers dropped) orders exactly like
    the filtered path, empty values last both ways."""
    hidden = customer_list.list_ids(demo_store, ListFilter())[:3]
    for cid in hidden:
        customers.set_archived(demo_store, cid)
    for sort in ("name", "last_visit", "booking_count", "created"):
        for descending in (False, True):
            fast = customer_list.list_ids(
                demo_store, ListFilter(), sort=sort, descending=descending
            )
            # a filter that keeps everyone forces the SQL path
            slow = customer_list.list_ids(
                demo_store,
                ListFilter(first_contact_from=dt.date(1900, 1, 1)),
                sort=sort,
                descending=descending,
            )
            assert fast == slow, (sort, descending)
            assert not set(hidden) & set(fast)
