"""Bench: the script CPU time of a dashboard page's rerun after a PUE change, split by the
functions it spends it in (inclusive times, no profiler overhead).

    python bench/rerun_sections.py [PAGE ...] [--reruns 7]

Each page runs under ``streamlit.testing.v1.AppTest`` as in ``bench/dashboard_speed.py``
(a PUE not seen before on every rerun, site-independent memos on). The functions in
``SECTIONS`` are wrapped with a timer of the script thread's CPU time (``time.thread_time``);
nested sections are counted in both, so the rows do not add up to the total.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SECTIONS = [
    "planner.dashboard.sidebar:draw", "planner.dashboard.session:init",
    "planner.dashboard.session:sync_url", "planner.dashboard.ui:plan_or_error",
    "planner.dashboard.ui:plan", "planner.dashboard.ui:problems",
    "planner.dashboard.ui:current_state", "planner.dashboard.ui:uncertainty",
    "planner.dashboard.ui:table", "planner.dashboard.ui:provenance_note",
    "planner.dashboard.ui:device_pick", "planner.dashboard.ui:csv_download",
    "planner.dashboard.tables:training_table", "planner.dashboard.tables:inference_table",
    "planner.dashboard.loaders:levers", "planner.dashboard.loaders:training_sweep",
    "planner.model.plan:Planner.plan", "planner.model.serving:evaluate_serving",
    "planner.model.serving:plan_serving", "planner.model.inference:evaluate_inference",
    "planner.model.training:evaluate_training", "planner.model.edge:compare_edge_cloud",
    "planner.model.uncertainty:plan_uncertainty", "planner.model.levers:plan_levers",
    "planner.model.lifecycle:plan_lifecycle", "planner.model.memo:site_free_digest",
    "planner.model.memo:size_fleet", "planner.model.memo:site_grid",
    "planner.model.memo:training_grid",
    "streamlit:plotly_chart", "streamlit:dataframe", "streamlit:metric",
    "streamlit:number_input", "streamlit:selectbox", "streamlit:multiselect",
    "streamlit:download_button", "streamlit:markdown", "streamlit:caption",
]
SECTIONS += [f"planner.dashboard.sidebar:{n}" for n in (
    "_site_inputs", "_training_inputs", "_serving_inputs", "_scenario_file", "region_labels")]
SECTIONS += [f"planner.dashboard.controls:{n}" for n in (
    "number", "select", "radio", "toggle", "text", "help_text")]
SECTIONS += [f"planner.dashboard.loaders:{n}" for n in (
    "region_table", "presets", "get_planner", "uncertainty")]
SECTIONS += ["planner.dashboard.ui:calibration_key", "planner.dashboard.ui:scenario",
             "planner.dashboard.state:plan_key", "planner.dashboard.state:to_scenario",
             "planner.dashboard.state:check", "planner.dashboard.tables:with_percentiles",
             "planner.dashboard.ui:plausibility_warnings",
             "planner.dashboard.ui:note", "planner.dashboard.ui:site_banner",
             "planner.model.serving:with_year", "planner.model.serving_memo:_rechosen"]
SECTIONS += [f"planner.dashboard.figures:{n}" for n in (
    "training_tradeoff", "serving_tradeoff", "inference_tradeoff", "levers_figure",
    "tradeoff_figure")]


def _wrap(spec: str, totals: dict[str, list[float]]) -> None:
    module_name, attr = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:  # a module this checkout does not have
        return
    owner, name = module, attr
    if "." in attr:
        cls, name = attr.split(".")
        owner = getattr(module, cls)
    original = getattr(owner, name, None)
    if original is None:
        return

    @functools.wraps(original)
    def timed(*args, **kwargs):
        t0 = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            totals[spec].append(time.thread_time() - t0)

    setattr(owner, name, timed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", help="title prefixes of the pages")
    parser.add_argument("--reruns", type=int, default=7)
    args = parser.parse_args()
    os.chdir(ROOT)
    from dashboard_speed import _page_paths, open_page

    from planner.dashboard.state import LAST_RUN_CPU

    totals: dict[str, list[float]] = defaultdict(list)
    for spec in SECTIONS:
        _wrap(spec, totals)
    pue = 1.3 + (time.time() % 1000) * 1e-5
    load = os.getloadavg()[0]
    print(f"load average {load:.2f}")
    for title, path in _page_paths().items():
        if args.pages and not any(title.startswith(p) for p in args.pages):
            continue
        at = open_page(title, path)
        pue += 0.001
        at.number_input(key="site_pue").set_value(round(pue, 6))
        at.run()
        per_run: dict[str, list[float]] = defaultdict(list)
        cpu = []
        for _ in range(args.reruns):
            pue += 0.001
            at.number_input(key="site_pue").set_value(round(pue, 6))
            totals.clear()
            at.run()
            assert not at.exception, [e.value for e in at.exception]
            cpu.append(at.session_state[LAST_RUN_CPU])
            for spec in SECTIONS:
                per_run[spec].append(sum(totals.get(spec, [])))
            per_run["calls"].append(0)
        print(f"\n=== {title}: script CPU median {statistics.median(cpu) * 1000:.0f} ms "
              f"(of {args.reruns} reruns) ===")
        rows = sorted(((statistics.median(v), spec, len(totals.get(spec, [])))
                       for spec, v in per_run.items() if spec != "calls"), reverse=True)
        for value, spec, calls in rows:
            if value >= 0.0005:
                print(f"  {value * 1000:7.1f} ms  {spec} ({calls} calls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
