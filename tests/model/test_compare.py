"""Scenario comparison: headline figures per plan, changes against the first, input diffs."""

from __future__ import annotations

import numpy as np
import pytest

from planner.model.compare import compare_plans, headline_figures, input_differences, unique_names
from planner.model.plan import Planner
from planner.model.scenario import parse_scenario

BASE = {"name": "us", "training": {"model": "llama-3-8b", "days": 30},
        "inference": {"model": "llama-3-8b", "requests_per_s_avg": 200,
                      "requests_per_s_peak": 400, "latency_p95_s": 8},
        "site": {"cloud_provider": "aws", "cloud_region": "us-east-1"},
        "lifecycle": {"horizon_months": 36, "retrain_every_months": 12}}
FRANCE = {**BASE, "name": "fr-int4", "site": {"country": "FRA"},
          "inference": {**BASE["inference"], "precision": "int4"}}


@pytest.fixture(scope="module")
def plans():
    planner = Planner.load()
    return {s["name"]: (parse_scenario(s), planner.plan(s)) for s in (BASE, FRANCE)}


def test_headline_is_the_cheapest_feasible_option(plans):
    _, result = plans["us"]
    figures = headline_figures(result)
    ok = result.training[result.training["feasible"]]
    assert figures[("training", "cost", "USD")] == pytest.approx(ok["cost_usd"].min())
    fleet = result.inference[result.inference["feasible"]]
    assert figures[("serving year", "cost per year", "USD")] == pytest.approx(
        fleet["annual_cost_usd"].min())
    summary = result.extras["lifecycle_summary"].iloc[0]
    assert figures[("lifecycle", "total CO2e", "kg")] == pytest.approx(summary["total_co2e_kg"])


def test_compare_gives_values_and_ratios_against_the_first(plans):
    results = {name: r for name, (_, r) in plans.items()}
    table = compare_plans(results).set_index(["section", "figure"])
    row = table.loc[("serving year", "CO2e per year")]
    assert row["fr-int4 vs us"] == pytest.approx(row["fr-int4"] / row["us"])
    assert row["fr-int4"] < row["us"]  # a cleaner grid and a quarter of the bytes per weight
    assert table.loc[("training", "device"), "fr-int4 vs us"] in ("same", "differs")
    assert np.isfinite(table.loc[("training", "total compute"), "us"])
    with pytest.raises(ValueError, match="at least two"):
        compare_plans({"us": results["us"]})


def test_input_differences_lists_only_fields_that_differ(plans):
    diff = input_differences({name: s for name, (s, _) in plans.items()})
    fields = set(diff["field"])
    assert {"inference.precision", "site.country", "site.cloud_region"} <= fields
    assert "training.model" not in fields and "name" not in fields
    assert diff.set_index("field").loc["inference.precision", "fr-int4"] == "int4"


def test_unique_names():
    assert unique_names(["a", "b", "a", "a"]) == ["a", "b", "a (2)", "a (3)"]
