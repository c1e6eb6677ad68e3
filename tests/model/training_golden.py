"""Recorded training answers: the regression guard for speed work on the training search.

    python -m tests.model.training_golden          # re-record (only when answers SHOULD move)

Records, for each case, the training outputs a planner reads (devices, days, device-hours,
energy, predicted MFU, time shares, memory, layout, feasibility) into
``tests/model/data/training_golden.json``; ``test_training_golden.py`` asserts today's code
gives the same (rtol 1e-9). The inputs are stored beside the outputs (the scenarios as
dicts, the sweep axes and the sampled rows), so the record depends on the model code and
the catalogue, performance constants and defaults only.

Cases: every ``examples/*.yaml`` with a training section (as recorded), the dashboard's
default scenario, a few deadline / given-layout / mixture-of-experts scenarios that take the
search's other branches, and samples of the grids ``bench/grid_vs_loop.py`` and
``bench/training_layouts.py`` time. A change that is meant to move training answers (the
performance constants, the step-time physics, a profile) re-records with the command above
and says so in its commit; a speed change must not need to.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from planner.model import training_perf
from planner.model.perf_constants import load_performance
from planner.model.plan import Planner
from planner.model.scenario import parse_scenario
from planner.model.sweep import sweep_grid
from planner.model.training import evaluate_training

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "data" / "training_golden.json"
NUMBERS = ("devices", "days", "device_hours", "energy_kwh", "predicted_mfu", "utilisation",
           "compute_share", "communication_share", "bubble_share", "memory_per_device_gb",
           "min_devices_for_memory")
TEXTS = ("hardware_id", "layout", "infeasible_reason", "utilisation_basis")
FLAGS = ("feasible",)
KEPT = ("name", "training", "site", "pricing")

DASHBOARD_DEFAULT = {  # planner.dashboard.state.to_scenario(default_state(...)), training part
    "name": "dashboard scenario",
    "training": {"hardware": "all", "model": "llama-3-8b", "precision": "bf16", "days": 30.0},
    "site": {"cloud_provider": "aws", "cloud_region": "us-east-1"},
    "pricing": {"mode": "cloud"},
}
EXTRA = {  # the search's other branches: deadlines on many devices, given layouts, MoE
    "70b-deadline-all": {"training": {"model": "llama-3-70b", "hardware": "all", "days": 60}},
    "405b-deadline-fp8": {"training": {"model": "llama-3.1-405b", "hardware": "all",
                                       "precision": "fp8", "days": 90}},
    "moe-deadline": {"training": {"model": "deepseek-v3", "hardware": "all", "precision": "fp8",
                                  "days": 60}},
    "mixtral-devices": {"training": {"model": "mixtral-8x22b", "hardware": "all", "tokens": 2e12,
                                     "devices": 512}},
    "given-tp-pp-deadline": {"training": {"model": "llama-3-70b", "hardware": "all", "days": 45,
                                          "parallelism": {"tp": 8, "pp": 4}}},
    "given-full-layout": {"training": {"model": "llama-3-70b", "hardware": "all",
                                       "parallelism": {"tp": 8, "pp": 4, "dp": 16,
                                                       "zero_stage": 1,
                                                       "recompute": "selective"}}},
    "tight-deadline": {"training": {"model": "llama-3-70b", "hardware": "all", "days": 2}},
}
GRID_SITES = [{"country": c} for c in ("USA", "FRA", "DEU", "SWE", "IND", "CHN", "BRA", "JPN")] + [
    {"cloud_provider": "aws", "cloud_region": r} for r in ("us-east-1", "us-west-2", "eu-north-1")
] + [{"cloud_provider": "gcp", "cloud_region": r} for r in ("us-central1", "europe-west9")]
GRIDS = {  # bench/grid_vs_loop.py's and bench/training_layouts.py's grids, sampled
    "grid_vs_loop": {"scenario": {"training": {"model": "llama-3-70b", "days": 60}},
                     "axes": {"precisions": ["bf16", "fp8", "fp16", "fp32"], "sites": GRID_SITES,
                              "mfus": [0.25, 0.35, 0.45, 0.55],
                              "devices": [None, 512, 1024, 2048, 4096]},
                     "every": 97},
    "training_layouts": {"scenario": {"training": {"model": "llama-3-70b"}},
                         "axes": {"precisions": ["bf16", "fp8"], "sites": GRID_SITES[:4],
                                  "devices": [64, 256, 1024, 4096, 16384]},
                         "every": 7},
}


def example_cases() -> dict[str, dict]:
    """Every example with a training section, as the training part of its scenario."""
    out = {}
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if data.get("training"):
            out[f"examples/{path.name}"] = {k: v for k, v in data.items() if k in KEPT}
    return out


def _numbers(values) -> list:
    return [None if not math.isfinite(v) else v for v in np.asarray(values, float).tolist()]


def _search(grid: pd.DataFrame) -> dict[str, list]:
    """The layout search's own answer per row (also on rows the plan then refuses)."""
    pred, cells, _ = training_perf.predict(grid, load_performance().step_constants())
    table = {name: _numbers(values) for name, values in sorted(pred.items())}
    table["cells"] = [int(cells)]
    return table


def _table(frame: pd.DataFrame) -> dict[str, list]:
    table: dict[str, list] = {}
    for name in NUMBERS:
        table[name] = _numbers(frame[name])
    for name in TEXTS:
        table[name] = [str(v) for v in frame[name].tolist()]
    for name in FLAGS:
        table[name] = [bool(v) for v in frame[name].tolist()]
    return table


def grid_sample(planner: Planner, spec: dict) -> pd.DataFrame:
    grid = sweep_grid(planner, spec["scenario"], **spec["axes"])
    return grid.iloc[np.arange(0, len(grid), spec["every"])].reset_index(drop=True)


def outputs(planner: Planner, scenarios: dict[str, dict], grids: dict[str, dict]
            ) -> dict[str, dict[str, list]]:
    """The recorded columns for each scenario and each sampled grid."""
    out = {}
    for name, s in scenarios.items():
        out[name] = _table(planner.plan_training(s))
        out[f"search:{name}"] = _search(planner.training_grid(parse_scenario(s)))
    for name, spec in grids.items():
        grid = grid_sample(planner, spec)
        out[f"grid:{name}"] = _table(evaluate_training(grid))
        out[f"search:grid:{name}"] = _search(grid)
    return out


def record() -> dict:
    scenarios = {**example_cases(), "dashboard-default": DASHBOARD_DEFAULT, **EXTRA}
    return {"scenarios": scenarios, "grids": GRIDS,
            "outputs": outputs(Planner.load(), scenarios, GRIDS)}


if __name__ == "__main__":
    data = record()
    GOLDEN.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")
    rows = sum(len(t["devices"]) for n, t in data["outputs"].items() if "search:" not in n)
    print(f"recorded {len(data['outputs'])} cases, {rows} rows -> {GOLDEN}")
