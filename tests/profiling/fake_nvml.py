"""A fake of the ``pynvml`` API (nvidia-ml-py) for tests on machines without a GPU.

It reproduces the parts the profiler uses, with NVML's units: energy in millijoules
(``nvmlDeviceGetTotalEnergyConsumption``), power in milliwatts, memory in bytes, clocks in
MHz, temperature in degrees C, and ``NVMLError_NotSupported`` for missing features. Each fake
GPU draws a power given as a function of ``time.perf_counter()``; its energy counter is the
exact integral of that power, so tests can compare the counter and polling paths with the
analytic energy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

NVML_CLOCK_SM = 1
NVML_CLOCK_MEM = 2
NVML_TEMPERATURE_GPU = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3


class NVMLError(Exception):
    """Base NVML error, as in pynvml."""

    def __init__(self, value: int = 999) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return {3: "Not Supported", 1: "Uninitialized"}.get(self.value, "Unknown Error")


class NVMLError_NotSupported(NVMLError):  # noqa: N801, N818 - pynvml's own name
    def __init__(self) -> None:
        super().__init__(NVML_ERROR_NOT_SUPPORTED)


class NVMLError_Uninitialized(NVMLError):  # noqa: N801, N818
    def __init__(self) -> None:
        super().__init__(NVML_ERROR_UNINITIALIZED)


@dataclass
class FakeGpu:
    """One simulated GPU. ``power_w(t)`` is its draw at perf_counter time ``t``."""

    name: str = "NVIDIA H100 80GB HBM3"
    power_w: Callable[[float], float] = lambda t: 300.0
    energy_counter: bool = True
    sensors: bool = True
    memory_total: int = 80 * 1024**3
    memory_used: int = 10 * 1024**3
    util_gpu: int = 87
    sm_clock: int = 1980
    mem_clock: int = 2619
    temperature: int = 54
    uuid: str = "GPU-00000000-0000-0000-0000-000000000000"
    t0: float = field(default_factory=time.perf_counter)

    def energy_j(self, t: float, steps: int = 2000) -> float:
        """The exact-enough integral of power from t0 to t (midpoint rule)."""
        dt = (t - self.t0) / steps
        return sum(self.power_w(self.t0 + (k + 0.5) * dt) for k in range(steps)) * dt


class FakeNvml(SimpleNamespace):
    """A module-like object with NVML's functions over a list of FakeGpu."""

    def __init__(self, gpus: list[FakeGpu] | None = None, fail_init: bool = False) -> None:
        super().__init__()
        self.gpus = gpus if gpus is not None else [FakeGpu()]
        self.fail_init = fail_init
        self.init_count = 0
        self.calls: list[tuple[str, float]] = []
        self.lock = threading.Lock()
        self.NVMLError = NVMLError
        self.NVMLError_NotSupported = NVMLError_NotSupported
        self.NVML_CLOCK_SM = NVML_CLOCK_SM
        self.NVML_CLOCK_MEM = NVML_CLOCK_MEM
        self.NVML_TEMPERATURE_GPU = NVML_TEMPERATURE_GPU

    # -- bookkeeping -------------------------------------------------------------------
    def _log(self, name: str) -> None:
        with self.lock:
            self.calls.append((name, time.perf_counter()))

    def _gpu(self, handle: int) -> FakeGpu:
        if self.init_count <= 0:
            raise NVMLError_Uninitialized()
        return self.gpus[handle]

    def count(self, name: str) -> int:
        with self.lock:
            return sum(1 for n, _ in self.calls if n == name)

    # -- the NVML API ------------------------------------------------------------------
    def nvmlInit(self) -> None:  # noqa: N802 - NVML's names
        if self.fail_init:
            raise NVMLError(9)
        self.init_count += 1

    def nvmlShutdown(self) -> None:  # noqa: N802
        if self.init_count <= 0:
            raise NVMLError_Uninitialized()
        self.init_count -= 1

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        if self.init_count <= 0:
            raise NVMLError_Uninitialized()
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:  # noqa: N802
        self._gpu(index)
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:  # noqa: N802
        return self._gpu(handle).name

    def nvmlDeviceGetUUID(self, handle: int) -> str:  # noqa: N802
        return self._gpu(handle).uuid

    def nvmlSystemGetDriverVersion(self) -> str:  # noqa: N802
        return "550.54.15"

    def nvmlSystemGetNVMLVersion(self) -> str:  # noqa: N802
        return "12.550.54.15"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:  # noqa: N802
        gpu = self._gpu(handle)
        self._log("energy")
        if not gpu.energy_counter:
            raise NVMLError_NotSupported()
        return int(gpu.energy_j(time.perf_counter()) * 1000.0)  # mJ

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:  # noqa: N802
        gpu = self._gpu(handle)
        self._log("power")
        return int(gpu.power_w(time.perf_counter()) * 1000.0)  # mW

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> SimpleNamespace:  # noqa: N802
        gpu = self._gpu(handle)
        if not gpu.sensors:
            raise NVMLError_NotSupported()
        return SimpleNamespace(gpu=gpu.util_gpu, memory=40)

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> SimpleNamespace:  # noqa: N802
        gpu = self._gpu(handle)
        return SimpleNamespace(total=gpu.memory_total, used=gpu.memory_used,
                               free=gpu.memory_total - gpu.memory_used)

    def nvmlDeviceGetClockInfo(self, handle: int, kind: int) -> int:  # noqa: N802
        gpu = self._gpu(handle)
        if not gpu.sensors:
            raise NVMLError_NotSupported()
        return gpu.sm_clock if kind == NVML_CLOCK_SM else gpu.mem_clock

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:  # noqa: N802
        gpu = self._gpu(handle)
        if not gpu.sensors:
            raise NVMLError_NotSupported()
        return gpu.temperature
