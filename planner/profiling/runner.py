"""Run a reference workload: check, build, warm up, count FLOPs, then measure the steps.

Warm-up steps and the FLOP-counting step happen before the measurement window opens, so the
window holds only steady-state steps. Ctrl-C (or, under the CLI's ``StopSignals``, SIGTERM or
SIGHUP) during the measured steps ends the window and returns what was measured, marked
incomplete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch.utils.flop_counter import FlopCounterMode

from planner.errors import PlannerError
from planner.profiling import distributed as dist
from planner.profiling.measure import Profiler
from planner.profiling.signals import StopSignals
from planner.profiling.torch_support import (
    GIB,
    OutOfMemoryError,
    estimate_memory,
    free_memory_bytes,
    is_oom,
    precision_context,
    resolve_device,
    resolve_precision,
)
from planner.profiling.values import Measurement
from planner.profiling.workloads import SIZES, Workload, get_workload

DEFAULT_STEPS = 20
Mode = Literal["train", "infer"]


@dataclass(frozen=True)
class RunConfig:
    """One reference run: which workload, how big, how long, on what."""

    workload: str
    mode: Mode = "train"
    size: str = "small"
    batch_size: int | None = None
    precision: str | None = None
    device: Literal["cpu", "cuda"] = "cpu"
    steps: int | None = None
    seconds: float | None = None
    warmup_steps: int = 3
    seed: int = 0
    progress: bool = False
    threads: int | None = None
    """torch intra-op threads (None: torch's default, one per core)."""


@dataclass
class PreparedRun:
    """A built, warmed-up workload, ready to step."""

    config: RunConfig
    workload: Workload
    params: dict[str, int]
    device: torch.device
    precision: str
    batch_size: int
    step: Callable[[], None]
    sync: Callable[[], None]
    flops_per_step: float | None = None
    tokens_per_step: int | None = None


@dataclass(frozen=True)
class RunOutcome:
    """The measurement of the measured steps, and whether they ran to the end."""

    measurement: Measurement
    prepared: PreparedRun
    interrupted: bool


def _check(cfg: RunConfig) -> None:
    if cfg.mode not in ("train", "infer"):
        raise PlannerError(f"--mode {cfg.mode!r}: choose train or infer")
    if cfg.size not in SIZES:
        raise PlannerError(f"--size {cfg.size!r}: choose one of {', '.join(SIZES)}")
    if cfg.batch_size is not None and cfg.batch_size < 1:
        raise PlannerError(f"--batch {cfg.batch_size}: must be at least 1")
    if cfg.steps is not None and cfg.steps < 1:
        raise PlannerError(f"--steps {cfg.steps}: must be at least 1")
    if cfg.seconds is not None and cfg.seconds <= 0:
        raise PlannerError(f"--seconds {cfg.seconds}: must be positive")
    if cfg.threads is not None and cfg.threads < 1:
        raise PlannerError(f"--threads {cfg.threads}: must be at least 1")
    if cfg.warmup_steps < 0:
        raise PlannerError(f"--warmup {cfg.warmup_steps}: must be 0 or more")
    if cfg.seconds is not None and cfg.steps is None and dist.world_size() > 1:
        raise PlannerError("--seconds under torchrun: ranks would stop at different steps; "
                           "give --steps instead")


def _oom_error(cfg: RunConfig, batch: int, device: torch.device, detail: str) -> OutOfMemoryError:
    return OutOfMemoryError(
        f"--batch {batch}: one {cfg.workload} {cfg.mode} step at size {cfg.size} does not fit "
        f"in {device.type} memory ({detail}); use a smaller --batch or --size"
    )


def prepare(cfg: RunConfig, stop: StopSignals | None = None) -> PreparedRun:
    """Validate, build the model and batch, warm up and count one step's FLOPs.

    With ``stop``, a stop signal raises :class:`~planner.profiling.signals.Stopped` at the
    next safe point: after the build, between warm-up steps, before the FLOP count.
    """
    check = stop.check if stop is not None else lambda: None
    _check(cfg)
    workload = get_workload(cfg.workload)
    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    params = workload.params(cfg.size)
    batch = cfg.batch_size or workload.default_batch[cfg.size]
    train = cfg.mode == "train"

    est = estimate_memory(workload, params, batch, train, precision)
    free = free_memory_bytes(device)
    if free is not None and est.total_bytes > free:
        raise _oom_error(cfg, batch, device, f"needs about {est.total_bytes / GIB:.1f} GiB by "
                         f"estimate, {free / GIB:.1f} GiB is free")
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    try:
        with device:
            model = workload.build(params)
        inputs, target = workload.batch(params, batch, device, gen)
    except Exception as exc:
        if is_oom(exc):
            raise _oom_error(cfg, batch, device, str(exc).splitlines()[0][:160]) from None
        raise
    check()
    model = dist.wrap_model(model, device) if train else model
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)

    if train:
        model.train()
        opt = workload.optimizer(model)
        scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            with precision_context(precision, device):
                loss = workload.loss(workload.forward(model, inputs), target)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
    else:
        model.eval()

        def step() -> None:
            with torch.inference_mode(), precision_context(precision, device):
                workload.forward(model, inputs)

    prep = PreparedRun(cfg, workload, params, device, precision, batch, step, sync)
    tps = workload.tokens_per_sample(params)
    prep.tokens_per_step = None if tps is None else tps * batch
    try:
        for _ in range(cfg.warmup_steps):
            check()
            step()
        check()
        with FlopCounterMode(display=False) as counter:
            step()
        sync()
    except Exception as exc:
        if is_oom(exc):
            raise _oom_error(cfg, batch, device, str(exc).splitlines()[0][:160]) from None
        raise
    prep.flops_per_step = float(counter.get_total_flops()) or None
    return prep


