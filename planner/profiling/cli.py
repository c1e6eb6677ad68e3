"""The ``profile`` sub-command: measure a reference workload or a whole command, write a record.

    python -m planner profile --workload mlp --mode train --device cpu --seconds 10
    python -m planner profile --cmd "python train.py" --country FRA
    torchrun --nproc_per_node 2 -m planner profile --workload mlp --mode train --steps 50

torch is imported only when the command runs, so ``python -m planner --help`` stays fast.
Options are checked first (``options.py``). SIGINT, SIGTERM and SIGHUP stop a run and keep
its record, marked incomplete; the exit code is then 128 + the signal (``signals.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import signal
import sys
from pathlib import Path

from planner.errors import PlannerError
from planner.model.records import Record, check_writable
from planner.model.units import G_PER_KG
from planner.profiling.options import RANGES, WORKLOADS, check_options, one_line_error
from planner.profiling.signals import GRACE_S, Stopped, StopSignals, describe


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``profile`` to the CLI."""
    p = subparsers.add_parser(
        "profile",
        help="measure a reference workload or a command; write a record to measurements/",
        description="Measure time, energy and CO2e of a reference workload (--workload) or "
        "of any command (--cmd); write one JSON record per run. Ctrl-C, SIGTERM or SIGHUP "
        "stops the run and keeps what was measured (exit code 128 + the signal).",
    )
    p.error = one_line_error(p)  # type: ignore[method-assign]
    r = {k: (f"{lo:g}", f"{hi:g}") for k, (lo, hi) in RANGES.items()}
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--workload", help=f"reference workload: {', '.join(WORKLOADS)}")
    what.add_argument("--cmd", help='measure a whole command, e.g. "python train.py"')
    what.add_argument("--report", action="store_true",
                      help="print the calibration and predicted-versus-measured tables of the "
                      "records in --out, measuring nothing")
    p.add_argument("--mode", default="train", help="train or infer (default train)")
    p.add_argument("--size", default="small", help="small, medium or large (default small)")
    p.add_argument("--batch", type=int, default=None,
                   help=f"batch size, {r['batch'][0]} to {r['batch'][1]} (default per workload)")
    p.add_argument("--steps", type=int, default=None,
                   help=f"measured steps, {r['steps'][0]} to {r['steps'][1]} (default 20 unless "
                   "--seconds is given)")
    p.add_argument("--seconds", type=float, default=None,
                   help=f"measure for this long instead, above 0 and at most {r['seconds'][1]} s")
    p.add_argument("--warmup", type=int, default=3,
                   help=f"unmeasured warm-up steps, {r['warmup'][0]} to {r['warmup'][1]} "
                   "(default 3)")
    p.add_argument("--precision", default=None,
                   help="fp32, tf32, bf16 or fp16 (default fp32 on cpu, bf16 on cuda)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--threads", type=int, default=None,
                   help=f"torch CPU threads, {r['threads'][0]} to {r['threads'][1]} (default: "
                   "torch's choice, one per core)")
    p.add_argument("--country", default="USA",
                   help="ISO 3166 alpha-3 code of the electricity grid (default USA)")
    p.add_argument("--region", default=None, help="US state, for a regional grid intensity")
    p.add_argument("--cpu-tracking", default=None, choices=("process", "machine"),
                   help="CodeCarbon tracking mode (default process; machine for --cmd)")
    p.add_argument("--out", type=Path, default=Path("measurements"),
                   help="output folder (default measurements/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_profile)


def run_profile(args: argparse.Namespace) -> int:
    """Entry point of ``profile``: 0, 1 (command failed) or 128 + signal (stopped by one)."""
    from planner.profiling.host import resolve_site

    if args.report:
        return _report(args.out)
    check_options(args)
    check_writable(args.out)
    site = resolve_site(args.country, args.region)
    with StopSignals(grace_s=GRACE_S) as stop:
        try:
            if args.cmd is not None:
                code = _run_command(args, site, stop)
            else:
                code = _run_workload(args, site, stop)
        except Stopped as exc:  # before anything was measured
            stop.say_stopped_before_measuring(exc.signum)
            return 128 + exc.signum
    return stop.exit_code(code)


def _stopped_by(stop: StopSignals, what: str) -> str:
    """Why the run was cut short, for the record's ``error`` (a peer rank's Ctrl-C: SIGINT)."""
    first = stop.first if stop.first is not None else signal.SIGINT
    verb = "interrupted by" if first == signal.SIGINT else "stopped by"
    return f"{verb} {describe(first)}{what}"


def _run_command(args: argparse.Namespace, site, stop: StopSignals) -> int:
    from planner.model.records import Settings
    from planner.profiling.command import measure_command, split_command
    from planner.profiling.measure import Profiler, ProfilerConfig
    from planner.profiling.recording import build_record, save_record

    split_command(args.cmd)  # a missing program is an input error: fail before measuring
    stop.check()
    tracking = args.cpu_tracking or "machine"
    config = ProfilerConfig(device="cpu", gpus="all", country=site.country_iso_code,
                            region=site.region, cpu_tracking_mode=tracking)
    with Profiler(config) as prof:
        stop.check()
        outcome = measure_command(args.cmd, prof, stop)
        device = "cuda" if prof.gpu_infos else "cpu"
        settings = Settings(
            precision="unknown", device=device, country_iso_code=site.country_iso_code,
            region=site.region, cpu_tracking_mode=tracking, command=args.cmd,
        )
        status = "incomplete" if outcome.interrupted else (
            "complete" if outcome.exit_code == 0 else "failed")
        error = (_stopped_by(stop, ", forwarded to the command") if outcome.interrupted
                 else None if outcome.exit_code == 0
                 else f"the command exited with code {outcome.exit_code}")
        record = build_record([outcome.measurement], profiler=prof, settings=settings,
                              status=status, exit_code=outcome.exit_code, error=error)
    path = save_record(record, args.out)
    _summary(record, path)
    if outcome.interrupted:
        return 130
    return 0 if outcome.exit_code == 0 else 1


def _run_workload(args: argparse.Namespace, site, stop: StopSignals) -> int:
    from planner.profiling import distributed as dist
    from planner.profiling.workloads import get_workload

    get_workload(args.workload)  # an unknown name fails before torch work starts
    if args.device not in ("cpu", "cuda"):
        raise PlannerError(f"--device {args.device!r}: choose cpu or cuda")
    stop.check()  # torch is imported now: a signal during the import stops here
    distributed = dist.init(args.device)
    try:
        record = _measure_workload(args, site, stop)
        if distributed:
            dist.barrier()  # leave together: tearing down gloo while a peer talks can abort
    finally:
        if distributed:
            # The model (and its DDP reducer) died with _measure_workload's frame; collect it
            # before the process group goes, so no gloo work outlives the group.
            gc.collect()
            dist.finish()
    if record is None:  # ranks other than 0 write nothing
        return 0
    from planner.profiling.recording import save_record

    path = save_record(record, args.out)
    _summary(record, path)
    return 130 if record.status == "incomplete" else 0


def _measure_workload(args: argparse.Namespace, site, stop: StopSignals) -> Record | None:
    """Build, warm up and measure the workload; rank 0 returns the record, others None."""
    from planner.profiling import distributed as dist
    from planner.profiling.measure import Profiler, ProfilerConfig
    from planner.profiling.runner import DEFAULT_STEPS, RunConfig, measure, prepare
    from planner.profiling.torch_support import is_oom

    cfg = RunConfig(
        workload=args.workload, mode=args.mode, size=args.size, batch_size=args.batch,
        precision=args.precision, device=args.device, steps=args.steps, seconds=args.seconds,
        warmup_steps=args.warmup, progress=not args.no_progress and sys.stderr.isatty(),
        threads=args.threads,
    )
    stop.check()
    prep = prepare(cfg, stop)  # on CUDA this also makes the rank's GPU torch's current device
    # gpus="auto": on CUDA the current device only (each torchrun rank measures its own GPU).
    config = ProfilerConfig(
        device=args.device, gpus="auto", country=site.country_iso_code, region=site.region,
        cpu_tracking_mode=args.cpu_tracking or "process",
    )
    how_long = (f"{args.seconds:g} s" if args.seconds is not None and args.steps is None
                else f"{args.steps or DEFAULT_STEPS} steps")

    def announce() -> None:
        if dist.rank() == 0:
            print(f"measuring {how_long} of {args.workload} {args.mode} on "
                  f"{prep.device.type} ({prep.precision}, batch {prep.batch_size}); "
                  "Ctrl-C stops and keeps what was measured", file=sys.stderr, flush=True)

    with Profiler(config) as prof:
        stop.check()
        try:
            outcome = measure(prep, prof, on_begin=announce, stop=stop)
        except Exception as exc:
            if is_oom(exc):
                raise PlannerError(
                    f"--batch {prep.batch_size}: ran out of {prep.device.type} memory "
                    "while measuring; use a smaller --batch or --size") from None
            raise
        gathered = dist.gather((outcome.measurement, dist.hostname(), outcome.interrupted))
        if dist.rank() != 0:
            return None
        return _workload_record(args, site, prep, prof, gathered, stop)


def _workload_record(args, site, prep, prof, gathered, stop: StopSignals) -> Record:
    import torch

    from planner.model.records import Settings
    from planner.profiling.recording import build_record

    measurements = [g[0] for g in gathered]
    interrupted = any(g[2] for g in gathered)
    settings = Settings(
        workload=args.workload, mode=args.mode, size=args.size, batch_size=prep.batch_size,
        precision=prep.precision, device=prep.device.type, steps=args.steps,
        seconds=args.seconds, warmup_steps=args.warmup, country_iso_code=site.country_iso_code,
        region=site.region, cpu_tracking_mode=prof.config.cpu_tracking_mode,
        world_size=len(measurements), workload_params=prep.params,
        torch_threads=torch.get_num_threads(),
    )
    notes = [f"warm-up: {args.warmup} steps plus one FLOP-counting step, not measured",
             "synthetic data made once on the device; data loading is not measured"]
    if args.workload == "transformer" and args.mode == "infer":
        notes.append("inference is a forward pass over the whole sequence (prefill) per request")
    return build_record(
        measurements, profiler=prof, settings=settings,
        status="incomplete" if interrupted else "complete",
        hostnames=[g[1] for g in gathered],
        error=_stopped_by(stop, "; the figures cover the steps done") if interrupted else None,
        notes=notes,
    )


def _report(folder: Path) -> int:
    """Print the calibration table and the model's error on every record in ``folder``."""
    import pandas as pd

    from planner.model.calibration import calibrate, prediction_table
    from planner.model.hardware import load_profiles
    from planner.model.records import load_records

    records, errors = load_records(folder)
    for e in errors:
        print(f"warning: skipped a bad record: {e}", file=sys.stderr)
    if not records:
        raise PlannerError(f"{folder}: no measurement records to report on")
    profiles = load_profiles().profiles
    with pd.option_context("display.width", 200, "display.max_columns", 30,
                           "display.float_format", "{:.4g}".format):
        cal = calibrate(records, profiles)
        print(f"Calibration ({len(cal)} rows from {len(records)} records)")
        print(cal.to_string(index=False) if len(cal) else "  none: no complete record with a "
              "FLOP count matches a hardware profile")
        table = prediction_table(records, profiles)
        cols = ["started_at", "workload", "mode", "status", "hardware_id", "measured_time_s",
                "predicted_time_s", "time_error", "measured_energy_j", "predicted_energy_j",
                "energy_error", "achieved_utilisation", "note"]
        table = table.assign(started_at=table["started_at"].dt.strftime("%Y-%m-%d %H:%M"))
        print(f"\nPredicted (uncalibrated model) versus measured, {len(table)} records")
        print(table[cols].to_string(index=False))
    return 0


def _fmt(q, scale: float = 1.0, unit: str | None = None, digits: int = 3) -> str:
    if q is None:
        return "not measured"
    flag = "" if q.measured else " (estimate)"
    return f"{q.value * scale:.{digits}g} {unit or q.unit}{flag} [{q.method}]"


def _summary(record: Record, path: Path) -> None:
    """What the record holds, on stdout; nothing where stdout is gone (a hung-up terminal)."""
    with contextlib.suppress(OSError, ValueError):
        print(_summary_text(record, path), flush=True)


def _summary_text(record: Record, path: Path) -> str:
    r = record.results
    lines = [
        f"wrote {path} ({record.status})",
        f"  device          {record.device_name}"
        + (f" -> profile {record.hardware_id}" if record.hardware_id else " (no matching profile)"),
        f"  wall time       {_fmt(r.wall_time_s)}",
    ]
    if r.throughput_samples_per_s is not None:
        lines.append(f"  throughput      {_fmt(r.throughput_samples_per_s)}")
    if r.tokens_per_s is not None:
        lines.append(f"  tokens/s        {_fmt(r.tokens_per_s)}")
    if r.latency_p50_s is not None:
        lines.append(f"  latency p50/p99 {r.latency_p50_s.value * 1e3:.3g} / "
                     f"{r.latency_p99_s.value * 1e3:.3g} ms" if r.latency_p99_s else "")
    if r.achieved_tflops is not None:
        lines.append(f"  achieved        {_fmt(r.achieved_tflops)}")
    lines += [
        f"  GPU energy      {_fmt(r.gpu_energy_j)}",
        f"  CPU energy      {_fmt(r.cpu_energy_j)}",
        f"  RAM energy      {_fmt(r.ram_energy_j)}",
        f"  CO2e            {_fmt(r.co2e_kg, G_PER_KG, 'g')}",
    ]
    return "\n".join(line for line in lines if line)
