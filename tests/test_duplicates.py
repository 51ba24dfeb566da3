"""Duplicate suggestions: what a person at the desk would see suggested, and why."""

from __future__ import annotations

import pytest

from app.services import customers, duplicates, merging
from app.services.customers import CustomerInput
from app.services.duplicates import compare_names, name_tokens
from app.services.errors import ServiceError
from app.services.store import Store
from bench import dup_labelled


def add(store: Store, first: str, last: str, **kw) -> int:
    return customers.add_customer(store, CustomerInput(first_name=first, last_name=last, **kw)).id


def group_of(groups: list[duplicates.DuplicateGroup], cid: int) -> duplicates.DuplicateGroup:
    return next(g for g in groups if cid in g.customer_ids)


# ---------------------------------------------------------------- the seed example


def test_seed_example_in_the_demo_store_is_suggested_with_the_phone(demo_store: Store) -> None:
    # customers 1 and 2 of the demo: '06 52 52 72 72' and '+33652527272', region FR
    found = duplicates.candidates_for(demo_store, 1)
    assert found and found[0].other_id == 2
    assert "same phone +33 6 52 52 72 72" in found[0].reasons
    assert found[0].score >= duplicates.DEFAULT_MIN_SCORE
    groups = duplicates.find_duplicates(demo_store).groups
    group = group_of(groups, 1)
    assert 2 in group.customer_ids
    assert "same phone +33 6 52 52 72 72" in group.reasons


def test_same_number_typed_two_ways_with_short_name(empty_store: Store) -> None:
    a = add(empty_store, "Jean-Pierre", "Dupont", phones=["+33 6 52 52 72 72"])
    b = add(empty_store, "J-P", "Dupont", phones=["06 52 52 72 72"])  # default region FR
    [s] = duplicates.candidates_for(empty_store, b)
    assert s.other_id == a
    assert s.reasons[0] == "names 94% alike: J-P Dupont / Jean-Pierre Dupont"
    assert "same phone +33 6 52 52 72 72" in s.reasons
    assert 0.0 <= s.score <= 1.0 and s.score > 0.99


# ---------------------------------------------------------------- how names compare


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Jean-Pierre", "Dupont"), ("J-P", "DUPONT")),
        (("Jean-Pierre", "Dupont"), ("JP", "Dupont")),
        (("Robert", "Smith"), ("Bob", "Smith")),
        (("Zoé", "Lefèvre"), ("Lefevre", "Zoe")),  # swapped, accents lost
        (("伟", "张"), ("Wei", "Zhang")),  # characters and pinyin
        (("建华", "司马"), ("Sima", "Jianhua")),
        (("JÃ¼rgen", "MÃ¼ller"), ("Jürgen", "Müller")),  # mojibake
        (("Margaret", "Evans"), ("Margraet", "Evans")),  # typo
        (("K.", "Köhler"), ("Katrin", "Köhler")),  # initial
    ],
)
def test_names_of_one_person_compare_alike(a, b) -> None:
    sim, conflict = compare_names(name_tokens(*a), name_tokens(*b))
    assert sim >= 0.9 and not conflict, (a, b, sim)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Emma", "Smith"), ("Olivia", "Smith")),
        (("Mia", "McDonald"), ("Grace", "McDonald")),
        (("J.", "Dupont"), ("Marie", "Dupont")),
        (("Luc", "Bernard"), ("Margaux", "Bernard")),
    ],
)
def test_different_given_names_conflict(a, b) -> None:
    assert compare_names(name_tokens(*a), name_tokens(*b))[1], (a, b)


def test_birthday_typos_and_swaps_are_explained(empty_store: Store) -> None:
    a = add(empty_store, "Amélie", "Roux", birthday="1980-04-09", emails=["a.roux@free.fr"])
    b = add(empty_store, "Amelie", "Roux", birthday="1980-09-04")
    c = add(empty_store, "Amélie", "ROUX", birthday="1980-04-08")
    found = {s.other_id: s for s in duplicates.candidates_for(empty_store, a, min_score=0.5)}
    assert "birthdays 1980-04-09 / 1980-09-04 (day and month swapped)" in found[b].reasons
    assert "birthdays 1980-04-09 / 1980-04-08 (one digit apart)" in found[c].reasons
    d = add(empty_store, "Amélie", "Roux", birthday="1980-04-09")
    [top] = [s for s in duplicates.candidates_for(empty_store, d) if s.other_id == a]
    assert "same birthday 1980-04-09" in top.reasons


