"""Serving, Lifecycle and Optimisation pages under AppTest: the figures shown equal the
planner API's for the same scenario, and the CSVs hold the planner's tables."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from planner.dashboard import formats, state, tables
from planner.model.levers import load_lever_defaults
from planner.model.lifecycle import MONTHS_PER_YEAR, cumulative_curves
from planner.model.scenario import UncertaintySpec, parse_scenario
from planner.model.uncertainty import plan_uncertainty
from tests.dashboard.conftest import assert_clean, open_page, shown_device


def _scenario(planner, sections, **changes):
    s = {**state.default_state(planner.defaults), **changes}
    return state.to_scenario(s, planner.defaults, sections)


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_serving_page_matches_planner(planner, downloads):
    at = open_page("serving")
    assert_clean(at)
    assert not at.error
    result = planner.plan(_scenario(planner, ("inference",)))
    inf = result.inference
    hw = tables.default_serving_choice(inf)
    assert at.selectbox(key="sv_hw").value == state.AUTO  # follows the inputs
    assert shown_device(at, "sv_hw", inf) == hw
    row = inf.set_index("hardware_id").loc[hw]
    shown = _metrics(at)
    assert shown["Fleet"] == f"{formats.count(row['fleet_devices'])} devices"
    assert shown["Cost per year"] == formats.money(row["annual_cost_usd"])
    assert shown["Energy per year"] == formats.energy(row["annual_energy_kwh"])
    assert shown["CO2e per year"] == formats.co2e(row["annual_total_co2e_kg"])
    assert shown["Water per year"] == formats.water(row["annual_water_l"])
    assert shown["Water per 1,000 requests"] == formats.water(row["fleet_water_l_per_1k_requests"])
    assert shown["Cost per 1,000 requests"] == formats.money(row["fleet_cost_usd_per_1k_requests"])
    assert shown["p95 latency at the peak"] == formats.seconds(row["fleet_latency_p95_s"])
    # the fleet table CSV is the CLI's inference section
    expected = tables.inference_table(inf)
    assert downloads["dl_sv_table"]["data"] == expected.to_csv(index=False)
    # P10/P50/P90: the model's Monte Carlo for the same options and draws
    summary = pd.read_csv(io.StringIO(downloads["dl_sv_uncertainty"]["data"]))
    ids = sorted(set(summary["hardware_id"]))
    assert hw in ids
    spec = UncertaintySpec(draws=2000, seed=0)
    u = plan_uncertainty(spec, parse_scenario(_scenario(planner, ("inference",))).inference,
                         None, inf[inf["hardware_id"].isin(ids)])
    got = summary.set_index(["hardware_id", "metric"])["p90"]
    want = u.summary.set_index(["hardware_id", "metric"])["p90"]
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index().astype(float),
                                   check_names=False, rtol=1e-9)
    assert len(at.get("plotly_chart")) == 2  # P10-P90 bars and the tornado


def test_serving_without_traffic_says_why():
    # blank inputs (AppTest sets a cleared number input to 0, so blank it through the URL)
    at = open_page("serving", {"i_rps_avg": "", "i_rps_peak": ""})
    assert_clean(at)
    assert any("average or peak load" in e.value for e in at.error)


def test_zero_traffic_shows_the_reason():
    at = open_page("serving")
    at.number_input(key="i_rps_avg").set_value(0.0).run()
    assert_clean(at)
    assert any("Average load (requests/s) must be more than 0" in e.value for e in at.error)


def test_unmeetable_latency_target_shows_error():
    at = open_page("serving")
    at.number_input(key="i_latency_p95_s").set_value(0.01).run()
    assert_clean(at)
    assert any("latency target" in e.value for e in at.error)
    assert at.sidebar


def test_lifecycle_page_matches_planner(planner, downloads):
    # Without retraining: at AWS prices (H100 training, H200 serving) a yearly retraining keeps
    # training ahead of serving for the 36 months of the first view.
    at = open_page("lifecycle", {"lc_retrain_months": ""})
    assert_clean(at)
    assert not at.error
    result = planner.plan(_scenario(planner, ("training", "inference", "lifecycle"),
                                    lc_retrain_months=None))
    summary = result.extras["lifecycle_summary"].iloc[0]
    shown = _metrics(at)
    assert shown["Total cost over 36 months"] == formats.money(summary["total_cost_usd"])
    assert shown["Serving"] == formats.money(summary["serving_cost_usd"])
    be = summary["break_even_month_cost"]
    # With training predicted from its layout (and goodput), the default view's training may
    # cost more than 36 months of serving: then the page says so instead of a month.
    assert shown["Break-even"] == (f"month {be:.1f}" if np.isfinite(be) else "not reached")
    curves = pd.read_csv(io.StringIO(downloads["dl_lc_curves"]["data"]))
    pd.testing.assert_frame_equal(curves, result.extras["lifecycle"].reset_index(drop=True),
                                  check_dtype=False)
    # the chart marks the break-even month and carries the P10/P90 envelope
    chart = at.get("plotly_chart")[0].proto.spec
    assert "P10-P90 envelope" in chart
    if np.isfinite(be):
        assert f"break-even: month {be:.1f}" in chart


def test_lifecycle_envelope_uses_the_model(planner):
    """The envelope ends equal the lifecycle curve function at both phases' P10 and P90."""
    spec = UncertaintySpec(draws=2000, seed=0)
    result = planner.plan(_scenario(planner, ("training", "inference", "lifecycle")))
    summary = result.extras["lifecycle_summary"].iloc[0]
    t = result.training[result.training["hardware_id"] == summary["training_hardware_id"]]
    u = plan_uncertainty(spec, None, t, None).summary.set_index("metric")
    lc = result.scenario.lifecycle
    cum_t, _ = cumulative_curves([u.loc["cost_usd", "p90"]], [0.0], lc.horizon_months,
                                 lc.retrain_every_months, lc.retrain_fraction)
    assert cum_t[0, -1] == pytest.approx(u.loc["cost_usd", "p90"]
                                         * (1 + lc.retrain_fraction * summary["retrainings"]))
    assert MONTHS_PER_YEAR == 12.0


