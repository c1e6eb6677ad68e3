"""The measuring API: named windows that return a :class:`Measurement`.

Modelled on zeus's ``ZeusMonitor`` (``zeus/monitor/energy.py``): ``begin_window(name)`` and
``end_window(name)``, or ``with profiler.window(name) as w:``. Windows may overlap. At each
edge the accelerator is synchronised first, so queued kernels are counted in the window
they belong to; then the clock and the GPU energy counters are read. Per GPU, energy comes
from NVML's total-energy counter where the GPU has one, otherwise from power polled at
20 Hz and integrated; the Measurement says which. CPU and RAM energy come from CodeCarbon.

Typical use in a training script::

    from planner.profiling import Profiler, ProfilerConfig

    with Profiler(ProfilerConfig(device="cuda", country="FRA")) as prof:
        for _ in range(warmup):
            train_step()
        with prof.window("train") as w:
            for batch in loader:
                train_step(batch)
                w.add(samples=len(batch))
        record = prof.record(w.measurement, workload="my-model", mode="train")
        prof.save(record)  # measurements/<time>_my-model-train_cuda_<id>.json
"""

from __future__ import annotations

import contextlib
import datetime as dt
import resource
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from planner.errors import PlannerError
from planner.profiling.devices import GpuInfo, NvmlGpus, load_nvml
from planner.profiling.host import HostEnergy, HostEnergyMeter, resolve_site
from planner.profiling.poller import DEFAULT_POLL_INTERVAL_S, GpuPoller, PolledWindow


@dataclass(frozen=True)
class ProfilerConfig:
    """How to measure: which device, which GPUs, where the electricity comes from."""

    device: Literal["cpu", "cuda"] = "cpu"
    gpus: Literal["auto", "all", "none"] | tuple[int, ...] = "auto"
    """NVML indices to measure. "auto": with device "cuda", the GPU this process uses (torch's
    current device), with "cpu" none; "all": every GPU NVML sees (for whole commands)."""
    country: str = "USA"
    region: str | None = None
    cpu_tracking_mode: Literal["process", "machine"] = "process"
    measure_host: bool = True
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S


@dataclass(frozen=True)
class AcceleratorHooks:
    """What the profiler needs from the framework: sync, and the allocator's peak memory."""

    sync: Callable[[], None] = lambda: None
    reset_peak_memory: Callable[[], None] = lambda: None
    peak_memory_bytes: Callable[[], float | None] = lambda: None


@dataclass(frozen=True)
class GpuWindow:
    """One GPU's figures over one window."""

    info: GpuInfo
    energy_j: float | None
    energy_method: Literal["nvml_energy_counter", "nvml_power_polling"] | None
    polled: PolledWindow
    memory_allocated_peak_bytes: float | None = None
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


@dataclass
class _Open:
    name: str
    t0: float
    started_at: dt.datetime
    counters: dict[int, float]
    host_token: Any
    samples: int = 0
    tokens: int = 0
    steps: int = 0
    latencies_s: list[float] = field(default_factory=list)
    flops: float = 0.0


class WindowHandle:
    """Counts what a ``with profiler.window(...)`` block processed; holds its Measurement."""

    def __init__(self, state: _Open) -> None:
        self._state = state
        self.measurement: Measurement | None = None

    def add(
        self,
        samples: int = 0,
        tokens: int = 0,
        steps: int = 1,
        flops: float = 0.0,
        latency_s: float | None = None,
    ) -> None:
        """Count one step (by default) and the samples, tokens and FLOPs it processed."""
        s = self._state
        s.samples += samples
        s.tokens += tokens
        s.steps += steps
        s.flops += flops
        if latency_s is not None:
            s.latencies_s.append(latency_s)


def _peak_rss_bytes(who: int = resource.RUSAGE_SELF) -> float:
    # ru_maxrss is in KiB on Linux and in bytes on macOS (getrusage(2)).
    rss = resource.getrusage(who).ru_maxrss
    return float(rss if sys.platform == "darwin" else rss * 1024)


