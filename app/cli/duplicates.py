"""Duplicate commands: duplicates, merge, unmerge, not-duplicates."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from app.cli.context import CliError, open_from_args
from app.cli.output import emit_json, say, warn
from app.services import duplicates, merging

AddCommon = Callable[[argparse.ArgumentParser], None]


def _score(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"'{text}' is not between 0 and 1")
    return value


def _choice(text: str) -> tuple[str, int]:
    key, sep, cid = text.partition("=")
    if not sep or not cid.strip().isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not FIELD=CUSTOMER_ID (e.g. name=12)")
    if key not in merging.FIELDS_BY_KEY:
        known = ", ".join(merging.FIELDS_BY_KEY)
        raise argparse.ArgumentTypeError(f"'{key}' is not a merge field ({known})")
    return key, int(cid)


def cmd_duplicates(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        show = not args.json and sys.stderr.isatty()

        def progress(done: int, total: int) -> None:
            if show and total:
                sys.stderr.write(f"\rcomparing… {100 * done // total:3d}%")
                sys.stderr.flush()

        if args.customer is not None:
            found = duplicates.candidates_for(store, args.customer, min_score=args.min_score)
            groups = duplicates.group_pairs(found, {f.other_id: f.other_name for f in found})
        else:
            groups = duplicates.find_duplicates(
                store, min_score=args.min_score, progress=progress
            ).groups
    finally:
        store.close()
        if show:
            sys.stderr.write("\r\033[K")
    if args.json:
        emit_json({"groups": [g.to_dict() for g in groups]})
        return 0
    for g in groups:
        ids = ", ".join(f"#{i} {g.names.get(i, '')}".rstrip() for i in g.customer_ids)
        say(f"{g.score:.2f}  {ids}")
        for reason in g.reasons:
            say(f"      {reason}")
    if not groups:
        warn("no likely duplicates")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    choices = dict(args.take or [])
    store = open_from_args(args)
    try:
        outcome = merging.merge(store, args.keep, args.others, choices=choices)
    finally:
        store.close()
    if args.json:
        emit_json(
            {
                "merge_id": outcome.merge_id,
                "id": outcome.merge_id,
                "survivor_id": outcome.survivor_id,
                "merged_ids": outcome.merged_ids,
                "moved": outcome.moved,
            }
        )
    else:
        merged = ", ".join(f"#{i}" for i in outcome.merged_ids)
        say(
            f"Merged {merged} into #{outcome.survivor_id} (merge {outcome.merge_id}; "
            f"undo with: regulars unmerge {outcome.merge_id})"
        )
    return 0


def cmd_unmerge(args: argparse.Namespace) -> int:
    store = open_from_args(args)
    try:
        info = merging.unmerge(store, args.merge_id)
    finally:
        store.close()
    if args.json:
        emit_json(
            {
                "merge_id": info.id,
                "survivor_id": info.survivor_id,
                "restored_ids": info.merged_ids,
                "undone_at": info.undone_at,
            }
        )
    else:
        restored = ", ".join(f"#{i}" for i in info.merged_ids)
        say(f"Undid merge {info.id}: {restored} restored beside #{info.survivor_id}")
    return 0


def cmd_not_duplicates(args: argparse.Namespace) -> int:
    if args.a == args.b:
        raise CliError("give two different customer ids")
    store = open_from_args(args)
    try:
        if args.undo:
            duplicates.unmark_not_duplicates(store, args.a, args.b)
        else:
            duplicates.mark_not_duplicates(store, args.a, args.b)
    finally:
        store.close()
    if args.json:
        emit_json({"customer_ids": sorted((args.a, args.b)), "not_duplicates": not args.undo})
    elif args.undo:
        say(f"#{args.a} and #{args.b} may be suggested as duplicates again")
    else:
        say(f"#{args.a} and #{args.b} are different people; they will not be suggested again")
    return 0


def register(sub: argparse._SubParsersAction, add_common: AddCommon) -> None:
    def command(name: str, func: Callable[[argparse.Namespace], int], help_: str):
        p = sub.add_parser(name, help=help_, description=help_)
        add_common(p)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=func)
        return p

    p = command("duplicates", cmd_duplicates, "list profiles that are probably the same person")
    p.add_argument(
        "--min-score",
        type=_score,
        default=duplicates.DEFAULT_MIN_SCORE,
        metavar="S",
        help=f"only pairs scoring at least S, 0..1 (default {duplicates.DEFAULT_MIN_SCORE})",
    )
    p.add_argument(
        "--customer", type=int, metavar="ID", help="only possible duplicates of this customer"
    )

    p = command("merge", cmd_merge, "merge profiles into KEEP (undo with 'unmerge')")
    p.add_argument("keep", type=int, metavar="KEEP", help="the profile that stays")
    p.add_argument("others", type=int, nargs="+", metavar="OTHER", help="profiles merged into it")
    p.add_argument(
        "--take",
        type=_choice,
        action="append",
        metavar="FIELD=ID",
        help="take a field from this profile (repeatable); fields: "
        + ", ".join(merging.FIELDS_BY_KEY)
        + ". Default: the most recent non-empty value, the longest name",
    )

    p = command("unmerge", cmd_unmerge, "undo a merge: every profile back as it was")
    p.add_argument("merge_id", type=int, metavar="MERGE_ID")

    p = command("not-duplicates", cmd_not_duplicates, "remember that A and B are different people")
    p.add_argument("a", type=int, metavar="A")
    p.add_argument("b", type=int, metavar="B")
    p.add_argument("--undo", action="store_true", help="forget that decision")