def test_gmail_spellings_meet_and_relay_addresses_count_little(empty_store: Store) -> None:
    a = add(empty_store, "Lena", "Weber", emails=["lena.weber@gmail.com"])
    b = add(empty_store, "Lena", "Weber", emails=["LenaWeber+spa@googlemail.com"])
    [s] = duplicates.candidates_for(empty_store, b)
    assert s.other_id == a
    assert "same email LenaWeber+spa@googlemail.com / lena.weber@gmail.com" in s.reasons
    relay = "4711@guest.booking.com"
    c = add(empty_store, "Tobias", "Koch", emails=[relay])
    d = add(empty_store, "Tobias", "Koch", emails=[relay], phones=["+49 151 1111 2222"])
    [r] = duplicates.candidates_for(empty_store, d, min_score=0.0)
    assert r.other_id == c and f"same booking-site relay email {relay}" in r.reasons
    assert r.score < s.score


def test_a_switchboard_number_counts_little(empty_store: Store) -> None:
    board = "+33 4 72 00 00 00"
    ids = [add(empty_store, f, "Girard", phones=[board]) for f in ("Luc", "Léa", "Inès", "Théo")]
    other = add(empty_store, "Luc", "Girard", phones=[board])
    found = {s.other_id: s for s in duplicates.candidates_for(empty_store, other, min_score=0.0)}
    via_board = found[ids[0]]
    assert "shared number +33 4 72 00 00 00 (5 profiles hold it)" in via_board.reasons
    # colleagues behind the switchboard are not suggested
    assert all(found[i].score < duplicates.DEFAULT_MIN_SCORE for i in ids[1:])
    # the same name on a personal mobile weighs far more than on the switchboard
    a = add(empty_store, "Théo", "Bonnet", phones=["06 12 12 12 12"])
    b = add(empty_store, "Théo", "Bonnet", phones=["+33 6 12 12 12 12"])
    [personal] = duplicates.candidates_for(empty_store, b)
    assert personal.other_id == a and "same phone +33 6 12 12 12 12" in personal.reasons
    assert personal.score > via_board.score + 0.1


# ---------------------------------------------------------------- groups and decisions


def test_groups_form_transitively(empty_store: Store) -> None:
    a = add(empty_store, "Noémie", "Faure", phones=["06 11 22 33 44"])
    b = add(empty_store, "Noemie", "FAURE", phones=["+33611223344"], emails=["noemie.f@free.fr"])
    c = add(empty_store, "N.", "Faure", emails=["Noemie.F@free.fr"], birthday="1991-02-03")
    assert a not in {s.other_id for s in duplicates.candidates_for(empty_store, c)}
    groups = duplicates.find_duplicates(empty_store).groups
    assert [g.customer_ids for g in groups] == [[a, b, c]]
    group = groups[0]
    assert "same phone +33 6 11 22 33 44" in group.reasons
    assert "same email noemie.f@free.fr" in group.reasons
    assert {(p.customer_id, p.other_id) for p in group.pairs} >= {(a, b), (b, c)}


def test_not_duplicates_sticks(demo_store: Store) -> None:
    duplicates.mark_not_duplicates(demo_store, 2, 1)
    duplicates.mark_not_duplicates(demo_store, 1, 2)  # saying it twice is fine
    assert 2 not in {s.other_id for s in duplicates.candidates_for(demo_store, 1)}
    groups = duplicates.find_duplicates(demo_store, min_score=0.0).groups
    assert not any((p.customer_id, p.other_id) == (1, 2) for g in groups for p in g.pairs)
    # an edit to either profile does not bring the suggestion back
    customers.edit_customer(demo_store, 2, CustomerInput(emails=["jp.dupont@orange.fr"]))
    assert 2 not in {s.other_id for s in duplicates.candidates_for(demo_store, 1)}
    assert duplicates.unmark_not_duplicates(demo_store, 1, 2)
    assert 2 in {s.other_id for s in duplicates.candidates_for(demo_store, 1)}
    with pytest.raises(ServiceError, match="two different customers"):
        duplicates.mark_not_duplicates(demo_store, 1, 1)
    with pytest.raises(ServiceError, match="no customer with id 99999"):
        duplicates.mark_not_duplicates(demo_store, 1, 99999)


