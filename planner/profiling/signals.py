"""Stopping the profiler by signal without losing what it measured.

SIGINT (Ctrl-C), SIGTERM (``kill``, a batch scheduler's time limit) and SIGHUP (the terminal
closed) all stop a measurement the same way: the first one ends the measured steps, the
window is closed and the record is written, marked ``incomplete``; the process then exits
with 128 + the signal's number (130, 143, 129), as a shell reports a process killed by it.

The first signal interrupts only where interrupting is safe: before anything is measured
(nothing is lost) or inside the measured steps (:meth:`StopSignals.stoppable`). From the
moment a window opens until the record is on disk (:meth:`StopSignals.keep`) a signal is
noted, not raised, so three quick Ctrl-Cs cannot tear the record up half-way; a repeated
signal is noted too and says so once. SIGKILL cannot be caught; nothing can keep a record
then.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from enum import Enum
from types import FrameType
from typing import Any

HANDLED: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Stopped(KeyboardInterrupt):
    """A stop signal arrived: raised where stopping is safe (a KeyboardInterrupt, so code
    that already keeps a Ctrl-C's work keeps this too)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def describe(signum: int) -> str:
    """``Ctrl-C (SIGINT)``, ``SIGTERM``, ``SIGHUP``: how a message names a signal."""
    name = signal.Signals(signum).name
    return "Ctrl-C (SIGINT)" if name == "SIGINT" else name


class _Phase(Enum):
    PREPARING = "preparing"  # nothing measured yet: a signal stops at once
    KEEPING = "keeping"  # a window is open or a record is being written: note, do not raise
    STOPPABLE = "stoppable"  # the measured steps: the first signal ends them


class StopSignals:
    """Handles SIGINT, SIGTERM and SIGHUP while installed (``with StopSignals() as stop:``)."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._phase = _Phase.PREPARING
        self._previous: dict[int, Any] = {}
        self._told = False

    # -- installation ----------------------------------------------------------------------
    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():  # only it may set handlers
            for sig in HANDLED:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        # After a stop signal the process is on its way out with 128 + that signal: further
        # signals are ignored to the end, so a late one cannot turn the exit code into a
        # death by signal. Otherwise the previous handlers come back.
        for sig, old in self._previous.items():
            signal.signal(sig, signal.SIG_IGN if self.received else old)
        self._previous.clear()

    # -- what a signal does ----------------------------------------------------------------
    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        first = len(self.received) == 1
        if first and self._phase is not _Phase.KEEPING:
            raise Stopped(signum)
        if not self._told and self._phase is not _Phase.PREPARING:
            self._told = True
            with contextlib.suppress(OSError, ValueError):  # a hung-up terminal: say nothing
                print(f"{describe(signum)} received: stopping; what was measured is being "
                      "kept (further signals are noted, not obeyed; SIGKILL loses the record)",
                      file=sys.stderr, flush=True)

    def keep(self) -> None:
        """From now on signals are noted, never raised, except inside :meth:`stoppable`."""
        self._phase = _Phase.KEEPING

    @contextlib.contextmanager
    def stoppable(self) -> Iterator[None]:
        """The first signal (or one noted before) raises :class:`Stopped` in this block."""
        if self.received:
            raise Stopped(self.received[0])
        self._phase = _Phase.STOPPABLE
        try:
            yield
        finally:
            self._phase = _Phase.KEEPING

    # -- what the caller reports -------------------------------------------------------------
    @property
    def first(self) -> int | None:
        """The first signal received, if any."""
        return self.received[0] if self.received else None

    def exit_code(self, default: int) -> int:
        """128 + the first signal's number (as a shell reports it), else ``default``."""
        return 128 + self.first if self.first is not None else default
