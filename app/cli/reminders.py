"""Reminder commands: the draft queue, marking sent, SMTP sending, templates."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path

from app.cli.context import CliError, open_from_args
from app.cli.output import emit_json, say, warn
from app.services import messaging, reminders, templates
from app.services.store import Store

AddCommon = Callable[[argparse.ArgumentParser], None]


def _with_store(args: argparse.Namespace, fn: Callable[[Store], int]) -> int:
    store = open_from_args(args)
    try:
        return fn(store)
    finally:
        store.close()


def _days(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("days cannot be negative")
    return value


# ---------------------------------------------------------------- queue


def cmd_reminders(args: argparse.Namespace) -> int:
    def work(store: Store) -> int:
        queue = reminders.draft_queue(store, days=args.days)
        if args.eml_dir:
            folder = Path(args.eml_dir)
            folder.mkdir(parents=True, exist_ok=True)
            for d in queue.drafts:
                if d.channel == "email":
                    msg = messaging.build_email(store, d)
                    name = f"{d.kind}-{d.customer_id}-{d.booking_id or 0}.eml"
                    messaging.save_eml(msg, folder / name)
        if args.json:
            if args.unreachable:
                emit_json([u.__dict__ for u in queue.unreachable])
            else:
                emit_json([d.to_json() for d in queue.drafts])
            return 0
        if not args.unreachable:
            for d in queue.drafts:
                ref = f" booking #{d.booking_id}" if d.booking_id else ""
                say(f"#{d.customer_id:<6} {d.kind:<12} {d.channel:<5} {d.language:<7} {d.to}{ref}")
                say(f"        {d.subject}")
            if not queue.drafts:
                say("Nothing to send.")
        if queue.unreachable:
            say("")
            say("No usable channel:")
            for u in queue.unreachable:
                say(f"#{u.customer_id:<6} {u.kind:<12} {u.customer_name}: {u.reason}")
        return 0

    return _with_store(args, work)


def cmd_mark_sent(args: argparse.Namespace) -> int:
    def work(store: Store) -> int:
        draft = reminders.find_draft(
            store, args.customer_id, args.kind, args.booking, days=args.days
        )
        record = reminders.mark_sent(store, draft, channel=args.channel)
        if args.json:
            emit_json(record)
        elif record["already_sent"]:
            say(f"Already recorded as sent (message #{record['id']}).")
        else:
            who = draft.customer_name
            say(f"Recorded the {draft.kind} to {who} as sent (message #{record['id']}).")
        return 0

    return _with_store(args, work)


def cmd_send_reminders(args: argparse.Namespace) -> int:
    def work(store: Store) -> int:
        queue = reminders.draft_queue(store, days=args.days)
        drafts = [d for d in queue.drafts if not args.kind or d.kind in args.kind]
        sent, skipped, failed = [], [], []
        emails = any(d.channel == "email" for d in drafts)
        if emails and not args.dry_run and not messaging.smtp_configured(store):
            raise CliError(
                "no SMTP server configured: set smtp_host, smtp_port, smtp_security, "
                "smtp_user and smtp_from with 'regulars settings', then "
                "'regulars smtp-password'"
            )
        for d in drafts:
            if d.channel != "email":
                skipped.append({**d.to_json(), "reason": "no email address (send by SMS)"})
                continue
            if args.dry_run:
                sent.append(d.to_json())
                continue
            try:
                record = messaging.send_draft(store, d)
            except messaging.MessagingError as exc:
                failed.append({**d.to_json(), "error": str(exc)})
                if not args.json:
                    warn(f"regulars: #{d.customer_id} {d.kind}: {exc}")
                continue
            sent.append({**d.to_json(), "communication_id": record["id"]})
        if args.json:
            emit_json({"sent": sent, "skipped": skipped, "failed": failed})
        else:
            verb = "Would send" if args.dry_run else "Sent"
            say(f"{verb} {len(sent)} email(s); {len(skipped)} need SMS; {len(failed)} failed.")
        return 1 if failed else 0

    return _with_store(args, work)


def cmd_smtp_password(args: argparse.Namespace) -> int:
    def work(store: Store) -> int:
        if args.delete:
            messaging.delete_smtp_password(store)
            say("SMTP password removed from the OS keyring.")
            return 0
        if sys.stdin.isatty():
            password = getpass.getpass("SMTP password: ")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        where = messaging.set_smtp_password(store, password)
        say(f"SMTP password saved in {where}.")
        return 0

    return _with_store(args, work)


# ---------------------------------------------------------------- templates


def _template_json(t: templates.Template) -> dict:
    return {
        "kind": t.kind,
        "language": t.language,
        "custom": t.custom,
        "subject": t.subject,
        "body": t.body,
    }


def cmd_templates(args: argparse.Namespace) -> int:
    action = args.action
    if action == "placeholders":
        if args.json:
            emit_json(templates.PLACEHOLDERS)
        else:
            for name, what in templates.PLACEHOLDERS.items():
                say(f"{{{{ {name} }}}}".ljust(24) + what)
        return 0
    needs = {"list": 0, "show": 2, "set": 2, "reset": 2, "preview": 3}[action]
    if len(args.args) != needs:
        usage = {
            "list": "templates list",
            "show": "templates show KIND LANGUAGE",
            "set": "templates set KIND LANGUAGE --file FILE | --subject S --body B",
            "reset": "templates reset KIND LANGUAGE",
            "preview": "templates preview KIND LANGUAGE CUSTOMER_ID [--booking ID]",
        }[action]
        raise CliError(f"usage: regulars {usage}")

    def work(store: Store) -> int:
        if action == "list":
            items = templates.list_templates(store)
            if args.json:
                emit_json([_template_json(t) for t in items])
            else:
                for t in items:
                    origin = "yours" if t.custom else "shipped"
                    say(f"{t.kind:<13} {t.language:<8} {origin:<8} {t.subject}")
            return 0
        kind, language = args.args[0], args.args[1]
        if action == "show":
            t = templates.get_template(store, kind, language)
            if args.json:
                emit_json(_template_json(t))
            else:
                say(f"Subject: {t.subject}\n\n{t.body}".rstrip())
            return 0
        if action == "set":
            if args.file:
                text = Path(args.file).read_text(encoding="utf-8")
                subject, body = templates.parse_file_text(text, args.file)
            elif args.subject is not None and args.body is not None:
                subject, body = args.subject, args.body
            else:
                raise CliError("give --file FILE, or both --subject and --body")
            t = templates.save_template(store, kind, language, subject, body)
            if args.json:
                emit_json(_template_json(t))
            else:
                say(f"Saved the {t.kind} template in {t.language}.")
            return 0
        if action == "reset":
            shipped = templates.reset_template(store, kind, language)
            if args.json:
                emit_json(_template_json(shipped) if shipped else None)
            else:
                say(
                    f"The {kind} template in {language} is back to the shipped text."
                    if shipped
                    else f"Removed your {kind} template in {language}."
                )
            return 0
        # preview
        try:
            customer_id = int(args.args[2])
        except ValueError:
            raise CliError(f"'{args.args[2]}' is not a customer id") from None
        t = templates.get_template(store, kind, language)
        values = reminders.preview_values(store, customer_id, t.language, args.booking)
        subject, body = templates.render(t, values)
        if args.json:
            emit_json({"kind": kind, "language": t.language, "subject": subject, "body": body})
        else:
            say(f"Subject: {subject}\n\n{body}".rstrip())
        return 0

    return _with_store(args, work)


# ---------------------------------------------------------------- registration


def register(sub: argparse._SubParsersAction, add_common: AddCommon) -> None:
    def command(name: str, func, help_: str, json_: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        add_common(p)
        if json_:
            p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=func)
        return p

    kinds = ", ".join(templates.KINDS)
    p = command(
        "reminders",
        cmd_reminders,
        "list the messages to send today, drafted in each customer's language",
    )
    p.add_argument(
        "--days", type=_days, default=0, metavar="N", help="also what falls due in the next N days"
    )
    p.add_argument(
        "--unreachable",
        action="store_true",
        help="list the customers who should get a message but have no usable channel",
    )
    p.add_argument("--eml-dir", metavar="DIR", help="also save each email draft as an .eml file")

    p = command(
        "mark-sent", cmd_mark_sent, "record a queued message as sent in the customer's history"
    )
    p.add_argument("customer_id", type=int, metavar="CUSTOMER_ID")
    p.add_argument("kind", choices=templates.KINDS, metavar="KIND", help=kinds)
    p.add_argument("--booking", type=int, metavar="BOOKING_ID")
    p.add_argument("--channel", choices=("email", "sms", "whatsapp", "phone", "letter", "other"))
    p.add_argument("--days", type=_days, default=0, metavar="N")

    p = command(
        "send-reminders",
        cmd_send_reminders,
        "send today's email drafts through the configured SMTP server and record them",
    )
    p.add_argument("--days", type=_days, default=0, metavar="N")
    p.add_argument("--kind", action="append", choices=templates.KINDS, help="repeatable")
    p.add_argument("--dry-run", action="store_true", help="list what would be sent")

    p = command(
        "smtp-password",
        cmd_smtp_password,
        "keep the SMTP password in the OS keyring (read from the terminal or stdin)",
        json_=False,
    )
    p.add_argument("--delete", action="store_true", help="forget the stored password")

    p = command(
        "templates",
        cmd_templates,
        "list, show, change or preview message templates",
    )
    p.add_argument(
        "action",
        nargs="?",
        default="list",
        choices=("list", "show", "set", "reset", "preview", "placeholders"),
    )
    p.add_argument("args", nargs="*", metavar="KIND LANGUAGE [CUSTOMER_ID]", help=kinds)
    p.add_argument("--file", metavar="FILE", help="'Subject: …', a blank line, the body")
    p.add_argument("--subject")
    p.add_argument("--body")
    p.add_argument("--booking", type=int, metavar="BOOKING_ID", help="preview on this booking")
