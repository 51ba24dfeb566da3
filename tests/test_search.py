"""Search: what a receptionist types mid-call finds the right customer, best match first."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import insert, text

from app.models import Customer, CustomerPhone, migrate, search_index
from app.services import bookings, customers, search, tracking
from app.services.bookings import BookingInput
from app.services.customers import CustomerInput
from app.services.normalize import sort_key


def _add(store, first, last, phones=(), emails=()):
    return customers.add_customer(
        store,
        CustomerInput(first_name=first, last_name=last, phones=list(phones), emails=list(emails)),
    ).id


def _visit(store, customer_id, when):
    bookings.record_booking(
        store,
        BookingInput(start=when, customer_id=customer_id, status="completed", price="10.00"),
    )


def _ids(store, query, **kw):
    return [h.id for h in search.search(store, query, **kw)]


@pytest.fixture
def book(empty_store):
    """A small front desk: French, German, English and Chinese regulars."""
    s = empty_store
    ids = {
        "jean": _add(s, "Jean", "Dupont", ["+33 6 52 52 72 72"], ["jean.dupont@gmail.com"]),
        "zoe": _add(s, "Zoé", "Lefèvre", ["06 11 22 33 44"], ["zoe@orange.fr"]),
        "muller": _add(s, "Jürgen", "Müller", ["+49 151 23456789"], ["j.mueller@web.de"]),
        "zhang": _add(s, "伟", "张", ["+86 138 0013 8000"], ["zw88@qq.com"]),
        "dupond": _add(s, "Marc", "Dupond", [], ["marc@free.fr"]),
        "duponteau": _add(s, "Luc", "Duponteau", [], []),
        "smith": _add(s, "Anna", "Smith", ["+44 7911 123456"], ["anna.smith@gmail.com"]),
    }
    return s, ids


def test_name_parts_in_any_order_ignoring_case_and_accents(book):
    s, ids = book
    assert _ids(s, "zoe") == [ids["zoe"]]
    assert _ids(s, "ZOÉ lefevre") == [ids["zoe"]]
    assert _ids(s, "muller") == [ids["muller"]]
    assert _ids(s, "mueller") == [ids["muller"]]
    assert _ids(s, "jurgen") == [ids["muller"]]
    assert _ids(s, "dupont jean") == [ids["jean"]]
    assert _ids(s, "Jean Dupont") == [ids["jean"]]
    assert _ids(s, "jean smith") == []


@pytest.mark.parametrize("typed", ["7272", "0652", "+336", "652 52", "06 52 52", "33652527272"])
def test_phone_digits_national_or_international(book, typed):
    s, ids = book
    assert ids["jean"] in _ids(s, typed)
    assert _ids(s, typed)[0] == ids["jean"]


def test_phone_digits_do_not_find_other_numbers(book):
    s, ids = book
    assert _ids(s, "7272") == [ids["jean"]]
    assert _ids(s, "0049 151 234") == [ids["muller"]]


def test_email_fragments(book):
    s, ids = book
    assert set(_ids(s, "gmail")) == {ids["jean"], ids["smith"]}
    assert _ids(s, "dupont@") == [ids["jean"]]
    assert _ids(s, "web.de") == [ids["muller"]]


@pytest.mark.parametrize(
    "typed", ["张伟", "伟", "张", "zhang wei", "zhangwei", "zhangw", "wei zhang", "zw"]
)
def test_chinese_by_characters_and_pinyin(book, typed):
    s, ids = book
    assert _ids(s, typed)[0] == ids["zhang"]


def test_one_and_two_letter_queries_use_prefixes(book):
    s, ids = book
    assert _ids(s, "zh") == [ids["zhang"]]
    assert set(_ids(s, "d")) == {ids["jean"], ids["dupond"], ids["duponteau"]}
    assert set(_ids(s, "j")) == {ids["jean"], ids["muller"]}


def test_one_typo_in_a_long_name_is_found_below_exact_hits(book):
    s, ids = book
    hits = search.search(s, "dupomt")
    assert [(h.id, h.match) for h in hits] == [(ids["jean"], "fuzzy")]  # Dupond is 2 edits off
    # an exact name outranks a one-letter-away one
    hits = search.search(s, "dupond")
    assert [h.id for h in hits][:1] == [ids["dupond"]]
    assert hits[0].match == "exact"
    assert [h.match for h in hits if h.id == ids["jean"]] == ["fuzzy"]
    # short names need the exact spelling: 'smitt' is one letter off but 5 letters long
    assert _ids(s, "smitt") == [ids["smith"]]
    assert _ids(s, "lukas") == []


def test_ranking_exact_then_prefix_then_substring_then_fuzzy(book):
    s, ids = book
    hits = search.search(s, "dupon")
    kinds = [(h.id, h.match) for h in hits]
    # 'dupon' is a prefix of Dupont, Dupond and Duponteau; nobody is exactly 'dupon'
    assert {k for _i, k in kinds} == {"prefix"}
    hits = search.search(s, "dupont")
    assert hits[0].id == ids["jean"] and hits[0].match == "exact"
    assert [h.match for h in hits] == sorted((h.match for h in hits), key=search.MATCH_KINDS.index)
    assert {h.id: h.match for h in hits}[ids["duponteau"]] == "prefix"
    assert {h.id: h.match for h in hits}[ids["dupond"]] == "fuzzy"


def test_ties_go_to_the_most_recent_visit(empty_store):
    s = empty_store
    never = _add(s, "Camille", "Martin")
    old = _add(s, "Camille", "Bernard")
    recent = _add(s, "Camille", "Petit")
    _visit(s, old, "2024-03-01 10:00")
    _visit(s, recent, "2026-01-10 10:00")
    assert _ids(s, "camille") == [recent, old, never]
    assert _ids(s, "cam") == [recent, old, never]
    _visit(s, never, "2026-06-01 10:00")
    assert _ids(s, "camille") == [never, recent, old]


def test_limit_and_empty_queries(book):
    s, _ = book
    assert search.search(s, "   ") == []
    assert len(search.search(s, "d", limit=2)) == 2
    assert search.search(s, "d", limit=0) == []


def test_archived_only_when_asked(book):
    s, ids = book
    customers.set_archived(s, ids["zoe"])
    assert _ids(s, "zoe") == []
    assert _ids(s, "zo") == []
    hits = search.search(s, "zoe", include_archived=True)
    assert [h.id for h in hits] == [ids["zoe"]] and hits[0].archived
    customers.set_archived(s, ids["zoe"], archived=False)
    assert _ids(s, "zoe") == [ids["zoe"]]


def test_fresh_after_edit_and_delete(book):
    s, ids = book
    customers.edit_customer(
        s, ids["zoe"], CustomerInput(last_name="Fontaine", phones=["+33 7 88 99 00 11"])
    )
    assert _ids(s, "lefevre") == []
    assert _ids(s, "fontaine zoe") == [ids["zoe"]]
    assert _ids(s, "9900") == [ids["zoe"]]
    assert _ids(s, "2233") == []
    customers.delete_customer(s, ids["zoe"])
    assert _ids(s, "fontaine") == []
    assert _ids(s, "zo") == []


def test_fresh_after_a_merge(book):
    s, ids = book
    with s.session() as session:
        session.get(Customer, ids["dupond"]).merged_into_id = ids["jean"]
    assert _ids(s, "dupond") == [ids["jean"]]  # only the survivor, by fuzzy match
    assert _ids(s, "marc") == []


def test_fresh_after_a_bulk_import(book):
    s, _ = book
    with s.session() as session:
        conn = session.connection()
        new_id = conn.execute(
            insert(Customer).returning(Customer.id),
            [
                dict(
                    first_name="Élodie",
                    last_name="Gauthier",
                    display_name="Élodie Gauthier",
                    sort_name=sort_key("Élodie", "Gauthier"),
                )
            ],
        ).scalar_one()
        conn.execute(
            insert(CustomerPhone),
            [dict(customer_id=new_id, raw="06 77 88 99 00", e164="+33677889900", position=0)],
        )
        tracking.refresh_derived(conn, [new_id])
    assert _ids(s, "gauthier elodie") == [new_id]
    assert _ids(s, "8899") == [new_id]
    assert _ids(s, "ga") == [new_id]


def test_many_matches_are_ranked_without_reading_them_all(empty_store):
    """Many more matches than a page: the rank-by-rank walk must agree with the rules."""
    s = empty_store
    rows = []
    for i in range(460):
        rows.append(("Marie", f"Lambert{i:03d}"))
    with s.session() as session:
        conn = session.connection()
        ids = (
            conn.execute(
                insert(Customer).returning(Customer.id),
                [
                    dict(
                        first_name=f, last_name=n, display_name=f"{f} {n}", sort_name=sort_key(f, n)
                    )
                    for f, n in rows
                ],
            )
            .scalars()
            .all()
        )
        tracking.refresh_derived(conn, ids)
    exact = _add(s, "Lambert", "Marie")  # 'lambert' exact as a first name
    _visit(s, ids[7], "2026-05-01 10:00")
    hits = search.search(s, "lambert", limit=5)
    assert hits[0].id == exact and hits[0].match == "exact"
    assert hits[1].id == ids[7] and hits[1].match == "prefix"
    assert len(search.search(s, "marie", limit=1000)) == len(rows) + 1
    assert search.search(s, "mar", limit=3)[0].id == ids[7]
    assert len(search.search(s, "ambert", limit=20)) == 20


def test_migration_rebuilds_the_index_for_an_existing_store(book):
    """A store at revision 0001 (old single FTS table) finds everyone after upgrading."""
    s, ids = book
    cfg = migrate._config()
    with s.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
        tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
        assert "search_doc" not in tables and search_index.LEGACY_TABLE in tables
    with s.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert _ids(s, "zoe") == [ids["zoe"]]
    assert _ids(s, "zhangw") == [ids["zhang"]]
    assert _ids(s, "7272") == [ids["jean"]]
    assert _ids(s, "dupomt") == [ids["jean"]]


def test_migration_rebuilds_an_index_of_the_previous_format(book):
    """A store written by the previous version (search_key postings) is rebuilt on open."""
    s, ids = book
    cfg = migrate._config()
    with s.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "duplicates_0002")
        for statement in search_index.DROP_SCHEMA_SQL:
            conn.exec_driver_sql(statement)
        # the previous format's tables, left empty: only a rebuild can find anyone now
        conn.exec_driver_sql(
            "CREATE TABLE search_doc (customer_id INTEGER PRIMARY KEY, recency INTEGER,"
            " archived INTEGER, names TEXT, phones TEXT, emails TEXT)"
        )
        conn.exec_driver_sql(
            "CREATE TABLE search_key (key TEXT, recency INTEGER, customer_id INTEGER,"
            " archived INTEGER, PRIMARY KEY (key, recency, customer_id)) WITHOUT ROWID"
        )
    with s.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
        assert search_index.OLD_KEY_TABLE not in tables and search_index.WORD in tables
    assert set(_ids(s, "gmail")) == {ids["jean"], ids["smith"]}
    assert _ids(s, "7272") == [ids["jean"]]
    assert _ids(s, "zhangw") == [ids["zhang"]]
    assert _ids(s, "dupomt") == [ids["jean"]]


def test_cli_search_json_and_text(tmp_path):
    import json

    from tests.test_cli import run

    d = tmp_path / "data"
    assert run(d, "init").returncode == 0
    added = run(
        d,
        "add",
        "--first-name",
        "Zoé",
        "--last-name",
        "Lefèvre",
        "--phone",
        "+33 6 52 52 72 72",
        "--json",
    )
    assert added.returncode == 0, added.stderr
    cid = json.loads(added.stdout)["id"]
    found = run(d, "search", "0652", "--json", "--limit", "5")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert [(h["id"], h["display_name"], h["match"]) for h in hits] == [
        (cid, "Zoé Lefèvre", "prefix")
    ]
    text_out = run(d, "search", "zoe lefevre")
    assert "Zoé Lefèvre" in text_out.stdout and "exact" in text_out.stdout
    run(d, "archive", str(cid))
    archived = json.loads(run(d, "search", "zoe", "--json", "--archived").stdout)
    assert [h["archived"] for h in archived] == [True]


def test_many_phone_matches_rank_numbers_starting_with_the_digits_first(empty_store):
    s = empty_store
    rows = [(f"Client{i:03d}", f"+3361{i:03d}0652") for i in range(430)]
    with s.session() as session:
        conn = session.connection()
        ids = (
            conn.execute(
                insert(Customer).returning(Customer.id),
                [
                    dict(first_name=f, last_name="X", display_name=f"{f} X", sort_name=f.lower())
                    for f, _p in rows
                ],
            )
            .scalars()
            .all()
        )
        conn.execute(
            insert(CustomerPhone),
            [
                dict(customer_id=i, raw=p, e164=p, position=0)
                for i, (_f, p) in zip(ids, rows, strict=True)
            ],
        )
        tracking.refresh_derived(conn, ids)
    starter = _add(s, "Paul", "Starter", ["06 52 11 22 33"])
    hits = search.search(s, "0652", limit=3)
    assert (hits[0].id, hits[0].match) == (starter, "prefix")
    assert [h.match for h in hits[1:]] == ["substring", "substring"]


def test_email_parts_are_words(book):
    """Domains, labels and 'name@' are whole words: exact matches, like a name token."""
    s, ids = book
    hits = search.search(s, "gmail")
    assert {(h.id, h.match) for h in hits} == {(ids["jean"], "exact"), (ids["smith"], "exact")}
    assert set(_ids(s, "@gmail.com")) == {ids["jean"], ids["smith"]}
    assert _ids(s, "orange.fr") == [ids["zoe"]]
    assert _ids(s, "j.mueller") == [ids["muller"]]
    assert [h.match for h in search.search(s, "zoe@")] == ["exact"]
    # a fragment inside a word is still found, as a substring
    assert {(h.id, h.match) for h in search.search(s, "mail")} == {
        (ids["jean"], "substring"),
        (ids["smith"], "substring"),
    }
    # top-level domains are not words: 'de' must not find every '.de' address; domains
    # match whole, so typing 'gm' does not bring every Gmail user before the names
    assert _ids(s, "de") == []
    assert _ids(s, "gm") == []
    assert [h.match for h in search.search(s, "gmai")] == ["substring", "substring"]
    # one or two digits are not a phone number yet: '06' finds nobody by number
    assert _ids(s, "06") == []


def test_an_email_domain_with_its_at_sign(empty_store):
    s = empty_store
    zoe = _add(s, "Zoé", "Lefèvre", emails=["zoe@example.org"])
    sub = _add(s, "Paul", "Martin", emails=["paul@mail.example.org"])
    other = _add(s, "Anne", "Roux", emails=["anne@example.org.uk"])
    assert _ids(s, "@example.org") == [zoe, other]
    assert [h.match for h in search.search(s, "@example.org")] == ["exact", "substring"]
    assert set(_ids(s, "example.org")) == {zoe, sub, other}
    assert _ids(s, "example")[0] in (zoe, sub)  # a label: exact for both


def test_a_whole_local_part_outranks_one_ending_with_the_fragment(empty_store):
    s = empty_store
    inside = _add(s, "Jean-Pierre", "Martin", emails=["jp.dupont@gmail.com"])
    whole = _add(s, "Anne", "Roux", emails=["dupont@free.fr"])
    _visit(s, inside, "2026-06-01 10:00")  # the more recent visit still comes second
    hits = search.search(s, "dupont@")
    assert [(h.id, h.match) for h in hits] == [(whole, "exact"), (inside, "substring")]


def test_phone_numbers_starting_with_the_digits_come_first(empty_store):
    s = empty_store
    ends = _add(s, "Anne", "Roux", ["+33 6 11 22 06 52"])
    starts = _add(s, "Paul", "Martin", ["06 52 11 22 33"])
    _visit(s, ends, "2026-06-01 10:00")
    hits = search.search(s, "0652")
    assert [(h.id, h.match) for h in hits] == [(starts, "prefix"), (ends, "substring")]
    assert [h.match for h in search.search(s, "0652112233")] == ["exact"]


def test_archived_customers_interleave_by_visit_when_asked(empty_store):
    s = empty_store
    old = _add(s, "Camille", "Martin")
    archived = _add(s, "Camille", "Bernard")
    _visit(s, old, "2024-03-01 10:00")
    _visit(s, archived, "2026-01-10 10:00")
    customers.set_archived(s, archived)
    assert _ids(s, "camille") == [old]
    assert _ids(s, "camille", include_archived=True) == [archived, old]
    assert _ids(s, "cam", include_archived=True, limit=1) == [archived]


def test_a_long_prefix_among_many_customers(empty_store):
    """Prefixes longer than the ready-made ones (6 letters) are still ranked by visit."""
    s = empty_store
    first = _add(s, "Maximilian", "Ost")
    second = _add(s, "Maximiliane", "West")
    _add(s, "Maximus", "Nord")
    _visit(s, second, "2026-06-01 10:00")
    assert _ids(s, "maximil") == [second, first]
    assert _ids(s, "maximilia ost") == [first]


def test_the_lists_ids_only_search_gives_the_same_customers_in_the_same_order(book):
    s, ids = book
    customers.set_archived(s, ids["dupond"])
    for query in ("dupont", "dupomt", "zhang wei", "7272", "gmail", "du", "zoe lef"):
        for archived in (False, True):
            hits = search.search(s, query, limit=100, include_archived=archived)
            found = search.search_ids(s, query, limit=100, include_archived=archived)
            assert found and found == [h.id for h in hits], (query, archived)


def test_a_rebuild_with_a_helper_process_writes_what_a_serial_one_writes(demo_store, monkeypatch):
    """Restores and migrations of big stores build the rows in a helper process."""
    pools = []
    get_context = search_index.multiprocessing.get_context

    def recording(method):
        pools.append(method)
        return get_context(method)

    monkeypatch.setattr(search_index.multiprocessing, "get_context", recording)

    def state() -> tuple[list, dict]:
        with demo_store.engine.connect() as conn:
            docs = conn.execute(text("SELECT * FROM search_doc ORDER BY sortkey")).all()
        found = {q: _ids(demo_store, q) for q in ("zoe", "dupomt", "7272", "张伟", "gmail")}
        return docs, found

    with demo_store.engine.begin() as conn:
        assert search_index.rebuild(conn, chunk=64, parallel=False) == 300
    serial = state()
    assert pools == []
    with demo_store.engine.begin() as conn:
        assert search_index.rebuild(conn, chunk=64, parallel=True) == 300
        conn.execute(text("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))
    assert pools == ["spawn"]
    assert state() == serial and all(serial[1].values())
