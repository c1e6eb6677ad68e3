"""The CLI as a user runs it: real subprocesses, exit codes, one-line errors, CSV files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from planner.cli import main

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ["hardware_id", "kind", "devices", "hours", "device_hours", "energy_kwh", "co2e_kg",
            "embodied_co2e_kg", "cost_usd", "assumptions"]


def run(*args: str) -> subprocess.CompletedProcess:
    """The CLI as a separate process, exactly as a user runs it."""
    return subprocess.run([sys.executable, "-m", "planner", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def run_inproc(capsys, *args: str) -> subprocess.CompletedProcess:
    """The same entry point in this process (no interpreter start-up per case)."""
    code = main(list(args))
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


def test_profiles_csv(tmp_path):
    out = tmp_path / "catalogue.csv"
    proc = run("profiles", "--csv", str(out))
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out)
    assert {"hardware_id", "name", "kind", "memory_gb", "dense_tflops_bf16", "rated_power_w",
            "sources"} <= set(df.columns)
    h100 = df.set_index("hardware_id").loc["nvidia-h100-sxm"]
    assert h100["dense_tflops_bf16"] == 989
    assert df["sources"].str.len().min() > 10


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_readme_examples_run(example, tmp_path, capsys):
    out = tmp_path / "plan.csv"
    proc = run_inproc(capsys, "plan", str(example), "--csv", str(out))
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out)
    assert len(df) >= 1
    if "training" in set(df["section"]):
        train = df[df["section"] == "training"]
        assert set(REQUIRED) <= set(train.columns)
        assert train["energy_kwh"].dropna().gt(0).all()


@pytest.mark.parametrize(("yaml_text", "needle"), [
    ("training: {params: -5, tokens: 1e9}", "training.params"),
    ("training: {params: .nan, tokens: 1e9}", "NaN"),
    ("training: {model: llama-3-8b, hardware: tpu-v99}", "unknown id(s) tpu-v99; allowed: all"),
    ("training: {model: llama-3-8b}\nsite: {country: XYZ}", "site.country: unknown country"),
    ("training: {model: llama-3-8b}\nsite: {cloud_provider: aws, cloud_region: moon-1}",
     "unknown aws region 'moon-1'"),
    ("training: [1, 2", "not valid YAML"),
])
def test_bad_scenarios_fail_cleanly(tmp_path, capsys, yaml_text, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text)
    out = tmp_path / "never.csv"
    proc = run_inproc(capsys, "plan", str(path), "--csv", str(out))
    assert proc.returncode != 0
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_missing_scenario_file_in_a_real_process(tmp_path):
    proc = run("plan", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2
    assert "cannot be read" in proc.stderr and "Traceback" not in proc.stderr


def test_usage_names_the_command_the_user_typed(monkeypatch):
    """``python -m planner --help`` and the ``planner`` console script each show their own name."""
    assert run("--help").stdout.startswith("usage: python -m planner ")
    from planner.cli import build_parser

    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/planner", "--help"])
    assert build_parser().format_usage().startswith("usage: planner ")
