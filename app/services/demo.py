"""Realistic, deterministic demo data, written in bulk so a million customers fit in memory.

Rows go in through Core ``executemany`` in chunks, with figures and search rows computed
alongside; the ORM hooks are bypassed on purpose (they would cost minutes at 1M).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
from collections.abc import Callable
from typing import Any

import phonenumbers
from sqlalchemy import func, insert, select

from app.assets import resource_path
from app.models import (
    Booking,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Note,
    Payment,
    Tag,
    customer_tag,
    search_index,
)
from app.services import settings as settings_svc
from app.services.normalize import display_name, format_phone, sort_key
from app.services.search_text import build_row
from app.services.store import Store

CHUNK = 5000
Progress = Callable[[int, int], None]

ROOMS = ["Lavande", "Olivier", "Tilleul", "Garden Suite", "Attic Room", "Family Room"]
SERVICES = [
    ("Cut & blow-dry", 4500, 60),
    ("Colour", 8500, 120),
    ("Highlights", 11000, 150),
    ("Men's cut", 2800, 30),
    ("Manicure", 3500, 45),
    ("Massage 60 min", 7000, 60),
    ("Facial", 6500, 60),
]
STAFF = ["Amélie", "Jonas", "Mei", "Sophie", "Karim"]
LOCATIONS = ["Main house", "Annex"]
CHANNELS = ["direct", "phone", "walk-in", "website", "booking.com", "airbnb"]
NOTES = [
    ("Prefers a firm pillow", False),
    ("Vegetarian breakfast", False),
    ("Likes the quiet room at the back", False),
    ("Préfère le thé au café", False),
    ("Arrives late, usually after 21:00", False),
    ("喜欢安静的房间", False),
    ("Allergic to nuts — no almond croissants", True),
    ("Allergie aux arachides (grave)", True),
    ("Latexallergie: nur Nitrilhandschuhe", True),
    ("Sensitive scalp: patch test before any colour", True),
]
DOMAINS = {
    "fr": ["orange.fr", "gmail.com", "free.fr", "laposte.net"],
    "de": ["web.de", "gmx.de", "gmail.com", "t-online.de"],
    "en": ["gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com"],
    "zh": ["qq.com", "163.com", "gmail.com", "126.com"],
}
CULTURE_WEIGHTS = [("fr", 45), ("de", 20), ("en", 20), ("zh", 15)]


@functools.lru_cache(maxsize=8192)
def _name_parts(first: str, last: str) -> tuple[str, str]:
    display = display_name(first, last)
    return display, sort_key(first, last)


def _names() -> dict[str, dict[str, list[str]]]:
    return json.loads(resource_path("demo", "names.json").read_text(encoding="utf-8"))


_COUNTRY_CODES = {"+33": 33, "+49": 49, "+44": 44, "+86": 86}


def _phone(rng: random.Random, culture: str) -> tuple[str, str]:
    """(as typed, E.164), mixing national and international forms; always a valid number."""
    while True:
        raw, e164 = _phone_candidate(rng, culture)
        # built from parts rather than parsed: parsing costs seconds per 100k numbers
        number = phonenumbers.PhoneNumber(
            country_code=_COUNTRY_CODES[e164[:3]], national_number=int(e164[3:])
        )
        if phonenumbers.is_valid_number(number):
            return raw, e164


def _phone_candidate(rng: random.Random, culture: str) -> tuple[str, str]:
    if culture == "fr":
        # French mobiles: 6xxxxxxxx or 7[3-9]xxxxxxx (what phonenumbers accepts as valid)
        d = rng.choice(
            [
                "6" + f"{rng.randrange(10**8):08d}",
                f"7{rng.randrange(3, 10)}{rng.randrange(10**7):07d}",
            ]
        )
        e164 = "+33" + d
        pairs = " ".join(d[i : i + 2] for i in range(1, 9, 2))
        raw = rng.choice([f"0{d[0]} {pairs}", f"+33 {d[0]} {pairs}", "0" + d, e164])
    elif culture == "de":
        d = f"15{rng.choice('1279')}{rng.randrange(10**8):08d}"
        e164 = "+49" + d
        raw = rng.choice([f"+49 {d[:3]} {d[3:]}", f"0049 {d[:3]} {d[3:]}", e164])
    elif culture == "en":
        d = f"7{rng.choice(['4', '5', '9'])}{rng.randrange(10**8):08d}"
        e164 = "+44" + d
        raw = rng.choice([f"+44 {d[:4]} {d[4:]}", f"+44{d}", f"0044 {d[:4]} {d[4:]}"])
    else:
        d = f"13{rng.choice('5789')}{rng.randrange(10**8):08d}"
        e164 = "+86" + d
        raw = rng.choice([f"+86 {d[:3]} {d[3:7]} {d[7:]}", f"+86{d}", f"0086 {d}"])
    return raw, e164


def _email(rng: random.Random, culture: str, first: str, last: str, n: int) -> str:
    from unidecode import unidecode

    if culture == "zh":
        from pypinyin import lazy_pinyin

        local = "".join(lazy_pinyin(last + first)) + str(n % 997)
    else:
        local = unidecode(f"{first}.{last}").lower().replace(" ", "").replace("'", "")
        local = f"{local}{n % 97}" if rng.random() < 0.6 else local
    return f"{local}@{rng.choice(DOMAINS[culture])}"


FIXED = [
    # the seed example of the duplicates issue: one guest, three profiles
    dict(first="Jean-Pierre", last="Dupont", phone="06 52 52 72 72", email=None, lang="fr"),
    dict(
        first="Jean-Pierre",
        last="DUPONT",
        phone="+33652527272",
        email="jp.dupont@orange.fr",
        lang="fr",
        birthday=dt.date(1980, 4, 9),
    ),
    dict(
        first="Jean Pierre",
        last="Dupont",
        phone=None,
        email="jdupont.7781@guest.booking.com",
        lang="fr",
        birthday=dt.date(1980, 4, 9),
    ),
    dict(
        first="Zoé",
        last="Lefèvre",
        phone="+33 6 11 22 72 72",
        email="zoe.lefevre@gmail.com",
        lang="fr",
    ),
    dict(
        first="Jürgen", last="Müller", phone="+49 151 23456789", email="j.mueller@web.de", lang="de"
    ),
    dict(first="伟", last="张", phone="+86 138 0013 8000", email="zhangwei88@qq.com", lang="zh"),
]


def generate(
    store: Store,
    customers: int = 2000,
    seed: int = 1,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict[str, int]:
    """Fill the store with ``customers`` realistic profiles, bookings, payments, notes, tags.

    Deterministic for a given seed (given the same 'today'). Memory stays flat: rows are
    built and written ``CHUNK`` customers at a time.
    """
    rng = random.Random(seed)
    names = _names()
    conf = settings_svc.get_all(store)
    salon = conf["kind"] == "salon"
    currency = conf["currency"]
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    history_start = today - dt.timedelta(days=3 * 365)
    totals = {"customers": 0, "bookings": 0, "payments": 0, "notes": 0}
    with store.session() as s:
        tag_ids = dict(s.execute(select(Tag.name, Tag.id)).all())
        next_c = (s.scalar(select(func.max(Customer.id))) or 0) + 1
        next_b = (s.scalar(select(func.max(Booking.id))) or 0) + 1
    cultures = [c for c, w in CULTURE_WEIGHTS for _ in range(w)]
    done = 0
    while done < customers:
        if cancelled and cancelled():
            break
        n = min(CHUNK, customers - done)
        rows: dict[str, list[dict[str, Any]]] = {
            k: [] for k in ("customer", "phone", "email", "tag", "booking", "payment", "note")
        }
        index_rows = []
        for i in range(n):
            cid = next_c
            next_c += 1
            fixed = FIXED[done + i] if done + i < len(FIXED) else None
            culture = fixed["lang"] if fixed else rng.choice(cultures)
            first = fixed["first"] if fixed else rng.choice(names[culture]["first"])
            last = fixed["last"] if fixed else rng.choice(names[culture]["last"])
            created = history_start + dt.timedelta(days=rng.randrange(0, 3 * 365))
            phones: list[tuple[str, str]] = []
            emails: list[str] = []
            if fixed:
                if fixed["phone"]:
                    from app.services.normalize import parse_phone

                    p = parse_phone(fixed["phone"], "FR")
                    phones.append((p.raw, p.e164))
                if fixed["email"]:
                    emails.append(fixed["email"])
            else:
                if rng.random() < 0.9:
                    phones.append(_phone(rng, culture))
                if rng.random() < 0.08:
                    phones.append(_phone(rng, culture))
                if rng.random() < 0.75:
                    emails.append(_email(rng, culture, first, last, cid))
                if rng.random() < 0.04:
                    emails.append(f"{rng.randrange(10**9):09d}@guest.booking.com")
            consent = rng.random() < 0.45
            birthday = (
                dt.date(rng.randrange(1950, 2005), rng.randrange(1, 13), rng.randrange(1, 29))
                if rng.random() < 0.6
                else None
            )
            if fixed:
                # the seed profiles are one person: random birthdays would make them two
                birthday = fixed.get("birthday")
            tags = rng.sample(list(tag_ids), k=rng.choice([0, 0, 0, 1, 1, 2]))
            # bookings
            visits = rng.choice([0, 1, 1, 2, 2, 3, 4, 6, 9]) if not fixed else 2
            figures = {
                "booking_count": 0,
                "no_show_count": 0,
                "first_visit_at": None,
                "last_visit_at": None,
                "next_booking_at": None,
            }
            spent: dict[str, int] = {}
            value: dict[str, int] = {}
            for _ in range(visits):
                start = created + dt.timedelta(
                    days=rng.randrange(0, max(1, (today - created).days + 60)),
                    hours=rng.choice([9, 10, 11, 14, 15, 16, 17]) if salon else 15,
                    minutes=rng.choice([0, 30]) if salon else 0,
                )
                future = start > today
                if future:
                    status = rng.choice(["confirmed"] * 8 + ["requested", "cancelled"])
                else:
                    roll = rng.random()
                    status = (
                        "cancelled" if roll < 0.06 else "no-show" if roll < 0.09 else "completed"
                    )
                if salon:
                    service, price, minutes = rng.choice(SERVICES)
                    end = start + dt.timedelta(minutes=minutes)
                    room = None
                else:
                    nights = rng.choice([1, 1, 2, 2, 3, 4, 7])
                    room = rng.choice(ROOMS)
                    service = None
                    price = nights * rng.choice([8500, 9500, 11000, 12500, 16000])
                    end = start + dt.timedelta(days=nights, hours=-4)
                bid = next_b
                next_b += 1
                rows["booking"].append(
                    dict(
                        id=bid,
                        customer_id=cid,
                        kind="appointment" if salon else "stay",
                        service=service,
                        room=room,
                        staff=rng.choice(STAFF) if salon else None,
                        location=rng.choice(LOCATIONS),
                        start_at=start,
                        end_at=end,
                        status=status,
                        price_minor=price,
                        currency=currency,
                        channel=rng.choice(CHANNELS),
                        party_size=1 if salon else rng.choice([1, 2, 2, 2, 3, 4]),
                        special_requests=None,
                        external_ref=None,
                        created_at=start - dt.timedelta(days=rng.randrange(1, 60)),
                        updated_at=start,
                        cancelled_at=start - dt.timedelta(days=1)
                        if status == "cancelled"
                        else None,
                        import_batch_id=None,
                    )
                )
                if status != "cancelled":
                    figures["booking_count"] += 1
                if status == "no-show":
                    figures["no_show_count"] += 1
                paid = 0
                if status == "completed":
                    paid = price
                    value[currency] = value.get(currency, 0) + price
                    first_v, last_v = figures["first_visit_at"], figures["last_visit_at"]
                    figures["first_visit_at"] = min(first_v, start) if first_v else start
                    figures["last_visit_at"] = max(last_v, start) if last_v else start
                elif future and status in ("confirmed", "requested"):
                    nxt = figures["next_booking_at"]
                    figures["next_booking_at"] = min(nxt, start) if nxt else start
                    if not salon and rng.random() < 0.5:
                        paid = price * 3 // 10
                if paid:
                    rows["payment"].append(
                        dict(
                            booking_id=bid,
                            amount_minor=paid,
                            currency=currency,
                            method=rng.choice(["card", "card", "cash", "transfer", "online"]),
                            paid_at=min(start, today)
                            if status == "completed"
                            else start - dt.timedelta(days=14),
                            reference=None,
                            created_at=start,
                        )
                    )
                    spent[currency] = spent.get(currency, 0) + paid
            if fixed or rng.random() < 0.12:
                body, alert = rng.choice(NOTES)
                rows["note"].append(
                    dict(
                        customer_id=cid,
                        body=body,
                        author=rng.choice(STAFF),
                        created_at=created,
                        updated_at=created,
                        pinned=alert or rng.random() < 0.2,
                        alert=alert,
                    )
                )
            display, sort_name = _name_parts(first, last)
            rows["customer"].append(
                dict(
                    id=cid,
                    first_name=first,
                    last_name=last,
                    display_name=display,
                    sort_name=sort_name,
                    preferred_language=culture if culture != "zh" else "zh-Hans",
                    birthday=birthday,
                    street=None,
                    postcode=None,
                    city=None,
                    region=None,
                    country={"fr": "FR", "de": "DE", "en": "GB", "zh": "CN"}[culture],
                    company=None,
                    nationality=None,
                    id_document_type=None,
                    id_document_number=None,
                    id_document_country=None,
                    id_document_expiry=None,
                    marketing_consent=consent,
                    consent_at=created if consent else None,
                    consent_method="booking form" if consent else None,
                    consent_source=None,
                    source_channel=rng.choice(CHANNELS),
                    first_contact=created.date(),
                    created_at=created,
                    updated_at=created,
                    archived_at=None,
                    merged_into_id=None,
                    import_batch_id=None,
                    total_spent=spent or None,
                    lifetime_value=value or None,
                    primary_phone=format_phone(phones[0][1]) if phones else None,
                    primary_email=emails[0] if emails else None,
                    tag_names=", ".join(sorted(tags)) or None,
                    **figures,
                )
            )
            for pos, (raw, e164) in enumerate(phones):
                rows["phone"].append(
                    dict(customer_id=cid, raw=raw, e164=e164, label=None, position=pos)
                )
            for pos, address in enumerate(emails):
                rows["email"].append(
                    dict(
                        customer_id=cid,
                        address=address,
                        is_relay=address.endswith("@guest.booking.com"),
                        label=None,
                        position=pos,
                    )
                )
            for name in tags:
                rows["tag"].append(dict(customer_id=cid, tag_id=tag_ids[name]))
            index_rows.append(
                build_row(
                    cid,
                    first=first,
                    last=last,
                    display=display,
                    e164s=[e for _, e in phones],
                    emails=emails,
                    last_visit_at=figures["last_visit_at"],
                    archived=False,
                )
            )
        with store.factory() as s, s.begin():
            conn = s.connection()
            for table, key in (
                (Customer.__table__, "customer"),
                (CustomerPhone.__table__, "phone"),
                (CustomerEmail.__table__, "email"),
                (customer_tag, "tag"),
                (Booking.__table__, "booking"),
                (Payment.__table__, "payment"),
                (Note.__table__, "note"),
            ):
                if rows[key]:
                    conn.execute(insert(table), rows[key])
            search_index.replace_rows(conn, index_rows, fresh=True)
        done += n
        totals["customers"] += n
        totals["bookings"] += len(rows["booking"])
        totals["payments"] += len(rows["payment"])
        totals["notes"] += len(rows["note"])
        if progress:
            progress(done, customers)
    return totals
