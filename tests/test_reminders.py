"""The draft queue: right message, right language, right channel, never twice."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models import MessageTemplate
from app.services import bookings, customers, reminders, templates
from app.services import settings as settings_svc
from app.services.customers import CustomerInput
from app.services.timeutil import local_today

FR_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
FR_MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
ZH_DAYS = "一二三四五六日"


def in_days(n: int) -> dt.date:
    return local_today("Europe/Paris") + dt.timedelta(days=n)


def add(store, first, last, **kw) -> int:
    return customers.add_customer(store, CustomerInput(first_name=first, last_name=last, **kw)).id


def book(store, cid, day: dt.date, **kw) -> int:
    kw.setdefault("kind", "appointment")
    data = bookings.BookingInput(start=f"{day} 10:00", customer_id=cid, **kw)
    return bookings.record_booking(store, data).booking["id"]


def drafts_for(store, cid, kind=None, days=0):
    queue = reminders.draft_queue(store, days=days)
    return [d for d in queue.drafts if d.customer_id == cid and kind in (None, d.kind)]


@pytest.fixture
def salon(empty_store):
    for key, value in (
        ("business_name", "Salon Iris"),
        ("kind", "salon"),
        ("timezone", "Europe/Paris"),
        ("phone", "+33 1 42 00 00 00"),
        ("reminder_hours_salon", "48"),
    ):
        settings_svc.set_value(empty_store, key, value)
    return empty_store


def test_french_customer_gets_a_french_reminder_with_a_french_date(salon):
    zoe = add(salon, "Zoé", "Lefèvre", emails=["zoe@example.org"], preferred_language="fr")
    day = in_days(2)
    bid = book(salon, zoe, day, service="Couleur", staff="Inès", price="85.00", currency="EUR")

    [draft] = drafts_for(salon, zoe, "reminder")

    french_date = f"{FR_DAYS[day.weekday()]} {day.day} {FR_MONTHS[day.month - 1]} {day.year}"
    assert draft.language == "fr"
    assert draft.booking_id == bid
    assert (draft.channel, draft.to) == ("email", "zoe@example.org")
    assert french_date in draft.subject
    assert draft.body.startswith("Bonjour Zoé,")
    assert f"le {french_date} à 10:00 avec Inès" in draft.body
    assert "Couleur" in draft.body
    assert "85,00\u00a0€" in draft.body  # balance due, written the French way
    assert "+33 1 42 00 00 00" in draft.body


def test_chinese_customer_gets_chinese(salon):
    mei = add(salon, "美", "林", phones=["+86 138 0013 8000"], preferred_language="zh")
    day = in_days(2)
    book(salon, mei, day, service="剪发")

    [draft] = drafts_for(salon, mei, "reminder")

    assert draft.language == "zh-Hans"
    assert (draft.channel, draft.to) == ("sms", "+8613800138000")
    assert draft.body.startswith("林美，您好！")
    assert f"{day.year}年{day.month}月{day.day}日星期{ZH_DAYS[day.weekday()]}" in draft.body
    assert "剪发" in draft.body


def test_german_and_unknown_languages(salon):
    anna = add(salon, "Anna", "Müller", emails=["anna@example.de"], preferred_language="de-AT")
    ola = add(salon, "Ola", "Nordmann", emails=["ola@example.no"], preferred_language="nb")
    book(salon, anna, in_days(1))
    book(salon, ola, in_days(1))
    [de] = drafts_for(salon, anna, "reminder")
    [other] = drafts_for(salon, ola, "reminder")
    assert de.language == "de" and de.body.startswith("Hallo Anna,")
    # no Norwegian template: the business language (en) rather than nothing
    assert other.language == "en" and other.body.startswith("Hello Ola,")


def test_reminder_waits_for_its_time(salon):
    cid = add(salon, "Léa", "Roux", emails=["lea@example.org"], preferred_language="fr")
    book(salon, cid, in_days(5))
    assert drafts_for(salon, cid, "reminder") == []
    assert len(drafts_for(salon, cid, "reminder", days=4)) == 1


def test_cancelled_booking_drops_its_reminder(salon):
    cid = add(salon, "Jean", "Dupont", emails=["jean@example.org"], preferred_language="fr")
    bid = book(salon, cid, in_days(1))
    assert [d.kind for d in drafts_for(salon, cid)] == ["reminder"]
    bookings.cancel_booking(salon, bid)
    assert drafts_for(salon, cid) == []


def test_marked_sent_is_never_drafted_again_and_logged_once(salon):
    cid = add(salon, "Jean", "Dupont", emails=["jean@example.org"], preferred_language="fr")
    bid = book(salon, cid, in_days(1))
    [draft] = drafts_for(salon, cid, "reminder")

    first = reminders.mark_sent(salon, draft, channel="whatsapp")
    again = reminders.mark_sent(salon, draft)

    assert first["already_sent"] is False and again["already_sent"] is True
    assert again["id"] == first["id"]
    assert drafts_for(salon, cid) == []
    history = customers.get_profile(salon, cid).communications
    assert len(history) == 1
    assert history[0]["kind"] == "reminder" and history[0]["booking_id"] == bid
    assert history[0]["channel"] == "whatsapp" and history[0]["status"] == "sent"
    assert history[0]["body"] == draft.body


def test_new_booking_gets_a_confirmation_until_the_reminder_takes_over(salon):
    cid = add(salon, "Hugo", "Petit", emails=["hugo@example.org"], preferred_language="fr")
    book(salon, cid, in_days(10), service="Coupe")
    [conf] = drafts_for(salon, cid)
    assert conf.kind == "confirmation"
    assert conf.subject.startswith("Salon Iris : votre réservation du ")
    reminders.mark_sent(salon, conf)
    assert drafts_for(salon, cid) == []
    # the reminder is a different message and still comes when due
    assert [d.kind for d in drafts_for(salon, cid, days=9)] == ["reminder"]


def test_stay_gets_reminder_and_pre_arrival_with_door_code(empty_store):
    store = empty_store
    for key, value in (
        ("kind", "guesthouse"),
        ("checkin_time", "16:00"),
        ("door_code", "4711"),
        ("directions", "Zweites Haus nach der Kirche"),
    ):
        settings_svc.set_value(store, key, value)
    cid = add(store, "Jonas", "Weber", emails=["jonas@example.de"], preferred_language="de")
    arrive = in_days(1)
    data = bookings.BookingInput(
        start=f"{arrive} 16:00", end=f"{in_days(4)} 11:00", customer_id=cid, room="Lavendel"
    )
    bookings.record_booking(store, data)
    kinds = {d.kind: d for d in drafts_for(store, cid)}
    assert set(kinds) == {"reminder", "pre-arrival"}
    pre = kinds["pre-arrival"]
    assert "Türcode: 4711" in pre.body
    assert "Anfahrt: Zweites Haus nach der Kirche" in pre.body
    assert "ab 16:00 Uhr" in pre.body


def test_follow_up_after_completed_visit_with_review_link(salon):
    settings_svc.set_value(salon, "review_link", "https://g.page/r/salon-iris/review")
    cid = add(salon, "Emma", "Smith", emails=["emma@example.co.uk"], preferred_language="en-GB")
    bid = book(salon, cid, local_today("Europe/Paris") - dt.timedelta(days=1), status="completed")
    [follow] = drafts_for(salon, cid, "follow-up")
    assert follow.booking_id == bid
    assert "https://g.page/r/salon-iris/review" in follow.body


def test_no_birthday_draft_without_consent(salon):
    today = local_today("Europe/Paris")
    born = today.replace(year=1990) if not (today.month == 2 and today.day == 29) else None
    if born is None:
        pytest.skip("29 February")
    without = add(salon, "Paul", "Martin", emails=["paul@example.org"], birthday=born)
    with_consent = add(
        salon, "Chloé", "Martin", emails=["chloe@example.org"], birthday=born,
        marketing_consent=True, preferred_language="fr",
    )  # fmt: skip
    assert drafts_for(salon, without, "birthday") == []
    [greeting] = drafts_for(salon, with_consent, "birthday")
    assert greeting.subject == "Joyeux anniversaire, Chloé !"
    # marked sent: not again this year
    reminders.mark_sent(salon, greeting)
    assert drafts_for(salon, with_consent, "birthday") == []


def test_no_marketing_to_a_relay_address_and_the_reason_is_listed(salon):
    born = dt.date(
        1988, local_today("Europe/Paris").month, min(local_today("Europe/Paris").day, 28)
    )
    cid = add(
        salon, "Lukas", "Braun", emails=["lbraun.123456@guest.booking.com"], birthday=born,
        marketing_consent=True,
    )  # fmt: skip
    # the relay address is fine for the booking itself…
    book(salon, cid, in_days(1))
    queue = reminders.draft_queue(salon, days=7)
    mine = [d for d in queue.drafts if d.customer_id == cid]
    assert [(d.kind, d.to) for d in mine] == [("reminder", "lbraun.123456@guest.booking.com")]
    # …but never for a birthday greeting, and the desk is told why
    [why] = [u for u in queue.unreachable if u.customer_id == cid]
    assert why.kind == "birthday"
    assert "relay" in why.reason and "guest.booking.com" in why.reason


def test_customer_without_contact_is_listed_with_the_reason(salon):
    cid = add(salon, "Marie", "Sans-Contact")
    book(salon, cid, in_days(1))
    queue = reminders.draft_queue(salon)
    assert not [d for d in queue.drafts if d.customer_id == cid]
    [why] = [u for u in queue.unreachable if u.customer_id == cid]
    assert (why.kind, why.reason) == ("reminder", "no email address or phone number")


def test_win_back_only_with_consent_once_per_absence(salon):
    settings_svc.set_value(salon, "winback_months", "3")
    long_ago = local_today("Europe/Paris") - dt.timedelta(days=100)  # 3 months passed this month
    keen = add(salon, "Inès", "Garcia", emails=["ines@example.org"], marketing_consent=True)
    shy = add(salon, "Tom", "Garcia", emails=["tom@example.org"])
    for cid in (keen, shy):
        book(salon, cid, long_ago, status="completed")
    [draft] = drafts_for(salon, keen, "win-back")
    assert drafts_for(salon, shy, "win-back") == []
    reminders.mark_sent(salon, draft)
    assert drafts_for(salon, keen, "win-back") == []


def test_json_shape_is_the_contract(salon):
    cid = add(salon, "Zoé", "Lefèvre", emails=["zoe@example.org"], preferred_language="fr")
    book(salon, cid, in_days(1))
    [draft] = drafts_for(salon, cid)
    assert list(draft.to_json()) == [
        "customer_id", "booking_id", "kind", "channel", "language", "to", "subject", "body",
    ]  # fmt: skip


def test_stored_template_overrides_shipped_and_reset_restores(salon):
    cid = add(salon, "Zoé", "Lefèvre", emails=["zoe@example.org"], preferred_language="fr")
    book(salon, cid, in_days(1))
    templates.save_template(
        salon, "reminder", "fr", "À demain {{ first_name }}", "Coucou {{ first_name }} !\n"
    )
    [draft] = drafts_for(salon, cid)
    assert (draft.subject, draft.body) == ("À demain Zoé", "Coucou Zoé !\n")
    templates.reset_template(salon, "reminder", "fr")
    [draft] = drafts_for(salon, cid)
    assert draft.body.startswith("Bonjour Zoé,")


def test_unknown_placeholder_is_reported_on_save_and_nothing_stored(salon):
    with pytest.raises(templates.TemplateError) as err:
        templates.save_template(
            salon, "reminder", "fr", "Rappel {{ dte }}", "Bonjour {{ frist_name }}\n{% if %}"
        )
    assert "subject: unknown placeholder 'dte'" in str(err.value)
    assert "body, line 2: Expected an expression" in str(err.value)
    with pytest.raises(templates.TemplateError, match="unknown placeholder 'frist_name'"):
        templates.save_template(salon, "reminder", "fr", "Rappel", "Bonjour {{ frist_name }}")
    assert all(not t.custom for t in templates.list_templates(salon))


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ first_name.__class__.__base__.__subclasses__() }}",
        "{{ ''|attr('__class__') }}",
        "{{ '{0.__class__}'.format(first_name) }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ self._TemplateReference__context }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "{{ 'x' * 100000000 }}",
        "{{ first_name|center(1000000000) }}",
        "{{ '%0999999999d' % 1 }}",
    ],
)
def test_templates_cannot_run_code(salon, payload):
    with pytest.raises(templates.TemplateError):
        templates.render_text(payload, {"first_name": "Zoé"})
    with pytest.raises(templates.TemplateError):
        templates.save_template(salon, "reminder", "en", "Hi", f"Hello {payload}\n")
    assert all(not t.custom for t in templates.list_templates(salon))


def test_a_tampered_stored_template_still_cannot_run_code(salon):
    cid = add(salon, "Zoé", "Lefèvre", emails=["zoe@example.org"], preferred_language="fr")
    book(salon, cid, in_days(1))
    with salon.session() as s:  # as if written by an older version or by hand
        s.add(
            MessageTemplate(kind="reminder", language="fr", subject="x", body="{{ ''.__class__ }}")
        )
    with pytest.raises(templates.TemplateError, match="sandbox"):
        reminders.draft_queue(salon)


def test_shipped_templates_are_complete_and_clean():
    for kind in templates.KINDS:
        for language in templates.SHIPPED_LANGUAGES:
            t = templates.shipped_template(kind, language)
            assert t is not None, (kind, language)
            assert templates.problems(t.subject, t.body) == [], (kind, language)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("fr-CA", "fr"),
        ("zh", "zh-Hans"),
        ("zh-CN", "zh-Hans"),
        ("zh_Hans", "zh-Hans"),
        ("de-CH", "de"),
        ("en-GB", "en"),
        (None, "en"),
        ("tlh", "en"),
    ],
)
def test_language_resolution(tag, expected):
    assert templates.resolve_language(tag, templates.SHIPPED_LANGUAGES) == expected


def test_demo_queue_renders_every_draft(demo_store):
    queue = reminders.draft_queue(demo_store, days=3)
    assert queue.drafts
    languages = {d.language for d in queue.drafts}
    assert {"fr", "zh-Hans"} <= languages
    for d in queue.drafts:
        assert d.subject and d.body and "{{" not in d.body
        if d.kind in templates.MARKETING_KINDS:
            assert not d.to.endswith("guest.booking.com")


def test_lazy_queue_renders_the_same_text_when_shown(salon):
    cid = add(salon, "Zoé", "Lefèvre", emails=["zoe@example.org"], preferred_language="fr")
    book(salon, cid, in_days(1))
    [eager] = reminders.draft_queue(salon).drafts
    [lazy] = reminders.draft_queue(salon, render=False).drafts
    assert lazy.body == "" and lazy.pending is not None
    assert (lazy.ensure_rendered().subject, lazy.body) == (eager.subject, eager.body)