def test_lifecycle_widgets_change_the_plan(planner):
    at = open_page("lifecycle", {"lc_retrain_months": ""})
    at.radio(key="lc_metric").set_value("co2e").run()
    assert_clean(at)
    result = planner.plan(_scenario(planner, ("training", "inference", "lifecycle"),
                                    lc_retrain_months=None))
    summary = result.extras["lifecycle_summary"].iloc[0]
    assert _metrics(at)["Total CO2e over 36 months"] == formats.co2e(summary["total_co2e_kg"])
    at.number_input(key="lc_retrain_pct").set_value(0.0).run()
    assert_clean(at)
    assert any("Retraining cost (% of the first) must be more than 0" in e.value
               for e in at.error)


def test_optimisation_page_matches_planner(planner, downloads):
    at = open_page("optimisation")
    assert_clean(at)
    assert not at.error
    inf = planner.plan(_scenario(planner, ("inference",))).inference
    hw = tables.default_serving_choice(inf)
    scenario = _scenario(planner, ("inference", "levers"))
    scenario["inference"]["hardware"] = [hw]
    levers = planner.plan(scenario).extras["levers"]
    base = levers[levers["lever"] == "baseline"].iloc[0]
    combined = levers[levers["lever"] == "combined"].iloc[0]
    shown = _metrics(at)
    assert shown["Baseline cost per year"] == formats.money(base["annual_cost_usd"])
    assert shown["All levers: CO2e per year"] == formats.co2e(combined["annual_total_co2e_kg"])
    assert downloads["dl_lv_table"]["data"] == levers.to_csv(index=False)
    assert set(levers["lever"]) == {"baseline", "quantisation", "pruning", "distillation",
                                    "site", "combined"}


