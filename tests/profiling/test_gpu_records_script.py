"""bench/gpu_records.py, the one script a session with a GPU runs (issue 14), tried on the CPU."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from planner.model.hardware import load_profiles
from planner.model.records import GpuResult, Machine, Record, Results, Settings, quantity

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "gpu_records.py"


def _script():
    spec = importlib.util.spec_from_file_location("gpu_records", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


def test_the_dry_run_lists_every_step_and_fits_the_device_limits(tmp_path):
    done = _run("--dry-run", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    records = [line for line in lines if "[record]" in line]
    # every reference workload, train and infer, at two sizes, in bf16, on CUDA
    assert len(records) == 4 * 2 * 2 and all("--device cuda --precision bf16" in r
                                             for r in records)
    for w in ("mlp", "cnn", "transformer", "recsys"):
        for size in ("medium", "large"):
            assert sum(f"--workload {w} " in r and f"--size {size} " in r for r in records) == 2
    for step in ("[env]", "[pytest-gpu]", "[torchrun]", "[overhead]", "[report]"):
        assert any(step in line for line in lines), step
    assert "fp8 runs: none (the profiler has no fp8 path yet)" in done.stdout
    assert "(6 of the device tool's 8)" in done.stdout
    estimate = float(lines[-1].split("estimated ")[1].split(" s")[0])
    assert estimate < 480  # the default budget, inside one 10-minute device command
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--sizes", "huge"], "--sizes 'huge'"),
    (["--workloads", "../x"], "--workloads '../x'"),
    (["--seconds", "nan"], "--seconds nan"),
    (["--skip", "everything"], "--skip 'everything'"),
])
def test_bad_options_are_one_line(args, message, tmp_path):
    done = _run(*args, "--dry-run")
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0
    assert done.stderr.startswith("error: ") and message in done.stderr


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_without_a_gpu_it_refuses_in_one_line(tmp_path):
    done = _run("--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "needs an NVIDIA GPU" in done.stderr
    assert not (tmp_path / "out").exists()


def _gpu_record(run_id: str, flops: float, wall_s: float, energy_j: float,
                polled_j: float) -> Record:
    t = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    gpu = GpuResult(index=0, name="NVIDIA H100 80GB HBM3",
                    energy_j=quantity(energy_j, "J", "nvml_energy_counter", True),
                    energy_polled_j=quantity(polled_j, "J", "nvml_power_polling", True),
                    power_samples=100)
    return Record(
        run_id=run_id, status="complete", started_at=t, ended_at=t + dt.timedelta(seconds=10),
        machine=Machine(hostname="gpu", os="Linux", python_version="3.12", cpu_model="x",
                        cpu_logical_cores=16),
        settings=Settings(workload="transformer", mode="train", size="medium", precision="bf16",
                          device="cuda", country_iso_code="USA"),
        results=Results(wall_time_s=quantity(wall_s, "s", "wall_clock", True),
                        flops=quantity(flops, "FLOP", "flop_counter", True),
                        gpu_energy_j=quantity(energy_j, "J", "nvml_energy_counter", True),
                        gpus=[gpu]),
        device_name="NVIDIA H100 80GB HBM3",
    )


def test_leave_one_out_calibrates_on_the_other_records_only():
    gr = _script()
    profiles = load_profiles().profiles
    peak = next(p for p in profiles if p.id.startswith("nvidia-h100")).tflops("bf16") * 1e12
    # achieved utilisation 0.30, 0.40, 0.50 and busy power 400, 500, 600 W over 10 s each
    recs = [_gpu_record(f"run{k}aaaa", u * peak * 10.0, 10.0, w * 10.0, w * 10.0 * 1.01)
            for k, (u, w) in enumerate([(0.3, 400.0), (0.4, 500.0), (0.5, 600.0)])]
    rows = {r["run_id"]: r for r in gr.leave_one_out(recs, profiles)}
    first = rows["run0aaaa"]
    # calibrated without run0: utilisation (0.4 + 0.5) / 2 -> time 10 x 0.3 / 0.45
    assert first["time_error_calibrated_loo"] == pytest.approx(0.3 / 0.45 - 1.0)
    # busy power (5000 + 6000) J / 20 s = 550 W over that time, against 4000 J measured
    assert first["energy_error_calibrated_loo"] == pytest.approx(550 * 10 * 0.3 / 0.45 / 4000
                                                                  - 1.0)
    assert all(r["time_error_uncalibrated"] == r["time_error_uncalibrated"] for r in rows.values())
    diffs = gr.counter_vs_polling(recs)
    assert [d["difference"] for d in diffs] == pytest.approx([0.01] * 3)


@pytest.mark.slow
def test_a_cpu_rehearsal_runs_every_step_and_writes_what_comes_back(tmp_path):
    out = tmp_path / "out"
    done = _run("--device", "cpu", "--sizes", "small", "--workloads", "mlp", "--seconds", "0.3",
                "--skip", "pytest-gpu,overhead", "--out", str(out), timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["env.txt", "records.tar.gz",
                                                     "summary.json", "summary.md"]
    summary = json.loads((out / "summary.json").read_text())
    assert [(r["workload"], r["mode"], r["exit"]) for r in summary["records"]] == [
        ("mlp", "train", 0), ("mlp", "infer", 0)]
    assert any("--skip overhead" in s for s in summary["skipped"])
    assert any("fp8" in s for s in summary["skipped"])
    assert len(summary["error_table"]) == 2 and summary["record_errors"] == []
    with tarfile.open(out / "records.tar.gz") as tar:
        names = tar.getnames()
    assert len(names) == 2 and all(n.startswith("measurements/") for n in names)
    assert "## records" in (out / "summary.md").read_text()
