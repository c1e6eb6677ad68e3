"""Command-line interface: ``profiles``, ``plan``, ``import`` and ``profile`` sub-commands.

Every user error becomes one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from planner.errors import PlannerError


def _prog() -> str:
    """How the user called us: ``planner`` (the console script) or ``python -m planner``."""
    return "python -m planner" if sys.argv[0].endswith("__main__.py") else "planner"


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; each sub-command module registers its own sub-parser."""
    parser = argparse.ArgumentParser(
        prog=_prog(),
        description="Plan time, energy, carbon and cost of training and serving AI models.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    from planner import cli_import, cli_plan

    cli_plan.register(subparsers)
    cli_import.register(subparsers)
    try:
        from planner.profiling import cli as profiling_cli
    except ImportError:  # the profiling package is optional until it lands
        profiling_cli = None
    if profiling_cli is not None and hasattr(profiling_cli, "register"):
        profiling_cli.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PlannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path problem no sub-command caught: still one line
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
