"""Core commands: init, demo, add, edit, show, search, book, notes, tags, settings, keys."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli.context import (
    EXIT_SECRET,
    CliError,
    ask_new_passphrase,
    data_dir,
    open_from_args,
    unlock_key,
)
from app.cli.output import emit_json, say, warn
from app.services import bookings, customers, datadir, demo, notes, search, vault
from app.services import settings as settings_svc
from app.services import tags as tags_svc
from app.services.customers import CustomerInput
from app.services.money import format_money
from app.services.store import StoreError, create_store

AddCommon = Callable[[argparse.ArgumentParser], None]


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("yes", "y", "true", "1", "on"):
        return True
    if value in ("no", "n", "false", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"'{text}' is not yes or no")


def _customer_fields(p: argparse.ArgumentParser, *, for_edit: bool) -> None:
    p.add_argument("--first-name")
    p.add_argument("--last-name")
    p.add_argument("--phone", action="append", help="repeatable; as typed, any format")
    p.add_argument("--email", action="append", help="repeatable")
    if not for_edit:
        p.add_argument("--tag", action="append", help="repeatable")
    p.add_argument("--birthday", metavar="YYYY-MM-DD")
    p.add_argument("--language", help="preferred language: en, fr, de, zh-Hans…")
    p.add_argument("--consent", type=_bool, metavar="yes|no", help="marketing consent")
    p.add_argument("--consent-method", help="how consent was given (form, email, in person)")
    p.add_argument("--street")
    p.add_argument("--postcode")
    p.add_argument("--city")
    p.add_argument("--region")
    p.add_argument("--country", metavar="CC")
    p.add_argument("--company")
    p.add_argument("--nationality", metavar="CC")
    p.add_argument("--id-document-type")
    p.add_argument("--id-document-number")
    p.add_argument("--id-document-country", metavar="CC")
    p.add_argument("--id-document-expiry", metavar="YYYY-MM-DD")
    p.add_argument("--source-channel")
    p.add_argument("--first-contact", metavar="YYYY-MM-DD")
    p.add_argument("--external-ref", action="append", metavar="[SYSTEM:]REF")


def _input_from(args: argparse.Namespace) -> CustomerInput:
    refs = None
    if args.external_ref:
        refs = [tuple(r.split(":", 1)) if ":" in r else ("", r) for r in args.external_ref]
    return CustomerInput(
        first_name=args.first_name,
        last_name=args.last_name,
        phones=args.phone,
        emails=args.email,
        tags=getattr(args, "tag", None),
        preferred_language=args.language,
        birthday=args.birthday,
        street=args.street,
        postcode=args.postcode,
        city=args.city,
        region=args.region,
        country=args.country,
        company=args.company,
        nationality=args.nationality,
        id_document_type=args.id_document_type,
        id_document_number=args.id_document_number,
        id_document_country=args.id_document_country,
        id_document_expiry=args.id_document_expiry,
        marketing_consent=args.consent,
        consent_method=args.consent_method,
        source_channel=args.source_channel,
        first_contact=args.first_contact,
        external_refs=refs,
    )


# ---------------------------------------------------------------- handlers


def cmd_init(args: argparse.Namespace) -> int:
    directory = data_dir(args)
    if datadir.store_exists(directory):
        raise CliError(f"a store already exists in {directory}")
    has_keyring, why = vault.keyring_status()
    use_keyring = has_keyring and not args.no_keyring
    passphrase = os.environ.get("REGULARS_PASSPHRASE") or None
    if not use_keyring and passphrase is None:
        if not args.no_keyring:
            warn(f"regulars: {why}; the store will be protected by a passphrase instead.")
        passphrase = ask_new_passphrase("Choose a passphrase: ")
    try:
        store, kit = create_store(directory, passphrase=passphrase, use_keyring=use_keyring)
    except (StoreError, vault.VaultError) as exc:
        raise CliError(str(exc)) from None
    try:
        for key in ("business_name", "kind", "default_region", "currency", "timezone"):
            value = getattr(args, key)
            if value is not None:
                settings_svc.set_value(store, key, value)
        business = settings_svc.get(store, "business_name")
    finally:
        store.close()
    kit_text = kit.text(business)
    if args.recovery_kit_out:
        out = Path(args.recovery_kit_out)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(kit_text)
    slots = vault.slot_types(directory)
    if args.json:
        emit_json(
            {
                "data_dir": str(directory),
                "store_id": kit.store_id,
                "slots": slots,
                "recovery_key": kit.identity,
                "recovery_recipient": kit.recipient,
            }
        )
        return 0
    say(f"Created the store in {directory} (unlocked by: {', '.join(slots)}).")
    say("")
    say("RECOVERY KIT — shown once. Print it or save it somewhere safe and offline.")
    say("It opens this store and every backup if the passphrase or keyring is lost.")
    say("")
    say(kit_text)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:

        def progress(done: int, total: int) -> None:
            if not args.json and sys.stderr.isatty():
                sys.stderr.write(f"\r{done:,}/{total:,} customers")
                sys.stderr.flush()

        totals = demo.generate(store, customers=args.customers, seed=args.seed, progress=progress)
    finally:
        store.close()
    if not args.json and sys.stderr.isatty():
        sys.stderr.write("\n")
    if args.json:
        emit_json(totals)
    else:
        say(
            f"Added {totals['customers']:,} customers, {totals['bookings']:,} bookings, "
            f"{totals['payments']:,} payments, {totals['notes']:,} notes."
        )
    return 0


def _print_profile(p: customers.CustomerProfile, currency_locale: str = "en") -> None:
    say(f"#{p.id}  {p.display_name}" + ("  [archived]" if p.archived_at else ""))
    for n in p.notes:
        if n["alert"]:
            say(f"  ⚠ {n['body']}")
    for ph in p.phones:
        say(f"  phone  {ph.international}   (typed: {ph.raw})")
    for e in p.emails:
        say(f"  email  {e.address}" + ("   (booking-site relay)" if e.is_relay else ""))
    if p.preferred_language:
        say(f"  language  {p.preferred_language}")
    if p.birthday:
        say(f"  birthday  {p.birthday.isoformat()}")
    say(f"  consent   {'yes' if p.marketing_consent else 'no'}")
    if p.tags:
        say(f"  tags      {', '.join(p.tags)}")
    f = p.figures
    spent = ", ".join(format_money(v, k, currency_locale) for k, v in f["total_spent"].items())
    say(f"  {f['booking_count']} bookings, {f['no_show_count']} no-shows, spent {spent or '0'}")
    for n in p.notes:
        if not n["alert"]:
            say(f"  note{' (pinned)' if n['pinned'] else ''}: {n['body']}")
    for b in p.bookings:
        what = b["room"] or b["service"] or b["kind"]
        say(
            f"  {b['start_at']:%Y-%m-%d %H:%M}  {what:<20} {b['status']:<10} "
            f"{format_money(b['price_minor'], b['currency'], currency_locale)}"
            + (
                f"  due {format_money(b['balance_minor'], b['currency'])}"
                if b["balance_minor"]
                else ""
            )
        )


def cmd_add(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        profile = customers.add_customer(store, _input_from(args))
    finally:
        store.close()
    if args.json:
        emit_json(profile.to_dict())
    else:
        say(f"Added customer #{profile.id} {profile.display_name}")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        profile = customers.edit_customer(store, args.id, _input_from(args))
    finally:
        store.close()
    if args.json:
        emit_json(profile.to_dict())
    else:
        say(f"Saved customer #{profile.id} {profile.display_name}")
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        profile = customers.set_archived(store, args.id, not args.undo)
    finally:
        store.close()
    if args.json:
        emit_json(profile.to_dict())
    else:
        verb = "Restored" if args.undo else "Archived"
        say(f"{verb} customer #{profile.id} {profile.display_name}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        profile = customers.get_profile(store, args.id)
    finally:
        store.close()
    if args.json:
        emit_json(profile.to_dict())
    else:
        _print_profile(profile)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        hits = search.search(store, args.query, limit=args.limit, include_archived=args.archived)
    finally:
        store.close()
    if args.json:
        emit_json([h.__dict__ for h in hits])
    else:
        for h in hits:
            say(
                f"#{h.id:<7} {h.display_name:<30} {h.phone or '':<20} {h.email or '':<32}"
                f" {h.match}{' (archived)' if h.archived else ''}"
            )
        if not hits:
            warn("no customer matches")
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    contact = None
    if args.customer_id is None:
        if not (args.phone or args.email):
            raise CliError("give CUSTOMER_ID, or contact details (--phone/--email and names)")
        contact = CustomerInput(
            first_name=args.first_name,
            last_name=args.last_name,
            phones=args.phone,
            emails=args.email,
            preferred_language=args.language,
        )
    data = bookings.BookingInput(
        start=args.start,
        end=args.end,
        customer_id=args.customer_id,
        contact=contact,
        kind=args.kind,
        service=args.service,
        room=args.room,
        staff=args.staff,
        location=args.location,
        status=args.status,
        price=args.price,
        currency=args.currency,
        channel=args.channel,
        party_size=args.party_size,
        special_requests=args.special_requests,
        external_ref=args.external_ref,
    )
    store = open_from_args(args)
    try:
        result = bookings.record_booking(store, data)
        if args.paid:
            result.booking = bookings.add_payment(
                store, result.booking["id"], args.paid, method=args.payment_method
            )
    finally:
        store.close()
    if args.json:
        out = dict(result.booking)
        out.update(
            customer_id=result.customer_id,
            customer_created=result.customer_created,
            filled_fields=result.filled_fields,
        )
        emit_json(out)
    else:
        who = "new customer" if result.customer_created else "customer"
        say(f"Booked #{result.booking['id']} for {who} #{result.customer_id}")
    return 0


def _booking_out(args: argparse.Namespace, booking: dict[str, Any], verb: str) -> int:
    if args.json:
        emit_json(booking)
    else:
        say(f"{verb} booking #{booking['id']} ({booking['status']})")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        booking = bookings.cancel_booking(store, args.booking_id)
    finally:
        store.close()
    return _booking_out(args, booking, "Cancelled")


def cmd_status(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        booking = bookings.set_status(store, args.booking_id, args.status)
    finally:
        store.close()
    return _booking_out(args, booking, "Updated")


def cmd_pay(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        booking = bookings.add_payment(
            store,
            args.booking_id,
            args.amount,
            currency=args.currency,
            method=args.method,
            paid_at=args.at,
            reference=args.reference,
        )
    finally:
        store.close()
    return _booking_out(args, booking, "Payment recorded on")


def cmd_note(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        note = notes.add_note(store, args.customer_id, args.text, alert=args.alert, pinned=args.pin)
    finally:
        store.close()
    if args.json:
        emit_json(note)
    else:
        say(f"Added {'alert ' if note.alert else ''}note #{note.id}")
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        if args.remove:
            names = tags_svc.remove_tag(store, args.customer_id, args.tag)
        else:
            names = tags_svc.add_tag(store, args.customer_id, args.tag)
    finally:
        store.close()
    if args.json:
        emit_json({"id": args.customer_id, "tags": names})
    else:
        say(f"#{args.customer_id} tags: {', '.join(names) or '(none)'}")
    return 0


def cmd_tags(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        items = tags_svc.list_tags(store)
    finally:
        store.close()
    if args.json:
        emit_json(items)
    else:
        for t in items:
            say(f"{t.name:<20} {t.customer_count:>7}")
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        if args.key is None:
            values = settings_svc.get_all(store)
            if args.json:
                emit_json(values)
            else:
                for k, v in values.items():
                    say(f"{k} = {v}")
            return 0
        if args.value is None:
            value = settings_svc.get(store, args.key)
        else:
            value = settings_svc.set_value(store, args.key, args.value)
    finally:
        store.close()
    if args.json:
        emit_json({args.key: value})
    else:
        say(str(value))
    return 0


def cmd_change_passphrase(args: argparse.Namespace) -> int:
    key = unlock_key(args)
    new = os.environ.get("REGULARS_NEW_PASSPHRASE")
    if not new:
        if not sys.stdin.isatty():
            raise CliError(
                "no new passphrase: set REGULARS_NEW_PASSPHRASE or run in a terminal",
                EXIT_SECRET,
            )
        import getpass

        new = getpass.getpass("New passphrase: ")
        if new != getpass.getpass("Repeat: "):
            raise CliError("the two passphrases differ", EXIT_SECRET)
    if len(new) < 8:
        raise CliError("choose a passphrase of at least 8 characters", EXIT_SECRET)
    vault.change_passphrase(data_dir(args), key, new)
    say("Passphrase changed. The recovery kit still works; the database was not re-encrypted.")
    return 0


def cmd_new_recovery_kit(args: argparse.Namespace) -> int:
    key = unlock_key(args)
    kit = vault.new_recovery_kit(data_dir(args), key)
    text = kit.text()
    if args.out:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        say(f"New recovery kit written to {args.out}; the old kit no longer opens the store.")
    else:
        say(text)
    return 0


# ---------------------------------------------------------------- registration


def register(sub: argparse._SubParsersAction, add_common: AddCommon) -> None:
    def command(
        name: str, func: Callable[[argparse.Namespace], int], help_: str, json_: bool = True
    ):
        p = sub.add_parser(name, help=help_, description=help_)
        add_common(p)
        if json_:
            p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=func)
        return p

    p = command("init", cmd_init, "create a new encrypted store and show its recovery kit")
    p.add_argument("--no-keyring", action="store_true", help="do not use the OS keyring")
    p.add_argument("--recovery-kit-out", metavar="FILE", help="also save the recovery kit here")
    p.add_argument("--business-name")
    p.add_argument("--kind", choices=("guesthouse", "salon"))
    p.add_argument("--default-region", metavar="CC")
    p.add_argument("--currency", metavar="CUR")
    p.add_argument("--timezone", metavar="TZ")

    p = command("demo", cmd_demo, "fill the store with realistic demo data")
    p.add_argument("--customers", type=int, default=2000, metavar="N")
    p.add_argument("--seed", type=int, default=1, metavar="S")

    p = command("add", cmd_add, "add a customer")
    _customer_fields(p, for_edit=False)

    p = command("edit", cmd_edit, "change a customer's fields")
    p.add_argument("id", type=int, metavar="ID")
    _customer_fields(p, for_edit=True)

    p = command("archive", cmd_archive, "archive a customer (hidden from lists, kept)")
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--undo", action="store_true", help="bring an archived customer back")

    p = command("show", cmd_show, "show a customer's profile, notes, bookings and figures")
    p.add_argument("id", type=int, metavar="ID")

    p = command(
        "search",
        cmd_search,
        "find customers by name parts, 3+ phone digits, email fragment or pinyin; best first",
    )
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N hits (20)")
    p.add_argument("--archived", action="store_true", help="include archived customers")

    p = command("book", cmd_book, "record a booking (creates the customer from contact details)")
    p.add_argument("customer_id", type=int, nargs="?", metavar="CUSTOMER_ID")
    p.add_argument("--start", required=True, metavar="'YYYY-MM-DD HH:MM'")
    p.add_argument("--end", metavar="'YYYY-MM-DD HH:MM'")
    p.add_argument("--kind", choices=("stay", "appointment"))
    p.add_argument("--service")
    p.add_argument("--room")
    p.add_argument("--staff")
    p.add_argument("--location")
    p.add_argument("--status", default="confirmed")
    p.add_argument("--price", metavar="AMOUNT", help="e.g. 45.00")
    p.add_argument("--currency", metavar="CUR")
    p.add_argument("--channel", default="direct")
    p.add_argument("--party-size", type=int, default=1)
    p.add_argument("--special-requests")
    p.add_argument("--external-ref")
    p.add_argument("--paid", metavar="AMOUNT", help="record a payment of this amount too")
    p.add_argument("--payment-method", default="card")
    p.add_argument("--first-name")
    p.add_argument("--last-name")
    p.add_argument("--phone", action="append")
    p.add_argument("--email", action="append")
    p.add_argument("--language")

    p = command("cancel", cmd_cancel, "cancel a booking")
    p.add_argument("booking_id", type=int, metavar="BOOKING_ID")

    p = command("status", cmd_status, "set a booking's status")
    p.add_argument("booking_id", type=int, metavar="BOOKING_ID")
    p.add_argument("status", metavar="STATUS")

    p = command("pay", cmd_pay, "record a payment against a booking")
    p.add_argument("booking_id", type=int, metavar="BOOKING_ID")
    p.add_argument("amount", metavar="AMOUNT")
    p.add_argument("--currency", metavar="CUR")
    p.add_argument("--method", default="card")
    p.add_argument("--at", metavar="'YYYY-MM-DD HH:MM'")
    p.add_argument("--reference")

    p = command("note", cmd_note, "add a note to a customer")
    p.add_argument("customer_id", type=int, metavar="CUSTOMER_ID")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--alert", action="store_true", help="an allergy or warning, shown first")
    p.add_argument("--pin", action="store_true", help="keep at the top")

    p = command("tag", cmd_tag, "tag a customer (or --remove)")
    p.add_argument("customer_id", type=int, metavar="CUSTOMER_ID")
    p.add_argument("tag", metavar="TAG")
    p.add_argument("--remove", action="store_true")

    command("tags", cmd_tags, "list tags and how many customers carry each")

    p = command("settings", cmd_settings, "show or change business settings")
    p.add_argument("key", nargs="?", metavar="KEY")
    p.add_argument("value", nargs="?", metavar="VALUE")

    command(
        "change-passphrase",
        cmd_change_passphrase,
        "set a new passphrase (REGULARS_NEW_PASSPHRASE for scripts)",
        json_=False,
    )
    p = command("new-recovery-kit", cmd_new_recovery_kit, "replace the recovery kit", json_=False)
    p.add_argument("--out", metavar="FILE")
