"""The Monte Carlo's threads: a small Monte Carlo runs on the caller's thread alone
(``draw_threads.serial``), with the same figures as on the threads."""

from __future__ import annotations

import threading

import pandas as pd

from planner.model import draw_threads, uncertainty
from planner.model.draw_threads import in_parallel, serial, started, workers
from planner.model.plan import Planner
from tests.model.test_uncertainty import SCENARIO


def test_serial_keeps_the_work_on_the_callers_thread():
    me = threading.current_thread().name
    with serial():
        assert workers() == 1
        assert in_parallel(lambda _: threading.current_thread().name, range(4)) == [me] * 4
        assert started(lambda: threading.current_thread().name)() == me
    # outside, with several cores, the work goes to the threads
    if draw_threads._threads() is not None:
        names = in_parallel(lambda _: threading.current_thread().name, range(4))
        assert all(n.startswith(draw_threads.THREAD_PREFIX) for n in names)


def test_a_small_monte_carlo_runs_serially_with_the_threaded_figures(monkeypatch):
    planned = Planner.load().plan(SCENARIO)
    spec = planned.scenario.uncertainty
    run = lambda: uncertainty.plan_uncertainty(  # noqa: E731
        spec, planned.scenario.inference, planned.training, planned.inference)
    seen = []
    real = draw_threads.in_parallel
    monkeypatch.setattr(uncertainty, "in_parallel", lambda work, items: seen.append(
        draw_threads._inside()) or real(work, items))
    small = run()  # 2,000 draws × a few options: under THREADS_FROM_EVALUATIONS
    assert seen and all(seen)
    monkeypatch.setattr(uncertainty, "THREADS_FROM_EVALUATIONS", 0)
    seen.clear()
    threaded = run()
    assert (seen and not any(seen)) or draw_threads._threads() is None
    pd.testing.assert_frame_equal(small.summary, threaded.summary)
    pd.testing.assert_frame_equal(small.sensitivity, threaded.sensitivity)
