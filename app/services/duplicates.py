"""Finding customers who are probably the same person, and saying why.

Detection works in three steps:

1. **Blocking** — only profiles sharing a key are ever compared, so the work grows with the
   number of profiles, not its square. Keys: exact E.164 phone, normalised email
   (:func:`normalize.email_key`), external reference, and name-token prefixes combined with
   parts of the birthday (any two of year, month, day — so a one-field typo or a swapped
   day/month still meets) or with the postcode; a full-name key alone only for names that
   are rare in the store.
2. **Scoring** — a sum of evidence weights (log-odds, in the spirit of Fellegi–Sunter)
   squashed into [0, 1]: names compared with rapidfuzz after transliteration (unidecode,
   pypinyin), token order, swapped first/last names, initials and nicknames; birthday equal,
   swapped day/month or one digit off; address; shared phones and emails, where relay
   addresses and numbers shared by many profiles (a company switchboard, a family landline)
   count little. Every weight that counts leaves a reason in words.
3. **Grouping** — pairs above the threshold are joined transitively (union–find); pairs a
   person marked "not the same person" are never joined.

:func:`candidates_for` runs the same scoring for one customer against the store through
indexed lookups, fast enough to run on every save.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import combinations, pairwise

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz
from sqlalchemy import Connection, or_, select
from unidecode import unidecode

from app.models import Customer, NotDuplicate
from app.services.errors import NotFoundError, ValidationError
from app.services.nicknames import same_given_name
from app.services.normalize import email_key, fold, format_phone, has_cjk
from app.services.store import Store

DEFAULT_MIN_SCORE = 0.75
# a phone or email held by more live profiles than this is a shared line (switchboard,
# family landline, a travel agent's address): it proves little about identity
SHARED_CONTACT = 4
# a full name held by at most this many profiles is rare enough to block on alone
RARE_NAME = 3
# blocks bigger than this are skipped as pair generators (their members still meet
# through their other keys); stops one popular key from making the work quadratic
MAX_BLOCK = 60

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


# ---------------------------------------------------------------- profiles as compared


@dataclass(slots=True)
class Person:
    """What detection needs of one profile, normalised once."""

    id: int
    display: str
    tokens: tuple[str, ...]
    name_key: str
    sort_name: str
    # ISO text 'YYYY-MM-DD' (compared as text: equal, swapped, one digit apart) or ''
    birthday: str
    postcode: str
    street: str
    phones: tuple[str, ...]
    # (matching key, address as stored, is_relay)
    emails: tuple[tuple[str, str, bool], ...]
    refs: tuple[tuple[str, str], ...]


_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_MOJIBAKE = re.compile("[ÃÂ]|â€|Å[\u0080-\u00bf\u2018-\u203a]")
_TITLES = frozenset(("mr", "mrs", "ms", "miss", "dr", "mme", "mlle", "herr", "frau", "prof"))
# two initials typed as one word (JP = J-P); never syllables that are names (Ma, Li)
_INITIAL_PAIRS = frozenset(("jp", "jb", "jf", "jc", "jm", "jl", "mc"))


def _fix_mojibake(text: str) -> str:
    if _MOJIBAKE.search(text):
        import ftfy  # slow to import; only needed for damaged text

        return ftfy.fix_text(text)
    return text


def _latin(text: str) -> str:
    if has_cjk(text):
        # one token per name part, as pinyin is written: 建华 -> 'jianhua', 司马 -> 'sima'
        return "".join(lazy_pinyin(text, errors=lambda chars: unidecode(chars)))
    return unidecode(text)


@lru_cache(maxsize=100_000)
def _part_tokens(text: str) -> tuple[str, ...]:
    # names repeat a lot (given names above all): transliterate each part once
    if not text.isascii():
        text = _latin(_fix_mojibake(text))
    tokens: list[str] = []
    for tok in _NON_ALNUM.split(text.lower()):
        if not tok or tok in _TITLES:
            continue
        if tok in _INITIAL_PAIRS:
            tokens.extend(tok)  # 'JP' written without a hyphen
        else:
            tokens.append(tok)
    return tuple(tokens)


def name_tokens(first: str, last: str) -> tuple[str, ...]:
    """Folded, transliterated name tokens: 'J-P DUPONT' -> ('j', 'p', 'dupont'),
    '张伟' -> ('wei', 'zhang'), 'JÃ¼rgen' -> ('jurgen',)."""
    return _part_tokens(first or "") + _part_tokens(last or "")


def _norm_postcode(value: str | None) -> str:
    return re.sub(r"[^0-9A-Z]", "", (value or "").upper())


def _norm_street(value: str | None) -> str:
    return " ".join(_NON_ALNUM.split(fold(unidecode(_fix_mojibake(value or ""))))).strip()


def make_person(
    cid: int,
    first: str,
    last: str,
    display: str,
    sort_name: str,
    birthday: dt.date | str | None,
    postcode: str | None,
    street: str | None,
    phones: Iterable[str] = (),
    emails: Iterable[tuple[str, bool]] = (),
    refs: Iterable[tuple[str, str]] = (),
) -> Person:
    """Normalise one profile for matching (names, birthday as ISO text, email keys)."""
    tokens = name_tokens(first, last)
    if birthday and not isinstance(birthday, str):
        birthday = birthday.isoformat()
    return Person(
        id=cid,
        display=display or f"{first} {last}".strip(),
        tokens=tokens,
        name_key=" ".join(sorted(tokens)),
        sort_name=sort_name or "",
        birthday=birthday or "",
        postcode=_norm_postcode(postcode),
        street=_norm_street(street),
        phones=tuple(dict.fromkeys(phones)),
        emails=tuple({email_key(a): (email_key(a), a, bool(r)) for a, r in emails}.values()),
        refs=tuple(dict.fromkeys((s or "", r) for s, r in refs if r)),
    )


# ---------------------------------------------------------------- name similarity


def _token_sim(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:
        # an initial stands for any name with that first letter
        return 0.85 if a[0] == b[0] else 0.0
    if same_given_name(a, b):
        return 0.95
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 3 and long_.startswith(short):
        return 0.85  # Max / Maximilian, Alex / Alexandre
    r = fuzz.ratio(a, b) / 100
    return r if r >= 0.6 else 0.0


def compare_names(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[float, bool]:
    """(similarity 0..1, conflict) of two token lists, whatever the order, initials,
    nicknames or typos. ``conflict`` means a given name of the shorter name has no
    counterpart at all in the other (Emma vs Olivia, J. vs Marie): twins, siblings,
    parent and child — the signature of two people who share everything else."""
    if not a or not b:
        return 0.0, False
    if a == b or sorted(a) == sorted(b):
        return 1.0, False
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    used: set[int] = set()
    total = weight = 0.0
    conflict = False
    # full tokens pick their partner before initials do: 'K. Katrin' vs 'Katrin Köhler'
    for tok in sorted(short, key=len, reverse=True):
        best, best_j = 0.0, -1
        for j, other in enumerate(long_):
            if j not in used:
                s = _token_sim(tok, other)
                if s > best:
                    best, best_j = s, j
        if best_j >= 0:
            used.add(best_j)
        if best < 0.75:
            conflict = True
        w = 2.0 if len(tok) == 1 else float(len(tok))
        total += best * w
        weight += w
    aligned = total / weight
    # a missing middle name or second given name costs a little, not a lot
    aligned *= 0.96 ** (len(long_) - len(short))
    # 'Jeanpierre Dupont' vs 'Jean Pierre Dupont': compare the letters without the spaces
    joined = max(
        fuzz.ratio("".join(a), "".join(b)), fuzz.ratio("".join(sorted(a)), "".join(sorted(b)))
    )
    if joined >= 90:
        return max(aligned, joined / 100), False
    return aligned, conflict


def name_similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """How alike two names are, 0..1, whatever the token order, initials or nicknames."""
    return compare_names(a, b)[0]


def _name_weight(sim: float) -> float:
    # piecewise linear: same name is good evidence, a clearly different name (twins,
    # parent and child on one phone) outweighs everything they share
    points = ((0.0, -12.0), (0.6, -12.0), (0.72, -5.0), (0.8, 0.5), (0.9, 3.0), (1.0, 4.0))
    for (x0, y0), (x1, y1) in pairwise(points):
        if sim <= x1:
            return y0 + (y1 - y0) * (sim - x0) / (x1 - x0)
    return points[-1][1]


# ---------------------------------------------------------------- scoring


@dataclass
class Suggestion:
    """One scored pair: ``other_id`` is the profile ``customer_id`` may duplicate."""

    customer_id: int
    other_id: int
    score: float
    reasons: list[str]
    other_name: str = ""


@dataclass
class Commonness:
    """How many live profiles hold a phone, email or full name (shared lines count little)."""

    phone: Callable[[str], int]
    email: Callable[[str], int]
    name: Callable[[str], int]


PRIOR = -4.5


def _birthday_weight(a: str, b: str) -> float:
    if a == b:
        return 4.0
    if a[:4] == b[:4]:
        if a[5:7] == b[8:10] and a[8:10] == b[5:7]:
            return 2.5  # day and month swapped (US vs European order)
        if a[5:7] == b[5:7]:
            one_digit = a[8] == b[8] or a[9] == b[9]
        elif a[8:10] == b[8:10]:
            one_digit = a[5] == b[5] or a[6] == b[6]
        else:
            one_digit = False
    else:
        one_digit = a[4:] == b[4:] and sum(x != y for x, y in zip(a[:4], b[:4], strict=True)) == 1
    if one_digit:
        return 2.0
    # born a generation apart: parent and child, whatever else they share
    return -11.0 if abs(int(a[:4]) - int(b[:4])) >= 12 else -6.0


def _birthday_reason(a: str, b: str, weight: float) -> str:
    if weight == 4.0:
        return f"same birthday {a}"
    if weight == 2.5:
        return f"birthdays {a} / {b} (day and month swapped)"
    if weight == 2.0:
        return f"birthdays {a} / {b} (one digit apart)"
    if weight < -6:
        return f"born {abs(int(a[:4]) - int(b[:4]))} years apart ({a} / {b})"
    return f"different birthdays {a} / {b}"


MAX_NAME_WEIGHT = 5.5


@lru_cache(maxsize=64)
def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def score_pair(
    a: Person, b: Person, common: Commonness, floor: float | None = None
) -> tuple[float, list[str]] | None:
    """Score in [0, 1] that ``a`` and ``b`` are the same person, and the reasons.

    With ``floor`` (a score), returns None as soon as the pair cannot reach it: the
    cheap comparisons run first, the name comparison only when it could still matter,
    and the reasons are only written for pairs that pass.
    """
    total = _evidence(a, b, common, None)
    if floor is not None and total + MAX_NAME_WEIGHT < _logit(floor):
        return None
    sim, conflict = compare_names(a.tokens, b.tokens)
    w = -12.0 if conflict else _name_weight(sim)
    if w > 0:
        freq = max(common.name(a.sort_name), common.name(b.sort_name))
        if freq > 20:
            w *= 0.5  # Wang Wei, John Smith: a shared name alone says little
        elif sim >= 0.97 and freq <= RARE_NAME:
            w += 1.5
    total += w
    score = round(1.0 / (1.0 + math.exp(-total)), 4)
    if floor is not None and score < floor:
        return None
    if sim >= 0.995:
        same = a.display == b.display
        why = f"same name {a.display}" + ("" if same else f" / {b.display}")
    else:
        word = "alike" if w > 0 else "differ"
        why = f"names {round(sim * 100)}% {word}: {a.display} / {b.display}"
    reasons = [why]
    _evidence(a, b, common, reasons)
    return score, reasons


def _evidence(a: Person, b: Person, common: Commonness, reasons: list[str] | None) -> float:
    """Prior plus every weight but the name's; appends reasons in words when asked."""
    total = PRIOR
    if a.phones and b.phones:
        shared_phones = [e for e in a.phones if e in b.phones]
        if shared_phones:
            e164 = shared_phones[0]  # one shared number is the evidence; more add little
            holders = common.phone(e164)
            if holders > SHARED_CONTACT:
                total += 1.0
                if reasons is not None:
                    reasons.append(
                        f"shared number {format_phone(e164)} ({holders} profiles hold it)"
                    )
            else:
                total += 7.0
                if reasons is not None:
                    reasons.append(f"same phone {format_phone(e164)}")
        else:
            total -= 0.5

    if a.emails and b.emails:
        keys_b = {e[0] for e in b.emails}
        shared = [e for e in a.emails if e[0] in keys_b]
        if shared:
            shared.sort(key=lambda e: e[2])  # a real address before a relay one
            k, addr, relay = shared[0]
            if reasons is not None:
                other = next(e[1] for e in b.emails if e[0] == k)
                if other.lower() != addr.lower():
                    addr = f"{addr} / {other}"  # Gmail dots or +tags: show both spellings
            if relay:
                total += 2.0
                why = f"same booking-site relay email {addr}"
            else:
                holders = common.email(k)
                if holders > SHARED_CONTACT:
                    total += 1.0
                    why = f"shared email {addr} ({holders} profiles hold it)"
                else:
                    total += 7.0
                    why = f"same email {addr}"
            if reasons is not None:
                reasons.append(why)
        elif not any(e[2] for e in a.emails + b.emails):
            total -= 0.3

    if a.refs and b.refs:
        shared_refs = sorted(set(a.refs) & set(b.refs))
        if shared_refs:
            system, ref = shared_refs[0]
            total += 8.0
            if reasons is not None:
                reasons.append(f"same external reference {system + ':' if system else ''}{ref}")

    if a.birthday and b.birthday:
        w = _birthday_weight(a.birthday, b.birthday)
        total += w
        if reasons is not None:
            reasons.append(_birthday_reason(a.birthday, b.birthday, w))

    if a.postcode and b.postcode:
        if a.postcode == b.postcode:
            if a.street and b.street and fuzz.token_sort_ratio(a.street, b.street) >= 85:
                total += 2.0
                why = f"same address {a.street}, {a.postcode}"
            else:
                total += 1.0
                why = f"same postcode {a.postcode}"
            if reasons is not None:
                reasons.append(why)
        else:
            total -= 0.5
    return total


