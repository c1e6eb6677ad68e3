"""Everything issue 14 needs from a lent NVIDIA GPU machine, in one run; records + summary in $OUT.

    python bench/gpu_records.py --dry-run                 # here: the plan, checks, no GPU needed
    python bench/gpu_records.py --fetch-wheels .whl       # here: wheels the device image lacks
    python3 bench/gpu_records.py --out "$OUT"             # there, on the device machine
    python bench/gpu_records.py --device cpu --sizes small --workloads mlp --seconds 0.5 \
        --out /tmp/rehearsal                              # here: every step, on the CPU

On the device machine (its image has torch 2.11, nvidia-ml-py, numpy, pandas; not pydantic
or CodeCarbon), the one ``run`` call is::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 \
      && python3 bench/gpu_records.py --out "$OUT" --budget-s 480 2>&1 | tee "$OUT/log.txt"

with ``carry: [".whl"]`` and ``timeout_s`` about 570. Steps, in priority order, each skipped
with its reason once the budget is spent, the summary rewritten after each:

1. the machine: nvidia-smi, torch and CUDA versions, bf16/fp8 support, what NVML reads;
2. the GPU-marked tests (``pytest -m gpu tests/profiling/test_gpu.py``);
3. the profiler on every reference workload, train and infer, at two sizes, in bf16 (and fp8
   where the GPU, torch and the profiler support it), one GPU; under torchrun where the
   machine has several GPUs;
4. counter against polling: every record keeps both (``energy_j``, ``energy_polled_j``);
5. overhead: profiled / unprofiled time of the same steps in the same process
   (``bench/profiling_overhead.py``'s ABBA pairs, on CUDA);
6. calibration: ``profile --report`` and the leave-one-out error of the calibrated model.

What comes back (at most 8 files, the device tool's limit): ``summary.md``, ``summary.json``,
``records.tar.gz`` (the JSON records, for ``measurements/``), ``pytest-gpu.txt``,
``env.txt``, ``log.txt``. Nothing here invents a figure: a step that cannot run says why.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.profiling.options import WORKLOADS  # noqa: E402 - after the path is set

MODES = ("train", "infer")
SIZES = ("medium", "large")
PRECISIONS = ("bf16", "fp8")
#: Wheels the device image lacks (KINDS.md's package list), with what they need.
WHEELS = (
    "pydantic==2.13.4", "pydantic-core==2.46.4", "annotated-types==0.7.0",
    "typing-inspection==0.4.2", "codecarbon==3.3.2", "arrow==1.4.0", "authlib==1.9.10",
    "joserfc==1.8.0", "cryptography==48.0.0", "cffi", "pycparser", "pycountry==26.2.16",
    "questionary==2.1.1", "prompt-toolkit==3.0.52", "wcwidth", "rapidfuzz==3.14.6", "tzdata",
)
OUT_FILES = ("summary.md", "summary.json", "records.tar.gz", "pytest-gpu.txt", "env.txt",
             "log.txt")


def plan(sizes: tuple[str, ...], seconds: float, precisions: tuple[str, ...],
         workloads: tuple[str, ...] = WORKLOADS, device: str = "cuda") -> list[dict]:
    """The steps, in order, with a rough cost each (s) so the budget can be checked ahead."""
    runs = [dict(workload=w, mode=m, size=s, precision=p)
            for p in precisions for s in sizes for w in workloads for m in MODES]
    return [
        {"step": "env", "cost_s": 10, "what": "nvidia-smi, torch/CUDA versions, NVML backend"},
        {"step": "pytest-gpu", "cost_s": 90,
         "what": "python -m pytest -q -m gpu tests/profiling/test_gpu.py"},
        *({"step": "record", "cost_s": seconds + 6, **r,
           "what": (f"profile --workload {r['workload']} --mode {r['mode']} --size {r['size']} "
                    f"--device {device} --precision {r['precision']} --seconds {seconds:g}")}
          for r in runs),
        {"step": "torchrun", "cost_s": 40,
         "what": "torchrun --nproc_per_node N profile --workload transformer --steps 100 "
                 "(only with several GPUs)"},
        {"step": "overhead", "cost_s": 60,
         "what": "ABBA profiled/plain pairs: mlp train, transformer infer, medium, CUDA"},
        {"step": "report", "cost_s": 10,
         "what": "profile --report; leave-one-out calibrated error; counter vs polling"},
    ]


# -- step helpers ----------------------------------------------------------------------------
def _sh(cmd: list[str], timeout_s: float) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                              check=False, cwd=ROOT)
        return f"$ {' '.join(cmd)}\n{done.stdout}{done.stderr}(exit {done.returncode})\n"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"$ {' '.join(cmd)}\n{type(exc).__name__}: {exc}\n"


def profiler_precisions(device: str) -> tuple[str, ...]:
    """bf16 always; fp8 only once the profiler has an fp8 path (torch_support.PRECISIONS)."""
    from planner.profiling.torch_support import PRECISIONS as TORCH_PRECISIONS

    return tuple(p for p in PRECISIONS if p in TORCH_PRECISIONS[device])


def env_step(out: Path) -> dict:
    """What the machine is; whether bf16 and fp8 run; what the NVML backend reads."""
    import torch

    from planner.profiling.accelerators import open_backend
    from planner.profiling.torch_support import PRECISIONS as TORCH_PRECISIONS

    text = _sh(["nvidia-smi"], 30) + _sh(["nvidia-smi", "-q", "-d", "POWER,CLOCK"], 30)
    cap = torch.cuda.get_device_capability() if torch.cuda.is_available() else None
    backend = open_backend()
    gpus = [{"index": i, "name": backend.info(i).name,
             "energy_counter": backend.supports_energy_counter(i),
             "power": backend.supports_power(i)} for i in backend.indices]
    backend.close()
    facts = {
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "device_count": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "capability": list(cap) if cap else None,
        "bf16": bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported()),
        "fp8_hardware": bool(cap and tuple(cap) >= (8, 9) and hasattr(torch, "float8_e4m3fn")),
        "fp8_in_profiler": "fp8" in TORCH_PRECISIONS["cuda"],
        "backend": gpus,
    }
    (out / "env.txt").write_text(text + "\n" + json.dumps(facts, indent=2) + "\n")
    return facts


def pytest_step(out: Path, timeout_s: float) -> dict:
    text = _sh([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider",
                "tests/profiling/test_gpu.py"], timeout_s)
    (out / "pytest-gpu.txt").write_text(text)
    last = [line for line in text.splitlines() if line.strip()][-2:]
    return {"ok": "(exit 0)" in text, "tail": last}


def record_step(run: dict, folder: Path, seconds: float, device: str) -> dict:
    """One profile run in this process (torch and CodeCarbon stay loaded between runs)."""
    from planner.cli import main

    args = ["profile", "--workload", run["workload"], "--mode", run["mode"], "--size",
            run["size"], "--device", device, "--precision", run["precision"], "--seconds",
            f"{seconds:g}", "--out", str(folder), "--no-progress"]
    err = io.StringIO()
    before = set(folder.glob("*.json"))
    with contextlib.redirect_stderr(err):
        code = main(args)
    new = sorted(set(folder.glob("*.json")) - before)
    return {**run, "exit": code, "file": new[0].name if new else None,
            "message": err.getvalue().strip().splitlines()[-1:] if code else []}


def torchrun_step(folder: Path, n: int, timeout_s: float) -> dict:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           str(n), "-m", "planner", "profile", "--workload", "transformer", "--size", "medium",
           "--device", "cuda", "--steps", "100", "--out", str(folder), "--no-progress"]
    return {"log": _sh(cmd, timeout_s)[-1500:]}


def overhead_step(device: str, size: str, repeats: int, target_s: float) -> list[dict]:
    import importlib.util

    from planner.profiling.measure import Profiler, ProfilerConfig

    spec = importlib.util.spec_from_file_location("profiling_overhead",
                                                  ROOT / "bench" / "profiling_overhead.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = []
    with Profiler(ProfilerConfig(device=device, gpus="auto")) as prof:
        for workload, mode in (("mlp", "train"), ("transformer", "infer")):
            rows.append(bench.bench_one(workload, mode, size, repeats, target_s, prof,
                                        device=device, precision="bf16"))
    return rows


def leave_one_out(records: list, profiles: list) -> list[dict]:
    """Predicted-vs-measured error per record: uncalibrated, and calibrated without it.

    Calibrated on every other complete record of the same (profile, precision, mode): time =
    measured time x achieved utilisation / calibrated utilisation (the same FLOPs over the
    same peak); device energy = calibrated busy power x devices x that time.
    """
    from planner.model.calibration import calibrate, prediction_table

    table = prediction_table(records, profiles)
    rows = []
    for _, p in table.iterrows():
        others = [r for r in records if r.run_id != p["run_id"]]
        cal = calibrate(others, profiles) if others else None
        hit = (cal[(cal["hardware_id"] == p["hardware_id"]) & (cal["mode"] == p["mode"])
                   & (cal["precision"] == p["precision"])] if cal is not None else None)
        u = float(hit["utilisation"].iloc[0]) if hit is not None and len(hit) else math.nan
        w = float(hit["busy_power_w"].iloc[0]) if hit is not None and len(hit) else math.nan
        t_cal = p["measured_time_s"] * p["achieved_utilisation"] / u if u > 0 else math.nan
        e_cal = w * p["n_devices"] * t_cal
        rows.append({
            "run_id": p["run_id"][:8], "workload": p["workload"], "mode": p["mode"],
            "size": p["size"], "precision": p["precision"], "hardware_id": p["hardware_id"],
            "time_error_uncalibrated": p["time_error"],
            "time_error_calibrated_loo": t_cal / p["measured_time_s"] - 1.0,
            "energy_error_uncalibrated": p["energy_error"],
            "energy_error_calibrated_loo": e_cal / p["measured_energy_j"] - 1.0
            if p["measured_energy_j"] and p["measured_energy_j"] > 0 else math.nan,
        })
    return rows


def counter_vs_polling(records: list) -> list[dict]:
    """Per GPU of every record: the NVML counter's J, polling's J, and their difference."""
    rows = []
    for rec in records:
        for g in rec.results.gpus:
            if g.energy_j is not None and g.energy_polled_j is not None:
                rows.append({"run_id": rec.run_id[:8], "workload": rec.settings.workload,
                             "mode": rec.settings.mode, "size": rec.settings.size,
                             "counter_j": g.energy_j.value, "polled_j": g.energy_polled_j.value,
                             "difference": g.energy_polled_j.value / g.energy_j.value - 1.0,
                             "power_samples": g.power_samples})
    return rows


# -- the summary -----------------------------------------------------------------------------
def _table(rows: list[dict]) -> str:
    if not rows:
        return "(none)\n"
    cols = list(rows[0])

    def cell(v: object) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_summary(out: Path, summary: dict, records_dir: Path) -> None:
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    parts = [f"# GPU records, {summary['started']}\n"]
    for key, value in summary.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            parts.append(f"\n## {key}\n\n" + _table(value))
        elif key not in ("started",):
            parts.append(f"\n## {key}\n\n```\n{json.dumps(value, indent=2, default=str)}\n```\n")
    (out / "summary.md").write_text("".join(parts))
    with tarfile.open(out / "records.tar.gz", "w:gz") as tar:
        for f in sorted(records_dir.glob("*.json")):
            tar.add(f, arcname=f"measurements/{f.name}")


def run(out: Path, budget_s: float, sizes: tuple[str, ...], seconds: float,
        workloads: tuple[str, ...] = WORKLOADS, device: str = "cuda",
        skip: tuple[str, ...] = ()) -> int:
    """Every step of the plan that fits in ``budget_s``; 0 if the records were written.

    ``device="cpu"`` rehearses every step on a machine without a GPU (its records are CPU
    records, not for ``measurements/``)."""
    t0 = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    records_dir = Path(tempfile.mkdtemp(prefix="gpu-records-"))
    summary: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "skipped": []}

    def left() -> float:
        return budget_s - (time.monotonic() - t0)

    def fits(step: dict) -> bool:
        if step["step"] in skip:
            summary["skipped"].append(f"{step['what']}: --skip {step['step']}")
            return False
        ok = left() > step["cost_s"]
        if not ok:
            summary["skipped"].append(f"{step['what']}: out of budget ({left():.0f} s left)")
        return ok

    steps = plan(sizes, seconds, PRECISIONS, workloads, device)
    env = summary["env"] = env_step(out)
    summary["device"] = device
    if fits(next(s for s in steps if s["step"] == "pytest-gpu")):
        summary["pytest_gpu"] = pytest_step(out, min(300, max(30, left() - 200)))
    write_summary(out, summary, records_dir)
    summary["records"] = []
    for step in (s for s in steps if s["step"] == "record"):
        if step["precision"] == "fp8" and not (env["fp8_hardware"] and env["fp8_in_profiler"]
                                               and device == "cuda"):
            summary["skipped"].append(f"{step['what']}: fp8 hardware {env['fp8_hardware']}, "
                                      f"in the profiler {env['fp8_in_profiler']}")
            continue
        if fits(step):
            keys = ("workload", "mode", "size", "precision")
            summary["records"].append(record_step({k: step[k] for k in keys}, records_dir,
                                                  seconds, device))
            write_summary(out, summary, records_dir)
    tr = next(s for s in steps if s["step"] == "torchrun")
    if env["device_count"] > 1 and fits(tr):
        summary["torchrun"] = torchrun_step(records_dir, env["device_count"], 180)
    elif env["device_count"] <= 1:
        summary["skipped"].append(f"{tr['what']}: one GPU on this machine")
    if fits(next(s for s in steps if s["step"] == "overhead")):
        gpu = device == "cuda"
        summary["overhead"] = overhead_step(device, sizes[0] if not gpu else "medium",
                                            3 if gpu else 1, 2.0 if gpu else 0.3)
    from planner.model.hardware import load_profiles
    from planner.model.records import load_records

    records, errors = load_records(records_dir)
    profiles = load_profiles().profiles
    summary["record_errors"] = errors
    summary["counter_vs_polling"] = counter_vs_polling(records)
    if records:
        summary["error_table"] = leave_one_out(records, profiles)
        summary["report"] = _sh([sys.executable, "-m", "planner", "profile", "--report",
                                 "--out", str(records_dir)], 60)[-6000:].splitlines()
    summary["elapsed_s"] = round(time.monotonic() - t0, 1)
    write_summary(out, summary, records_dir)
    shutil.rmtree(records_dir, ignore_errors=True)
    print(f"wrote {', '.join(OUT_FILES[:5])} to {out} in {summary['elapsed_s']} s; "
          f"{len(records)} records", flush=True)
    return 0 if records else 1


def fetch_wheels(folder: Path) -> int:
    """Download the wheels the device image lacks, for its Python 3.12 on x86-64 Linux."""
    platforms = [f"manylinux_2_{n}_x86_64" for n in (17, 27, 28, 34)] + [
        "manylinux2014_x86_64", "manylinux1_x86_64"]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--python-version", "3.12", "--implementation", "cp", "-d", str(folder)]
    for p in platforms:
        cmd += ["--platform", p]
    return subprocess.run([*cmd, *WHEELS], check=False).returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu-out")))
    ap.add_argument("--budget-s", type=float, default=480.0,
                    help="stop starting steps after this many seconds (default 480)")
    ap.add_argument("--seconds", type=float, default=6.0, help="measured seconds per record")
    ap.add_argument("--sizes", default=",".join(SIZES), help="two sizes, comma-separated")
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help="reference workloads, comma-separated (default all)")
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"),
                    help="cuda (the device machine) or cpu (a rehearsal of every step here)")
    ap.add_argument("--skip", default="", help="steps to leave out, comma-separated: "
                    "pytest-gpu, record, torchrun, overhead")
    ap.add_argument("--dry-run", action="store_true", help="print the plan; run nothing")
    ap.add_argument("--fetch-wheels", type=Path, metavar="DIR",
                    help="download the device image's missing wheels into DIR (here)")
    args = ap.parse_args(argv)
    sizes = tuple(s for s in args.sizes.split(",") if s)
    workloads = tuple(w for w in args.workloads.split(",") if w)
    from planner.profiling.options import SIZES as KNOWN

    if not sizes or any(s not in KNOWN for s in sizes):
        print(f"error: --sizes {args.sizes!r}: choose from {', '.join(KNOWN)}", file=sys.stderr)
        return 2
    if not workloads or any(w not in WORKLOADS for w in workloads):
        print(f"error: --workloads {args.workloads!r}: choose from {', '.join(WORKLOADS)}",
              file=sys.stderr)
        return 2
    if not (math.isfinite(args.seconds) and 0 < args.seconds <= 600):
        print(f"error: --seconds {args.seconds}: must be above 0 and at most 600",
              file=sys.stderr)
        return 2
    skip = tuple(x for x in args.skip.split(",") if x)
    if any(x not in ("pytest-gpu", "record", "torchrun", "overhead") for x in skip):
        print(f"error: --skip {args.skip!r}: choose from pytest-gpu, record, torchrun, overhead",
              file=sys.stderr)
        return 2
    if args.fetch_wheels:
        return fetch_wheels(args.fetch_wheels)
    steps = plan(sizes, args.seconds, profiler_precisions(args.device), workloads, args.device)
    if args.dry_run:
        for i, s in enumerate(steps, 1):
            print(f"{i:3d}. [{s['step']}] ~{s['cost_s']:g} s  {s['what']}")
        total = sum(s["cost_s"] for s in steps)
        fp8 = "fp8" in profiler_precisions("cuda")
        print(f"fp8 runs: {'planned' if fp8 else 'none (the profiler has no fp8 path yet)'}")
        print(f"estimated {total:g} s in all, budget {args.budget_s:g} s (later steps are "
              f"skipped, and said so, when it runs out); files back: {', '.join(OUT_FILES)} "
              f"({len(OUT_FILES)} of the device tool's 8)")
        return 0
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: this script needs an NVIDIA GPU that torch sees (run it on the device "
              "machine; --dry-run shows the plan here)", file=sys.stderr)
        return 2
    return run(args.out, args.budget_s, sizes, args.seconds, workloads, args.device, skip)


if __name__ == "__main__":
    raise SystemExit(main())
