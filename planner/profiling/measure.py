"""The measuring API: named windows that return a :class:`Measurement`.

Modelled on zeus's ``ZeusMonitor`` (``zeus/monitor/energy.py``): ``begin_window(name)`` and
``end_window(name)``, or ``with profiler.window(name) as w:``. Windows may overlap. At each
edge the accelerator is synchronised first, so queued kernels are counted in the window
they belong to; then the clock and the energy counters are read. The accelerators are read
through a backend (``planner.profiling.accelerators``: NVML, or the null backend where no
GPU is measured). Per GPU, energy comes from the backend's energy counter where the GPU has
one, otherwise from power polled at 20 Hz and integrated; the Measurement says which. CPU
and RAM energy come from CodeCarbon.

Typical use in a training script::

    from planner.profiling import Profiler, ProfilerConfig, build_record, save_record

    with Profiler(ProfilerConfig(device="cuda", country="FRA")) as prof:
        for _ in range(warmup):
            train_step()
        with prof.window("train") as w:
            for batch in loader:
                train_step(batch)
                w.add(samples=len(batch))
        record = build_record([w.measurement], profiler=prof, workload="my-model", mode="train")
    save_record(record)  # measurements/<time>_my-model-train_cuda_<id>.json
"""

from __future__ import annotations

import contextlib
import datetime as dt
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from planner.errors import PlannerError
from planner.profiling.accelerators import AcceleratorBackend, NullBackend, open_backend
from planner.profiling.host import HostEnergyMeter, HostMeter, NullHostMeter, resolve_site
from planner.profiling.poller import DEFAULT_POLL_INTERVAL_S, GpuPoller
from planner.profiling.values import AcceleratorHooks, GpuInfo, GpuWindow, Measurement


@dataclass(frozen=True)
class ProfilerConfig:
    """How to measure: which device, which GPUs, where the electricity comes from."""

    device: Literal["cpu", "cuda"] = "cpu"
    gpus: Literal["auto", "all", "none"] | tuple[int, ...] = "auto"
    """Device indices to measure. "auto": with device "cuda", the GPU this process uses
    (torch's current device), with "cpu" none; "all": every GPU the backend sees (for whole
    commands)."""
    country: str = "USA"
    region: str | None = None
    cpu_tracking_mode: Literal["process", "machine"] = "process"
    measure_host: bool = True
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S


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
        backend: AcceleratorBackend | None = None,
        hooks: AcceleratorHooks | None = None,
        host_meter: HostMeter | None = None,
    ) -> None:
        """``backend``: the accelerators to read (default: the first registered backend
        that starts here, or none for a CPU run); the profiler closes it. ``hooks``: the
        framework's sync and allocator statistics (default: torch's, on CUDA)."""
        self.config = config or ProfilerConfig()
        self.site = resolve_site(self.config.country, self.config.region)
        self._open: dict[str, _Open] = {}
        self.backend = self._resolve_backend(backend, hooks)
        try:
            self._infos = {i: self.backend.info(i) for i in self.backend.indices}
        except BaseException:
            self.backend.close()
            raise
        self._poller = GpuPoller(self.backend.sample, self.backend.indices,
                                 self.config.poll_interval_s)
        self._poller.start()
        if host_meter is None:
            host_meter = (HostEnergyMeter(self.site, self.config.cpu_tracking_mode)
                          if self.config.measure_host else NullHostMeter())
        self.host: HostMeter = host_meter
        self.host.prepare()

    def _resolve_backend(
        self, backend: AcceleratorBackend | None, hooks: AcceleratorHooks | None
    ) -> AcceleratorBackend:
        """The backend, its devices narrowed to those configured, with the framework hooks."""
        cfg = self.config
        wanted = "none" if cfg.gpus == "auto" and cfg.device == "cpu" else cfg.gpus
        if backend is None:
            backend = NullBackend() if wanted == "none" else open_backend()
        try:
            if wanted != "none" and cfg.device == "cuda" and backend.why_unavailable:
                raise PlannerError(f"--device cuda: {backend.why_unavailable}; "
                                   "or use --device cpu")
            current = None
            if cfg.device == "cuda" and (hooks is None or wanted == "auto"):
                from planner.profiling.torch_support import current_cuda

                current = current_cuda()  # None where torch sees no CUDA (fake-NVML tests)
            if hooks is None:
                hooks = current.hooks if current is not None else AcceleratorHooks()
            backend.hooks = hooks
            if wanted == "none":
                backend.select([])
            elif wanted == "auto" and current is not None:
                by_uuid = backend.index_of_uuid(current.uuid) if current.uuid else None
                backend.select([current.visible_index if by_uuid is None else by_uuid])
            elif not isinstance(wanted, str):
                backend.select(list(wanted))
        except BaseException:
            backend.close()
            raise
        return backend

    # -- context management -------------------------------------------------------------
    def close(self) -> None:
        """Stop polling and release the accelerator library."""
        self._poller.stop()
        self.backend.close()

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
        host_token = self.host.begin()
        gpu = self.backend
        gpu.sync()
        gpu.reset_peak_memory()
        self._poller.sample_now()
        counters = {i: gpu.energy_j(i) for i in gpu.indices if gpu.supports_energy_counter(i)}
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
        gpu = self.backend
        gpu.sync()
        t1 = time.perf_counter()
        ended_at = dt.datetime.now(dt.UTC)
        ends = {i: gpu.energy_j(i) for i in state.counters}
        self._poller.sample_now()
        peak_alloc = gpu.peak_memory_bytes()
        gpu_windows = [self._gpu_window(i, state, ends, t1, peak_alloc) for i in gpu.indices]
        self._poller.discard_before(min((s.t0 for s in self._open.values()), default=t1))
        host = self.host.end(state.host_token)
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
        polled = self._poller.window(i, state.t0, t1)
        methods = self.backend.methods
        note = None
        energy: float | None = None
        method = None
        if i in state.counters:
            delta = ends[i] - state.counters[i]
            if delta > 0:
                energy, method = delta, methods.counter
            else:
                # A counter that did not move cannot be told from a broken one (never 0 J).
                note = f"{self.backend.library} energy counter did not advance over the window"
        elif polled.energy_j is not None and polled.energy_j > 0:
            energy, method = polled.energy_j, methods.polling
        else:
            note = "GPU reports neither an energy counter nor power"
        return GpuWindow(
            info=self._infos[i],
            energy_j=energy,
            energy_method=method,
            polled=polled,
            memory_allocated_peak_bytes=peak_alloc if len(self._infos) == 1 else None,
            note=note,
            methods=methods,
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
