"""Measure a whole command (``profile --cmd "python train.py"``) inside one window.

The command runs as a child process, without a shell, while GPU polling and CodeCarbon
cover its whole lifetime. CodeCarbon runs in machine mode, because its process mode counts
only the profiler's own process, not the child. Ctrl-C is forwarded to the child as SIGINT;
the record is then marked incomplete. The child runs in its own process group with stdin
closed, so it sees exactly one SIGINT.
"""

from __future__ import annotations

import dataclasses
import resource
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass

from planner.errors import PlannerError
from planner.profiling.measure import Profiler
from planner.profiling.values import Measurement

GRACE_S = 10.0


@dataclass(frozen=True)
class CommandOutcome:
    """The measurement of the command's lifetime, its exit code and whether it was cut short."""

    measurement: Measurement
    exit_code: int
    interrupted: bool


def split_command(command: str) -> list[str]:
    """The command as an argument list; PlannerError if empty or its program is not found."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise PlannerError(f"--cmd {command!r}: cannot be parsed ({exc})") from None
    if not argv:
        raise PlannerError("--cmd: the command is empty")
    if shutil.which(argv[0]) is None:
        raise PlannerError(f"--cmd: program {argv[0]!r} not found on PATH")
    return argv


def _stop(proc: subprocess.Popen) -> int:
    """Forward Ctrl-C to the child, then escalate if it does not exit within the grace time."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            continue
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting politely
            continue
    return proc.wait()


def measure_command(command: str, profiler: Profiler) -> CommandOutcome:
    """Run ``command`` inside a measurement window; return what was measured."""
    argv = split_command(command)
    profiler.begin_window("command")
    interrupted = False
    try:
        # Its own process group: a terminal's Ctrl-C reaches only the profiler, which forwards
        # it once (else the child would get SIGINT twice). stdin is closed for the same reason.
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, process_group=0)
    except OSError as exc:
        profiler.end_window("command")
        raise PlannerError(f"--cmd: cannot start {argv[0]!r} ({exc.strerror or exc})") from None
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        interrupted = True
        code = _stop(proc)
    finally:
        m = profiler.end_window("command")
    # ru_maxrss of RUSAGE_CHILDREN: the largest child's peak (KiB on Linux).
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rss_bytes = float(rss if sys.platform == "darwin" else rss * 1024)
    m = dataclasses.replace(m, peak_rss_bytes=rss_bytes or None)
    return CommandOutcome(m, code, interrupted)
