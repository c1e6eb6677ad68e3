"""The profiler's value types: what a device reading, a window and a host meter hold.

Plain frozen dataclasses with no behaviour beyond derived sums, so every other profiling
module (the accelerator backends, the poller, the measuring API, the record builder, the
torch glue) can import them without importing each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from planner.model.records import Method


@dataclass(frozen=True)
class AcceleratorHooks:
    """What the profiler needs from the framework: sync, and the allocator's peak memory."""

    sync: Callable[[], None] = lambda: None
    reset_peak_memory: Callable[[], None] = lambda: None
    peak_memory_bytes: Callable[[], float | None] = lambda: None


@dataclass(frozen=True)
class ReadingMethods:
    """The record methods (``planner.model.records.METHODS``) of one backend's readings."""

    counter: Method
    """Energy from the device's own energy counter."""
    polling: Method
    """Energy integrated from polled power."""
    sensors: Method
    """The other polled readings: utilisation, memory, clocks, temperature, peak power."""


@dataclass(frozen=True)
class GpuInfo:
    """Static facts about one accelerator."""

    index: int
    name: str
    uuid: str | None
    memory_total_bytes: int | None


@dataclass(frozen=True)
class GpuSample:
    """One reading of one accelerator's sensors; None where it does not report a sensor."""

    time_s: float
    power_w: float | None
    kernel_active_pct: float | None
    memory_used_bytes: float | None
    sm_clock_mhz: float | None
    memory_clock_mhz: float | None
    temperature_c: float | None


@dataclass(frozen=True)
class PolledWindow:
    """What polling saw of one accelerator between two instants."""

    energy_j: float | None
    avg_power_w: float | None
    peak_power_w: float | None
    kernel_active_pct: float | None
    memory_used_peak_bytes: float | None
    sm_clock_mhz: float | None
    memory_clock_mhz: float | None
    temperature_max_c: float | None
    n_samples: int
    rate_hz: float | None


@dataclass(frozen=True)
class GpuWindow:
    """One accelerator's figures over one window, and the methods its backend read them by."""

    info: GpuInfo
    energy_j: float | None
    energy_method: Method | None
    polled: PolledWindow
    memory_allocated_peak_bytes: float | None = None
    note: str | None = None
    methods: ReadingMethods = field(kw_only=True)


@dataclass(frozen=True)
class HostEnergy:
    """CPU and RAM energy of one window, how CodeCarbon got them, and the CO2e intensity."""

    cpu_energy_j: float | None
    ram_energy_j: float | None
    cpu_method: Method | None
    cpu_measured: bool
    ram_method: Method | None
    ram_measured: bool
    carbon_intensity_g_per_kwh: float | None
    duration_s: float | None = None
    note: str | None = None


@dataclass(frozen=True)
class Measurement:
    """What one window measured. Energies in J, times in s; None where not measured."""

    name: str
    started_at: dt.datetime
    ended_at: dt.datetime
    wall_time_s: float
    gpus: tuple[GpuWindow, ...] = ()
    host: HostEnergy | None = None
    samples: int | None = None
    tokens: int | None = None
    steps: int | None = None
    latencies_s: tuple[float, ...] = ()
    flops: float | None = None
    peak_rss_bytes: float | None = None

    @property
    def gpu_energy_j(self) -> float | None:
        """Sum over GPUs, or None when any GPU's energy is unknown."""
        values = [g.energy_j for g in self.gpus]
        if not values or any(v is None for v in values):
            return None
        return float(sum(values))  # type: ignore[arg-type]
