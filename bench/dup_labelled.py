"""The project's labelled duplicate set: realistic synthetic customers whose true identity
is known, generated deterministically (same seed, same set, on any machine).

Families: one person and 0–3 more profiles of them, each copy damaged the way front-desk
data is — typos, swapped first/last names, capitals, lost accents, nicknames and initials
(Bob/Robert, J-P/Jean-Pierre), Chinese names in characters or pinyin, mojibake, phones in
another form or a new number, Gmail dots and +tags, booking-site relay addresses, a
birthday with a swapped day/month or one wrong digit, missing fields. Every copy keeps at
least one of: a phone, an email or the birthday of the person (possibly damaged) — a copy
with nothing but a common name cannot be told apart by anyone.

Hard negatives (different people, labelled so): twins (same surname, birthday, address,
landline), parent and child sharing a phone (sometimes the same given name), couples
sharing an email, colleagues behind one company switchboard number, and many people
called Wang Wei, Li Na, John Smith or Jean Martin with different birthdays.

``python -m bench.dup_labelled`` prints a summary; :func:`generate` returns the records,
:func:`load_into` writes them into a store and returns ``{customer_id: person_id}``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from itertools import combinations

import phonenumbers
from sqlalchemy import insert

from app.assets import resource_path
from app.models import Customer, CustomerEmail, CustomerPhone
from app.services import demo
from app.services.normalize import display_name, parse_email, parse_phone, sort_key
from app.services.store import Store

SEED = 20261122
REGION = "FR"  # the guesthouse's default region: national forms are read as French

EXTRA_FIRST = {
    "en": [
        "Robert",
        "William",
        "James",
        "Elizabeth",
        "Katherine",
        "Margaret",
        "Michael",
        "Richard",
        "Christopher",
        "Jennifer",
        "Alexander",
        "Thomas",
        "Susan",
        "Daniel",
    ],
    "fr": [
        "Jean-Pierre",
        "Marie-Claire",
        "Jean-Baptiste",
        "Stéphane",
        "Frédéric",
        "Sébastien",
        "Nicolas",
        "Dominique",
        "Christophe",
        "Jean-François",
    ],
    "de": ["Johannes", "Josef", "Friedrich", "Wolfgang", "Katharina", "Susanne"],
    "zh": ["伟", "娜", "秀英", "建国", "丽娟", "志明"],
}
NICK = {
    "Robert": ["Bob", "Rob", "Bobby"],
    "William": ["Bill", "Will"],
    "James": ["Jim", "Jimmy"],
    "Elizabeth": ["Liz", "Beth"],
    "Katherine": ["Kate", "Katie"],
    "Margaret": ["Peggy", "Maggie"],
    "Michael": ["Mike"],
    "Richard": ["Rick", "Dick"],
    "Christopher": ["Chris"],
    "Jennifer": ["Jenny"],
    "Alexander": ["Alex"],
    "Thomas": ["Tom"],
    "Susan": ["Sue"],
    "Daniel": ["Dan"],
    "Jean-Pierre": ["J-P", "JP", "Jean Pierre"],
    "Marie-Claire": ["M-C"],
    "Jean-Baptiste": ["J-B", "Jean Baptiste"],
    "Jean-François": ["J-F", "Jean François"],
    "Johannes": ["Hans"],
    "Josef": ["Sepp"],
    "Friedrich": ["Fritz"],
    "Maximilian": ["Max"],
    "Frédéric": ["Fred"],
    "Nicolas": ["Nico"],
    "Sébastien": ["Seb"],
    "Stéphane": ["Steph"],
    "Charlie": ["Charles"],
    "Harry": ["Henry"],
    "Jack": ["John"],
    "Oliver": ["Ollie"],
}
DOMAINS = ["gmail.com", "orange.fr", "web.de", "outlook.com", "qq.com", "163.com", "free.fr"]
STREETS = [
    "rue des Lilas",
    "avenue Jean Jaurès",
    "Hauptstraße",
    "High Street",
    "chemin du Moulin",
    "Gartenweg",
    "rue de la Paix",
    "Station Road",
]


@dataclass
class Record:
    """One profile as it would be typed; ``person`` is the true identity."""

    person: int
    first: str
    last: str
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    birthday: dt.date | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    kind: str = "original"  # original / copy / hard negative kind


# ---------------------------------------------------------------- damage


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice(["swap", "drop", "double", "replace"])
    if op == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == "drop":
        return word[:i] + word[i + 1 :]
    if op == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeioulnrst") + word[i + 1 :]


def _strip_accents(text: str) -> str:
    from unidecode import unidecode

    return unidecode(text)


def _mojibake(text: str) -> str:
    try:
        return text.encode("utf-8").decode("cp1252")
    except UnicodeDecodeError:
        return text.encode("utf-8").decode("latin-1")


def _pinyin(first: str, last: str) -> tuple[str, str]:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(first)).capitalize(), "".join(lazy_pinyin(last)).capitalize()


def _phone_form(rng: random.Random, raw: str) -> str:
    e164 = _e164(raw)
    number = phonenumbers.parse(e164, None)
    forms = [
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        e164,
        "00" + e164[1:],
    ]
    if e164.startswith("+33"):
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        forms += [national, national.replace(" ", ""), national.replace(" ", ".")]
    return rng.choice(forms)


def _email_variant(rng: random.Random, address: str) -> str:
    local, _, domain = address.partition("@")
    if domain == "gmail.com" and rng.random() < 0.7:
        if "." in local and rng.random() < 0.5:
            return local.replace(".", "") + "@gmail.com"
        return f"{local}+{rng.choice(['resa', 'hotel', 'spa'])}@gmail.com"
    return rng.choice([address.upper(), address.capitalize(), address])


def _birthday_damage(rng: random.Random, b: dt.date) -> dt.date:
    if b.day <= 12 and b.day != b.month and rng.random() < 0.5:
        return dt.date(b.year, b.day, b.month)
    for _ in range(20):
        text = b.isoformat()
        pos = rng.choice([2, 3, 5, 6, 8, 9])
        new = text[:pos] + str(rng.randrange(10)) + text[pos + 1 :]
        try:
            other = dt.date.fromisoformat(new)
        except ValueError:
            continue
        if other != b and dt.date(1920, 1, 1) < other < dt.date(2010, 1, 1):
            return other
    return b


def _copy(rng: random.Random, orig: Record, culture: str) -> Record:
    """A damaged copy that keeps at least one phone, email or the birthday."""
    r = Record(
        orig.person,
        orig.first,
        orig.last,
        list(orig.phones),
        list(orig.emails),
        orig.birthday,
        orig.street,
        orig.postcode,
        orig.city,
        kind="copy",
    )
    damages = rng.sample(
        [
            "typo",
            "swap",
            "case",
            "accents",
            "nick",
            "initial",
            "mojibake",
            "translit",
            "phone_form",
            "new_phone",
            "drop_phone",
            "drop_email",
            "email_variant",
            "relay",
            "drop_birthday",
            "birthday_typo",
            "drop_address",
        ],
        k=rng.choice([1, 2, 2, 3, 3, 4]),
    )
    for d in damages:
        if d == "typo":
            if rng.random() < 0.5:
                r.last = _typo(rng, r.last)
            else:
                r.first = _typo(rng, r.first)
        elif d == "swap":
            r.first, r.last = r.last, r.first
        elif d == "case":
            r.last = r.last.upper()
        elif d == "accents":
            r.first, r.last = _strip_accents(r.first), _strip_accents(r.last)
        elif d == "nick" and r.first in NICK:
            r.first = rng.choice(NICK[r.first])
        elif d == "initial" and culture != "zh" and len(r.first) > 2:
            r.first = r.first[0] + "."
        elif d == "mojibake" and not r.first.isascii() and culture != "zh":
            r.first, r.last = _mojibake(r.first), _mojibake(r.last)
        elif d == "translit" and culture == "zh":
            r.first, r.last = _pinyin(r.first, r.last)
            if rng.random() < 0.5:
                r.first, r.last = r.last, r.first  # 'Zhang Wei' typed Western order
        elif d == "phone_form":
            r.phones = [_phone_form(rng, p) for p in r.phones]
        elif d == "new_phone" and r.phones:
            r.phones = [_raw_phone(rng, culture)[1]]
        elif d == "drop_phone":
            r.phones = []
        elif d == "drop_email":
            r.emails = []
        elif d == "email_variant":
            r.emails = [_email_variant(rng, e) for e in r.emails]
        elif d == "relay":
            r.emails = [f"{rng.randrange(10**9):09d}@guest.booking.com"]
        elif d == "drop_birthday":
            r.birthday = None
        elif d == "birthday_typo" and r.birthday:
            r.birthday = _birthday_damage(rng, r.birthday)
        elif d == "drop_address":
            r.street = r.postcode = r.city = None
    # a copy must still carry something of the person beyond the name
    same_phone = bool(set(map(_e164, r.phones)) & set(map(_e164, orig.phones)))
    same_email = any(
        e.lower().replace("+resa", "").replace("+hotel", "").replace("+spa", "")
        in {x.lower() for x in orig.emails}
        or e.lower().replace(".", "") == x.lower().replace(".", "")
        for e in r.emails
        for x in orig.emails
    )
    if not (same_phone or same_email or r.birthday):
        if orig.phones:
            r.phones = [_phone_form(rng, orig.phones[0])]
        elif orig.birthday:
            r.birthday = orig.birthday
        else:
            r.emails = list(orig.emails)
    if not (r.first or r.last):
        r.first, r.last = orig.first, orig.last
    return r


def _e164(raw: str) -> str:
    try:
        return parse_phone(raw, REGION).e164
    except Exception:
        return raw


def _raw_phone(rng: random.Random, culture: str) -> tuple[str, str]:
    raw, e164 = demo._phone(rng, culture)
    return raw, e164


# ---------------------------------------------------------------- people


_USED_LOCALS: set[str] = set()


def _person(rng: random.Random, pid: int, names: dict, culture: str, **over) -> Record:
    firsts = names[culture]["first"] + EXTRA_FIRST[culture]
    first = over.get("first") or rng.choice(firsts)
    last = over.get("last") or rng.choice(names[culture]["last"])
    from unidecode import unidecode

    if culture == "zh":
        from pypinyin import lazy_pinyin

        local = "".join(lazy_pinyin(last + first)) + str(rng.randrange(10, 9999))
    else:
        base = unidecode(f"{first}.{last}").lower().replace(" ", "").replace("'", "")
        local = rng.choice(
            [
                base,
                base + str(rng.randrange(1, 99)),
                base[0] + base.split(".")[-1] + str(rng.randrange(100, 999)),
            ]
        )
    # an address belongs to one person: two John Smiths never share one by chance
    while local in _USED_LOCALS:
        local += str(rng.randrange(10))
    _USED_LOCALS.add(local)
    r = Record(pid, first, last)
    if rng.random() < 0.85:
        r.phones = [_phone_form(rng, _raw_phone(rng, culture)[1])]
    if rng.random() < 0.75:
        r.emails = [f"{local}@{rng.choice(DOMAINS)}"]
    if rng.random() < 0.7:
        r.birthday = dt.date(rng.randrange(1940, 2006), rng.randrange(1, 13), rng.randrange(1, 29))
    if rng.random() < 0.5:
        r.street = f"{rng.randrange(1, 120)} {rng.choice(STREETS)}"
        r.postcode = f"{rng.randrange(10000, 99999)}"
        r.city = "Lyon"
    for key, value in over.items():
        setattr(r, key, value)
    return r


def generate(seed: int = SEED, people: int = 1500) -> list[Record]:
    """The labelled records (originals, copies and hard negatives), shuffled."""
    rng = random.Random(seed)
    _USED_LOCALS.clear()
    names = json.loads(resource_path("demo", "names.json").read_text(encoding="utf-8"))
    cultures = [c for c, w in demo.CULTURE_WEIGHTS for _ in range(w)]
    records: list[Record] = []
    pid = 0
    for _ in range(people):
        pid += 1
        culture = rng.choice(cultures)
        orig = _person(rng, pid, names, culture)
        records.append(orig)
        for _c in range(rng.choices([0, 1, 2, 3], weights=[50, 32, 12, 6])[0]):
            records.append(_copy(rng, orig, culture))
    # ---- hard negatives
    for _ in range(40):  # twins: one landline, one address, one birthday
        culture = rng.choice(["fr", "en", "de"])
        pid += 1
        a = _person(rng, pid, names, culture, kind="twin")
        firsts = [f for f in names[culture]["first"] if f != a.first]
        pid += 1
        b = _person(
            rng,
            pid,
            names,
            culture,
            first=rng.choice(firsts),
            last=a.last,
            birthday=a.birthday or dt.date(1990, 5, 17),
            street=a.street,
            postcode=a.postcode,
            city=a.city,
            kind="twin",
        )
        a.birthday = b.birthday
        b.phones = list(a.phones) or [_raw_phone(rng, culture)[1]]
        a.phones = list(b.phones)
        records += [a, b]
    for _ in range(40):  # parent and child on one phone
        culture = rng.choice(cultures)
        pid += 1
        parent = _person(rng, pid, names, culture, kind="parent")
        parent.birthday = dt.date(
            rng.randrange(1945, 1970), rng.randrange(1, 13), rng.randrange(1, 29)
        )
        pid += 1
        same_first = rng.random() < 0.3
        child = _person(
            rng,
            pid,
            names,
            culture,
            last=parent.last,
            kind="child",
            birthday=dt.date(rng.randrange(1985, 2005), rng.randrange(1, 13), rng.randrange(1, 29)),
        )
        if same_first:
            child.first = parent.first
        child.phones = list(parent.phones) or [_raw_phone(rng, culture)[1]]
        parent.phones = list(child.phones)
        records += [parent, child]
    for _ in range(25):  # couples sharing one email
        culture = rng.choice(["fr", "en", "de"])
        pid += 1
        a = _person(rng, pid, names, culture, kind="couple")
        pid += 1
        firsts = [f for f in names[culture]["first"] if f != a.first]
        b = _person(rng, pid, names, culture, first=rng.choice(firsts), last=a.last, kind="couple")
        shared = f"famille.{a.last.lower().replace(' ', '')}{rng.randrange(10, 99)}@orange.fr"
        a.emails, b.emails = [shared], [shared]
        records += [a, b]
    for _ in range(6):  # colleagues behind one switchboard number
        switchboard = _raw_phone(rng, "fr")[1]
        for _k in range(rng.randrange(4, 9)):
            pid += 1
            r = _person(rng, pid, names, rng.choice(["fr", "en", "de"]), kind="colleague")
            r.phones = [_phone_form(rng, switchboard)]
            records.append(r)
    common = [
        ("en", "John", "Smith"),
        ("zh", "伟", "王"),
        ("zh", "娜", "李"),
        ("fr", "Jean", "Martin"),
        ("de", "Anna", "Müller"),
        ("zh", "伟", "张"),
    ]
    for culture, first, last in common:
        for _k in range(12):
            pid += 1
            r = _person(rng, pid, names, culture, first=first, last=last, kind="common name")
            r.birthday = dt.date(
                rng.randrange(1940, 2006), rng.randrange(1, 13), rng.randrange(1, 29)
            )
            if culture == "zh" and rng.random() < 0.4:
                r.first, r.last = _pinyin(first, last)
            records.append(r)
    rng.shuffle(records)
    return records


def true_pairs(ids_to_person: dict[int, int]) -> set[tuple[int, int]]:
    by_person: dict[int, list[int]] = {}
    for cid, person in ids_to_person.items():
        by_person.setdefault(person, []).append(cid)
    return {(a, b) for members in by_person.values() for a, b in combinations(sorted(members), 2)}


def load_into(store: Store, records: list[Record]) -> dict[int, int]:
    """Write the records as customers (bulk, like the demo data); returns id -> person."""
    rows, phone_rows, email_rows, mapping = [], [], [], {}
    now = dt.datetime.now(dt.UTC)
    with store.factory() as s, s.begin():
        conn = s.connection()
        start = (conn.exec_driver_sql("SELECT max(id) FROM customer").scalar() or 0) + 1
        for i, r in enumerate(records):
            cid = start + i
            mapping[cid] = r.person
            rows.append(
                dict(
                    id=cid,
                    first_name=r.first,
                    last_name=r.last,
                    display_name=display_name(r.first, r.last),
                    sort_name=sort_key(r.first, r.last),
                    birthday=r.birthday,
                    street=r.street,
                    postcode=r.postcode,
                    city=r.city,
                    created_at=now,
                    updated_at=now,
                    marketing_consent=False,
                    booking_count=0,
                    no_show_count=0,
                )
            )
            for pos, raw in enumerate(dict.fromkeys(r.phones)):
                p = parse_phone(raw, REGION)
                phone_rows.append(dict(customer_id=cid, raw=p.raw, e164=p.e164, position=pos))
            for pos, raw in enumerate(dict.fromkeys(r.emails)):
                e = parse_email(raw)
                email_rows.append(
                    dict(customer_id=cid, address=e.address, is_relay=e.is_relay, position=pos)
                )
        conn.execute(insert(Customer.__table__), rows)
        if phone_rows:
            conn.execute(insert(CustomerPhone.__table__), phone_rows)
        if email_rows:
            conn.execute(insert(CustomerEmail.__table__), email_rows)
    return mapping


if __name__ == "__main__":
    from collections import Counter

    recs = generate()
    print(f"{len(recs)} records, {len({r.person for r in recs})} people")
    print(Counter(r.kind for r in recs))
