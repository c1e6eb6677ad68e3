"""Uncertainty: the Monte Carlo reproduces the plan, its percentiles are ordered, the ranking
moves the right results, and 10,000 draws are quick."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from planner.errors import ScenarioError
from planner.model.plan import Planner
from planner.model.scenario import UNCERTAIN_NAMES, parse_scenario
from planner.model.serving import plan_serving, resolve_traffic
from planner.model.uncertainty import (
    SERVING_METRICS,
    draw_factors,
    plan_uncertainty,
    serving_draws,
    training_draws,
)

HW = ["nvidia-h100-sxm", "google-tpu-v6e", "nvidia-a100-sxm-80gb"]
SCENARIO = {
    "training": {"model": "llama-3-8b", "hardware": HW[:2], "days": 30},
    "inference": {"model": "llama-3-8b", "precision": "int8", "hardware": HW, "batch_size": 64,
                  "batch_policy": "fixed", "requests_per_s_avg": 40, "requests_per_s_peak": 80,
                  "latency_p95_s": 8, "network_rtt_s": 0.05},
    "site": {"cloud_provider": "aws", "cloud_region": "us-east-1", "pue": 1.2},
    "uncertainty": {"draws": 2000, "seed": 3},
}


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


@pytest.fixture(scope="module")
def planned(planner):
    return planner.plan(SCENARIO)


def _ones(n=1):
    return {name: np.ones(n) for name in UNCERTAIN_NAMES}


PROFILE = [0.3] * 7 + [1.0] * 5 + [1.6] * 8 + [0.8] * 4


@pytest.mark.parametrize("change", [{}, {"daily_profile": PROFILE},
                                    {"daily_profile": PROFILE, "autoscaling": True}])
def test_a_draw_at_the_baseline_reproduces_the_plan(planner, planned, change):
    s = {**SCENARIO, "inference": {**SCENARIO["inference"], **change}}
    planned = planner.plan({k: v for k, v in s.items() if k != "uncertainty"})
    spec = planned.scenario.inference
    rows = planned.inference[planned.inference["feasible"]].reset_index(drop=True)
    got = serving_draws(rows, spec, resolve_traffic(spec), _ones())
    for metric in SERVING_METRICS:
        np.testing.assert_allclose(got[metric][0], rows[metric], rtol=1e-12)
    train = training_draws(planned.training, _ones())
    for metric in ("cost_usd", "energy_kwh", "total_co2e_kg"):
        np.testing.assert_allclose(train[metric][0], planned.training[metric], rtol=1e-12)


def test_a_traffic_or_pue_factor_equals_replanning_with_it(planner, planned):
    spec = planned.scenario.inference
    rows = planned.inference[planned.inference["feasible"]].reset_index(drop=True)
    factors = _ones()
    factors["traffic"] = np.array([1.5])
    factors["pue"] = np.array([1.25])
    got = serving_draws(rows, spec, resolve_traffic(spec), factors)
    s = dict(SCENARIO, inference={**SCENARIO["inference"], "requests_per_s_avg": 60,
                                  "requests_per_s_peak": 120},
             site={**SCENARIO["site"], "pue": 1.5})
    s = parse_scenario({k: v for k, v in s.items() if k != "uncertainty"})
    again = plan_serving(planner, s, planner.resolve_site(s)).set_index("hardware_id")
    again = again.loc[rows["hardware_id"]]
    # A draw resizes the planned fleet in proportion to the capacity it needs (then by 1.25
    # and 2 where that misses a target) instead of repeating the plan's search: never fewer
    # devices than the search finds, at most a quarter more.
    exact = again["fleet_devices"].to_numpy()
    assert (got["fleet_devices"][0] >= exact).all()
    assert (got["fleet_devices"][0] <= np.ceil(exact * 1.25) + 1).all()
    for metric in ("annual_cost_usd", "annual_energy_kwh", "annual_total_co2e_kg"):
        np.testing.assert_allclose(got[metric][0], again[metric], rtol=0.3)


def test_percentiles_are_ordered_and_collapse_without_uncertainty(planner, planned):
    summary = planned.extras["uncertainty"]
    assert {"serving", "training"} == set(summary["phase"])
    ok = summary.dropna(subset=["p10"])
    assert (ok["p10"] <= ok["p50"]).all() and (ok["p50"] <= ok["p90"]).all()
    assert (ok["p10"] < ok["p90"]).any()
    flat = {name: {"low": 1, "mode": 1, "high": 1} for name in UNCERTAIN_NAMES}
    still = planner.plan({**SCENARIO, "uncertainty": {"draws": 200, "ranges": flat}})
    s = still.extras["uncertainty"].dropna(subset=["baseline"])
    np.testing.assert_allclose(s["p10"], s["baseline"], rtol=1e-12)
    np.testing.assert_allclose(s["p90"], s["baseline"], rtol=1e-12)
    assert (s["draws_meeting_target_share"] == 1).all()


def test_the_ranking_moves_only_what_each_assumption_touches(planned):
    sens = planned.extras["sensitivity"].set_index(["phase", "hardware_id", "metric",
                                                    "assumption"])
    h100 = ("serving", "nvidia-h100-sxm")
    assert sens.loc[(*h100, "annual_energy_kwh", "price"), "swing_fraction"] == 0
    assert sens.loc[(*h100, "annual_cost_usd", "carbon_intensity"), "swing_fraction"] == 0
    assert sens.loc[(*h100, "annual_cost_usd", "pue"), "swing_fraction"] == 0
    assert sens.loc[(*h100, "fleet_latency_p95_s", "utilisation"), "rank"] == 1
    assert sens.loc[(*h100, "annual_cost_usd", "utilisation"), "spearman_rho"] < 0
    assert sens.loc[(*h100, "annual_cost_usd", "traffic"), "spearman_rho"] > 0
    assert sens.loc[("training", "nvidia-h100-sxm", "cost_usd", "traffic"),
                    "swing_fraction"] == 0
    # The swing is the one-at-a-time result at the high factor against the low one.
    row = sens.loc[(*h100, "annual_energy_kwh", "pue")]
    assert row["result_at_high"] / row["result_at_low"] == pytest.approx(
        max(1.2 * 1.3, 1) / max(1.2 * 0.95, 1), rel=1e-9)


def test_triangular_draws_follow_their_ranges():
    f = draw_factors({n: (0.5, 1.0, 2.0) for n in UNCERTAIN_NAMES}, 20_000, seed=0)
    for v in f.values():
        assert v.min() >= 0.5 and v.max() <= 2.0
        assert v.mean() == pytest.approx((0.5 + 1.0 + 2.0) / 3, rel=0.02)


def test_ten_thousand_draws_are_quick(planned):
    """The bench (bench/monte_carlo.py) measures it properly; this only guards against a
    per-draw Python loop creeping in (which would take minutes)."""
    start = time.perf_counter()
    u = plan_uncertainty(parse_scenario({**SCENARIO, "uncertainty": {"draws": 10_000}})
                         .uncertainty, planned.scenario.inference, planned.training,
                         planned.inference)
    assert time.perf_counter() - start < 5.0
    assert u.draws["serving.annual_cost_usd"].shape == (10_000, 3)


@pytest.mark.parametrize(("uncertainty", "match"), [
    ({"ranges": {"pue": {"low": 1.3, "high": 1.1}}}, r"uncertainty\.ranges\.pue.*low ≤ mode"),
    ({"ranges": {"weather": {"low": 0.9, "high": 1.1}}}, r"uncertainty\.ranges\.weather"),
    ({"draws": 10}, r"uncertainty\.draws"),
])
def test_bad_ranges_get_a_message_naming_the_field(uncertainty, match):
    with pytest.raises(ScenarioError, match=match):
        parse_scenario({**SCENARIO, "uncertainty": uncertainty})


def test_spearman_matches_scipy():
    from scipy.stats import spearmanr

    from planner.model.draw_statistics import ranks, spearman_rho

    rng = np.random.default_rng(0)
    x = rng.random((500, 2))
    y = np.column_stack([x[:, 0] ** 3 + 0.1 * rng.random(500), rng.random(500)])
    y[:50, 1] = np.nan  # some draws missing in one option
    rho = spearman_rho(ranks(x), y)
    assert rho[0, 0] == pytest.approx(spearmanr(x[:, 0], y[:, 0]).statistic, rel=1e-9)
    ok = np.isfinite(y[:, 1])
    assert rho[1, 1] == pytest.approx(spearmanr(x[ok, 1], y[ok, 1]).statistic, rel=1e-9)


def test_spearman_ranks_ties_as_scipy_does():
    """A result with ties (a fleet's device count) ranks them at their mean rank; a result
    that never moves has no correlation."""
    from scipy.stats import spearmanr

    from planner.model.draw_statistics import ranks, spearman_rho

    rng = np.random.default_rng(1)
    x = rng.random((3000, 2))
    y = np.column_stack([np.ceil(x[:, 0] * 4 + rng.random(3000)), np.round(x[:, 1] * 3),
                         np.full(3000, 7.0)])
    y[:300, 1] = np.nan
    rho = spearman_rho(ranks(x), y)
    assert rho[0, 0] == pytest.approx(spearmanr(x[:, 0], y[:, 0]).statistic, rel=1e-9)
    ok = np.isfinite(y[:, 1])
    assert rho[1, 1] == pytest.approx(spearmanr(x[ok, 1], y[ok, 1]).statistic, rel=1e-9)
    assert np.isnan(rho[:, 2]).all()


def test_draw_statistics_match_numpy():
    from planner.model.draw_statistics import PERCENTILES, draw_statistics, ranks

    rng = np.random.default_rng(3)
    v = rng.lognormal(size=(1001, 5))
    v[:100, 1] = np.nan  # some draws missing
    v[:, 2] = np.nan  # every draw missing
    v[:1000, 3] = np.nan  # one draw left
    pct, mean, rho = draw_statistics(v, ranks(rng.random((1001, 2))))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(pct, np.nanpercentile(v, PERCENTILES, axis=0), rtol=1e-12)
        np.testing.assert_allclose(mean, np.nanmean(v, axis=0), rtol=1e-12)
    assert np.isfinite(rho[:, [0, 1, 4]]).all() and np.isnan(rho[:, [2, 3]]).all()


def test_chunks_of_draws_give_the_figures_of_one_pass(planned, monkeypatch):
    """The serving draws are evaluated in chunks: the same figures as one pass."""
    from planner.model import uncertainty

    spec = planned.scenario.inference
    rows = planned.inference[planned.inference["feasible"]].reset_index(drop=True)
    factors = draw_factors({n: (0.7, 1.0, 1.6) for n in UNCERTAIN_NAMES}, 1000, seed=5)
    whole = serving_draws(rows, spec, resolve_traffic(spec), factors)
    monkeypatch.setattr(uncertainty, "CHUNK_EVALUATIONS", 256 * len(rows))
    chunked = serving_draws(rows, spec, resolve_traffic(spec), factors)
    for k, v in whole.items():
        np.testing.assert_array_equal(chunked[k], v)


def test_sets_of_draws_in_one_pass_give_the_figures_of_each_alone(planned):
    """The Monte Carlo's draws and the sensitivity's cases run in one pass, each set at its
    own utilisation levels: the figures each set has alone, exactly."""
    from planner.model.uncertainty import one_at_a_time_factors, serving_draw_sets

    spec = planned.scenario.inference
    rows = planned.inference[planned.inference["feasible"]].reset_index(drop=True)
    ranges = {n: (0.7, 1.0, 1.6) for n in UNCERTAIN_NAMES}
    sets = [draw_factors(ranges, 700, seed=2), one_at_a_time_factors(ranges)]
    together = serving_draw_sets(rows, spec, resolve_traffic(spec), sets)
    for factors, got in zip(sets, together, strict=True):
        alone = serving_draws(rows, spec, resolve_traffic(spec), factors)
        for k, v in alone.items():
            np.testing.assert_array_equal(got[k], v)


def test_statistics_in_blocks_of_options_equal_those_of_the_whole():
    """The statistics run on the threads in blocks of options: each option's figures are
    those of the whole table, exactly (rank sums are whole and half numbers)."""
    from planner.model.draw_statistics import draw_statistics, rank_order, ranks
    from planner.model.uncertainty_tables import statistics

    rng = np.random.default_rng(4)
    v = rng.lognormal(size=(2000, 7))
    v[:, 1] = np.round(v[:, 1] * 3)  # ties
    v[:300, 2] = np.nan  # some draws missing
    v[:, 3] = np.nan  # every draw missing
    fr = ranks(rng.random((2000, 3)))
    whole = draw_statistics(v, fr)
    for got, expected in zip(statistics({"m": v}, ["m"], fr, rank_order(fr))[0], whole,
                             strict=True):
        np.testing.assert_array_equal(got, expected)
    for a, b in ((0, 3), (3, 7)):
        for got, expected in zip(draw_statistics(v[:, a:b], fr), whole, strict=True):
            np.testing.assert_array_equal(got, expected[..., a:b])


def test_a_seed_reproduces_and_another_agrees_within_sampling_error(planned):
    """Same seed, same figures; another seed's draws fall below this seed's P10, P50 and P90
    in those shares (within 4 standard errors, sqrt(q(1 − q)/n)), and this seed's mean is
    within 4 standard errors of the other's."""
    run = lambda seed: plan_uncertainty(  # noqa: E731
        parse_scenario({**SCENARIO, "uncertainty": {"draws": 4000, "seed": seed}}).uncertainty,
        planned.scenario.inference, planned.training, planned.inference)
    a, again, b = run(7), run(7), run(8)
    assert a.summary.equals(again.summary) and a.sensitivity.equals(again.sensitivity)
    summary = a.summary.set_index(["phase", "hardware_id", "metric"])
    for key, values in b.draws.items():
        phase, metric = key.split(".", 1)
        for j, hw in enumerate(b.options[phase]):
            row = summary.loc[(phase, hw, metric)]
            y = values[:, j][np.isfinite(values[:, j])]
            if y.size < 100 or row["p90"] == row["p10"]:
                continue
            for q, name in ((0.1, "p10"), (0.5, "p50"), (0.9, "p90")):
                tol = 4 * np.sqrt(q * (1 - q) / y.size)  # (<, ≤: a discrete result has ties)
                assert np.mean(y < row[name]) < q + tol, (key, hw, name)
                assert np.mean(y <= row[name]) > q - tol, (key, hw, name)
            assert abs(y.mean() - row["mean"]) < 4 * y.std() / np.sqrt(y.size), (key, hw)


def test_too_many_draws_for_the_options_get_one_line_at_once(planned):
    """draws × options is bounded (time and memory): refused before anything is drawn."""
    from planner.model.uncertainty import MAX_EVALUATIONS

    spec = parse_scenario({**SCENARIO, "uncertainty": {"draws": 1_000_000}}).uncertainty
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match=r"^uncertainty\.draws \(Monte Carlo draws\): "
                       r"1,000,000 draws × 5 options .* at most [\d,]+ draws"):
        plan_uncertainty(spec, planned.scenario.inference, planned.training, planned.inference)
    assert time.perf_counter() - start < 1.0
    one = planned.training[planned.training["feasible"]].head(1)
    u = plan_uncertainty(spec.model_copy(update={"draws": MAX_EVALUATIONS}), None, one, None)
    assert u.draws["training.cost_usd"].shape == (MAX_EVALUATIONS, 1)


