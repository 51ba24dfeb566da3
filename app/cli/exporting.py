"""Export commands: `regulars export customers|year|vcard|record …`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from app.cli.context import open_from_args
from app.cli.output import emit_json, say
from app.services import exporting
from app.services.exporting import CustomerSelection, ExportResult
from app.services.money import format_money

AddCommon = Callable[[argparse.ArgumentParser], None]


def _progress(args: argparse.Namespace, noun: str) -> Callable[[int, int], None] | None:
    if args.json or not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        sys.stderr.write(f"\r{done:,}/{total:,} {noun}")
        sys.stderr.flush()

    return show


def _report(args: argparse.Namespace, result: ExportResult, noun: str) -> int:
    if not args.json and sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    if args.json:
        emit_json(
            {
                "path": str(result.path),
                "kind": result.kind,
                "format": result.format,
                "rows": result.rows,
                **result.details,
            }
        )
    else:
        say(f"Exported {result.rows:,} {noun} to {result.path}")
    return 0


def cmd_customers(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        result = exporting.export_customers(
            store,
            args.out,
            CustomerSelection(tag=args.tag, query=args.query, include_archived=args.archived),
            delimiter=args.delimiter,
            progress=_progress(args, "customers"),
        )
    finally:
        store.close()
    return _report(args, result, "customers")


def cmd_year(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        result = exporting.export_year(store, args.year, args.out, progress=_progress(args, "rows"))
    finally:
        store.close()
    if args.json:
        return _report(args, result, "")
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    d = result.details
    say(
        f"Exported {d['year']}: {d['bookings']:,} bookings and {d['payments']:,} payments "
        f"to {result.path}"
    )
    for cur, totals in d["totals"].items():
        t = totals["total"]
        say(
            f"  {cur}: revenue {format_money(t['revenue'], cur)}, payments received "
            f"{format_money(t['payments'], cur)}, outstanding {format_money(t['outstanding'], cur)}"
        )
    return 0


def cmd_vcard(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        result = exporting.export_vcards(
            store,
            args.out,
            ids=args.ids or None,
            tag=args.tag,
            include_archived=args.archived,
            progress=_progress(args, "cards"),
        )
    finally:
        store.close()
    return _report(args, result, "vCards")


def cmd_record(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        result = exporting.export_record(store, args.id, args.out)
    finally:
        store.close()
    if args.json:
        return _report(args, result, "")
    say(f"Exported the full record of customer #{args.id} to {result.path}")
    return 0


def _delimiter(text: str) -> str:
    if text not in exporting.DELIMITERS:
        raise argparse.ArgumentTypeError(f"'{text}' is not one of , ; | tab")
    return text


def register(sub: argparse._SubParsersAction, add_common: AddCommon) -> None:
    top = sub.add_parser(
        "export",
        help="export customer lists, the yearly workbook, vCards or one customer's record",
        description="Write the owner's data to files other programs open. Every export "
        "goes to a temporary file first: a failed or interrupted export leaves nothing.",
    )
    add_common(top)
    what = top.add_subparsers(dest="what", metavar="WHAT", required=True)

    def command(name: str, func: Callable[[argparse.Namespace], int], help_: str):
        p = what.add_parser(name, help=help_, description=help_)
        add_common(p)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=func)
        return p

    p = command("customers", cmd_customers, "customer list to OUT.xlsx or OUT.csv")
    p.add_argument("out", metavar="OUT.xlsx|OUT.csv")
    p.add_argument("--tag", metavar="T", help="only customers with this tag")
    p.add_argument("--query", metavar="Q", help="only customers this search finds")
    p.add_argument(
        "--delimiter",
        metavar="D",
        default=",",
        type=_delimiter,
        help="CSV field separator: , (default) ; | or tab",
    )
    p.add_argument("--archived", action="store_true", help="include archived customers")

    p = command("year", cmd_year, "the accountant's workbook for one calendar year")
    p.add_argument("year", type=int, metavar="YYYY")
    p.add_argument("out", metavar="OUT.xlsx")

    p = command("vcard", cmd_vcard, "customers as vCard 3.0 (given ids, a tag, or everyone)")
    p.add_argument("out", metavar="OUT.vcf")
    p.add_argument("ids", nargs="*", type=int, metavar="ID")
    p.add_argument("--tag", metavar="T", help="everyone with this tag")
    p.add_argument("--archived", action="store_true", help="include archived customers")

    p = command("record", cmd_record, "one customer's full record to OUT.xlsx or OUT.json")
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("out", metavar="OUT.xlsx|OUT.json")
