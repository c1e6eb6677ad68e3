"""The ``profile`` command's options checked before anything is imported or measured.

Every number must be finite and inside the range below (documented in ``--help``), and a
workload is a plain name, never a path, so a bad option costs one line and exit code 2 in
milliseconds instead of a traceback, an endless run (``--seconds inf``), a run that measures
nothing (``--seconds nan``) or a file written somewhere unexpected.
"""

from __future__ import annotations

import argparse
import math
import re
from typing import NoReturn

from planner.errors import PlannerError

WORKLOADS: tuple[str, ...] = ("mlp", "cnn", "transformer", "recsys")
MODES: tuple[str, ...] = ("train", "infer")
SIZES: tuple[str, ...] = ("small", "medium", "large")
DEVICES: tuple[str, ...] = ("cpu", "cuda")

#: option -> (lowest, highest) allowed; --seconds must also be above 0.
RANGES: dict[str, tuple[float, float]] = {
    "seconds": (0.0, 7 * 24 * 3600.0),  # a week: longer runs are better measured with --cmd
    "steps": (1, 1_000_000_000),
    "batch": (1, 2**31 - 1),
    "warmup": (0, 1_000_000),
    "threads": (1, 4096),
}

_PATH_LIKE = re.compile(r"[/\\]|^\.|^~|\.\.|\x00")


def _num(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _shown(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:40] + "...")


def check_number(option: str, value: float | None) -> None:
    """PlannerError unless ``value`` is None or finite and inside ``RANGES[option]``."""
    if value is None:
        return
    low, high = RANGES[option]
    flag = f"--{option}"
    if not math.isfinite(value):
        raise PlannerError(f"{flag} {value}: must be a finite number")
    if option == "seconds" and value <= low:
        raise PlannerError(f"{flag} {_num(value)}: must be positive (at most {_num(high)} s)")
    if value < low or value > high:
        raise PlannerError(f"{flag} {_num(value)}: must be between {_num(low)} and "
                           f"{_num(high)}")


def check_workload_option(name: str) -> None:
    """PlannerError for a workload given as a path, or not one of the reference workloads."""
    if _PATH_LIKE.search(name):
        raise PlannerError(f"--workload {_shown(name)}: looks like a path; give a reference "
                           f"workload's name: {', '.join(WORKLOADS)}")
    if name not in WORKLOADS:
        raise PlannerError(f"unknown workload {_shown(name)}; choose one of "
                           f"{', '.join(WORKLOADS)}")


def check_options(args: argparse.Namespace) -> None:
    """Every option of one ``profile`` invocation; the first problem as a PlannerError."""
    for option in RANGES:
        check_number(option, getattr(args, option, None))
    if args.workload is not None:
        check_workload_option(args.workload)
        for flag, value, allowed in (("--mode", args.mode, MODES), ("--size", args.size, SIZES),
                                     ("--device", args.device, DEVICES)):
            if value not in allowed:
                raise PlannerError(f"{flag} {_shown(value)}: choose {' or '.join(allowed)}")


def one_line_error(parser: argparse.ArgumentParser):
    """An ``error`` for ``parser`` that prints one line (no usage block) and exits 2."""

    def error(message: str) -> NoReturn:
        parser.exit(2, f"error: {parser.prog}: {message} (see --help)\n")

    return error
