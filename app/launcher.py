"""Entry point: a command runs on the command line, no command opens the window."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from app import cli


def main(argv: Sequence[str] | None = None) -> int:
    args = cli.build_parser().parse_args(argv)
    if getattr(args, "command", None):
        return cli.run(args)
    from app.ui.launch import run_window

    return run_window(args)


if __name__ == "__main__":
    sys.exit(main())
