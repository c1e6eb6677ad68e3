"""The accelerator seam: registry, null backend, a new vendor as one class, errors translated."""

from __future__ import annotations

import sys
import threading
import time
from typing import Self

import pytest

from planner.errors import PlannerError
from planner.profiling import accelerators
from planner.profiling.accelerators import (
    AcceleratorBackend,
    BackendUnavailable,
    GpuError,
    NullBackend,
    NvmlBackend,
    open_backend,
)
from planner.profiling.measure import Profiler, ProfilerConfig
from planner.profiling.values import AcceleratorHooks, GpuInfo, ReadingMethods

from .fake_nvml import FakeGpu, FakeNvml, NVMLError

NO_HOST = ProfilerConfig(device="cuda", measure_host=False)


class CounterOnly(AcceleratorBackend):
    """A whole vendor backend in one class: one device, a 100 W counter, nothing else."""

    vendor = "acme"
    library = "acme-smi"
    methods = ReadingMethods(counter="derived", polling="derived", sensors="derived")

    def __init__(self, hooks: AcceleratorHooks | None = None) -> None:
        super().__init__([0], hooks)
        self.t0 = time.perf_counter()
        self.closed = False

    @classmethod
    def open(cls, hooks: AcceleratorHooks | None = None) -> Self:
        return cls(hooks)

    def close(self) -> None:
        self.closed = True

    def info(self, index: int) -> GpuInfo:
        return GpuInfo(index, "Acme X1", "GPU-ACME-0", 16 * 1024**3)

    def supports_energy_counter(self, index: int) -> bool:
        return True

    def energy_j(self, index: int) -> float:
        return 100.0 * (time.perf_counter() - self.t0)

    def power_w(self, index: int) -> float | None:
        return None

    def utilisation_pct(self, index: int) -> float | None:
        return None

    def memory_used_bytes(self, index: int) -> float | None:
        return None


def test_a_new_vendor_is_one_class_and_one_registry_entry(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(fail_init=True))
    monkeypatch.setattr(accelerators, "BACKENDS", (NvmlBackend, CounterOnly))
    with Profiler(NO_HOST) as prof:
        assert prof.backend.vendor == "acme"
        with prof.window("w") as w:
            time.sleep(0.2)
    g = w.measurement.gpus[0]
    assert g.info.name == "Acme X1" and g.methods.counter == "derived"
    assert g.energy_j == pytest.approx(100.0 * w.measurement.wall_time_s, rel=0.05)
    assert prof.backend.closed


def test_no_backend_starts_gives_the_null_backend_with_the_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(fail_init=True))
    backend = open_backend()
    assert isinstance(backend, NullBackend) and backend.indices == []
    assert "NVML does not start" in backend.why_unavailable
    backend.close()


def test_nvml_is_chosen_where_it_starts(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([FakeGpu(), FakeGpu()]))
    backend = open_backend()
    assert isinstance(backend, NvmlBackend) and backend.indices == [0, 1]
    assert backend.why_unavailable is None
    backend.close()


def test_a_missing_library_is_unavailable_not_an_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    with pytest.raises(BackendUnavailable, match="nvidia-ml-py is not installed"):
        NvmlBackend.open()


def test_a_cpu_profiler_reads_no_accelerator_and_starts_no_thread(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a CPU run must not open an accelerator library")

    monkeypatch.setattr(accelerators, "open_backend", refuse)
    before = {t.name for t in threading.enumerate()}
    with Profiler(ProfilerConfig(device="cpu", measure_host=False)) as prof:
        assert isinstance(prof.backend, NullBackend)
        assert "gpu-poller" not in {t.name for t in threading.enumerate()} - before
        with prof.window("w") as w:
            pass
    assert w.measurement.gpus == () and w.measurement.host is None


def test_vendor_errors_become_the_projects_own_error(fake_nvml):
    backend = NvmlBackend(fake_nvml)
    assert backend.supports_energy_counter(0)

    def broken(handle):
        raise NVMLError(15)  # NVML_ERROR_GPU_IS_LOST

    fake_nvml.nvmlDeviceGetTotalEnergyConsumption = broken
    with pytest.raises(GpuError, match="GPU 0: the NVML energy counter failed") as info:
        backend.energy_j(0)
    assert isinstance(info.value, PlannerError) and info.value.__cause__ is None
    fake_nvml.nvmlDeviceGetPowerUsage = broken
    assert backend.power_w(0) is None and not backend.supports_power(0)
    backend.close()


def test_devices_are_found_by_uuid_and_narrowed(fake_nvml):
    fake_nvml.gpus.append(FakeGpu(uuid="GPU-1111"))
    backend = NvmlBackend(fake_nvml)
    assert backend.index_of_uuid("gpu-1111") == 1 and backend.index_of_uuid("nope") is None
    backend.select([1])
    assert backend.indices == [1]
    with pytest.raises(GpuError, match="NVML sees 2 GPU"):
        backend.select([5])
    backend.close()


def test_a_bad_index_closes_the_backend_the_profiler_was_given(fake_nvml):
    cfg = ProfilerConfig(device="cuda", gpus=(4,), measure_host=False)
    with pytest.raises(GpuError, match="no GPU index 4"):
        Profiler(cfg, backend=NvmlBackend(fake_nvml))
    assert fake_nvml.init_count == 0


def test_hooks_are_the_backends_sync(fake_nvml):
    calls = []
    hooks = AcceleratorHooks(sync=lambda: calls.append("sync"))
    with Profiler(NO_HOST, backend=NvmlBackend(fake_nvml), hooks=hooks) as prof:
        prof.backend.sync()
    assert calls == ["sync"]
