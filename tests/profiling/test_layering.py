"""Profiling is the only package that loads torch, NVML or CodeCarbon, and only when used."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "pynvml", "codecarbon", "streamlit", "plotly")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys; {code}; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return ast.literal_eval(out.stdout.strip())


def test_record_and_calibration_modules_are_pure():
    code = ("from planner.model.records import load_records; "
            "from planner.model.calibration import calibrate, prediction_table; "
            "load_records('measurements')")
    assert _loaded_after(code) == []


def test_importing_the_profiling_api_loads_no_heavy_library():
    assert _loaded_after("import planner.profiling; import planner.profiling.cli") == []


def test_the_cli_help_does_not_load_torch():
    assert _loaded_after("from planner.cli import build_parser; build_parser()") == []
