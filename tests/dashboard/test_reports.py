"""The full report CSV: inputs, assumptions, results and provenance; results as the CLI
writes them."""

from __future__ import annotations

import io
import subprocess
import sys

import pandas as pd

from planner.dashboard import reports, state
from planner.model.report import plan_report
from tests.dashboard.conftest import ROOT


def test_full_report_sections(planner):
    s = state.default_state(planner.defaults)
    report = reports.full_report(s, planner)
    assert list(report.columns[:6]) == reports.HEAD
    assert set(report["section"]) == {"inputs", "site", "assumptions", "training", "inference",
                                      "edge_vs_cloud", "levers", "lifecycle",
                                      "lifecycle_summary", "uncertainty", "sensitivity",
                                      "boundaries"}
    inputs = report[report["section"] == "inputs"]
    assert set(inputs["note"]) == {*reports.INPUT_UNITS, "Measurements page toggle"}
    site = report[report["section"] == "site"].set_index("item")
    assert "eGRID" in site.loc["grid carbon intensity", "basis"]
    for col in ("utilisation_basis", "power_basis", "throughput_basis", "price_basis",
                "embodied_basis", "assumptions"):
        assert report.loc[report["section"] == "training", col].notna().all(), col


def test_report_results_equal_the_cli(planner, tmp_path):
    s = {**state.default_state(planner.defaults), "site_region": "country:FRA",
         "site_pue": 1.3, "price_discount_pct": 20.0}
    scenario_file = tmp_path / "scenario.yaml"
    scenario_file.write_text(state.scenario_yaml(s, planner.defaults), encoding="utf-8")
    out = tmp_path / "cli.csv"
    proc = subprocess.run([sys.executable, "-m", "planner", "plan", str(scenario_file),
                           "--csv", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    cli = pd.read_csv(out)
    ours = pd.read_csv(io.StringIO(reports.full_report_csv(s, planner)))
    results = ours[~ours["section"].isin(["inputs", "site", "assumptions"])]
    results = results[cli.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(results, cli, check_dtype=False)


def test_report_of_a_bad_scenario_says_why(planner):
    s = {**state.default_state(planner.defaults), "site_pue": 0.0}
    report = reports.full_report(s, planner)
    error = report[report["section"] == "error"]
    assert len(error) == 1 and "site.pue" in error.iloc[0]["note"]


def test_report_matches_plan_report(planner):
    s = state.default_state(planner.defaults)
    result = planner.plan(state.to_scenario(s, planner.defaults))
    report = reports.full_report(s, planner, result)
    expected = plan_report(result)
    got = report[~report["section"].isin(["inputs", "site", "assumptions"])][expected.columns]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)


def test_composed_plan_equals_the_planner(planner):
    """The dashboard's plan of a two-phase scenario, put together from its cached parts,
    equals Planner.plan section for section."""
    from planner.dashboard import loaders

    s = {**state.default_state(planner.defaults), "u_draws": 500}
    data = state.to_scenario(s, planner.defaults, state.ALL_SECTIONS)
    ours = loaders.plan(state.plan_key(data))
    theirs = planner.plan(data)
    assert list(ours.extras) == list(theirs.extras)
    pd.testing.assert_frame_equal(plan_report(ours), plan_report(theirs))


def test_training_sweep_rows_equal_their_own_plans(planner):
    """The Training page's scaling sweep (model/sweep.py through the cache): each row is the
    plan of the scenario at that fixed device count, at the scenario's precision."""
    from planner.dashboard import loaders

    data = state.to_scenario(state.default_state(planner.defaults), planner.defaults,
                             ("training",))
    sweep = loaders.training_sweep(state.plan_key(data), (64, 512))
    for devices in (64, 512):
        one = planner.plan_training({**data, "training": {
            k: v for k, v in {**data["training"], "devices": devices}.items()
            if k not in ("days",)}})
        got = sweep[sweep["devices_given"] == devices].reset_index(drop=True)
        for col in ("hardware_id", "precision_used", "devices", "days", "energy_kwh",
                    "cost_usd"):
            pd.testing.assert_series_equal(got[col], one[col].reset_index(drop=True),
                                           check_dtype=False, check_names=False)