def test_optimisation_levers_change(planner, downloads):
    at = open_page("optimisation", {"lv_pue": ""})
    for key, value in (("lv_prune", "none"), ("lv_distil", "none"), ("lv_region", "none")):
        at.selectbox(key=key).set_value(value).run()
    assert_clean(at)
    csv = pd.read_csv(io.StringIO(downloads["dl_lv_table"]["data"]))
    assert set(csv["lever"]) == {"baseline", "quantisation"}
    at.selectbox(key="lv_quant").set_value("none").run()
    assert_clean(at)
    assert any("at least one lever" in i.value for i in at.info)
    at.number_input(key="lv_batch").set_value(-8).run()
    assert_clean(at)
    assert any("Fixed batch size must be at least 1" in e.value for e in at.error)


def test_quantisation_lever_follows_the_serving_precision():
    """Served at int4 nothing is smaller: the lever offers none instead of refusing its own
    default; served at fp8 it offers int4 only (int8 has as many bytes per weight)."""
    at = open_page("optimisation", {"i_precision": "int4"})
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="lv_quant").options == ["no quantisation"]
    at = open_page("optimisation", {"i_precision": "fp8"})
    assert_clean(at)
    assert at.selectbox(key="lv_quant").options == ["no quantisation", "int4"]
    assert at.selectbox(key="lv_quant").value == "int4"


def test_training_uncertainty_matches_model(planner):
    at = open_page("training")
    assert_clean(at)
    training = planner.plan(_scenario(planner, ("training",))).training
    hw = tables.default_training_choice(training)
    u = plan_uncertainty(UncertaintySpec(draws=2000, seed=0), None,
                         training[training["hardware_id"] == hw], None).summary
    q = u.set_index("metric")
    text = " ".join(m.value for m in at.markdown)
    low, high = q.loc["cost_usd", "p10"], q.loc["cost_usd", "p90"]
    assert f"{formats.money(low)} – {formats.money(high)}" in text
    # the training time factor (fitted) is said with its range
    shipped = load_lever_defaults().uncertainty["training_time"]
    assert any(f"× {shipped.low:.2f} to × {shipped.high:.2f}" in c.value for c in at.caption)
    assert at.get("plotly_chart")  # the tornado is drawn
    at.number_input(key="u_draws").set_value(10).run()
    assert_clean(at)
    assert any("Monte Carlo draws must be at least 100" in e.value for e in at.error)
    assert at.number_input(key="u_draws").value == 10  # the box stays, so it can be mended


def test_training_page_groups_the_devices_that_cannot_run(planner):
    """Refused devices are grouped by cause in one short line, with every full reason in a
    table, rather than a paragraph of 22 reasons."""
    at = open_page("training")
    assert_clean(at)
    training = planner.plan(_scenario(planner, ("training",))).training
    bad = training[~training["feasible"].astype(bool)]
    label = at.expander[0].label
    assert label.startswith(f"{len(bad)} devices cannot run this training: ")
    assert len(label) < 300
    shown = at.expander[0].dataframe[0].value
    assert sorted(shown["Why not"]) == sorted(bad["infeasible_reason"].astype(str))


def test_training_assumptions_name_where_the_host_share_came_from(planner):
    """An H100's host share comes from its node's specification at the sourced load share;
    the assumptions table says so (not the default share per device kind)."""
    at = open_page("training")
    assert_clean(at)
    table = next(d.value for d in at.dataframe if "figure" in d.value.columns)
    row = table.set_index("figure").loc["host power share"]
    from planner.dashboard import tables

    training = planner.plan(_scenario(planner, ("training",))).training
    hw = tables.default_training_choice(training)
    assert hw == "nvidia-h100-sxm"  # the default view's pick, a device with a node spec
    picked = training.set_index("hardware_id").loc[hw]
    assert row["value"] == f"{picked['host_power_fraction']:.0%}"
    assert "node specification" in row["from"] and "load share 0.47" in row["from"]
