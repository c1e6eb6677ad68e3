"""``python -m planner profile``: records from the CLI, one-line errors, Ctrl-C, --cmd."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from planner.cli import main
from planner.model.records import load_records

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--steps", "3", "--warmup", "1", "--batch", "4", "--no-progress"]


def _one_record(folder: Path):
    records, errors = load_records(folder)
    assert errors == [] and len(records) == 1
    return records[0]


def test_profile_writes_a_valid_record(tmp_path, capsys):
    code = main(["profile", "--workload", "transformer", "--mode", "infer", "--country", "FRA",
                 "--out", str(tmp_path), *FAST])
    assert code == 0
    rec = _one_record(tmp_path)
    assert rec.status == "complete" and rec.settings.workload == "transformer"
    assert rec.settings.country_iso_code == "FRA" and rec.settings.precision == "fp32"
    r = rec.results
    assert r.steps.value == 3 and r.samples.value == 12 and r.tokens.value == 12 * 64
    assert r.latency_p50_s is not None and r.flops.method == "flop_counter"
    assert r.gpu_energy_j is None and r.ram_energy_j.value > 0
    out = capsys.readouterr()
    assert "wrote " in out.out and "GPU energy      not measured" in out.out
    assert "measuring 3 steps of transformer infer on cpu" in out.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workload", "bert"], "unknown workload 'bert'"),
        (["--workload", "mlp", "--device", "cuda"], "--device cuda"),
        (["--workload", "mlp", "--device", "tpu"], "--device 'tpu'"),
        (["--workload", "mlp", "--batch", "100000000"], "does not fit in cpu memory"),
        (["--workload", "mlp", "--country", "Narnia"], "--country"),
        (["--cmd", "no-such-program-xyz --flag"], "not found on PATH"),
        (["--cmd", ""], "the command is empty"),
    ],
)
def test_bad_input_is_one_line_and_no_record(args, message, tmp_path, capsys):
    if "cuda" in args and __import__("torch").cuda.is_available():
        pytest.skip("this machine has CUDA")
    code = main(["profile", *args, "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: ") and message in err[-1]
    assert not list((tmp_path / "out").glob("*"))


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["profile", "--workload", "mlp", "--out", str(blocker / "m"), *FAST]) == 2
    assert "is not writable" in capsys.readouterr().err


def test_cmd_measures_a_whole_command(tmp_path):
    cmd = f'{sys.executable} -c "import time; time.sleep(0.3)"'
    assert main(["profile", "--cmd", cmd, "--out", str(tmp_path)]) == 0
    rec = _one_record(tmp_path)
    assert rec.status == "complete" and rec.exit_code == 0 and rec.settings.command == cmd
    assert rec.settings.cpu_tracking_mode == "machine"
    assert rec.results.wall_time_s.value >= 0.3
    assert rec.results.cpu_energy_j is not None and rec.results.flops is None


def test_cmd_that_fails_is_recorded_as_failed(tmp_path):
    cmd = f'{sys.executable} -c "raise SystemExit(3)"'
    assert main(["profile", "--cmd", cmd, "--out", str(tmp_path)]) == 1
    rec = _one_record(tmp_path)
    assert rec.status == "failed" and rec.exit_code == 3 and "code 3" in rec.error


def _run_until(args: list[str], marker: str, tmp_path: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "planner", "profile", *args,
                             "--out", str(tmp_path)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stream = proc.stderr if marker.startswith("measuring") else proc.stdout
    for line in stream:
        if marker in line:
            return proc
    proc.kill()
    raise AssertionError(f"never saw {marker!r}: {proc.stderr.read()}")


@pytest.mark.slow
def test_ctrl_c_writes_an_incomplete_record(tmp_path):
    proc = _run_until(["--workload", "mlp", "--seconds", "60", "--batch", "4"],
                      "measuring", tmp_path)
    time.sleep(1.0)  # let some steps run
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    rec = _one_record(tmp_path)
    assert rec.status == "incomplete" and "Ctrl-C" in rec.error
    assert rec.results.steps.value >= 1 and rec.results.wall_time_s.value < 60
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


@pytest.mark.slow
def test_ctrl_c_is_forwarded_to_the_command(tmp_path):
    script = "import time; print('ready', flush=True); time.sleep(60)"
    proc = _run_until(["--cmd", f'{sys.executable} -c "{script}"'], "ready", tmp_path)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    rec = _one_record(tmp_path)
    assert rec.status == "incomplete" and rec.exit_code != 0
    assert rec.results.wall_time_s.value < 30


def test_report_prints_calibration_and_prediction_tables(tmp_path, capsys):
    assert main(["profile", "--workload", "mlp", "--out", str(tmp_path), *FAST]) == 0
    capsys.readouterr()
    assert main(["profile", "--report", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # Whether this machine's CPU has a profile decides the rest (CI machines differ).
    from planner.model.calibration import match_profile
    from planner.model.hardware import load_profiles
    from planner.model.records import load_records

    cpu = load_records(tmp_path)[0][0].machine.cpu_model
    matched = match_profile(cpu or "", load_profiles().profiles, "cpu") is not None
    assert f"Calibration ({int(matched)} rows from 1 records)" in out
    assert "Predicted (uncalibrated model) versus measured, 1 records" in out
    assert ("no matching profile" in out) is not matched
    assert main(["profile", "--report", "--out", str(tmp_path / "empty")]) == 2