# ---------------------------------------------------------------- blocking


def _birthday_keys(b: str) -> tuple[str, ...]:
    y, m, d = b[:4], b[5:7], b[8:10]
    md = f"{min(m, d)}-{max(m, d)}"
    return (f"ym{y}-{m}", f"yd{y}-{d}", f"md{m}-{d}", f"ys{y}-{md}")


def blocking_keys(p: Person) -> Iterator[str]:
    """Every key this profile is blocked under (see the module docstring)."""
    for e164 in p.phones:
        yield "p" + e164
    for key, _addr, _relay in p.emails:
        yield "e" + key
    for system, ref in p.refs:
        yield f"r{system}\x1f{ref}"
    prefixes = {t[:3] for t in p.tokens if len(t) >= 2}
    if p.birthday:
        bkeys = _birthday_keys(p.birthday)
        for pre in prefixes:
            for bk in bkeys:
                yield f"n{pre}|{bk}"
    if p.postcode:
        for pre in prefixes:
            yield f"n{pre}|pc{p.postcode}"


# ---------------------------------------------------------------- loading


def _load_people(conn: Connection, ids: Iterable[int] | None = None) -> dict[int, Person]:
    """Live (not merged, not archived) profiles, or just ``ids`` among them.

    Plain SQL on purpose: at 100k profiles the ORM's per-row type processing costs more
    than the reading itself.
    """
    where, params = "", ()
    if ids is not None:
        id_list = sorted(set(ids))
        if not id_list:
            return {}
        where = f" AND customer_id IN ({','.join('?' * len(id_list))})"
        params = tuple(id_list)
    cust_where = where.replace("customer_id", "id")
    sql = conn.exec_driver_sql
    rows = sql(
        "SELECT id, first_name, last_name, display_name, sort_name, birthday, postcode, street "
        "FROM customer WHERE +merged_into_id IS NULL AND archived_at IS NULL" + cust_where,
        params,
    ).all()
    phones: dict[int, list[str]] = defaultdict(list)
    emails: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    refs: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for cid, e164 in sql(
        "SELECT customer_id, e164 FROM customer_phone WHERE 1" + where + " ORDER BY position",
        params,
    ):
        phones[cid].append(e164)
    for cid, addr, relay in sql(
        "SELECT customer_id, address, is_relay FROM customer_email WHERE 1"
        + where
        + " ORDER BY position",
        params,
    ):
        emails[cid].append((addr, bool(relay)))
    for cid, system, ref in sql(
        "SELECT customer_id, system, ref FROM external_ref WHERE 1" + where, params
    ):
        refs[cid].append((system, ref))
    empty: list = []
    return {
        r[0]: make_person(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            phones.get(r[0], empty),
            emails.get(r[0], empty),
            refs.get(r[0], empty),
        )
        for r in rows
    }


