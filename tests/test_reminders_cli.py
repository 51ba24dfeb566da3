"""`regulars reminders`, `mark-sent`, `templates` as scripts drive them (real subprocesses)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json

from app.services import bookings, customers, vault
from app.services import settings as settings_svc
from app.services.customers import CustomerInput
from app.services.store import create_store, open_store
from app.services.timeutil import local_today
from tests.test_cli import PASS, run


def test_reminders_json_mark_sent_cancel_and_templates(tmp_path):
    # the store is made in-process (cheap key-slot cost, see conftest); the commands under
    # test run as real subprocesses on it
    d = tmp_path / "data"
    store, _kit = create_store(d, passphrase=PASS, use_keyring=False)
    settings_svc.set_value(store, "business_name", "Salon Iris")
    settings_svc.set_value(store, "kind", "salon")
    day = local_today("Europe/Paris") + dt.timedelta(days=2)
    zoe = customers.add_customer(
        store,
        CustomerInput(
            first_name="Zoé", last_name="Lefèvre", emails=["zoe@example.org"],
            preferred_language="fr",
        ),
    ).id  # fmt: skip
    mei = customers.add_customer(
        store,
        CustomerInput(
            first_name="美", last_name="林", phones=["+86 138 0013 8000"],
            preferred_language="zh-Hans",
        ),
    ).id  # fmt: skip
    b1 = bookings.record_booking(
        store, bookings.BookingInput(start=f"{day} 10:00", customer_id=zoe)
    ).booking["id"]
    bookings.record_booking(
        store, bookings.BookingInput(start=f"{day} 15:00", customer_id=mei, service="剪发")
    )
    store.close()

    out = run(d, "reminders", "--days", "1", "--json")
    assert out.returncode == 0, out.stderr
    drafts = json.loads(out.stdout)
    assert all(
        list(x) == ["customer_id", "booking_id", "kind", "channel", "language", "to", "subject",
                    "body"]
        for x in drafts
    )  # fmt: skip
    by = {(x["customer_id"], x["kind"]): x for x in drafts}
    fr = by[(zoe, "reminder")]
    assert fr["language"] == "fr" and fr["booking_id"] == b1 and fr["to"] == "zoe@example.org"
    assert fr["body"].startswith("Bonjour Zoé,")
    zh = by[(mei, "reminder")]
    assert zh["language"] == "zh-Hans" and zh["channel"] == "sms" and zh["to"] == "+8613800138000"
    assert "您好" in zh["body"] and f"{day.month}月{day.day}日" in zh["body"]

    # .eml files for the mail client
    eml_dir = tmp_path / "eml"
    assert run(d, "reminders", "--days", "1", "--eml-dir", str(eml_dir)).returncode == 0
    emls = sorted(eml_dir.glob("reminder-*.eml"))
    assert len(emls) == 1
    msg = email.message_from_bytes(emls[0].read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == fr["subject"]

    # marked sent: logged once, gone from the queue
    sent = run(d, "mark-sent", str(zoe), "reminder", "--booking", str(b1), "--days", "1", "--json")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["already_sent"] is False
    again = run(d, "mark-sent", str(zoe), "reminder", "--days", "1")
    assert again.returncode == 1 and "no reminder for customer" in again.stderr
    store = open_store(d, vault.unlock(d, passphrase=PASS))
    try:
        history = customers.get_profile(store, zoe).communications
        assert [(c["kind"], c["status"]) for c in history] == [("reminder", "sent")]
        # a cancelled booking's reminder disappears
        bookings.cancel_booking(store, zh["booking_id"])
    finally:
        store.close()
    left = json.loads(run(d, "reminders", "--days", "1", "--json").stdout)
    assert not [x for x in left if x["kind"] == "reminder"]

    # templates: unknown placeholder refused with the reason, no traceback
    bad = run(
        d, "templates", "set", "reminder", "fr", "--subject", "Rappel", "--body",
        "Bonjour {{ prenom }}",
    )  # fmt: skip
    assert bad.returncode == 1
    assert "unknown placeholder 'prenom'" in bad.stderr and "Traceback" not in bad.stderr
    good = tmp_path / "rappel.txt"
    good.write_text("Subject: À {{ time }} !\n\nSalut {{ first_name }}.\n", encoding="utf-8")
    assert run(d, "templates", "set", "reminder", "fr", "--file", str(good)).returncode == 0
    preview = run(d, "templates", "preview", "reminder", "fr", str(zoe), "--json")
    assert json.loads(preview.stdout)["subject"] == "À 10:00 !"
    listed = json.loads(run(d, "templates", "--json").stdout)
    assert {(t["kind"], t["language"]) for t in listed if t["custom"]} == {("reminder", "fr")}
