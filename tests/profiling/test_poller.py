"""Power polling: trapezoid integration, window summaries and the polling rate."""

from __future__ import annotations

import time

import numpy as np
import pytest

from planner.profiling.poller import GpuPoller, integrate_power, summarise
from planner.profiling.values import GpuSample


def _s(t: float, p: float, **kw) -> GpuSample:
    base = dict(kernel_active_pct=50.0, memory_used_bytes=1e9, sm_clock_mhz=1000.0,
                memory_clock_mhz=2000.0, temperature_c=40.0)
    base.update(kw)
    return GpuSample(time_s=t, power_w=p, **base)


def test_trapezoid_is_exact_for_a_linear_ramp():
    t = np.linspace(0.0, 10.0, 101)
    p = 100.0 + 20.0 * t
    # ∫0..10 (100 + 20 t) dt = 1000 + 1000 = 2000 J
    assert integrate_power(t, p, 0.0, 10.0) == pytest.approx(2000.0)


def test_window_edges_are_interpolated_between_samples():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    p = np.array([100.0, 200.0, 300.0, 400.0])
    # ∫0.5..2.5 (100 + 100 t) dt = 200 + 100 * (6.25 - 0.25) / 2 = 500
    assert integrate_power(t, p, 0.5, 2.5) == pytest.approx(500.0)


def test_no_samples_or_empty_window_gives_none():
    assert integrate_power(np.empty(0), np.empty(0), 0, 1) is None
    assert integrate_power(np.array([0.0]), np.array([1.0]), 1, 1) is None


def test_summary_statistics():
    samples = [_s(0.0, 100), _s(0.5, 300, temperature_c=60.0, memory_used_bytes=3e9),
               _s(1.0, 200, kernel_active_pct=100.0)]
    w = summarise(samples, 0.0, 1.0)
    assert w.energy_j == pytest.approx(0.5 * (100 + 300) / 2 + 0.5 * (300 + 200) / 2)
    assert w.avg_power_w == pytest.approx(w.energy_j)
    assert w.peak_power_w == 300
    assert w.temperature_max_c == 60
    assert w.memory_used_peak_bytes == 3e9
    assert w.kernel_active_pct == pytest.approx(200 / 3)
    assert w.n_samples == 3 and w.rate_hz == pytest.approx(2.0)


def test_poller_samples_at_ten_hertz_or_more():
    seen: list[float] = []

    def read(i: int, t: float) -> GpuSample:
        seen.append(t)
        return _s(t, 250.0)

    poller = GpuPoller(read, [0])
    poller.start()
    t0 = time.perf_counter()
    time.sleep(1.0)
    t1 = poller.sample_now()
    poller.stop()
    w = poller.window(0, t0, t1)
    assert w.rate_hz >= 10.0
    assert w.energy_j == pytest.approx(250.0 * (t1 - t0), rel=1e-6)


def test_slower_than_ten_hertz_is_refused():
    with pytest.raises(ValueError, match="10 Hz"):
        GpuPoller(lambda i, t: _s(t, 1.0), [0], interval_s=0.2)


def test_discard_keeps_one_sample_before_the_cut():
    poller = GpuPoller(lambda i, t: _s(t, 1.0), [0], clock=iter([0.0, 1.0, 2.0, 3.0]).__next__)
    for _ in range(4):
        poller.sample_now()
    poller.discard_before(2.5)
    assert [s.time_s for s in poller._samples[0]] == [2.0, 3.0]
