"""Measurement windows on a fake NVML: counter path, polling fallback, sync order, overlap."""

from __future__ import annotations

import sys
import time

import pytest

from planner.errors import PlannerError
from planner.profiling.accelerators import NvmlBackend
from planner.profiling.measure import Profiler, ProfilerConfig
from planner.profiling.values import AcceleratorHooks

from .fake_nvml import FakeGpu, FakeNvml

NO_HOST = ProfilerConfig(device="cuda", measure_host=False)


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_energy_from_the_nvml_counter(fake_nvml):
    with Profiler(NO_HOST, backend=NvmlBackend(fake_nvml)) as prof:
        with prof.window("train") as w:
            time.sleep(0.5)
            w.add(samples=32, tokens=4096)
        m = w.measurement
    g = m.gpus[0]
    assert g.energy_method == "nvml_energy_counter"
    assert g.energy_j == pytest.approx(300.0 * m.wall_time_s, rel=0.02)
    assert m.gpu_energy_j == g.energy_j
    assert m.samples == 32 and m.tokens == 4096 and m.steps == 1


def test_polling_fallback_when_the_counter_is_not_supported(no_counter_nvml):
    with Profiler(NO_HOST, backend=NvmlBackend(no_counter_nvml)) as prof:
        prof.begin_window("w")
        time.sleep(0.6)
        m = prof.end_window("w", samples=10)
    g = m.gpus[0]
    assert g.energy_method == "nvml_power_polling"
    assert g.energy_j == pytest.approx(180.0 * m.wall_time_s, rel=0.01)
    assert g.polled.rate_hz >= 10.0
    assert g.polled.n_samples >= 0.6 * 10


def test_counter_and_polling_agree_on_a_varying_load():
    # Power ramps and steps: polling at 20 Hz must track the exact counter within 2%.
    t0 = time.perf_counter()

    def power(t: float) -> float:
        x = t - t0
        return 120.0 + 200.0 * min(x, 1.0) + (80.0 if int(x * 2) % 2 else 0.0)

    nvml = FakeNvml([FakeGpu(power_w=power)])
    with Profiler(NO_HOST, backend=NvmlBackend(nvml)) as prof, prof.window("w") as w:
        time.sleep(1.5)
    g = w.measurement.gpus[0]
    assert g.energy_method == "nvml_energy_counter"
    assert g.polled.energy_j == pytest.approx(g.energy_j, rel=0.02)


def test_utilisation_memory_clocks_and_temperature(fake_nvml):
    peak = []
    hooks = AcceleratorHooks(peak_memory_bytes=lambda: 5e9,
                             reset_peak_memory=lambda: peak.append("reset"))
    backend = NvmlBackend(fake_nvml)
    with Profiler(NO_HOST, backend=backend, hooks=hooks) as prof, prof.window("w") as w:
        time.sleep(0.3)
    p = w.measurement.gpus[0].polled
    assert p.kernel_active_pct == 87
    assert p.memory_used_peak_bytes == 10 * 1024**3
    assert p.sm_clock_mhz == 1980 and p.memory_clock_mhz == 2619
    assert p.temperature_max_c == 54
    assert p.peak_power_w == pytest.approx(300.0)
    assert w.measurement.gpus[0].memory_allocated_peak_bytes == 5e9
    assert peak == ["reset"]


def test_the_device_is_synchronised_before_counters_are_read(fake_nvml):
    order: list[str] = []
    real = fake_nvml.nvmlDeviceGetTotalEnergyConsumption

    def counter(handle):
        order.append("counter")
        return real(handle)

    fake_nvml.nvmlDeviceGetTotalEnergyConsumption = counter
    hooks = AcceleratorHooks(sync=lambda: order.append("sync"))
    with Profiler(NO_HOST, backend=NvmlBackend(fake_nvml), hooks=hooks) as prof:
        order.clear()
        prof.begin_window("w")
        assert order[0] == "sync" and "counter" in order
        order.clear()
        prof.end_window("w")
        assert order[0] == "sync" and order[1] == "counter"


def test_windows_may_overlap(fake_nvml):
    with Profiler(NO_HOST, backend=NvmlBackend(fake_nvml)) as prof:
        prof.begin_window("outer")
        time.sleep(0.2)
        prof.begin_window("inner")
        time.sleep(0.2)
        inner = prof.end_window("inner")
        time.sleep(0.2)
        outer = prof.end_window("outer")
    assert outer.wall_time_s > inner.wall_time_s + 0.3
    assert outer.gpus[0].energy_j > inner.gpus[0].energy_j


def test_window_misuse_is_a_clear_error(fake_nvml):
    with Profiler(NO_HOST, backend=NvmlBackend(fake_nvml)) as prof:
        prof.begin_window("a")
        with pytest.raises(PlannerError, match="already open"):
            prof.begin_window("a")
        with pytest.raises(PlannerError, match="never opened"):
            prof.end_window("b")


def test_a_window_is_closed_and_kept_when_interrupted(fake_nvml):
    handles = []
    backend = NvmlBackend(fake_nvml)
    with Profiler(NO_HOST, backend=backend) as prof, pytest.raises(KeyboardInterrupt), \
            prof.window("w") as handle:
        handles.append(handle)
        handle.add(samples=8)
        raise KeyboardInterrupt
    assert handles[0].measurement is not None and handles[0].measurement.samples == 8


def test_a_counter_that_does_not_move_is_not_zero_joules():
    nvml = FakeNvml([FakeGpu(power_w=lambda t: 0.0)])
    with Profiler(NO_HOST, backend=NvmlBackend(nvml)) as prof, prof.window("w") as w:
        time.sleep(0.05)
    g = w.measurement.gpus[0]
    assert g.energy_j is None and g.energy_method is None
    assert "did not advance" in g.note


def test_cpu_profiler_measures_no_gpu():
    cfg = ProfilerConfig(device="cpu", gpus="none", measure_host=False)
    with Profiler(cfg) as prof, prof.window("w") as w:
        _busy(0.05)
    assert w.measurement.gpus == () and w.measurement.gpu_energy_j is None


def test_pynvml_is_taken_from_sys_modules(monkeypatch, fake_nvml):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml)
    with Profiler(NO_HOST) as prof:
        assert [g.name for g in prof.gpu_infos] == ["NVIDIA H100 80GB HBM3"]


def test_cuda_without_nvml_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(fail_init=True))
    with pytest.raises(PlannerError, match="--device cuda: NVML does not start"):
        Profiler(NO_HOST)


def test_host_energy_from_codecarbon_in_the_same_window(fake_nvml):
    cfg = ProfilerConfig(device="cuda", country="FRA")
    with Profiler(cfg, backend=NvmlBackend(fake_nvml)) as prof, prof.window("w") as w:
        _busy(0.3)
    h = w.measurement.host
    assert h is not None and h.cpu_energy_j > 0 and h.ram_energy_j > 0
    assert h.carbon_intensity_g_per_kwh > 0
