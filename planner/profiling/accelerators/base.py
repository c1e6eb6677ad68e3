"""The accelerator-backend interface: what the profiler reads from a vendor's GPUs.

After zeus (``zeus/device/gpu/common.py``: an abstract ``GPUs`` collection, one subclass per
vendor library, ``EmptyGPUs`` where there is none, ``supports_get_total_energy_consumption``
instead of catching errors). A backend reads the device through its vendor's management
library; the framework side (synchronising queued kernels, the allocator's peak memory)
comes from :class:`~planner.profiling.values.AcceleratorHooks` attached to it, so the
measuring code talks to one object. Vendor errors never leave a backend: a reading a device
does not support is ``None`` (ask ``supports_*()`` first), and a failure is a
:class:`GpuError` with a message a person can act on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Self

from planner.errors import PlannerError
from planner.profiling.values import AcceleratorHooks, GpuInfo, GpuSample, ReadingMethods


class GpuError(PlannerError):
    """An accelerator could not be read; the message says what to check."""


class BackendUnavailable(Exception):  # noqa: N818 - a condition, not a failure
    """This backend's library or driver is absent on this machine; ``str()`` says why."""


class AcceleratorBackend(ABC):
    """The accelerators of one vendor on this machine, by the vendor's device index."""

    vendor: ClassVar[str]
    """Who makes the devices, e.g. "nvidia"."""
    library: ClassVar[str]
    """The management library read, e.g. "NVML"; named in messages."""
    methods: ClassVar[ReadingMethods]
    """How the record names this backend's readings."""

    def __init__(self, available: list[int], hooks: AcceleratorHooks | None = None) -> None:
        self._available = list(available)
        self._indices = list(available)
        self.hooks = hooks or AcceleratorHooks()

    # -- opening -------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def open(cls, hooks: AcceleratorHooks | None = None) -> Self:
        """Start the vendor library and see every device; BackendUnavailable if it cannot."""

    @property
    def why_unavailable(self) -> str | None:
        """None for a working backend; the null backend says why no accelerator is read."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Release the vendor library (safe to call twice)."""

    # -- which devices -------------------------------------------------------------------
    @property
    def indices(self) -> list[int]:
        """The device indices this backend reads (all it sees, unless narrowed by select)."""
        return list(self._indices)

    def select(self, indices: list[int]) -> None:
        """Read only these devices; GpuError naming the first index that does not exist."""
        bad = [i for i in indices if i not in self._available]
        if bad:
            raise GpuError(f"{self.library} sees {len(self._available)} GPU(s); there is no "
                           f"GPU index {bad[0]}")
        self._indices = list(dict.fromkeys(indices))

    def index_of_uuid(self, uuid: str) -> int | None:
        """The index of the device with this UUID (``GPU-`` prefix and case ignored)."""
        want = uuid.lower().removeprefix("gpu-")
        for i in self._available:
            got = self.info(i).uuid
            if got is not None and got.lower().removeprefix("gpu-") == want:
                return i
        return None

    @abstractmethod
    def info(self, index: int) -> GpuInfo:
        """Name, UUID and memory of one device."""

    def versions(self) -> dict[str, str | None]:
        """Driver and library versions, keyed by ``planner.model.records.Machine`` field."""
        return {}

    # -- energy ----------------------------------------------------------------------------
    @abstractmethod
    def supports_energy_counter(self, index: int) -> bool:
        """Whether the device has a cumulative energy counter."""

    @abstractmethod
    def energy_j(self, index: int) -> float:
        """The energy counter in joules (call only where supported; GpuError if it fails)."""

    # -- sensors: None where the device does not report one --------------------------------
    @abstractmethod
    def power_w(self, index: int) -> float | None:
        """Power draw now, W."""

    def supports_power(self, index: int) -> bool:
        """Whether the device reports its power (so polling can integrate energy)."""
        return self.power_w(index) is not None

    @abstractmethod
    def utilisation_pct(self, index: int) -> float | None:
        """Share of the last sample period a kernel ran, %."""

    @abstractmethod
    def memory_used_bytes(self, index: int) -> float | None:
        """Device memory in use by every process, B."""

    def sm_clock_mhz(self, index: int) -> float | None:
        """Compute clock, MHz."""
        return None

    def memory_clock_mhz(self, index: int) -> float | None:
        """Memory clock, MHz."""
        return None

    def temperature_c(self, index: int) -> float | None:
        """Die temperature, degrees C."""
        return None

    def sample(self, index: int, time_s: float) -> GpuSample:
        """Every sensor of one device, read once (what the poller stores)."""
        return GpuSample(
            time_s=time_s,
            power_w=self.power_w(index),
            kernel_active_pct=self.utilisation_pct(index),
            memory_used_bytes=self.memory_used_bytes(index),
            sm_clock_mhz=self.sm_clock_mhz(index),
            memory_clock_mhz=self.memory_clock_mhz(index),
            temperature_c=self.temperature_c(index),
        )

    # -- the framework side ------------------------------------------------------------------
    def sync(self) -> None:
        """Wait for queued kernels, so a window edge counts them where they belong."""
        self.hooks.sync()

    def reset_peak_memory(self) -> None:
        """Restart the allocator's peak-memory statistic."""
        self.hooks.reset_peak_memory()

    def peak_memory_bytes(self) -> float | None:
        """The allocator's peak since the last reset, B (None where unknown)."""
        return self.hooks.peak_memory_bytes()
