"""Boundaries: location- and market-based operational CO2e, manufacturing as scope 3, and the
CSV's ``boundaries`` section naming the boundary of every footprint column."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from planner.model.boundaries import boundary_of
from planner.model.plan import Planner
from planner.model.report import plan_report

ROOT = Path(__file__).resolve().parents[2]
TRAINING = {"model": "llama-3-8b", "days": 30, "hardware": ["nvidia-h100-sxm", "google-tpu-v5p"]}
SERVING = {"model": "llama-3-8b", "hardware": ["nvidia-h100-sxm"], "requests_per_s_avg": 20}


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def test_market_based_with_a_contractual_factor(planner):
    r = planner.plan({"training": TRAINING, "inference": SERVING,
                      "site": {"country": "DEU", "market_emission_factor_g_per_kwh": 30}})
    t = r.training.iloc[0]
    assert t["market_co2e_kg"] == pytest.approx(t["energy_kwh"] * 30 / 1000)
    assert t["market_total_co2e_kg"] == pytest.approx(t["market_co2e_kg"] + t["embodied_co2e_kg"])
    # Location-based is unchanged by contracts.
    assert t["co2e_kg"] == pytest.approx(t["energy_kwh"] * t["carbon_intensity_g_per_kwh"] / 1000)
    i = r.inference.iloc[0]
    assert i["annual_market_co2e_kg"] == pytest.approx(i["annual_energy_kwh"] * 0.030)
    assert r.site.market_basis.startswith("user input")


def test_market_based_with_a_carbon_free_share(planner):
    t = planner.plan({"training": TRAINING, "site": {"country": "USA",
                                                     "carbon_free_energy_share": 0.75}}
                     ).training.iloc[0]
    assert t["market_co2e_kg"] == pytest.approx(0.25 * t["co2e_kg"])
    assert "residual mix" in t["market_basis"]


def test_no_contract_no_market_figure(planner):
    t = planner.plan({"training": TRAINING, "site": {"country": "USA"}}).training.iloc[0]
    assert math.isnan(t["market_co2e_kg"]) and t["feasible"]


def test_every_footprint_column_of_the_csv_says_its_boundary(planner):
    result = planner.plan({"training": TRAINING, "inference": SERVING,
                           "site": {"country": "FRA", "carbon_free_energy_share": 0.5},
                           "lifecycle": {"horizon_months": 12}})
    report = plan_report(result)
    b = report[report["section"] == "boundaries"].set_index(["of_section", "column"])
    assert b.loc[("training", "co2e_kg"), "ghg_scope"] == "scope 2 location-based"
    assert b.loc[("training", "market_co2e_kg"), "ghg_scope"] == "scope 2 market-based"
    assert b.loc[("training", "embodied_co2e_kg"), "ghg_scope"] == "scope 3 (manufacturing)"
    assert b.loc[("inference", "annual_water_l"), "ghg_scope"] == "water: on-site + off-site"
    # The lifecycle's co2e is operational + manufacturing (it sums total_co2e_kg).
    assert b.loc[("lifecycle_summary", "training_co2e_kg"), "ghg_scope"] == (
        "scope 2 location-based + scope 3")
    for section in ("training", "inference", "lifecycle_summary"):
        cols = report[report["section"] == section].dropna(axis=1, how="all").columns
        figures = [c for c in cols if c.endswith(("_kg", "_kwh", "_l", "_1k_requests",
                                                   "_1m_tokens"))
                   and "_vs_" not in c and "per_kwh" not in c
                   and ("co2e" in c or "energy" in c or "water" in c)]
        missing = [c for c in figures if (section, c) not in b.index]
        assert not missing, (section, missing)


def test_boundary_rules():
    assert boundary_of("carbon_intensity_g_per_kwh") is None
    assert boundary_of("co2e_vs_baseline") is None
    assert boundary_of("energy_j_per_request")[1] == "energy: device"
    assert boundary_of("co2e_kg_per_1k_requests", "levers")[1] == (
        "scope 2 location-based + scope 3")


@pytest.mark.parametrize("site, message", [
    ("{country: FRA, wue_l_per_kwh: -0.5}", "site.wue_l_per_kwh"),
    ("{country: FRA, wue_l_per_kwh: .inf}", "site.wue_l_per_kwh"),
    ("{country: FRA, market_emission_factor_g_per_kwh: -3}",
     "site.market_emission_factor_g_per_kwh"),
    ("{country: FRA, market_emission_factor_g_per_kwh: .nan}",
     "site.market_emission_factor_g_per_kwh"),
    ("{country: FRA, carbon_free_energy_share: 1.5}", "site.carbon_free_energy_share"),
    ("{country: FRA, water_offsite_l_per_kwh: -1}", "site.water_offsite_l_per_kwh"),
])
def test_bad_water_or_emission_factor_is_one_line_exit_2(tmp_path, site, message):
    f = tmp_path / "s.yaml"
    f.write_text(f"training: {{model: llama-3-8b, days: 30}}\nsite: {site}\n")
    out = tmp_path / "st"
    done = subprocess.run([sys.executable, "-m", "planner", "plan", str(f), "--csv",
                           str(tmp_path / "p.csv"), "--statement", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "p.csv").exists() and not list(tmp_path.glob("st*"))


def test_cli_prints_the_boundaries_and_writes_them(tmp_path):
    csv = tmp_path / "p.csv"
    done = subprocess.run([sys.executable, "-m", "planner", "plan",
                           "examples/llama-8b-training.yaml", "--csv", str(csv)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Boundaries: co2e_kg is operational scope 2 location-based" in done.stdout
    report = pd.read_csv(csv, low_memory=False)
    assert {"water_l", "market_co2e_kg", "water_onsite_l"} <= set(report.columns)
    assert (report["section"] == "boundaries").any()
