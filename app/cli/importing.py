"""Import commands: `import FILE …` and `undo-import BATCH`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from app.cli.context import open_from_args
from app.cli.output import emit_json, say, warn
from app.services import importing
from app.services.import_mapping import FIELDS, parse_map_args

AddCommon = Callable[[argparse.ArgumentParser], None]


def cmd_import(args: argparse.Namespace) -> int:
    options = importing.ImportOptions(
        sheet=args.sheet,
        encoding=args.encoding,
        mapping=parse_map_args(args.map or []),
        default_region=args.default_region,
        date_order=args.date_order,
        dry_run=args.dry_run,
        skip_bad_rows=args.skip_bad_rows,
        parallel=True,
    )
    store = open_from_args(args)
    show_progress = not args.json and sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show_progress and total:
            sys.stderr.write(f"\r{done:,}/{total:,} rows")
            sys.stderr.flush()

    try:
        report = importing.import_file(store, args.file, options, progress=progress)
    finally:
        store.close()
    if show_progress:
        sys.stderr.write("\n")
    failed = bool(report.skipped) and not args.skip_bad_rows
    if args.json:
        emit_json(report.to_json())
    else:
        _print_report(report, failed)
    if failed and not args.dry_run:
        warn(
            f"regulars: nothing imported: {report.skipped} row(s) have errors; "
            "fix them or run again with --skip-bad-rows"
        )
        return 1
    return 0


def _print_report(report: importing.ImportReport, failed: bool) -> None:
    what = "Would import" if report.dry_run or failed else "Imported"
    say(
        f"{what} {report.source}: {report.created:,} new customers, "
        f"{report.updated:,} updated, {report.unchanged:,} unchanged, "
        f"{report.bookings_created:,} bookings, {report.skipped:,} rows skipped"
    )
    if report.batch is not None:
        say(f"Batch {report.batch} (undo with: regulars undo-import {report.batch})")
    if report.unmapped_columns:
        say("Columns not imported: " + ", ".join(report.unmapped_columns))
    for p in report.problems:
        where = f"row {p.row}" + (f", column '{p.column}'" if p.column else "")
        say(f"  {p.severity}: {where}: {p.message}")
    if report.problem_count > len(report.problems):
        say(f"  … {report.problem_count - len(report.problems):,} more problems")


def cmd_undo_import(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        result = importing.undo_import(store, args.batch)
    finally:
        store.close()
    if args.json:
        emit_json(result)
    else:
        say(
            f"Undid import batch {result.batch}: removed {result.customers_deleted:,} customers "
            f"and {result.bookings_deleted:,} bookings, restored {result.customers_restored:,} "
            "customers"
        )
        for line in result.kept_later_changes:
            say(f"  {line}")
    return 0


def _date_order(text: str) -> str:
    value = text.strip().lower()
    aliases = {"dmy": "dmy", "dd/mm": "dmy", "mdy": "mdy", "mm/dd": "mdy"}
    if value not in aliases:
        raise argparse.ArgumentTypeError("use dmy (dd/mm/yyyy) or mdy (mm/dd/yyyy)")
    return aliases[value]


def register(sub: argparse._SubParsersAction, add_common: AddCommon) -> None:
    help_ = "import customers and bookings from a CSV, Excel (.xlsx) or vCard file"
    p = sub.add_parser("import", help=help_, description=help_)
    add_common(p)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--sheet", metavar="NAME", help="the workbook sheet (default: the first)")
    p.add_argument(
        "--map",
        action="append",
        metavar="COLUMN=FIELD",
        help="read COLUMN (header or 1-based number) as FIELD, or COLUMN=ignore; repeatable. "
        "Fields: " + ", ".join(FIELDS),
    )
    p.add_argument(
        "--default-region",
        metavar="CC",
        help="country for phone numbers without a +prefix (default: the business setting)",
    )
    p.add_argument("--encoding", metavar="NAME", help="text encoding (default: detected)")
    p.add_argument(
        "--date-order",
        type=_date_order,
        metavar="dmy|mdy",
        help="how to read dates like 03/04/2024 when a column cannot tell",
    )
    p.add_argument("--dry-run", action="store_true", help="report what would happen; write nothing")
    p.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="import the good rows and skip rows with errors (default: all or nothing)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(func=cmd_import)

    help_ = "undo an import: remove what it created, restore what it changed"
    p = sub.add_parser("undo-import", help=help_, description=help_)
    add_common(p)
    p.add_argument("batch", type=int, metavar="BATCH")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_undo_import)