def test_training_draws_scale_device_hours_by_training_time_not_utilisation(planner, planned):
    """A planned run's device-hours (so its energy) multiply by the training_time factor; the
    utilisation factor moves nothing in training; a known run keeps its device-hours."""
    rows = planned.training
    base = training_draws(rows, _ones())
    slow = _ones()
    slow["training_time"] = np.array([1.5])
    got = training_draws(rows, slow)
    np.testing.assert_allclose(got["energy_kwh"][0], 1.5 * base["energy_kwh"][0], rtol=1e-12)
    np.testing.assert_allclose(got["total_co2e_kg"][0], 1.5 * base["total_co2e_kg"][0],
                               rtol=1e-12)
    util = _ones()
    util["utilisation"] = np.array([0.5])
    for k, v in training_draws(rows, util).items():
        np.testing.assert_array_equal(v, base[k])
    known = planner.plan({"training": {"hardware": HW[:2], "device_hours": 1e5},
                          "site": SCENARIO["site"]}).training
    for k, v in training_draws(known, slow).items():
        np.testing.assert_array_equal(v, training_draws(known, _ones())[k])


def test_the_training_time_range_is_the_shipped_fitted_one_unless_the_scenario_sets_it(
        planner, planned):
    """The training phase's sensitivity lists training_time at the shipped (fitted) range and
    not utilisation; serving lists utilisation and not training_time; a scenario's
    ``uncertainty.ranges.training_time`` replaces the range."""
    from planner.model.levers import load_lever_defaults

    shipped = load_lever_defaults().uncertainty["training_time"]
    assert shipped.source == "fitted" and shipped.mode == 1.0
    sens = planned.extras["sensitivity"]
    train = sens[sens["phase"] == "training"]
    serve = sens[sens["phase"] == "serving"]
    assert set(train["assumption"]) == set(UNCERTAIN_NAMES) - {"utilisation"}
    assert set(serve["assumption"]) == set(UNCERTAIN_NAMES) - {"training_time"}
    tt = train[train["assumption"] == "training_time"]
    assert (tt["low_factor"] == shipped.low).all() and (tt["high_factor"] == shipped.high).all()
    assert tt["source"].str.contains("Fitted").all()
    # energy is device-hours × power: the one-at-a-time ends are the factors themselves
    e = tt[tt["metric"] == "energy_kwh"].set_index("hardware_id")
    base = planned.training.set_index("hardware_id").loc[e.index, "energy_kwh"]
    np.testing.assert_allclose(e["result_at_high"], shipped.high * base, rtol=1e-9)
    np.testing.assert_allclose(e["result_at_low"], shipped.low * base, rtol=1e-9)
    mine = planner.plan({**SCENARIO, "uncertainty": {
        "draws": 500, "ranges": {"training_time": {"low": 1.0, "mode": 1.0, "high": 3.0}}}})
    s = mine.extras["sensitivity"]
    tt = s[(s["phase"] == "training") & (s["assumption"] == "training_time")]
    assert (tt["low_factor"] == 1.0).all() and (tt["high_factor"] == 3.0).all()


