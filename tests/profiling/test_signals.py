"""StopSignals in this process: where a stop signal interrupts, where it is only noted."""

from __future__ import annotations

import os
import signal
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


def test_before_measuring_a_signal_stops_at_once(restore_handlers):
    with StopSignals() as stop, pytest.raises(Stopped) as info:
        _deliver(signal.SIGTERM)
    assert info.value.signum == signal.SIGTERM and stop.exit_code(0) == 143


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
        _deliver(signal.SIGINT)  # the second: noted while the record is written
        _deliver(signal.SIGINT)
    assert steps == 3 and stop.received == [signal.SIGINT] * 3 and stop.exit_code(0) == 130


def test_without_a_signal_the_old_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop:
        assert signal.getsignal(signal.SIGTERM) != before
    assert signal.getsignal(signal.SIGTERM) == before and stop.exit_code(7) == 7


def test_signals_are_named_as_a_person_knows_them():
    assert describe(signal.SIGINT) == "Ctrl-C (SIGINT)"
    assert describe(signal.SIGTERM) == "SIGTERM" and describe(signal.SIGHUP) == "SIGHUP"
