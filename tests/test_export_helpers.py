"""(No tests here.) A small, hand-made store for the export tests: accents, Chinese, three
currencies, cancelled and no-show bookings, bookings either side of New Year in the
business's zone, and names that look like spreadsheet formulas."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.services import bookings, communications, customers, notes, vault
from app.services import settings as settings_svc
from app.services.bookings import BookingInput
from app.services.customers import CustomerInput
from app.services.store import Store, create_store, open_store

PASSPHRASE = "export tests passphrase"
BUSINESS = "Maison Zoé & 张"
EVIL_FIRST = '=HYPERLINK("http://evil.example","click")'


@dataclass
class Sample:
    directory: Path
    zoe: int
    wei: int
    jurgen: int
    evil: int
    archived: int
    new_year_eve: int  # booking 2025-12-31 23:30 Paris
    new_year_day: int  # booking 2026-01-01 00:30 Paris (2025 in UTC!)


def _book(store: Store, cid: int, start: str, price: str, **kw) -> int:
    return bookings.record_booking(
        store, BookingInput(start=start, customer_id=cid, price=price, **kw)
    ).booking["id"]


def build_sample(directory: Path) -> Sample:
    store, _kit = create_store(directory, passphrase=PASSPHRASE, use_keyring=False)
    try:
        settings_svc.set_value(store, "business_name", BUSINESS)
        settings_svc.set_value(store, "timezone", "Europe/Paris")
        zoe = customers.add_customer(
            store,
            CustomerInput(
                first_name="Zoé",
                last_name="Lefèvre",
                phones=["06 52 52 72 72", "+49 151 23456789"],
                emails=["zoe@example.org", "zoe.work@example.com"],
                preferred_language="fr",
                birthday="1985-04-09",
                street="12, rue de l'Église; bât. B",
                postcode="75004",
                city="Paris",
                country="FR",
                tags=["VIP", "Habitué·e"],
                marketing_consent=True,
                consent_method="booking form",
                external_refs=[("booking.com", "BK-77"), ("", "legacy-5")],
            ),
        ).id
        wei = customers.add_customer(
            store,
            CustomerInput(
                first_name="伟",
                last_name="张",
                phones=["+86 138 0013 8000"],
                emails=["zhangwei88@qq.com"],
                preferred_language="zh-Hans",
                tags=["VIP"],
            ),
        ).id
        jurgen = customers.add_customer(
            store,
            CustomerInput(first_name="Jürgen", last_name="Müller", emails=["j.mueller@web.de"]),
        ).id
        evil = customers.add_customer(
            store, CustomerInput(first_name=EVIL_FIRST, last_name="@SUM(1+1)")
        ).id
        archived = customers.add_customer(
            store, CustomerInput(first_name="Old", last_name="Guest")
        ).id
        customers.set_archived(store, archived)
        # consent withdrawn, then given again: the record's consent history shows both
        customers.edit_customer(
            store, zoe, CustomerInput(marketing_consent=False, consent_method="email")
        )
        customers.edit_customer(
            store, zoe, CustomerInput(marketing_consent=True, consent_method="in person")
        )
        notes.add_note(store, zoe, "Allergique aux arachides; grave, très", alert=True)
        notes.add_note(store, wei, "喜欢安静的房间，" * 12, pinned=True)
        notes.add_note(store, wei, "not pinned, not in the vCard")
        communications.log_message(
            store, zoe, channel="email", kind="reminder", subject="Rappel", body="Bonjour Zoé"
        )

        b1 = _book(store, zoe, "2025-03-10 15:00", "45.10", room="Garden Suite",
                   status="completed")  # fmt: skip
        bookings.add_payment(store, b1, "45.10", method="card", paid_at="2025-03-12 10:00")
        _book(store, zoe, "2025-03-11 15:00", "0.10", room="Garden Suite", status="completed")
        _book(store, zoe, "2025-03-12 08:00", "0.20", service="Petit-déjeuner",
              status="completed")  # fmt: skip
        b4 = _book(store, wei, "2025-05-01 10:00", "1288", currency="CNY", room="12",
                   channel="website")  # fmt: skip
        bookings.add_payment(
            store, b4, "500", method="transfer", paid_at="2025-05-02 09:00", reference="WX-1"
        )
        b5 = _book(store, jurgen, "2025-06-01 10:00", "120.00", room="Lavande")
        bookings.cancel_booking(store, b5)
        b6 = _book(store, jurgen, "2025-06-02 10:00", "99.99", room="Lavande", status="no-show")
        bookings.add_payment(store, b6, "30.00", method="cash", paid_at="2025-05-20 12:00")
        eve = _book(store, zoe, "2025-12-31 23:30", "200.00", room="Garden Suite")
        # a deposit paid the year before: counts as paid, listed on 2024's Payments sheet
        bookings.add_payment(store, eve, "50.00", method="transfer", paid_at="2024-12-20 12:00")
        day = _book(store, zoe, "2026-01-01 00:30", "300.00", room="Garden Suite")
        b9 = _book(store, evil, "2025-07-01 11:00", "10000", currency="JPY",
                   service="Cut*Colour?", status="completed", channel="walk-in")  # fmt: skip
        bookings.add_payment(store, b9, "10000", method="cash", paid_at="2025-07-01 12:00")
        b10 = _book(store, wei, "2025-08-08 15:00", "50.00", room="lavande",
                    status="completed", channel="booking.com")  # fmt: skip
        bookings.add_payment(store, b10, "50.00", method="online", paid_at="2025-08-08 16:00")
    finally:
        store.close()
    return Sample(directory, zoe, wei, jurgen, evil, archived, eve, day)


def open_sample(sample: Sample) -> Iterator[Store]:
    """Open the sample store for one test (the fixture in each test module yields this)."""
    s = open_store(sample.directory, vault.unlock(sample.directory, passphrase=PASSPHRASE))
    try:
        yield s
    finally:
        s.close()