def test_serving_draws_do_not_read_the_training_time(planner, planned):
    """The serving phase's percentiles and sensitivity are the same, bit for bit, whatever
    the training_time range (its factor is drawn after the others, which keep their draws)."""
    narrow = planner.plan({**SCENARIO, "uncertainty": {
        "draws": 2000, "seed": 3,
        "ranges": {"training_time": {"low": 1.0, "mode": 1.0, "high": 1.0}}}}).extras
    for key in ("uncertainty", "sensitivity"):
        a, b = (t[t["phase"] == "serving"].reset_index(drop=True)
                for t in (planned.extras[key], narrow[key]))
        assert len(a) and a.equals(b)
    ranges = {n: (0.7, 1.0, 1.6) for n in UNCERTAIN_NAMES}
    wide = draw_factors({**ranges, "training_time": (0.5, 1.0, 4.0)}, 300, seed=1)
    for name in UNCERTAIN_NAMES[:-1]:
        np.testing.assert_array_equal(wide[name], draw_factors(ranges, 300, seed=1)[name])


def test_a_bad_training_time_range_gets_the_same_one_line():
    with pytest.raises(ScenarioError, match=r"uncertainty\.ranges\.training_time.*low ≤ mode"):
        parse_scenario({**SCENARIO, "uncertainty": {
            "ranges": {"training_time": {"low": 2.0, "high": 1.5}}}})
    with pytest.raises(ScenarioError, match=r"uncertainty\.ranges\.training_time\.low"):
        parse_scenario({**SCENARIO, "uncertainty": {
            "ranges": {"training_time": {"low": 0, "high": 1.5}}}})
