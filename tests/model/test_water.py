"""Water: WUE on site, the grid's water intensity off site, in every phase beside carbon."""

from __future__ import annotations

import json

import numpy as np
import pytest

from planner.errors import ScenarioError
from planner.model.grid import codecarbon_data_dir
from planner.model.plan import Planner
from planner.model.water import (
    GAL_PER_MWH_TO_L_PER_KWH,
    grid_water,
    provider_wue,
    resolve_water,
    water_data,
)

TRAINING = {"model": "llama-3-8b", "days": 30, "hardware": ["nvidia-h100-sxm"]}
SERVING = {"model": "llama-3-8b", "hardware": ["nvidia-h100-sxm"], "requests_per_s_avg": 20}


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def test_grid_water_is_the_generation_weighted_factor_of_codecarbons_mix():
    """France by hand from CodeCarbon's file and the data file's factors."""
    mix = json.loads((codecarbon_data_dir() / "private_infra" / "global_energy_mix.json")
                     .read_text())["FRA"]
    factors = water_data()["generation_water_gal_per_mwh"]
    total = sum(mix[c] for c in factors)
    by_hand = sum(mix[c] * f["value"] for c, f in factors.items()) / total
    value, basis = grid_water("FRA")
    assert value == pytest.approx(by_hand * 3.785411784 / 1000.0)
    assert "France" in basis and "Macknick" in basis and "global_energy_mix" in basis
    # Nuclear-heavy France needs more water per kWh than wind-and-gas-heavy Germany; hydro-heavy
    # Norway the most (reservoir evaporation).
    assert grid_water("NOR")[0] > grid_water("FRA")[0] > grid_water("DEU")[0]
    assert pytest.approx(0.003785411784) == GAL_PER_MWH_TO_L_PER_KWH


def test_unknown_country_is_refused():
    with pytest.raises(ScenarioError, match="unknown country"):
        grid_water("XXX")


def test_wue_comes_from_the_user_then_the_provider_then_the_default():
    assert resolve_water(country="FRA", cloud_provider=None, cloud_region=None,
                         wue_l_per_kwh=0.5, water_offsite_l_per_kwh=None).wue_basis == "user input"
    aws, basis = provider_wue("aws")
    assert aws == water_data()["wue_l_per_kwh"]["providers"]["aws"]["value"] and "2025" in basis
    default, basis = provider_wue("gcp")
    assert default == water_data()["wue_l_per_kwh"]["default"]["value"]
    assert basis.startswith("default: gcp publishes no WUE")
    # A cloud region's grid water is its country's: AWS eu-west-3 is in Paris.
    w = resolve_water(country=None, cloud_provider="aws", cloud_region="eu-west-3",
                      wue_l_per_kwh=None, water_offsite_l_per_kwh=None)
    assert w.water_offsite_l_per_kwh == pytest.approx(grid_water("FRA")[0])


def test_training_water_is_wue_times_it_energy_plus_grid_water_times_all(planner):
    site = {"country": "FRA", "pue": 1.25, "wue_l_per_kwh": 1.5}
    row = planner.plan({"training": TRAINING, "site": site}).training.iloc[0]
    it = row["device_energy_kwh"] + row["host_energy_kwh"]
    assert row["water_onsite_l"] == pytest.approx(1.5 * it)
    assert row["water_offsite_l"] == pytest.approx(grid_water("FRA")[0] * row["energy_kwh"])
    assert row["water_l"] == pytest.approx(row["water_onsite_l"] + row["water_offsite_l"])
    assert row["wue_basis"] == "user input"


def test_serving_water_per_request_and_per_year(planner):
    site = {"country": "DEU", "water_offsite_l_per_kwh": 2.0, "wue_l_per_kwh": 1.0}
    inf = planner.plan({"inference": SERVING, "site": site}).inference.iloc[0]
    it_share = 1.0 / inf["pue"]
    # Per replica at full load: the same split of its 1,000 requests' energy.
    assert inf["water_l_per_1k_requests"] == pytest.approx(
        inf["energy_kwh_per_1k_requests"] * (2.0 + 1.0 * it_share))
    assert inf["annual_water_onsite_l"] == pytest.approx(
        inf["annual_device_energy_kwh"] + inf["annual_host_energy_kwh"])
    assert inf["annual_water_l"] == pytest.approx(
        inf["annual_water_onsite_l"] + 2.0 * inf["annual_energy_kwh"])
    assert inf["fleet_water_l_per_1k_requests"] == pytest.approx(
        inf["annual_water_l"] / inf["annual_requests"] * 1000.0)


def test_water_in_levers_lifecycle_and_uncertainty(planner):
    result = planner.plan({
        "training": TRAINING, "inference": SERVING, "site": {"country": "SWE"},
        "levers": {"site": {"country": "FRA"}},
        "lifecycle": {"horizon_months": 24},
        "uncertainty": {"draws": 200, "seed": 1}})
    levers = result.extras["levers"]
    base = levers[levers["lever"] == "baseline"].iloc[0]
    moved = levers[levers["lever"] != "baseline"].iloc[0]
    assert base["water_vs_baseline"] == pytest.approx(1.0)
    assert moved["water_vs_baseline"] == pytest.approx(
        moved["water_l_per_1k_requests"] / base["water_l_per_1k_requests"])
    summary = result.extras["lifecycle_summary"].iloc[0]
    train_water = result.training.iloc[0]["water_l"]
    assert summary["training_water_l"] == pytest.approx(train_water)
    assert summary["serving_water_l"] == pytest.approx(
        result.inference.iloc[0]["annual_water_l"] * 2)
    unc = result.extras["uncertainty"]
    for phase, metric, frame, col in (("training", "water_l", result.training, "water_l"),
                                      ("serving", "annual_water_l", result.inference,
                                       "annual_water_l")):
        row = unc[(unc["phase"] == phase) & (unc["metric"] == metric)].iloc[0]
        assert row["baseline"] == pytest.approx(frame.iloc[0][col])
        assert row["p10"] <= row["p50"] <= row["p90"]


def test_edge_devices_use_no_cooling_water(planner):
    inf = planner.plan({"inference": {"model": "llama-3.2-1b", "precision": "int8",
                                      "hardware": ["qualcomm-snapdragon-x-elite-npu"]},
                        "site": {"country": "FRA"}}).inference.iloc[0]
    assert inf["wue_l_per_kwh"] == 0.0 and inf["wue_basis"] == "edge device: no facility"
    assert np.isfinite(inf["water_l_per_1k_requests"])
    # Off-site water only: the grid's litres for the device's own energy.
    assert inf["water_l_per_1k_requests"] == pytest.approx(
        inf["energy_kwh_per_1k_requests"] * grid_water("FRA")[0])
