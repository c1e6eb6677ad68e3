"""Stopping the profiler by signal without losing what it measured.

SIGINT (Ctrl-C), SIGTERM (``kill``, a batch scheduler's time limit) and SIGHUP (the terminal
closed) all stop a measurement the same way: the first one ends the measured steps, the
window is closed and the record is written, marked ``incomplete``; the process then exits
with 128 + the signal's number (130, 143, 129), as a shell reports a process killed by it.

The handler only notes the signal; it never raises. The profiler's own code asks
:meth:`StopSignals.check` at safe points (between imports, between warm-up steps, after
each measured step), which raises :class:`Stopped` where stopping is safe: before anything
is measured (nothing is lost) or inside the measured steps (:meth:`StopSignals.stoppable`).
A handler that raised would raise wherever Python happened to be, and a finalizer run by
the garbage collector (a generator closed half-way, during ``import torch``) swallows it
as "Exception ignored": the stop was lost and the profiler went on warming up. From the
moment a window opens until the record is on disk (:meth:`StopSignals.keep`) a signal is
only noted, so three quick Ctrl-Cs cannot tear the record up half-way; a repeated signal is
noted too and says so once.

With ``grace_s`` (the CLI) a watchdog thread bounds the way out: if the process is still
preparing ``grace_s`` after the signal (stuck in a C call, a lock, a peer), or still alive
``grace_s`` after the record was written (a thread or an exit handler that never ends), it
prints what the orderly path would have and ends the process with 128 + the signal. It
never does so while a window is open or a record is being written. SIGKILL cannot be
caught; nothing can keep a record then.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from enum import Enum
from types import FrameType
from typing import Any

HANDLED: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)

GRACE_S = 5.0
"""How long an orderly way out may take after a stop signal before the watchdog ends it."""


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


def stopped_before_measuring(signum: int) -> str:
    """The one line printed when a signal stops the profiler before anything was measured."""
    return f"stopped by {describe(signum)} before measuring began; no record was written"


def _exit_now(code: int) -> None:
    """End the process at once (no exit handlers, no thread joins), stdio flushed first."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


class _Phase(Enum):
    PREPARING = "preparing"  # nothing measured yet: a signal stops at the next check
    KEEPING = "keeping"  # a window is open or a record is being written: note, do not stop
    STOPPABLE = "stoppable"  # the measured steps: the first signal ends them at the next check
    DONE = "done"  # the handlers are removed; what was to be kept is kept


class StopSignals:
    """Handles SIGINT, SIGTERM and SIGHUP while installed (``with StopSignals() as stop:``).

    ``grace_s``: arm the watchdog (module docstring); None (the default) never ends the
    process. ``exit_process`` is how the watchdog ends it (tests pass their own).
    """

    def __init__(self, grace_s: float | None = None,
                 exit_process: Callable[[int], None] = _exit_now) -> None:
        self.received: list[int] = []
        self._phase = _Phase.PREPARING
        self._previous: dict[int, Any] = {}
        self._grace_s = grace_s
        self._exit = exit_process
        self._wake = threading.Event()  # set by the first signal, or on leaving
        self._done_at: float | None = None
        self._said = threading.Lock()  # one way out prints the last word, not two
        self._last_word_said = False
        self._watchdog: threading.Thread | None = None

    # -- installation ----------------------------------------------------------------------
    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():  # only it may set handlers
            # Started here, not from the handler: starting a thread takes locks the
            # interrupted code may hold.
            self._watchdog = threading.Thread(target=self._watch, name="stop-signals",
                                              daemon=True)
            self._watchdog.start()
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
        self._done_at = time.monotonic()
        self._phase = _Phase.DONE
        self._wake.set()

    # -- what a signal does ----------------------------------------------------------------
    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # Only notes: no exception (it could be swallowed where it lands), no print (the
        # interrupted code may be half-way through writing to stderr), no lock.
        self.received.append(signum)
        if len(self.received) == 1:
            self._wake.set()

    def check(self) -> None:
        """A safe point: raise :class:`Stopped` if a signal was received and stopping is
        allowed here (before measuring, or inside :meth:`stoppable`); else do nothing."""
        if self.received and self._phase in (_Phase.PREPARING, _Phase.STOPPABLE):
            raise Stopped(self.received[0])

    def keep(self) -> None:
        """From now on signals are noted, not obeyed, except by :meth:`check` inside
        :meth:`stoppable`. A signal noted before raises :class:`Stopped` instead: nothing
        is measured yet."""
        self.check()
        self._phase = _Phase.KEEPING
        if self.received:  # arrived between the check and the switch: still nothing measured
            self._phase = _Phase.PREPARING
            raise Stopped(self.received[0])

    @contextlib.contextmanager
    def stoppable(self) -> Iterator[None]:
        """In this block :meth:`check` raises :class:`Stopped` once a signal has come (one
        noted before raises at once)."""
        if self.received:
            raise Stopped(self.received[0])
        self._phase = _Phase.STOPPABLE
        try:
            yield
        finally:
            self._phase = _Phase.KEEPING

    def say_stopped_before_measuring(self, signum: int) -> None:
        """Print :func:`stopped_before_measuring` (once, whoever says it first)."""
        self._last_word(stopped_before_measuring(signum))

    # -- the watchdog ----------------------------------------------------------------------
    def _last_word(self, line: str | None) -> bool:
        """Print ``line`` unless the last word was said already; whether this call said it."""
        with self._said:
            if self._last_word_said:
                return False
            self._last_word_said = True
            if line is not None:
                with contextlib.suppress(OSError, ValueError):  # a hung-up terminal
                    sys.stderr.write(line + "\n")
                    sys.stderr.flush()
            return True

    def _tell_noted(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # a hung-up terminal: say nothing
            sys.stderr.write(f"{describe(self.received[0])} received: stopping; what was "
                             "measured is being kept (further signals are noted, not "
                             "obeyed; SIGKILL loses the record)\n")
            sys.stderr.flush()

    def _watch(self) -> None:
        self._wake.wait()
        if not self.received:
            return  # left without a signal
        if self._phase in (_Phase.KEEPING, _Phase.STOPPABLE):
            self._tell_noted()
        if self._grace_s is None:
            return
        time.sleep(self._grace_s)
        while self._phase in (_Phase.KEEPING, _Phase.STOPPABLE):
            time.sleep(0.05)  # a window is open or a record is being written: never cut it
        if self._phase is _Phase.DONE:  # written: give the orderly exit its own grace
            assert self._done_at is not None
            time.sleep(max(0.0, self._done_at + self._grace_s - time.monotonic()))
            self._last_word(None)
        else:
            self._last_word(stopped_before_measuring(self.received[0]))
        self._exit(self.exit_code(0))

    # -- what the caller reports -------------------------------------------------------------
    @property
    def first(self) -> int | None:
        """The first signal received, if any."""
        return self.received[0] if self.received else None

    def exit_code(self, default: int) -> int:
        """128 + the first signal's number (as a shell reports it), else ``default``."""
        return 128 + self.first if self.first is not None else default
