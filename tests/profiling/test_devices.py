"""The NVML accelerator backend against a fake module with NVML's API (no GPU on this machine)."""

from __future__ import annotations

import pytest

from planner.profiling.accelerators import GpuError, NvmlBackend

from .fake_nvml import FakeGpu, FakeNvml


def test_reads_static_info_and_versions(fake_nvml):
    gpus = NvmlBackend(fake_nvml)
    info = gpus.info(0)
    assert info.name == "NVIDIA H100 80GB HBM3"
    assert info.memory_total_bytes == 80 * 1024**3
    assert info.uuid.startswith("GPU-")
    assert gpus.driver_version() == "550.54.15"
    assert gpus.nvml_version() == "12.550.54.15"
    gpus.close()
    assert fake_nvml.init_count == 0


def test_energy_counter_is_millijoules_turned_into_joules(fake_nvml):
    gpus = NvmlBackend(fake_nvml)
    assert gpus.supports_energy_counter(0)
    a = gpus.energy_j(0)
    b = gpus.energy_j(0)
    assert b >= a > 0
    # 300 W since the fake GPU was made: the counter reads about 300 J per second elapsed.
    elapsed = fake_nvml.calls[-1][1] - fake_nvml.gpus[0].t0
    assert b == pytest.approx(300.0 * elapsed, rel=0.02, abs=0.002)


def test_counter_not_supported_is_reported_not_raised(no_counter_nvml):
    gpus = NvmlBackend(no_counter_nvml)
    assert gpus.supports_energy_counter(0) is False
    with pytest.raises(GpuError, match="energy counter"):
        gpus.energy_j(0)


def test_sample_converts_units(fake_nvml):
    s = NvmlBackend(fake_nvml).sample(0, 1.5)
    assert s.time_s == 1.5
    assert s.power_w == pytest.approx(300.0)  # from 300000 mW
    assert s.kernel_active_pct == 87
    assert s.memory_used_bytes == 10 * 1024**3
    assert s.sm_clock_mhz == 1980 and s.memory_clock_mhz == 2619
    assert s.temperature_c == 54


def test_missing_sensors_become_none():
    nvml = FakeNvml([FakeGpu(sensors=False)])
    s = NvmlBackend(nvml).sample(0, 0.0)
    assert s.power_w == pytest.approx(300.0)
    assert s.kernel_active_pct is None and s.sm_clock_mhz is None and s.temperature_c is None


def test_init_failure_is_one_actionable_error():
    with pytest.raises(GpuError, match="nvidia-smi"):
        NvmlBackend(FakeNvml(fail_init=True))


def test_unknown_index_is_rejected(fake_nvml):
    with pytest.raises(GpuError, match="no GPU index 3"):
        NvmlBackend(fake_nvml, indices=[3])
    assert fake_nvml.init_count == 0  # released again
