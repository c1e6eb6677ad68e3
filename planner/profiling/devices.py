"""GPU access for the profiler: one small device interface and its NVML backend.

The shape follows zeus (``zeus/device/gpu``): callers ask ``supports_energy_counter()``
instead of catching vendor errors, and every NVML error is turned into the project's own
error where it arises. The NVML module is passed in, so tests drive the same code with a
fake module that has NVML's API (``tests/profiling/fake_nvml.py``).

NVML units (NVML API reference, "Device Queries"): total energy in millijoules since the
driver was loaded (Volta and newer), power in milliwatts, memory in bytes, clocks in MHz,
temperature in degrees Celsius, utilisation in percent of the last sample period.
"""

from __future__ import annotations

import contextlib
import types
from dataclasses import dataclass
from typing import Any

from planner.errors import PlannerError


class GpuError(PlannerError):
    """NVML could not be used; the message says what to check."""


@dataclass(frozen=True)
class GpuInfo:
    """Static facts about one GPU."""

    index: int
    name: str
    uuid: str | None
    memory_total_bytes: int | None


@dataclass(frozen=True)
class GpuSample:
    """One reading of one GPU's sensors; None where the GPU does not report a sensor."""

    time_s: float
    power_w: float | None
    kernel_active_pct: float | None
    memory_used_bytes: float | None
    sm_clock_mhz: float | None
    memory_clock_mhz: float | None
    temperature_c: float | None


def _text(value: Any) -> str:
    # nvidia-ml-py returns str since 11.515; older bindings returned bytes.
    return value.decode() if isinstance(value, bytes) else str(value)


class NvmlGpus:
    """The GPUs NVML sees, read through an injected ``pynvml``-compatible module."""

    def __init__(self, nvml: types.ModuleType, indices: list[int] | None = None) -> None:
        self._nvml = nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            raise GpuError(
                f"NVML could not start ({exc}); check the NVIDIA driver with nvidia-smi"
            ) from None
        try:
            count = int(nvml.nvmlDeviceGetCount())
            wanted = list(range(count)) if indices is None else list(indices)
            bad = [i for i in wanted if not 0 <= i < count]
            if bad:
                raise GpuError(f"NVML sees {count} GPU(s); there is no GPU index {bad[0]}")
            self._handles = {i: nvml.nvmlDeviceGetHandleByIndex(i) for i in wanted}
        except GpuError:
            self.close()
            raise
        except nvml.NVMLError as exc:
            self.close()
            raise GpuError(f"NVML could not list the GPUs ({exc})") from None
        self._counter: dict[int, bool] = {}

    @property
    def indices(self) -> list[int]:
        """NVML indices of the GPUs this object reads."""
        return list(self._handles)

    def close(self) -> None:
        """Release NVML (its init is reference-counted, so other users keep theirs)."""
        with contextlib.suppress(self._nvml.NVMLError):
            self._nvml.nvmlShutdown()

    def _maybe(self, fn: str, *args: Any) -> Any:
        """Call an NVML query; None where this GPU does not support it."""
        try:
            return getattr(self._nvml, fn)(*args)
        except self._nvml.NVMLError:
            return None

    def info(self, index: int) -> GpuInfo:
        h = self._handles[index]
        name = self._maybe("nvmlDeviceGetName", h)
        uuid = self._maybe("nvmlDeviceGetUUID", h)
        mem = self._maybe("nvmlDeviceGetMemoryInfo", h)
        return GpuInfo(
            index=index,
            name=_text(name) if name is not None else "unknown NVIDIA GPU",
            uuid=_text(uuid) if uuid is not None else None,
            memory_total_bytes=int(mem.total) if mem is not None else None,
        )

    def driver_version(self) -> str | None:
        v = self._maybe("nvmlSystemGetDriverVersion")
        return _text(v) if v is not None else None

    def nvml_version(self) -> str | None:
        v = self._maybe("nvmlSystemGetNVMLVersion")
        return _text(v) if v is not None else None

    def supports_energy_counter(self, index: int) -> bool:
        """Whether the GPU has NVML's total-energy counter (Volta and newer)."""
        if index not in self._counter:
            try:
                self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handles[index])
                self._counter[index] = True
            except self._nvml.NVMLError:
                # NVMLError_NotSupported on pre-Volta parts; any other error also means
                # the counter cannot be trusted, so fall back to polling.
                self._counter[index] = False
        return self._counter[index]

    def energy_j(self, index: int) -> float:
        """The total-energy counter in joules (call only where supported)."""
        try:
            mj = self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handles[index])
        except self._nvml.NVMLError as exc:
            raise GpuError(f"GPU {index}: the NVML energy counter failed ({exc})") from None
        return float(mj) / 1000.0

    def sample(self, index: int, time_s: float) -> GpuSample:
        """Read every sensor of one GPU once."""
        nvml = self._nvml
        h = self._handles[index]
        power_mw = self._maybe("nvmlDeviceGetPowerUsage", h)
        util = self._maybe("nvmlDeviceGetUtilizationRates", h)
        mem = self._maybe("nvmlDeviceGetMemoryInfo", h)
        sm = self._maybe("nvmlDeviceGetClockInfo", h, nvml.NVML_CLOCK_SM)
        memclk = self._maybe("nvmlDeviceGetClockInfo", h, nvml.NVML_CLOCK_MEM)
        temp = self._maybe("nvmlDeviceGetTemperature", h, nvml.NVML_TEMPERATURE_GPU)
        return GpuSample(
            time_s=time_s,
            power_w=None if power_mw is None else float(power_mw) / 1000.0,
            kernel_active_pct=None if util is None else float(util.gpu),
            memory_used_bytes=None if mem is None else float(mem.used),
            sm_clock_mhz=None if sm is None else float(sm),
            memory_clock_mhz=None if memclk is None else float(memclk),
            temperature_c=None if temp is None else float(temp),
        )


def load_nvml() -> types.ModuleType | None:
    """The real ``pynvml`` module if NVML starts on this machine, else None."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None
    with contextlib.suppress(pynvml.NVMLError):
        pynvml.nvmlShutdown()
    return pynvml
