"""From Measurements (one per rank) to a measurement Record with totals and provenance; saving it.

Every number becomes a :class:`~planner.model.records.Quantity` naming its method; figures
that were not measured stay ``None`` with a note, never a zero. Derived figures (throughput,
average power, achieved TFLOP/s, utilisation, CO2e) are measured only if all their inputs are.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from planner.errors import PlannerError
from planner.model.calibration import match_profile
from planner.model.hardware import HardwareProfile, load_profiles
from planner.model.records import (
    GpuResult,
    Machine,
    Quantity,
    RankResult,
    Record,
    Results,
    Settings,
    Status,
    quantity,
    write_record,
)
from planner.model.units import G_PER_KG, KWH_TO_J
from planner.profiling.machine import describe_machine
from planner.profiling.measure import Profiler
from planner.profiling.values import GpuWindow, Measurement

#: A workload name becomes part of the record's file name: no path separators, no dot first.
_WORKLOAD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


def _sum(values: Sequence[float | None]) -> float | None:
    """Sum, or None if the list is empty or any value is unknown (a partial sum would lie)."""
    if not values or any(v is None for v in values):
        return None
    return float(sum(values))  # type: ignore[arg-type]


def _gpu_result(g: GpuWindow, rank: int | None, wall_s: float) -> GpuResult:
    p = g.polled
    poll = g.methods.sensors
    rate = f"{p.n_samples} samples at {p.rate_hz:.0f} Hz" if p.rate_hz else f"{p.n_samples} samples"
    return GpuResult(
        index=g.info.index,
        rank=rank,
        name=g.info.name,
        energy_j=quantity(g.energy_j, "J", g.energy_method or "derived", True, g.note),
        energy_polled_j=quantity(p.energy_j, "J", g.methods.polling, True, rate)
        if p.energy_j and p.energy_j > 0 else None,
        avg_power_w=quantity(
            None if g.energy_j is None else g.energy_j / wall_s, "W", "derived", True,
            "energy_j over the window's wall time",
        ),
        peak_power_w=quantity(p.peak_power_w, "W", poll, True, rate),
        kernel_active_pct=quantity(p.kernel_active_pct, "%", poll, True),
        memory_used_peak_bytes=quantity(p.memory_used_peak_bytes, "B", poll, True),
        memory_allocated_peak_bytes=quantity(
            g.memory_allocated_peak_bytes, "B", "torch_cuda_allocator", True
        ),
        sm_clock_mhz=quantity(p.sm_clock_mhz, "MHz", poll, True, "mean over the window"),
        memory_clock_mhz=quantity(p.memory_clock_mhz, "MHz", poll, True, "mean over the window"),
        temperature_max_c=quantity(p.temperature_max_c, "degC", poll, True),
        power_samples=p.n_samples,
    )


def build_record(
    measurements: Sequence[Measurement],
    *,
    machine: Machine | None = None,
    settings: Settings | None = None,
    profiler: Profiler | None = None,
    status: Status = "complete",
    hostnames: Sequence[str] | None = None,
    profiles: Sequence[HardwareProfile] | None = None,
    exit_code: int | None = None,
    error: str | None = None,
    notes: Sequence[str] = (),
    run_id: str | None = None,
    **setting_fields: Any,
) -> Record:
    """Assemble one record from the measurements of every rank (rank 0 first).

    ``settings`` may be given whole, or as keyword fields (workload=..., mode=..., ...); the
    device, country and tracking mode then default to the profiler's. PlannerError for a
    workload name that could not be part of a file name.
    """
    if not measurements:
        raise ValueError("build_record needs at least one measurement")
    if machine is None:
        machine = describe_machine(profiler.backend if profiler is not None else None)
    if settings is None:
        if profiler is not None:
            cfg, site = profiler.config, profiler.site
            setting_fields.setdefault("device", cfg.device)
            setting_fields.setdefault("country_iso_code", site.country_iso_code)
            setting_fields.setdefault("region", site.region)
            setting_fields.setdefault("cpu_tracking_mode", cfg.cpu_tracking_mode)
        setting_fields.setdefault("device", "cpu")
        setting_fields.setdefault("precision", "fp32")
        setting_fields.setdefault("world_size", len(measurements))
        settings = Settings(**setting_fields)
    check_workload_name(settings.workload)
    if profiles is None:
        profiles = load_profiles().profiles
    hostnames = list(hostnames) if hostnames else [machine.hostname] * len(measurements)
    multi = len(measurements) > 1
    notes = list(notes)
    with contextlib.suppress(OSError, AttributeError):  # not on Windows
        load = os.getloadavg()[0]
        # Other processes on the same cores slow a run down; say how busy the host was.
        notes.append(f"host load average over the last minute at the end: {load:.2f} "
                     f"({machine.cpu_logical_cores} logical cores)")

    all_gpus = [
        (r if multi else None, g, m.wall_time_s)
        for r, m in enumerate(measurements)
        for g in m.gpus
    ]
    on_gpu = settings.device == "cuda" or bool(all_gpus)
    device_name = all_gpus[0][1].info.name if all_gpus else machine.cpu_model
    profile = match_profile(device_name, profiles, kind="gpu" if all_gpus else "cpu")

    results = _results(measurements, settings, hostnames, all_gpus, on_gpu, profile, notes)
    started = min(m.started_at for m in measurements)
    ended = max(m.ended_at for m in measurements)
    return Record(
        run_id=run_id or uuid.uuid4().hex,
        status=status,
        started_at=started,
        ended_at=max(ended, started),
        machine=machine,
        settings=settings,
        results=results,
        device_name=device_name,
        hardware_id=profile.id if profile else None,
        exit_code=exit_code,
        error=error,
        notes=notes,
    )


def check_workload_name(name: str | None) -> None:
    """PlannerError unless ``name`` is a plain name (it becomes part of the record's file name)."""
    if name is not None and not _WORKLOAD_NAME.fullmatch(name):
        shown = name if len(name) <= 40 else name[:40] + "..."
        raise PlannerError(
            f"workload name {shown!r}: use up to 64 letters, digits, '.', '_', '+' or '-', "
            "starting with a letter or digit (it becomes part of the record's file name)"
        )


def save_record(record: Record, folder: Path | str = "measurements") -> Path:
    """Write ``record`` atomically into ``folder``; return its path.

    PlannerError in one line where the folder cannot take it (unwritable, full disk, over
    quota); the atomic writer removes its temporary file, so nothing partial is left behind.
    """
    try:
        return write_record(record, folder)
    except OSError as exc:  # the writer translates its own; anything else it let through
        raise PlannerError(f"{folder}: the record could not be written "
                           f"({exc.strerror or exc})") from None
    except PlannerError as exc:
        full = "No space left" in str(exc) or "quota" in str(exc).lower()
        raise PlannerError(f"{exc}; no partial record was left behind; "
                           f"{'free space or ' if full else ''}choose another folder with --out"
                           ) from None


def _host_sum(
    measurements: Sequence[Measurement], hostnames: Sequence[str], attr: str, per_host: bool
) -> float | None:
    """Sum a host figure over ranks; in machine mode each host counts once (no double count)."""
    seen: set[str] = set()
    values: list[float | None] = []
    for m, host in zip(measurements, hostnames, strict=True):
        if per_host and host in seen:
            continue
        seen.add(host)
        values.append(None if m.host is None else getattr(m.host, attr))
    return _sum(values)


def _results(
    measurements: Sequence[Measurement],
    settings: Settings,
    hostnames: Sequence[str],
    all_gpus: list[tuple[int | None, GpuWindow, float]],
    on_gpu: bool,
    profile: HardwareProfile | None,
    notes: list[str],
) -> Results:
    m0 = measurements[0]
    wall = max(m.wall_time_s for m in measurements)
    samples = _sum([m.samples for m in measurements])
    tokens = _sum([m.tokens for m in measurements])
    flops = _sum([m.flops for m in measurements])
    lat = np.asarray([x for m in measurements for x in m.latencies_s], dtype=float)

    # GPU energy: the counter or polling per device; the total only if every device has one.
    gpu_energy = _sum([g.energy_j for _, g, _ in all_gpus]) if all_gpus else None
    methods = {g.energy_method for _, g, _ in all_gpus}
    gpu_method = methods.pop() if len(methods) == 1 else "derived"
    if not all_gpus:
        notes.append("GPU energy not measured: no GPU was used or visible to NVML")
    elif gpu_energy is None:
        notes.append("GPU energy not measured on at least one GPU (see results.gpus)")

    per_host = settings.cpu_tracking_mode == "machine"
    cpu_e = _host_sum(measurements, hostnames, "cpu_energy_j", per_host)
    ram_e = _host_sum(measurements, hostnames, "ram_energy_j", per_host)
    h0 = m0.host
    cpu_method = h0.cpu_method if h0 and h0.cpu_method else "derived"
    ram_method = h0.ram_method if h0 and h0.ram_method else "derived"
    cpu_meas = all(m.host is not None and m.host.cpu_measured for m in measurements)
    ram_meas = all(m.host is not None and m.host.ram_measured for m in measurements)
    if h0 is None:
        notes.append("CPU and RAM energy not measured: CodeCarbon was off")
    elif h0.note:
        notes.append(h0.note)
    if cpu_e is not None and not cpu_meas:
        notes.append("CPU energy is CodeCarbon's estimate (no RAPL counters readable here)")

    # CodeCarbon's tracker spans the window plus its own start and stop (milliseconds).
    host_s = max((m.host.duration_s or wall) if m.host else wall for m in measurements)

    parts = [("CPU", cpu_e, cpu_meas), ("RAM", ram_e, ram_meas)]
    if on_gpu:
        parts.insert(0, ("GPU", gpu_energy, True))
    total = _sum([e for _, e, _ in parts])
    total_meas = all(ok for _, _, ok in parts)
    what = " + ".join(n for n, _, _ in parts)

    intensity = h0.carbon_intensity_g_per_kwh if h0 else None
    co2 = None if total is None or intensity is None else total / KWH_TO_J * intensity / G_PER_KG

    achieved = None if flops is None or wall <= 0 else flops / wall / 1e12
    peak = profile.tflops(settings.precision) if profile else None
    n_dev = len(all_gpus) if all_gpus else 1
    util = None if achieved is None or not peak else achieved / (peak * n_dev)
    util_note = (
        f"against {profile.id} dense {settings.precision} peak {peak:g} TFLOP/s x {n_dev}"
        if util is not None and profile
        else None
    )
    if flops is not None and util is None:
        notes.append(
            "utilisation not computed: no hardware profile matches this device"
            if profile is None
            else f"utilisation not computed: {profile.id} has no {settings.precision} peak"
        )

    def q_lat(p: float) -> Quantity | None:
        return quantity(float(np.percentile(lat, p)), "s", "wall_clock", True,
                        f"per request, {len(lat)} requests") if len(lat) else None

    return Results(
        wall_time_s=quantity(wall, "s", "wall_clock", True,
                             "slowest rank" if len(measurements) > 1 else None),
        steps=quantity(max((m.steps or 0) for m in measurements) or None, "steps", "counter",
                       True, "per rank" if len(measurements) > 1 else None),
        samples=quantity(samples, "samples", "counter", True),
        tokens=quantity(tokens, "tokens", "counter", True),
        throughput_samples_per_s=quantity(
            None if samples is None else samples / wall, "samples/s", "derived", True,
            "samples over wall time"),
        tokens_per_s=quantity(None if tokens is None else tokens / wall, "tokens/s", "derived",
                              True, "tokens over wall time"),
        latency_mean_s=quantity(float(lat.mean()) if len(lat) else None, "s", "wall_clock", True),
        latency_p50_s=q_lat(50),
        latency_p95_s=q_lat(95),
        latency_p99_s=q_lat(99),
        flops=quantity(flops, "FLOP", "flop_counter", True,
                       "FLOPs of one step counted by torch, times the steps"),
        achieved_tflops=quantity(achieved, "TFLOP/s", "derived", True, "flops over wall time"),
        utilisation=quantity(util, "fraction", "derived", True, util_note),
        gpu_energy_j=quantity(gpu_energy, "J", gpu_method, True,
                              f"sum over {len(all_gpus)} GPU(s)" if len(all_gpus) > 1 else None),
        gpu_avg_power_w=quantity(None if gpu_energy is None else gpu_energy / wall, "W",
                                 "derived", True, "gpu_energy_j over wall time"),
        cpu_energy_j=quantity(cpu_e, "J", cpu_method, cpu_meas),
        cpu_avg_power_w=quantity(None if cpu_e is None else cpu_e / host_s, "W", "derived",
                                 cpu_meas, "cpu_energy_j over CodeCarbon's tracked time"),
        ram_energy_j=quantity(ram_e, "J", ram_method, ram_meas),
        ram_avg_power_w=quantity(None if ram_e is None else ram_e / host_s, "W", "derived",
                                 ram_meas, "ram_energy_j over CodeCarbon's tracked time"),
        total_energy_j=quantity(total, "J", "derived", total_meas, what),
        co2e_kg=quantity(co2, "kg", "codecarbon_grid_intensity", False,
                         f"total_energy_j times the grid intensity of {settings.country_iso_code}"),
        carbon_intensity_g_per_kwh=quantity(intensity, "g/kWh", "codecarbon_grid_intensity",
                                            False, settings.region or settings.country_iso_code),
        peak_rss_bytes=quantity(max((m.peak_rss_bytes or 0) for m in measurements) or None,
                                "B", "getrusage", True, "process peak since it started"),
        gpus=[_gpu_result(g, r, w) for r, g, w in all_gpus],
        ranks=[
            _rank_result(r, m, h, on_gpu)
            for r, (m, h) in enumerate(zip(measurements, hostnames, strict=True))
        ]
        if len(measurements) > 1
        else [],
    )


def _rank_result(rank: int, m: Measurement, host: str, on_gpu: bool) -> RankResult:
    h = m.host
    parts = [h.cpu_energy_j if h else None, h.ram_energy_j if h else None]
    total = _sum([m.gpu_energy_j, *parts] if on_gpu else parts)
    intensity = h.carbon_intensity_g_per_kwh if h else None
    co2 = None if total is None or intensity is None else total / KWH_TO_J * intensity / G_PER_KG
    return RankResult(
        rank=rank,
        hostname=host,
        wall_time_s=quantity(m.wall_time_s, "s", "wall_clock", True),
        samples=quantity(m.samples, "samples", "counter", True),
        tokens=quantity(m.tokens, "tokens", "counter", True),
        throughput_samples_per_s=quantity(
            None if m.samples is None else m.samples / m.wall_time_s, "samples/s", "derived", True
        ),
        flops=quantity(m.flops, "FLOP", "flop_counter", True),
        gpu_energy_j=quantity(m.gpu_energy_j, "J", (m.gpus[0].energy_method if m.gpus else None)
                              or "derived", True),
        cpu_energy_j=quantity(h.cpu_energy_j if h else None, "J",
                              (h.cpu_method if h else None) or "derived",
                              bool(h and h.cpu_measured)),
        ram_energy_j=quantity(h.ram_energy_j if h else None, "J",
                              (h.ram_method if h else None) or "derived",
                              bool(h and h.ram_measured)),
        co2e_kg=quantity(co2, "kg", "codecarbon_grid_intensity", False),
    )

