"""The NVIDIA backend: GPUs read through NVML (the ``pynvml`` module of nvidia-ml-py).

The module is passed in, so tests drive this code with a fake that has NVML's API
(``tests/profiling/fake_nvml.py``); :meth:`NvmlBackend.open` imports the real one. Every
``NVMLError`` is caught here: a query a GPU does not support reads as ``None``, anything
else the profiler must act on becomes a :class:`GpuError` (zeus's ``_handle_nvml_errors``,
``zeus/device/gpu/nvidia.py``, does the same for its own error classes).

NVML units (NVML API reference, "Device Queries"): total energy in millijoules since the
driver was loaded (Volta and newer), power in milliwatts, memory in bytes, clocks in MHz,
temperature in degrees Celsius, utilisation in percent of the last sample period.
"""

from __future__ import annotations

import contextlib
import types
from typing import Any, Self

from planner.profiling.accelerators.base import AcceleratorBackend, BackendUnavailable, GpuError
from planner.profiling.values import AcceleratorHooks, GpuInfo, ReadingMethods

NVML_METHODS = ReadingMethods(
    counter="nvml_energy_counter", polling="nvml_power_polling", sensors="nvml_polling"
)


def _text(value: Any) -> str:
    # nvidia-ml-py returns str since 11.515; older bindings returned bytes.
    return value.decode() if isinstance(value, bytes) else str(value)


class NvmlBackend(AcceleratorBackend):
    """The GPUs NVML sees, read through an injected ``pynvml``-compatible module."""

    vendor = "nvidia"
    library = "NVML"
    methods = NVML_METHODS

    def __init__(self, nvml: types.ModuleType, indices: list[int] | None = None,
                 hooks: AcceleratorHooks | None = None) -> None:
        self._nvml = nvml
        self._open = False
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            raise GpuError(
                f"NVML could not start ({exc}); check the NVIDIA driver with nvidia-smi"
            ) from None
        self._open = True
        try:
            count = int(nvml.nvmlDeviceGetCount())
            self._handles = {i: nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)}
            super().__init__(list(range(count)), hooks)
            if indices is not None:
                self.select(list(indices))
        except GpuError:
            self.close()
            raise
        except nvml.NVMLError as exc:
            self.close()
            raise GpuError(f"NVML could not list the GPUs ({exc})") from None
        self._counter: dict[int, bool] = {}

    @classmethod
    def open(cls, hooks: AcceleratorHooks | None = None) -> Self:
        """Every GPU of the real ``pynvml``; BackendUnavailable where NVML does not start."""
        why = ("NVML does not start on this machine, so GPU energy cannot be measured; "
               "check the NVIDIA driver (nvidia-smi)")
        try:
            import pynvml
        except ImportError:
            raise BackendUnavailable(f"{why} (nvidia-ml-py is not installed)") from None
        try:
            return cls(pynvml, hooks=hooks)
        except GpuError:
            raise BackendUnavailable(why) from None

    def close(self) -> None:
        """Release NVML (its init is reference-counted, so other users keep theirs)."""
        if self._open:
            self._open = False
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

    def versions(self) -> dict[str, str | None]:
        return {"gpu_driver_version": self.driver_version(), "nvml_version": self.nvml_version()}

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

    def power_w(self, index: int) -> float | None:
        mw = self._maybe("nvmlDeviceGetPowerUsage", self._handles[index])
        return None if mw is None else float(mw) / 1000.0

    def utilisation_pct(self, index: int) -> float | None:
        util = self._maybe("nvmlDeviceGetUtilizationRates", self._handles[index])
        return None if util is None else float(util.gpu)

    def memory_used_bytes(self, index: int) -> float | None:
        mem = self._maybe("nvmlDeviceGetMemoryInfo", self._handles[index])
        return None if mem is None else float(mem.used)

    def sm_clock_mhz(self, index: int) -> float | None:
        v = self._maybe("nvmlDeviceGetClockInfo", self._handles[index], self._nvml.NVML_CLOCK_SM)
        return None if v is None else float(v)

    def memory_clock_mhz(self, index: int) -> float | None:
        v = self._maybe("nvmlDeviceGetClockInfo", self._handles[index],
                        self._nvml.NVML_CLOCK_MEM)
        return None if v is None else float(v)

    def temperature_c(self, index: int) -> float | None:
        v = self._maybe("nvmlDeviceGetTemperature", self._handles[index],
                        self._nvml.NVML_TEMPERATURE_GPU)
        return None if v is None else float(v)
