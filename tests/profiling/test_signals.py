"""StopSignals in this process: where a stop signal interrupts, where it is only noted."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from planner.profiling.signals import HANDLED, Stopped, StopSignals, describe


@pytest.fixture
def restore_handlers():
    """A received signal leaves SIG_IGN installed (the CLI exits next); tests put back pytest's."""
    saved = {sig: signal.getsignal(sig) for sig in HANDLED}
    yield
    for sig, old in saved.items():
        signal.signal(sig, old)


def _deliver(sig: int) -> None:
    os.kill(os.getpid(), sig)
    time.sleep(0.01)  # the handler runs in the main thread at the next bytecode


def test_before_measuring_a_signal_stops_at_the_next_check(restore_handlers):
    with StopSignals() as stop, pytest.raises(Stopped) as info:
        _deliver(signal.SIGTERM)  # the handler only notes it: never raises where it lands
        assert stop.received == [signal.SIGTERM]
        stop.check()
    assert info.value.signum == signal.SIGTERM and stop.exit_code(0) == 143


class _Finalizer:
    """Sends a signal from its ``__del__``, as if one arrived while the garbage collector ran
    Python code (a generator closed half-way, during ``import torch``: the CI hang)."""

    def __init__(self, sig: int) -> None:
        self.sig = sig

    def __del__(self) -> None:
        os.kill(os.getpid(), self.sig)
        for _ in range(100):  # a few bytecodes: the pending handler runs here, in __del__
            pass


def test_a_signal_handled_inside_a_finalizer_is_not_lost(restore_handlers, capsys):
    # An exception raised in a finalizer is printed as "Exception ignored" and dropped: a
    # handler that raised lost the stop there, and the profiler went on preparing.
    with StopSignals() as stop, pytest.raises(Stopped) as info:
        _Finalizer(signal.SIGTERM)  # collected at once
        stop.check()
    assert info.value.signum == signal.SIGTERM
    assert "Exception ignored" not in capsys.readouterr().err


def test_a_signal_before_keep_stops_instead_of_opening_a_window(restore_handlers):
    with StopSignals() as stop:
        _deliver(signal.SIGINT)
        with pytest.raises(Stopped):
            stop.keep()
        with pytest.raises(Stopped):  # still preparing: nothing was measured
            stop.check()


def test_while_keeping_signals_are_noted_and_the_steps_stop_at_once(restore_handlers):
    with StopSignals() as stop:
        stop.keep()
        _deliver(signal.SIGHUP)
        _deliver(signal.SIGINT)  # noted too, never raised
        assert stop.received == [signal.SIGHUP, signal.SIGINT]
        with pytest.raises(Stopped) as info, stop.stoppable():
            raise AssertionError("a noted signal must stop the steps before they start")
    assert info.value.signum == signal.SIGHUP and stop.exit_code(0) == 129
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # the process is on its way out


def test_only_the_first_signal_interrupts_the_steps(restore_handlers):
    with StopSignals() as stop:
        stop.keep()
        steps = 0
        with pytest.raises(Stopped), stop.stoppable():
            while True:
                steps += 1
                if steps == 3:
                    _deliver(signal.SIGINT)
                stop.check()  # after each step
        _deliver(signal.SIGINT)  # the second: noted while the record is written
        _deliver(signal.SIGINT)
        stop.check()  # keeping: never raises
    assert steps == 3 and stop.received == [signal.SIGINT] * 3 and stop.exit_code(0) == 130


def test_without_a_signal_the_old_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop:
        assert signal.getsignal(signal.SIGTERM) != before
    assert signal.getsignal(signal.SIGTERM) == before and stop.exit_code(7) == 7


def test_signals_are_named_as_a_person_knows_them():
    assert describe(signal.SIGINT) == "Ctrl-C (SIGINT)"
    assert describe(signal.SIGTERM) == "SIGTERM" and describe(signal.SIGHUP) == "SIGHUP"


# -- the watchdog: a way out that does not finish in time is cut short ---------------------
class _Exits:
    """Stands in for os._exit: records the code the watchdog would have ended the process with."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.at: list[float] = []
        self.called = threading.Event()

    def __call__(self, code: int) -> None:
        self.codes.append(code)
        self.at.append(time.monotonic())
        self.called.set()


def test_stuck_before_measuring_the_watchdog_says_the_line_and_exits(restore_handlers, capsys):
    exits = _Exits()
    with StopSignals(grace_s=0.2, exit_process=exits) as stop:
        _deliver(signal.SIGTERM)
        assert exits.called.wait(5.0)  # never reaches a check: as if stuck in a C call
        stop.say_stopped_before_measuring(signal.SIGTERM)  # too late: said once only
    assert exits.codes == [143]
    assert capsys.readouterr().err.splitlines() == [
        "stopped by SIGTERM before measuring began; no record was written"]


def test_the_watchdog_never_cuts_a_window_or_a_record_short(restore_handlers, capsys):
    exits = _Exits()
    with StopSignals(grace_s=0.1, exit_process=exits) as stop:
        stop.keep()  # a window is open
        _deliver(signal.SIGHUP)
        assert not exits.called.wait(0.6)  # six times the grace: still writing the record
        written = time.monotonic()
    assert exits.called.wait(5.0)  # written, handlers gone, but the process did not end
    assert exits.at[0] - written >= 0.1 and exits.codes == [129]  # after its own grace
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("SIGHUP received: stopping; what was measured")


def test_without_a_signal_the_watchdog_does_nothing():
    exits = _Exits()
    with StopSignals(grace_s=0.05, exit_process=exits) as stop:
        stop.keep()
    assert not exits.called.wait(0.3) and exits.codes == []