def _not_duplicate_pairs(conn: Connection) -> set[tuple[int, int]]:
    return {(lo, hi) for lo, hi in conn.execute(select(NotDuplicate.low_id, NotDuplicate.high_id))}


# ---------------------------------------------------------------- full scan


@dataclass
class DuplicateGroup:
    """Profiles that are probably one person; ``score`` is the weakest link that joined them."""

    customer_ids: list[int]
    score: float
    reasons: list[str]
    pairs: list[Suggestion] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "customer_ids": self.customer_ids,
            "score": self.score,
            "reasons": self.reasons,
            "names": {str(k): v for k, v in self.names.items()},
            "pairs": [
                {"a": p.customer_id, "b": p.other_id, "score": p.score, "reasons": p.reasons}
                for p in self.pairs
            ],
        }


@dataclass
class ScanResult:
    groups: list[DuplicateGroup]
    customers: int
    pairs_compared: int
    seconds: float
    cancelled: bool = False


def scan_people(
    people: dict[int, Person],
    *,
    not_duplicates: set[tuple[int, int]] = frozenset(),  # type: ignore[assignment]
    min_score: float = 0.0,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> tuple[list[Suggestion], int, bool]:
    """Score every blocked pair; returns (pairs ≥ min_score, pairs compared, cancelled)."""
    blocks: dict[str, list[int]] = defaultdict(list)
    phone_n: Counter[str] = Counter()
    email_n: Counter[str] = Counter()
    name_n: Counter[str] = Counter()
    namekey_members: dict[str, list[int]] = defaultdict(list)
    for p in people.values():
        for key in blocking_keys(p):
            blocks[key].append(p.id)
        phone_n.update(p.phones)
        email_n.update(k for k, _a, _r in p.emails)
        name_n[p.sort_name] += 1
        if p.name_key:
            namekey_members[p.name_key].append(p.id)
    for members in namekey_members.values():
        if 1 < len(members) <= RARE_NAME:
            blocks["N" + str(members[0])] = members
    common = Commonness(
        phone=lambda k: phone_n[k], email=lambda k: email_n[k], name=lambda k: name_n[k]
    )
    seen: set[tuple[int, int]] = set()
    out: list[Suggestion] = []
    floor = min_score if min_score > 0 else None
    # prior + different birthday + best name + same address: the best such a pair can do
    quick = floor is not None and _logit(floor) > PRIOR - 6.0 + MAX_NAME_WEIGHT + 2.0
    compared = 0
    block_list = [m for m in blocks.values() if 1 < len(m) <= MAX_BLOCK]
    total = len(block_list)
    for i, members in enumerate(block_list):
        if i % 2000 == 0:
            if cancelled and cancelled():
                return out, compared, True
            if progress:
                progress(i, total)
        for a, b in combinations(sorted(set(members)), 2):
            if (a, b) in seen or (a, b) in not_duplicates:
                continue
            seen.add((a, b))
            compared += 1
            pa, pb = people[a], people[b]
            if (
                quick
                and pa.birthday
                and pb.birthday
                and _birthday_weight(pa.birthday, pb.birthday) < 0
                and not (set(pa.phones) & set(pb.phones))
                and not ({e[0] for e in pa.emails} & {e[0] for e in pb.emails})
                and not (set(pa.refs) & set(pb.refs))
            ):
                # most name+birthday blocks pair namesakes born on other days: nothing
                # else shared, they cannot reach the floor whatever their names
                continue
            scored = score_pair(pa, pb, common, floor)
            if scored is not None and scored[0] >= min_score:
                out.append(Suggestion(a, b, scored[0], scored[1], people[b].display))
    if progress:
        progress(total, total)
    return out, compared, False


def group_pairs(
    pairs: Iterable[Suggestion], names: dict[int, str] | None = None
) -> list[DuplicateGroup]:
    """Join pairs transitively into groups (A~B and B~C make one group), best first."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    pairs = list(pairs)
    for p in pairs:
        ra, rb = find(p.customer_id), find(p.other_id)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[int, set[int]] = defaultdict(set)
    edges: dict[int, list[Suggestion]] = defaultdict(list)
    for p in pairs:
        root = find(p.customer_id)
        members[root].update((p.customer_id, p.other_id))
        edges[root].append(p)
    groups = []
    for root, ids in members.items():
        es = sorted(edges[root], key=lambda e: (-e.score, e.customer_id, e.other_id))
        reasons: list[str] = []
        for e in es:
            for r in e.reasons:
                against = r.startswith(("different ", "born ")) or " differ:" in r
                if r not in reasons and not against:
                    reasons.append(r)
        groups.append(
            DuplicateGroup(
                customer_ids=sorted(ids),
                score=min(e.score for e in _spanning(es, ids)),
                reasons=reasons,
                pairs=es,
                names={i: (names or {}).get(i, "") for i in sorted(ids)},
            )
        )
    groups.sort(key=lambda g: (-g.score, g.customer_ids[0]))
    return groups


def _spanning(edges: list[Suggestion], ids: set[int]) -> list[Suggestion]:
    """The strongest edges that connect the group (maximum spanning tree, Kruskal)."""
    parent = {i: i for i in ids}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    tree = []
    for e in edges:  # already strongest first
        ra, rb = find(e.customer_id), find(e.other_id)
        if ra != rb:
            parent[ra] = rb
            tree.append(e)
    return tree


def find_duplicates(
    store: Store,
    *,
    min_score: float = DEFAULT_MIN_SCORE,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> ScanResult:
    """Scan every live profile for probable duplicates.

    Args:
        store: the open store.
        min_score: pairs scoring below this are not suggested.
        progress: called with (blocks done, blocks total).
        cancelled: polled; when it returns True the scan stops and returns what it has.

    Returns:
        The groups found (best first), with counts and the time taken.
    """
    _check_score(min_score)
    start = time.perf_counter()
    with store.reader() as s:
        conn = s.connection()
        people = _load_people(conn)
        not_dups = _not_duplicate_pairs(conn)
    if progress:
        progress(0, 1)
    pairs, compared, stopped = scan_people(
        people, not_duplicates=not_dups, min_score=min_score, progress=progress, cancelled=cancelled
    )
    names = {i: p.display for i, p in people.items()}
    return ScanResult(
        groups=group_pairs(pairs, names),
        customers=len(people),
        pairs_compared=compared,
        seconds=time.perf_counter() - start,
        cancelled=stopped,
    )


def _check_score(min_score: float) -> None:
    if not 0.0 <= min_score <= 1.0:
        raise ValidationError("min-score", f"{min_score} is not between 0 and 1")


# ---------------------------------------------------------------- one customer


def _in(values: Iterable) -> str:
    return ",".join("?" * len(list(values)))


def _candidate_ids(conn: Connection, p: Person) -> set[int]:
    """Ids that share a blocking key with ``p``, through indexed lookups only.

    Plain SQL: the planner must not pick the (all-NULL) merged_into_id index, which
    would turn each lookup into a table scan; merged and archived profiles are dropped
    when the candidates are loaded.
    """
    sql = conn.exec_driver_sql
    ids: set[int] = set()
    if p.phones:
        ids.update(
            r[0]
            for r in sql(
                f"SELECT customer_id FROM customer_phone WHERE e164 IN ({_in(p.phones)})",
                tuple(p.phones),
            )
        )
    if p.emails:
        forms: set[str] = set()
        for key, addr, _relay in p.emails:
            forms.update((addr, addr.lower(), key))
            if key.endswith("@gmail.com"):
                forms.add(key.removesuffix("@gmail.com") + "@googlemail.com")
        ids.update(
            r[0]
            for r in sql(
                f"SELECT customer_id FROM customer_email WHERE address IN ({_in(forms)})",
                tuple(sorted(forms)),
            )
        )
    for system, ref in p.refs:
        ids.update(
            r[0]
            for r in sql(
                "SELECT customer_id FROM external_ref WHERE ref = ? AND system = ?", (ref, system)
            )
        )
    # name-token prefixes against the indexed sort name ('family given', folded, Latin):
    # each token is tried as the family name, so swapped first/last names meet too
    prefixes = sorted({t[:3] for t in p.tokens if len(t) >= 2})
    conds: list[str] = []
    params: list[str] = []
    if p.birthday:
        b = p.birthday
        y, m, d = b[:4], b[5:7], b[8:10]
        conds.append("birthday LIKE ? OR birthday LIKE ? OR birthday LIKE ? OR birthday = ?")
        params += [f"{y}-{m}-%", f"{y}-%-{d}", f"%-{m}-{d}", f"{y}-{d}-{m}"]
    if p.postcode:
        conds.append("upper(replace(postcode, ' ', '')) = ?")
        params.append(p.postcode)
    if conds and prefixes:
        ranges = " OR ".join("(sort_name >= ? AND sort_name < ?)" for _ in prefixes)
        range_params = [x for pre in prefixes for x in (pre, pre + "\uffff")]
        ids.update(
            r[0]
            for r in sql(
                f"SELECT id FROM customer WHERE ({ranges}) AND ({' OR '.join(conds)})",
                (*range_params, *params),
            )
        )
    if p.sort_name:
        # a rare full name alone: look for it (either order) and keep it only if rare
        swapped = " ".join(reversed(p.sort_name.split(" ", 1)))
        names = sorted({p.sort_name, swapped})
        rows = [
            r[0]
            for r in sql(
                f"SELECT id FROM customer WHERE sort_name IN ({_in(names)}) LIMIT ?",
                (*names, RARE_NAME + 1),
            )
        ]
        if len(rows) <= RARE_NAME:
            ids.update(rows)
    ids.discard(p.id)
    return ids


def _sql_commonness(conn: Connection) -> Commonness:
    sql = conn.exec_driver_sql

    def phone(e164: str) -> int:
        return sql(
            "SELECT count(DISTINCT p.customer_id) FROM customer_phone p "
            "JOIN customer c ON c.id = p.customer_id "
            "WHERE p.e164 = ? AND +c.merged_into_id IS NULL AND c.archived_at IS NULL",
            (e164,),
        ).scalar_one()

    def email(key: str) -> int:
        # counted by exact address forms; other Gmail spellings of one key are rare
        return (
            sql(
                "SELECT count(DISTINCT e.customer_id) FROM customer_email e "
                "JOIN customer c ON c.id = e.customer_id "
                "WHERE e.address IN (?, ?) AND +c.merged_into_id IS NULL AND c.archived_at IS NULL",
                (key, key.lower()),
            ).scalar_one()
            or 1
        )

    def name(sort_name: str) -> int:
        # answered from the index alone; merged or archived namesakes are few and only
        # move a name between 'rare' and 'common'
        return sql("SELECT count(*) FROM customer WHERE sort_name = ?", (sort_name,)).scalar_one()

    # one check asks about the same name or number for several candidates
    return Commonness(phone=cache(phone), email=cache(email), name=cache(name))


def candidates_for(
    store: Store, customer_id: int, *, min_score: float = DEFAULT_MIN_SCORE
) -> list[Suggestion]:
    """Profiles that may duplicate one customer, best first (for on-save checks).

    Args:
        store: the open store.
        customer_id: the customer just saved or imported.
        min_score: suggestions below this are dropped.

    Returns:
        Suggestions with ``customer_id`` set to the given id; pairs marked
        "not the same person" are left out. Empty for merged-away or archived customers.
    """
    _check_score(min_score)
    with store.reader() as s:
        conn = s.connection()
        exists = conn.execute(select(Customer.id).where(Customer.id == customer_id)).scalar()
        if exists is None:
            raise NotFoundError(f"no customer with id {customer_id}")
        me = _load_people(conn, [customer_id]).get(customer_id)
        if me is None:
            return []
        ids = _candidate_ids(conn, me)
        if not ids:
            return []
        blocked = set(
            conn.execute(
                select(NotDuplicate.low_id, NotDuplicate.high_id).where(
                    or_(NotDuplicate.low_id == customer_id, NotDuplicate.high_id == customer_id)
                )
            ).all()
        )
        others = _load_people(conn, ids)
        common = _sql_commonness(conn)
        out = []
        for oid, other in others.items():
            if (min(oid, customer_id), max(oid, customer_id)) in blocked:
                continue
            scored = score_pair(me, other, common, min_score if min_score > 0 else None)
            if scored is not None and scored[0] >= min_score:
                out.append(Suggestion(customer_id, oid, scored[0], scored[1], other.display))
    out.sort(key=lambda x: (-x.score, x.other_id))
    return out


# ---------------------------------------------------------------- decisions


def mark_not_duplicates(store: Store, a: int, b: int) -> None:
    """Remember that ``a`` and ``b`` are different people; they are never suggested again."""
    if a == b:
        raise ValidationError("customers", "give two different customers")
    lo, hi = min(a, b), max(a, b)
    with store.session() as s:
        for cid in (lo, hi):
            if s.get(Customer, cid) is None:
                raise NotFoundError(f"no customer with id {cid}")
        if s.get(NotDuplicate, (lo, hi)) is None:
            s.add(NotDuplicate(low_id=lo, high_id=hi))


def unmark_not_duplicates(store: Store, a: int, b: int) -> bool:
    """Forget a "not the same person" decision; returns whether there was one."""
    lo, hi = min(a, b), max(a, b)
    with store.session() as s:
        row = s.get(NotDuplicate, (lo, hi))
        if row is None:
            return False
        s.delete(row)
        return True
