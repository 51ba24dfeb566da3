"""The command line: `regulars [--data-dir DIR] COMMAND …`.

Each capability registers its commands from its own module (``register(subparsers)``);
errors go to stderr with a non-zero exit code and never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from app import __version__
from app.cli.context import EXIT_ERROR, CliError
from app.cli.output import warn
from app.services.errors import ServiceError

# one module per capability; each adds its subcommands
COMMAND_MODULES = ("app.cli.core", "app.cli.backup")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regulars",
        description="Regulars — the customer book for a guesthouse or salon. "
        "Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"regulars {__version__}")
    _add_common(parser)
    parser.add_argument(
        "--demo",
        action="store_true",
        help="with no command: create a store with demo data if none exists, then open it",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, _add_common)
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    """Options every command accepts, before or after the command name."""
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="store directory (default: REGULARS_DATA_DIR or the platform's data folder)",
    )
    parser.add_argument(
        "--recovery-key",
        metavar="KEY|FILE",
        default=argparse.SUPPRESS,
        help="unlock with the recovery kit (the AGE-SECRET-KEY-1… line or the kit file)",
    )


def run(args: argparse.Namespace) -> int:
    """Run a parsed command; returns the exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = args.func(args)
    except CliError as exc:
        warn(f"regulars: {exc}")
        return exc.code
    except ServiceError as exc:
        warn(f"regulars: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        warn("regulars: interrupted")
        return 130
    except OSError as exc:
        warn(f"regulars: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return EXIT_ERROR
    except Exception as exc:  # a bug: say so plainly; REGULARS_DEBUG=1 shows the trace
        if os.environ.get("REGULARS_DEBUG"):
            raise
        warn(
            f"regulars: unexpected error ({type(exc).__name__}: {exc}); "
            "run again with REGULARS_DEBUG=1 for details"
        )
        return EXIT_ERROR
    return int(result or 0)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not getattr(args, "command", None):
        warn("regulars: no command given (see --help)")
        return EXIT_ERROR
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
