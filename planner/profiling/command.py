"""Measure a whole command (``profile --cmd "python train.py"``) inside one window.

The command runs as a child process, without a shell, while GPU polling and CodeCarbon
cover its whole lifetime. CodeCarbon runs in machine mode, because its process mode counts
only the profiler's own process, not the child. The child leads its own process group with
stdin closed, so a terminal's Ctrl-C reaches only the profiler, which forwards it once.
When the profiler is stopped (SIGINT, SIGTERM, SIGHUP) it forwards that signal to the
child's whole group, then SIGTERM and finally SIGKILL if the group outlives the grace time,
so no part of the command keeps running after the profiler; the record is then marked
incomplete. Only SIGKILL of the profiler itself leaves the command running (its group id,
printed at the start, stops it: ``kill -- -PGID``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from planner.errors import PlannerError
from planner.profiling.measure import Profiler
from planner.profiling.signals import Stopped, StopSignals
from planner.profiling.values import Measurement

GRACE_S = 10.0
"""How long the command gets to exit after each signal before the next, harder one."""


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


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_command(proc: subprocess.Popen, first: int = signal.SIGINT,
                 grace_s: float = GRACE_S) -> int:
    """Stop the child and its process group: ``first``, then SIGTERM, then SIGKILL.

    Each signal goes to the whole group (the child's own children too); the next is sent
    only if the child has not exited within ``grace_s``. Returns the child's exit code
    (negative: the signal that ended it). What is left of the group once the child has
    exited gets one SIGTERM.
    """
    pgid = proc.pid  # the child leads its own group (process_group=0)
    order = list(dict.fromkeys([first, signal.SIGTERM, signal.SIGKILL]))
    code = proc.poll()
    for sig in order:
        if code is not None:
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + grace_s
        while code is None:
            try:
                code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                break
            except KeyboardInterrupt:  # without StopSignals, a second Ctrl-C: escalate
                break
    if code is None:
        code = proc.wait()
    if _group_alive(pgid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
    return code


def _wait_or_stop(proc: subprocess.Popen, stop: StopSignals) -> int:
    """The child's exit code, or :class:`Stopped` once a stop signal has come (asked every
    0.1 s: the signal handler only notes the signal)."""
    while True:
        stop.check()
        try:
            return proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass


def measure_command(command: str, profiler: Profiler,
                    stop: StopSignals | None = None) -> CommandOutcome:
    """Run ``command`` inside a measurement window; return what was measured.

    With ``stop``, a stop signal while the command runs is forwarded to it (see
    :func:`stop_command`) and the measurement is kept; without, Ctrl-C is.
    """
    argv = split_command(command)
    if stop is not None:
        stop.keep()
    profiler.begin_window("command")
    interrupted = False
    try:
        # Its own process group: a terminal's Ctrl-C reaches only the profiler, which forwards
        # it once (else the child would get SIGINT twice). stdin is closed for the same reason.
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, process_group=0)
    except OSError as exc:
        profiler.end_window("command")
        raise PlannerError(f"--cmd: cannot start {argv[0]!r} ({exc.strerror or exc})") from None
    code: int | None = None
    try:
        print(f"measuring the command (pid {proc.pid}, process group {proc.pid}); Ctrl-C "
              "stops it and keeps what was measured", file=sys.stderr, flush=True)
        if stop is None:
            code = proc.wait()
        else:
            with stop.stoppable():
                code = _wait_or_stop(proc, stop)
    except Stopped as exc:
        interrupted = True
        code = stop_command(proc, exc.signum)
    except KeyboardInterrupt:
        interrupted = True
        code = stop_command(proc)
    finally:
        if code is None:  # an unexpected error: never leave the command running
            stop_command(proc, signal.SIGTERM)
        m = profiler.end_window("command")
    # ru_maxrss of RUSAGE_CHILDREN: the largest child's peak (KiB on Linux).
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rss_bytes = float(rss if sys.platform == "darwin" else rss * 1024)
    m = dataclasses.replace(m, peak_rss_bytes=rss_bytes or None)
    return CommandOutcome(m, code, interrupted)