class _Progress:
    """A tqdm bar on stderr counting steps, or seconds when the run is timed."""

    def __init__(self, enabled: bool, steps: int | None, seconds: float | None) -> None:
        self._bar = None
        if enabled:
            from tqdm import tqdm

            timed = steps is None
            self._bar = tqdm(
                total=round(seconds, 1) if timed else steps,
                unit="s" if timed else "step",
                desc="measuring",
                file=sys.stderr,
                mininterval=0.25,
                leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total} s"
                if timed else None,
            )
        self._timed = steps is None
        self._last = time.perf_counter()

    def update(self, now: float) -> None:
        if self._bar is None:
            return
        if self._timed:
            self._bar.update(now - self._last)
            self._last = now
        else:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def run_steps(
    prep: PreparedRun,
    *,
    time_each: bool,
    on_step: Callable[[int], None] | None = None,
    progress: bool = False,
    stop: StopSignals | None = None,
) -> tuple[int, list[float], bool]:
    """Step until the step count or the time is reached: (steps done, latencies, interrupted).

    ``time_each`` synchronises after every step to time it (per-request latency).
    Ctrl-C, or a signal ``stop`` handles (asked after each step), stops the loop and is
    reported, not raised.
    """
    cfg = prep.config
    steps = cfg.steps if cfg.steps is not None or cfg.seconds is not None else DEFAULT_STEPS
    deadline = None if cfg.seconds is None else time.perf_counter() + cfg.seconds
    bar = _Progress(progress, steps, cfg.seconds)
    latencies: list[float] = []
    done = 0
    interrupted = False
    step, sync = prep.step, prep.sync
    stoppable = stop.stoppable() if stop is not None else contextlib.nullcontext()
    check = stop.check if stop is not None else lambda: None
    try:
        with stoppable:
            while (steps is None or done < steps) and (deadline is None or
                                                        time.perf_counter() < deadline):
                t = time.perf_counter()
                step()
                if time_each:
                    sync()
                    latencies.append(time.perf_counter() - t)
                done += 1
                if on_step is not None:
                    on_step(done)
                bar.update(time.perf_counter())
                check()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    return done, latencies, interrupted


def measure(
    prep: PreparedRun,
    profiler: Profiler,
    on_step: Callable[[int], None] | None = None,
    on_begin: Callable[[], None] | None = None,
    stop: StopSignals | None = None,
) -> RunOutcome:
    """Run the measured steps inside one profiler window (``on_begin`` once it is open).

    With ``stop``, signals from here on only end the steps: the window is always closed.
    """
    dist.barrier()
    if stop is not None:
        stop.keep()
    profiler.begin_window("measure")
    try:
        if on_begin is not None:
            on_begin()
        done, latencies, interrupted = run_steps(
            prep, time_each=prep.config.mode == "infer", on_step=on_step,
            progress=prep.config.progress, stop=stop,
        )
    finally:
        # Even on an error the window is closed, so CodeCarbon's threads stop.
        m = profiler.end_window("measure")
    samples = done * prep.batch_size
    m = dataclasses.replace(
        m,
        samples=samples or None,
        tokens=(prep.tokens_per_step * done or None) if prep.tokens_per_step else None,
        steps=done or None,
        latencies_s=tuple(latencies),
        flops=prep.flops_per_step * done if prep.flops_per_step and done else None,
    )
    return RunOutcome(m, prep, interrupted)
