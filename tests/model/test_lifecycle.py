"""Lifecycle: a hand-worked break-even, retraining, per-phase totals and the planned curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from planner.errors import ScenarioError
from planner.model.lifecycle import (
    break_even_month,
    cumulative_curves,
    lifecycle_tables,
    retrainings_by_month,
)
from planner.model.plan import Planner
from planner.model.scenario import LifecycleSpec, parse_scenario


def _tables(training_cost, annual_cost, **spec):
    training = {"hardware_id": "t", "cost_usd": training_cost, "energy_kwh": 1.0,
                "co2e_kg": 1.0}
    serving = pd.DataFrame({"hardware_id": ["s"], "annual_cost_usd": [annual_cost],
                            "annual_energy_kwh": [0.0], "annual_total_co2e_kg": [1.0]})
    return lifecycle_tables(training, serving, LifecycleSpec(**spec))


def test_hand_worked_break_even_without_retraining():
    """$120,000 of training, $120,000 a year of serving ($10,000 a month): serving catches up
    at month 12 and is 3× training over 36 months."""
    curves, summary = _tables(120_000, 120_000, horizon_months=36)
    s = summary.iloc[0]
    assert s["break_even_month_cost"] == pytest.approx(12.0)
    assert s["serving_cost_usd"] == pytest.approx(360_000)
    assert s["total_cost_usd"] == pytest.approx(480_000)
    assert s["serving_share_of_cost"] == pytest.approx(0.75)
    assert curves["cumulative_cost_usd"].iloc[-1] == pytest.approx(480_000)
    assert curves["cumulative_serving_cost_usd"].iloc[12] == pytest.approx(120_000)


def test_hand_worked_break_even_with_retraining():
    """Retraining every 6 months at 20%: training steps to $144k at month 6 and $168k at
    month 12; serving ($10k/month) reaches $168k at month 16.8. Over 36 months there are 5
    retrainings (months 6…30; one at month 36 would serve nobody): $120k of retraining."""
    _, summary = _tables(120_000, 120_000, horizon_months=36, retrain_every_months=6,
                         retrain_fraction=0.2)
    s = summary.iloc[0]
    assert s["break_even_month_cost"] == pytest.approx(16.8)
    assert s["retrainings"] == 5
    assert s["retraining_cost_usd"] == pytest.approx(120_000)
    assert s["total_cost_usd"] == pytest.approx(120_000 + 120_000 + 360_000)


def test_no_break_even_within_the_horizon_says_so():
    """Retraining at 50% every 6 months adds $10k a month on average, as much as serving:
    serving never catches up."""
    _, summary = _tables(120_000, 120_000, horizon_months=36, retrain_every_months=6,
                         retrain_fraction=0.5)
    s = summary.iloc[0]
    assert np.isnan(s["break_even_month_cost"])
    assert "cost: serving does not overtake training within 36 months" in s["break_even_note"]
    assert np.isnan(s["break_even_month_energy"])  # no serving energy at all
    assert "energy: serving does not overtake" in s["break_even_note"]


def test_retrainings_by_month():
    assert retrainings_by_month(12, 6).tolist() == [0] * 6 + [1] * 6 + [1]
    assert retrainings_by_month(12, None).sum() == 0


@settings(max_examples=100, deadline=None)
@example(training=0.010000000000000002, monthly=0.01, horizon=2, every=None, fraction=1.0)
@given(training=st.floats(0, 1e7), monthly=st.floats(1e-3, 1e6), horizon=st.integers(1, 120),
       every=st.one_of(st.none(), st.integers(1, 24)), fraction=st.floats(0.01, 2.0))
def test_curves_rise_and_the_break_even_is_where_the_lines_meet(training, monthly, horizon,
                                                                every, fraction):
    cum_t, cum_s = cumulative_curves([training], [monthly], horizon, every, fraction)
    assert (np.diff(cum_t) >= 0).all() and (np.diff(cum_s) >= 0).all()
    t = break_even_month([training], [monthly], horizon, every, fraction)[0]
    level = cum_t[0, :-1]  # training over month [m - 1, m)
    start = np.arange(horizon)
    if training == 0:
        assert t == 0
    elif np.isnan(t):  # serving stays below training through every month
        assert (monthly * (start + 1) < level * (1 + 1e-12)).all()
    else:
        m = int(np.argmax(monthly * (start + 1) >= level * (1 - 1e-12)))
        assert (monthly * (start[:m] + 1) < level[:m]).all()  # no earlier crossing
        # Within the month of the crossing, to the rounding the crossing is found with (a
        # break-even of 0.010000000000000002 / 0.01 = 1.0000000000000002 is month 1's end).
        assert start[m] * (1 - 1e-12) <= t <= (start[m] + 1) * (1 + 1e-12)
        assert monthly * t == pytest.approx(level[m], rel=1e-9)


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


LIFE = {
    "training": {"model": "llama-3-8b", "hardware": ["nvidia-h100-sxm", "google-tpu-v6e"],
                 "days": 30},
    "inference": {"model": "llama-3-8b", "hardware": ["nvidia-h100-sxm", "google-tpu-v6e"],
                  "batch_size": 64, "requests_per_s_avg": 200, "latency_p95_s": 10},
    "site": {"cloud_provider": "aws", "cloud_region": "us-east-1"},
    "pricing": {"cloud_providers": "any"},  # the TPU at Google's price (AWS does not rent it)
    "lifecycle": {"horizon_months": 24, "retrain_every_months": 12, "retrain_fraction": 0.5,
                  "serving_hardware": "all"},
}


def test_the_planned_lifecycle_uses_the_cheapest_training_and_each_serving_option(planner):
    result = planner.plan(LIFE)
    curves, summary = result.extras["lifecycle"], result.extras["lifecycle_summary"]
    training = result.training
    cheapest = training.loc[training["cost_usd"].idxmin()]
    assert (summary["training_hardware_id"] == cheapest["hardware_id"]).all()
    assert summary["training_cost_usd"].iloc[0] == pytest.approx(cheapest["cost_usd"])
    assert len(summary) == 2 and len(curves) == 2 * 25
    inf = result.inference.set_index("hardware_id")
    for _, s in summary.iterrows():
        assert s["serving_cost_usd"] == pytest.approx(2 * inf.loc[s["hardware_id"],
                                                                  "annual_cost_usd"])
        assert s["retraining_cost_usd"] == pytest.approx(0.5 * s["training_cost_usd"])
        last = curves[(curves["hardware_id"] == s["hardware_id"]) & (curves["month"] == 24)]
        assert last["cumulative_cost_usd"].iloc[0] == pytest.approx(s["total_cost_usd"])


def test_lifecycle_with_known_training_figures(planner):
    scenario = {k: v for k, v in LIFE.items() if k != "training"}
    scenario["lifecycle"] = {"training_cost_usd": 1e6, "training_energy_kwh": 2e5,
                             "training_co2e_kg": 5e4}
    summary = planner.plan(scenario).extras["lifecycle_summary"]
    assert summary["training_hardware_id"].iloc[0] == "given"
    assert summary["training_cost_usd"].iloc[0] == 1e6


@pytest.mark.parametrize(("change", "match"), [
    ({"inference": {"model": "llama-3-8b"}}, "lifecycle: needs an `inference` section with "
                                             "traffic"),
    ({"training": None}, "lifecycle: needs a `training` section"),
    ({"lifecycle": {"horizon_months": 0}}, r"lifecycle\.horizon_months"),
    ({"lifecycle": {"retrain_fraction": 3}}, r"lifecycle\.retrain_fraction"),
])
def test_bad_lifecycle_sections_get_a_message(change, match):
    scenario = {**LIFE, **change}
    scenario = {k: v for k, v in scenario.items() if v is not None}
    with pytest.raises(ScenarioError, match=match):
        parse_scenario(scenario)


def test_unknown_serving_hardware_is_named(planner):
    with pytest.raises(ScenarioError, match=r"lifecycle\.serving_hardware: nvidia-t4 not in"):
        planner.plan({**LIFE, "lifecycle": {"serving_hardware": "nvidia-t4"}})
