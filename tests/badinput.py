"""Shared helpers of the bad-input matrix: hostile documents, bounds on time and memory, and a
snapshot of every file a case could change."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: A parse of a hostile document in-process: at most this long and this much Python memory.
PARSE_TIME_S = 3.0
PARSE_PEAK_BYTES = 64 * 1024 * 1024
#: A whole CLI process (Python, numpy, pandas, pydantic and the catalogue loaded): the
#: alias bomb of issue 11 took minutes and gigabytes, so these bounds fail loudly if it returns.
CLI_TIME_S = 45.0
CLI_MAXRSS_BYTES = 700 * 1024 * 1024
#: A message quoting a user's value: one line, this long at most.
MESSAGE_CHARS = 600


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic alias bomb: a few hundred bytes that expand to width**levels strings."""
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels):
        refs = ", ".join(f"*a{i - 1}" for _ in range(width))
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + f"\ntraining: {{model: *a{levels - 1}}}\n"


def nested(depth: int, leaf: str = "1") -> str:
    """``{"a": {"a": ... leaf}}`` nested ``depth`` times (JSON, so also YAML flow)."""
    return '{"a": ' * depth + leaf + "}" * depth


@dataclass
class Measured:
    """What one bounded call did: its result or error, time and peak Python memory."""

    value: object
    error: BaseException | None
    seconds: float
    peak_bytes: int


def measure(fn: Callable[[], object]) -> Measured:
    """Call ``fn`` under tracemalloc; keep what it returned or raised, its time and peak."""
    tracemalloc.start()
    start = time.perf_counter()
    value, error = None, None
    try:
        value = fn()
    except Exception as exc:  # the caller asserts which kind
        error = exc
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Measured(value, error, seconds, peak)


@dataclass
class Process:
    """A finished CLI process: exit code, output, wall time and peak resident memory."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    maxrss_bytes: int


# Runs ``python -m planner ARGS`` and, at exit, writes its own peak RSS (VmHWM, KiB) to a file.
_REPORT_OWN_PEAK = """
import atexit, os, runpy, sys

def _report():
    with open('/proc/self/status') as status:
        kib = next(line.split()[1] for line in status if line.startswith('VmHWM:'))
    with open(os.environ['PLANNER_TEST_VMHWM_FILE'], 'w') as out:
        out.write(kib)

atexit.register(_report)
sys.argv = ['planner', *sys.argv[1:]]
runpy.run_module('planner', run_name='__main__', alter_sys=True)
"""


def run_cli(*args: str, cwd: Path = ROOT, timeout_s: float = 120.0) -> Process:
    """``python -m planner ARGS`` in a fresh process; its own peak RSS (VmHWM after exec)."""
    with (tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err,
          tempfile.TemporaryDirectory() as hwm_dir):
        hwm_file = Path(hwm_dir) / "vmhwm_kib"
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", _REPORT_OWN_PEAK, *args], cwd=cwd,
                                stdout=out, stderr=err,
                                env={**os.environ, "PYTHONPATH": str(ROOT),
                                     "PLANNER_TEST_VMHWM_FILE": str(hwm_file)})
        killer = threading.Timer(timeout_s, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        # wait4's ru_maxrss keeps the pre-exec high-water mark of the forked pytest process
        # (Linux fs/exec.c carries it into signal->maxrss), so a long test run's own size
        # would be counted; the child's VmHWM after exec is its own peak.
        peak_bytes = (int(hwm_file.read_text()) * 1024 if hwm_file.exists()
                      else usage.ru_maxrss * 1024)
        return Process(proc.returncode, out.read().decode(errors="replace"),
                       err.read().decode(errors="replace"), seconds, peak_bytes)


def snapshot(*folders: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folders`` (names included): compare before and after."""
    out: dict[str, str] = {}
    for folder in folders:
        if not folder.exists():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def assert_one_line(message: str, needle: str) -> None:
    """A message a person can act on: one line, short, naming the problem."""
    assert "\n" not in message.strip(), message[:500]
    assert "Traceback" not in message
    assert len(message) <= MESSAGE_CHARS, message[:500]
    assert needle in message, message[:500]