def test_archived_and_merged_profiles_are_not_suggested(empty_store: Store) -> None:
    a = add(empty_store, "Joël", "Noël", phones=["06 98 76 54 32"])
    b = add(empty_store, "Joel", "Noel", phones=["+33698765432"])
    c = add(empty_store, "Joël", "NOËL", phones=["0698765432"])
    customers.set_archived(empty_store, c)
    assert [g.customer_ids for g in duplicates.find_duplicates(empty_store).groups] == [[a, b]]
    merging.merge(empty_store, a, [b])
    assert duplicates.find_duplicates(empty_store).groups == []
    assert duplicates.candidates_for(empty_store, b) == []


# ---------------------------------------------------------------- hard negatives


def test_hand_picked_hard_negatives_are_not_suggested(empty_store: Store) -> None:
    home = dict(street="3 rue des Lilas", postcode="69003", city="Lyon")
    add(empty_store, "Emma", "Smith", phones=["06 10 20 30 40"], birthday="1990-05-17", **home)
    add(empty_store, "Olivia", "Smith", phones=["06 10 20 30 40"], birthday="1990-05-17", **home)
    add(empty_store, "Jean", "Dupuis", phones=["06 55 44 33 22"], birthday="1958-03-02")
    add(empty_store, "Jean", "Dupuis", phones=["06 55 44 33 22"], birthday="1989-11-23")
    for i, bday in enumerate(("1971-01-05", "1985-07-19", "1992-12-01")):
        add(empty_store, "伟", "王", birthday=bday, phones=[f"+86 138 0013 800{i}"])
        add(empty_store, "John", "Smith", birthday=bday.replace("-", "-0", 1)[:4] + "-03-03")
    scan = duplicates.find_duplicates(empty_store)
    assert scan.groups == [], [g.reasons for g in scan.groups]


def test_labelled_hard_negatives_are_not_suggested(empty_store: Store) -> None:
    records = [
        r for r in dup_labelled.generate(seed=5, people=50) if r.kind not in ("original", "copy")
    ]
    assert {r.kind for r in records} >= {"twin", "parent", "child", "colleague", "common name"}
    dup_labelled.load_into(empty_store, records)
    groups = duplicates.find_duplicates(empty_store).groups
    assert groups == [], [g.reasons for g in groups]


def test_labelled_set_meets_the_quality_targets(empty_store: Store) -> None:
    records = dup_labelled.generate(seed=11, people=400)
    mapping = dup_labelled.load_into(empty_store, records)
    truth = dup_labelled.true_pairs(mapping)
    scan = duplicates.find_duplicates(empty_store)
    suggested = {(p.customer_id, p.other_id) for g in scan.groups for p in g.pairs}
    precision = len(suggested & truth) / len(suggested)
    recall = len(suggested & truth) / len(truth)
    assert precision >= 0.97 and recall >= 0.93, (precision, recall)


# ---------------------------------------------------------------- the scan itself


def test_full_scan_reports_progress_and_can_be_cancelled(demo_store: Store) -> None:
    seen: list[tuple[int, int]] = []
    result = duplicates.find_duplicates(demo_store, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1]
    assert not result.cancelled and result.customers == 300
    stopped = duplicates.find_duplicates(demo_store, cancelled=lambda: True)
    assert stopped.cancelled and stopped.groups == []
    with pytest.raises(ServiceError, match="not between 0 and 1"):
        duplicates.find_duplicates(demo_store, min_score=1.5)


def test_incremental_check_finds_what_the_full_scan_finds(demo_store: Store) -> None:
    scan = duplicates.find_duplicates(demo_store)
    assert scan.groups
    for group in scan.groups:
        for pair in group.pairs:
            found = duplicates.candidates_for(demo_store, pair.customer_id)
            match = [s for s in found if s.other_id == pair.other_id]
            assert match and match[0].reasons == pair.reasons, pair


def test_a_new_profile_is_checked_at_once(demo_store: Store) -> None:
    new = add(demo_store, "Zoe", "LEFEVRE", emails=["Zoe.Lefevre+resa@gmail.com"])
    [s] = duplicates.candidates_for(demo_store, new)
    assert s.other_name == "Zoé Lefèvre"
    assert "same email Zoe.Lefevre+resa@gmail.com / zoe.lefevre@gmail.com" in s.reasons
    with pytest.raises(ServiceError, match="no customer with id 424242"):
        duplicates.candidates_for(demo_store, 424242)
