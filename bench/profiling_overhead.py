"""Profiling overhead: the same steps with and without a measurement window; prints the ratio.

    python bench/profiling_overhead.py                      # every workload, train and infer
    python bench/profiling_overhead.py --workload mlp --mode train --repeats 9

For each workload the model is built and warmed up once, then plain runs and profiled runs
alternate in ABBA order (so drift in a shared machine's load hits both alike). A profiled
run is what the ``profile`` command does around the steps: open a window (CodeCarbon tracker
start, device sync, counters), time each request in inference, close the window (CodeCarbon
stop and read). CodeCarbon's one-off hardware detection happens once, before any timing, as
in the CLI. The profiler's own costs are also measured directly (``overhead_budget``).
The ratio reported is the median over pairs of profiled time / plain time; the target on this
machine's CPU workloads is at most 1.02.
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.profiling.measure import Profiler, ProfilerConfig
from planner.profiling.runner import RunConfig, measure, prepare, run_steps
from planner.profiling.workloads import WORKLOAD_NAMES

TARGET = 1.02


def _steps_for(prep, target_s: float) -> int:
    """Steps that take about ``target_s`` seconds, from a half-second timed trial."""
    trial = replace(prep, config=replace(prep.config, steps=None, seconds=0.5))
    t = time.perf_counter()
    done, _, _ = run_steps(trial, time_each=False)
    prep.sync()
    per_step = (time.perf_counter() - t) / max(done, 1)
    return max(10, math.ceil(target_s / per_step))


def bench_one(workload: str, mode: str, size: str, repeats: int, target_s: float,
              profiler: Profiler, device: str = "cpu", precision: str | None = None) -> dict:
    """Median plain and profiled times and the median paired ratio for one workload."""
    prep = prepare(RunConfig(workload=workload, mode=mode, size=size, warmup_steps=3,
                             device=device, precision=precision))
    steps = _steps_for(prep, target_s)
    prep = replace(prep, config=replace(prep.config, steps=steps, seconds=None))
    plain_s, prof_s = [], []

    def plain() -> None:
        t = time.perf_counter()
        run_steps(prep, time_each=False)
        prep.sync()  # on a GPU, count the queued kernels as the profiled window does
        plain_s.append(time.perf_counter() - t)

    def profiled() -> None:
        t = time.perf_counter()
        measure(prep, profiler)  # window open + steps (+ per-request timing) + window close
        prof_s.append(time.perf_counter() - t)

    for i in range(repeats):  # ABBA order, so a drift in load does not favour either side
        for run in (plain, profiled) if i % 2 == 0 else (profiled, plain):
            run()
    ratios = [p / q for p, q in zip(prof_s, plain_s, strict=True)]
    return {"workload": workload, "mode": mode, "steps": steps,
            "plain_s": statistics.median(plain_s), "profiled_s": statistics.median(prof_s),
            "ratio": statistics.median(ratios), "ratio_of_min": min(prof_s) / min(plain_s)}


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def overhead_budget(profiler: Profiler, idle_s: float = 10.0, windows: int = 20) -> dict:
    """The profiler's own costs, measured directly (robust on a busy, shared machine).

    - per window: wall time of an empty begin_window + end_window pair (CodeCarbon start/stop,
      sync, counter reads), the cost paid once per measured run;
    - background: CPU seconds the process burns per second while a window is open and the
      main thread sleeps (CodeCarbon's monitor threads, the GPU poller where there is one),
      the most the profiler can steal from a workload on the same cores.
    """
    t = time.perf_counter()
    for i in range(windows):
        profiler.begin_window(f"empty{i}")
        profiler.end_window(f"empty{i}")
    per_window_s = (time.perf_counter() - t) / windows
    profiler.begin_window("idle")
    c0, t0 = _cpu_s(), time.perf_counter()
    time.sleep(idle_s)
    c1, t1 = _cpu_s(), time.perf_counter()
    profiler.end_window("idle")
    return {"per_window_s": per_window_s, "background_cpu_share": (c1 - c0) / (t1 - t0)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=WORKLOAD_NAMES, action="append",
                    help="workload(s) to run (default all)")
    ap.add_argument("--mode", choices=("train", "infer"), action="append",
                    help="mode(s) to run (default both)")
    ap.add_argument("--size", default="small")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--precision", default=None, help="default fp32 on cpu, bf16 on cuda")
    ap.add_argument("--repeats", type=int, default=5, help="pairs of runs (default 5)")
    ap.add_argument("--seconds", type=float, default=2.0,
                    help="about how long one run takes (default 2 s)")
    ap.add_argument("--country", default="USA")
    ap.add_argument("--idle-seconds", type=float, default=10.0,
                    help="length of the idle window that measures background cost")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads (default: torch's own choice)")
    args = ap.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    config = ProfilerConfig(device=args.device, gpus="auto", country=args.country)
    rows = []
    with Profiler(config) as profiler:  # CodeCarbon's hardware detection happens here, once
        budget = overhead_budget(profiler, idle_s=args.idle_seconds)
        print(f"profiler costs: {budget['per_window_s'] * 1e3:.1f} ms per window (open + "
              f"close); background threads use {budget['background_cpu_share'] * 100:.3f} % "
              f"of one core while a window is open", flush=True)
        print(f"  => bound for a {args.seconds:g} s run: "
              f"{1 + budget['per_window_s'] / args.seconds + budget['background_cpu_share']:.4f};"
              f" for a 60 s run: "
              f"{1 + budget['per_window_s'] / 60 + budget['background_cpu_share']:.4f}",
              flush=True)
        for w in args.workload or WORKLOAD_NAMES:
            for m in args.mode or ("train", "infer"):
                row = bench_one(w, m, args.size, args.repeats, args.seconds, profiler,
                                device=args.device, precision=args.precision)
                rows.append(row)
                print(f"{w:12s} {m:5s} {row['steps']:6d} steps  plain {row['plain_s']:7.3f} s  "
                      f"profiled {row['profiled_s']:7.3f} s  ratio {row['ratio']:.4f}  "
                      f"(min/min {row['ratio_of_min']:.4f})", flush=True)
    overall = math.exp(statistics.mean(math.log(r["ratio"]) for r in rows))
    worst = max(rows, key=lambda r: r["ratio"])
    import torch

    print(f"torch threads: {torch.get_num_threads()}; repeats: {args.repeats}")
    print(f"overall (geometric mean of ratios): {overall:.4f}; worst: {worst['workload']} "
          f"{worst['mode']} {worst['ratio']:.4f}; target <= {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
