"""Entry point: a command runs on the command line, no command opens the window."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence

from app import cli


def main(argv: Sequence[str] | None = None) -> int:
    # a frozen (packaged) build starts the import's and the index rebuild's helper
    # processes through this entry point: let them run their task, not the app
    multiprocessing.freeze_support()
    args = cli.build_parser().parse_args(argv)
    if getattr(args, "command", None):
        return cli.run(args)
    from app.ui.launch import run_window

    return run_window(args)


if __name__ == "__main__":
    sys.exit(main())