class Profiler:
    """Measures named windows on this process's devices. Use as a context manager, or close()."""

    def __init__(
        self,
        config: ProfilerConfig | None = None,
        *,
        nvml: ModuleType | None = None,
        hooks: AcceleratorHooks | None = None,
        host_meter: HostEnergyMeter | None = None,
    ) -> None:
        self.config = config or ProfilerConfig()
        self.site = resolve_site(self.config.country, self.config.region)
        self._open: dict[str, _Open] = {}
        self.gpus: NvmlGpus | None = None
        self._poller: GpuPoller | None = None
        self._infos: dict[int, GpuInfo] = {}
        self.hooks, indices, module = self._resolve_gpus(nvml, hooks)
        if module is not None:
            self.gpus = NvmlGpus(module, indices)
            self._infos = {i: self.gpus.info(i) for i in self.gpus.indices}
            self._poller = GpuPoller(self.gpus.sample, self.gpus.indices,
                                     self.config.poll_interval_s)
            self._poller.start()
        self.host = host_meter
        if self.host is None and self.config.measure_host:
            self.host = HostEnergyMeter(self.site, self.config.cpu_tracking_mode)
        if self.host is not None:
            self.host.prepare()

    def _resolve_gpus(
        self, nvml: ModuleType | None, hooks: AcceleratorHooks | None
    ) -> tuple[AcceleratorHooks, list[int] | None, ModuleType | None]:
        """(hooks, NVML indices or None for all, NVML module or None for no GPU measurement)."""
        cfg = self.config
        wanted = "none" if cfg.gpus == "auto" and cfg.device == "cpu" else cfg.gpus
        module = None
        if wanted != "none":
            module = nvml if nvml is not None else load_nvml()
            if module is None and cfg.device == "cuda":
                raise PlannerError(
                    "--device cuda: NVML does not start on this machine, so GPU energy cannot be "
                    "measured; check the NVIDIA driver (nvidia-smi) or use --device cpu"
                )
        current = None
        if cfg.device == "cuda" and (hooks is None or wanted == "auto"):
            from planner.profiling.torch_support import current_cuda

            current = current_cuda(module)  # None where torch sees no CUDA (fake-NVML tests)
        if hooks is None:
            hooks = current[0] if current is not None else AcceleratorHooks()
        if wanted == "auto":
            indices = [current[1]] if current is not None else None
        else:
            indices = None if wanted in ("all", "none") else list(wanted)
        return hooks, indices, module

    # -- context management -------------------------------------------------------------
    def close(self) -> None:
        """Stop polling and release NVML."""
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        if self.gpus is not None:
            self.gpus.close()
            self.gpus = None

    def __enter__(self) -> Profiler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def gpu_infos(self) -> list[GpuInfo]:
        """The GPUs this profiler measures."""
        return list(self._infos.values())

    # -- windows ----------------------------------------------------------------------------
    def begin_window(self, name: str) -> WindowHandle:
        """Open window ``name``: sync the device, then read the clock and energy counters."""
        if name in self._open:
            raise PlannerError(f"measurement window {name!r} is already open")
        host_token = self.host.begin() if self.host is not None else None
        self.hooks.sync()
        self.hooks.reset_peak_memory()
        counters: dict[int, float] = {}
        if self.gpus is not None and self._poller is not None:
            self._poller.sample_now()
            for i in self.gpus.indices:
                if self.gpus.supports_energy_counter(i):
                    counters[i] = self.gpus.energy_j(i)
        state = _Open(name, time.perf_counter(), dt.datetime.now(dt.UTC), counters, host_token)
        self._open[name] = state
        return WindowHandle(state)

    def end_window(
        self,
        name: str,
        *,
        samples: int | None = None,
        tokens: int | None = None,
        steps: int | None = None,
        flops: float | None = None,
        latencies_s: list[float] | None = None,
    ) -> Measurement:
        """Close window ``name`` and return what it measured.

        Counts given here replace those accumulated with ``WindowHandle.add``.
        """
        state = self._open.pop(name, None)
        if state is None:
            raise PlannerError(f"measurement window {name!r} was never opened")
        self.hooks.sync()
        t1 = time.perf_counter()
        ended_at = dt.datetime.now(dt.UTC)
        gpu_windows: list[GpuWindow] = []
        if self.gpus is not None and self._poller is not None:
            ends = {i: self.gpus.energy_j(i) for i in state.counters}
            self._poller.sample_now()
            peak_alloc = self.hooks.peak_memory_bytes()
            for i in self.gpus.indices:
                gpu_windows.append(self._gpu_window(i, state, ends, t1, peak_alloc))
            if not self._open:
                self._poller.discard_before(t1)
            else:
                self._poller.discard_before(min(s.t0 for s in self._open.values()))
        host = self.host.end(state.host_token) if self.host is not None else None
        lat = tuple(latencies_s) if latencies_s is not None else tuple(state.latencies_s)
        return Measurement(
            name=name,
            started_at=state.started_at,
            ended_at=ended_at,
            wall_time_s=t1 - state.t0,
            gpus=tuple(gpu_windows),
            host=host,
            samples=samples if samples is not None else (state.samples or None),
            tokens=tokens if tokens is not None else (state.tokens or None),
            steps=steps if steps is not None else (state.steps or None),
            latencies_s=lat,
            flops=flops if flops is not None else (state.flops or None),
            peak_rss_bytes=_peak_rss_bytes(),
        )

    def _gpu_window(
        self,
        i: int,
        state: _Open,
        ends: dict[int, float],
        t1: float,
        peak_alloc: float | None,
    ) -> GpuWindow:
        assert self._poller is not None
        polled = self._poller.window(i, state.t0, t1)
        note = None
        if i in state.counters:
            delta = ends[i] - state.counters[i]
            if delta > 0:
                energy, method = delta, "nvml_energy_counter"
            else:
                # A counter that did not move cannot be told from a broken one (never 0 J).
                energy, method = None, None
                note = "NVML energy counter did not advance over the window"
        elif polled.energy_j is not None and polled.energy_j > 0:
            energy, method = polled.energy_j, "nvml_power_polling"
        else:
            energy, method = None, None
            note = "GPU reports neither an energy counter nor power"
        return GpuWindow(
            info=self._infos[i],
            energy_j=energy,
            energy_method=method,  # type: ignore[arg-type]
            polled=polled,
            memory_allocated_peak_bytes=peak_alloc if len(self._infos) == 1 else None,
            note=note,
        )

    @contextlib.contextmanager
    def window(self, name: str) -> Iterator[WindowHandle]:
        """``with profiler.window("train") as w: ...; w.add(samples=n)``; then ``w.measurement``.

        The window is closed, and its measurement kept, even when the block raises
        (KeyboardInterrupt included), so an interrupted run can still be recorded.
        """
        handle = self.begin_window(name)
        try:
            yield handle
        finally:
            handle.measurement = self.end_window(name)

    # -- records ---------------------------------------------------------------------------
    def record(self, measurement: Measurement, **settings: Any):  # -> Record
        """Turn a Measurement into a record (see ``planner.profiling.recording.build_record``)."""
        from planner.profiling.recording import build_record

        return build_record([measurement], profiler=self, **settings)

    def save(self, record: Any, folder: Path | str = "measurements") -> Path:
        """Write a record atomically into ``folder``; return its path."""
        from planner.model.records import write_record

        return write_record(record, folder)
