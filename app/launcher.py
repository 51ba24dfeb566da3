"""Entry point: a command runs on the command line, no command opens the window."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    # a packaged build starts the import's and the index rebuild's helper processes by
    # running the program again: they must run their task, not the app (app/__main__.py,
    # installer/regulars.spec's entry, does this before its imports; here for any other)
    multiprocessing.freeze_support()
    # imported here, not above: a helper process spawned by the installed `regulars`
    # re-runs its script, which imports this module; the command line's imports (the store,
    # Alembic: ~0.9 s of CPU) would be paid again on the core that cleans the import
    from app import cli

    args = cli.build_parser().parse_args(argv)
    if getattr(args, "command", None):
        return cli.run(args)
    from app.ui.launch import run_window

    return run_window(args)


if __name__ == "__main__":
    sys.exit(main())
