"""The input declarations: one per input, and everything derived from them (scenario both
ways, URL, help, range checks in the widget's words); blank means none; picks are kept."""

from __future__ import annotations

import subprocess
import sys

import pytest

from planner.dashboard import inputs, state, tables
from planner.model.scenario import parse_scenario
from tests.dashboard.conftest import ROOT, assert_clean, open_page, shown_device

OPTIONAL = [i for i in inputs.INPUTS if i.optional]


def test_every_declared_path_is_a_scenario_field():
    for item in inputs.INPUTS:
        if item.path and not item.region:
            inputs.schema_field(item.path)  # raises KeyError for a path the schema lacks
    assert len(inputs.BY_KEY) == len(inputs.INPUTS), "two inputs share a key"


@pytest.mark.parametrize("item", OPTIONAL, ids=lambda i: i.key)
def test_blank_means_none(planner, item):
    s = {**state.default_state(planner.defaults), item.key: None,
         "t_size_by": "deadline", "t_model": "llama-3-8b"}
    if item.key == "i_rps_avg":
        s["i_rps_peak"] = 300.0
    data = state.to_scenario(s, planner.defaults, state.FILE_SECTIONS)
    found, _ = state._get(data, item.path)
    assert not found, f"{item.key} blank still writes {item.path}"
    parse_scenario(data)  # and the scenario is valid: blank is not 0


def test_help_comes_from_the_schema_and_the_defaults_file(planner):
    text = inputs.help_text("site_pue", planner.defaults)
    assert "Power usage effectiveness" in text  # the schema's description
    assert "1 to 3" in text  # its bounds
    assert f"Default {planner.defaults.pue.value:g}" in text and "Green Algorithms" in text
    assert "below 100 %" in inputs.help_text("price_discount_pct", planner.defaults)
    assert state.default_state(planner.defaults)["site_pue"] == planner.defaults.pue.value


@pytest.mark.parametrize("item", [i for i in inputs.INPUTS if i.kind in ("int", "float")
                                  and i.path and (inputs.bounds(i.key).low is not None)],
                         ids=lambda i: i.key)
def test_range_errors_name_the_label_in_widget_units(planner, item):
    b = inputs.bounds(item.key)
    s = {**state.default_state(planner.defaults), "i_rps_avg": 100.0, "i_rps_peak": 200.0,
         "t_size_by": "devices" if item.key == "t_devices" else "deadline",
         "t_model": state.CUSTOM_MODEL if item.key in ("t_params_b", "t_tokens_t")
         else "llama-3-8b",
         "i_model": state.CUSTOM_MODEL if item.key == "i_params_b" else "llama-3-8b",
         item.key: b.low - 1}
    problems = state.check(s, planner.defaults, state.ALL_SECTIONS)
    assert problems == [f"{item.label} {b.problem(b.low - 1)}"]
    assert "." not in item.label.split("(")[0]  # a label, not a scenario path


def test_discount_message_in_percent(planner):
    s = {**state.default_state(planner.defaults), "price_discount_pct": 100.0}
    assert state.check(s, planner.defaults) == ["Cloud discount (%) must be below 100"]


def test_given_is_recorded_not_inferred(planner):
    base = state.default_state(planner.defaults)
    assert "pue" not in state.to_scenario(base, planner.defaults)["site"]
    given = {**base, state.GIVEN: ["site_pue"]}  # the user typed the default value
    sc = state.to_scenario(given, planner.defaults)
    assert sc["site"]["pue"] == planner.defaults.pue.value
    assert planner.plan(sc).site.pue_basis == "user input"
    assert state.to_query(given, planner.defaults) == {"site_pue": str(base["site_pue"])}


def test_loaded_file_marks_what_it_sets(planner):
    text = "training: {model: llama-3-8b, days: 20}\nsite: {country: SWE, pue: 1.2}\n"
    back, ignored = state.load_scenario_text(text, "x.yaml", planner.defaults)
    assert {"site_pue", "site_region", "t_model", "t_days", "t_size_by"} <= set(back[state.GIVEN])
    assert "site_elec_usd_per_kwh" not in back[state.GIVEN]
    assert not ignored
    sc = state.to_scenario({**state.default_state(planner.defaults), **back}, planner.defaults)
    assert sc["site"] == {"country": "SWE", "pue": 1.2}


def test_picks_are_saved_and_the_cli_runs_them(planner, tmp_path):
    s = {**state.default_state(planner.defaults), "tp_hw": "nvidia-h100-sxm",
         "sv_hw": "nvidia-h200-sxm"}
    text = state.scenario_yaml(s, planner.defaults)
    assert "selection:" in text
    back, ignored = state.load_scenario_text(text, "saved.yaml", planner.defaults)
    assert not ignored
    assert back["tp_hw"] == "nvidia-h100-sxm" and back["sv_hw"] == "nvidia-h200-sxm"
    assert back["lv_hw"] == state.AUTO
    path = tmp_path / "picked.yaml"
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "planner", "plan", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # the pick is a view choice: it does not change what is planned
    assert "selection" not in state.to_scenario(s, planner.defaults, state.ALL_SECTIONS)


def test_cleared_boxes_are_none_in_the_app(planner):
    at = open_page("lifecycle")
    at.number_input(key="lc_retrain_months").set_value(None).run()
    assert_clean(at)
    assert at.session_state["lc_retrain_months"] is None
    assert any("no retraining" in c.value for c in at.caption)
    at.number_input(key="site_g_per_kwh").set_value(50.0).run()
    at.number_input(key="site_g_per_kwh").set_value(None).run()
    assert_clean(at)
    assert at.session_state["site_g_per_kwh"] is None
    assert not any("your own figure" in c.value for c in at.caption)


def test_serving_device_follows_the_inputs_until_picked(planner):
    at = open_page("serving")
    assert_clean(at)
    at.number_input(key="i_rps_avg").set_value(1000.0).run()
    at.number_input(key="i_rps_peak").set_value(1000.0).run()
    at.number_input(key="i_latency_p95_s").set_value(5.0).run()
    assert_clean(at)
    s = {**state.default_state(planner.defaults), "i_rps_avg": 1000.0, "i_rps_peak": 1000.0,
         "i_latency_p95_s": 5.0}
    inf = planner.plan(state.to_scenario(s, planner.defaults, ("inference",))).inference
    cheapest = tables.default_serving_choice(inf)
    assert shown_device(at, "sv_hw", inf) == cheapest
    assert any("cheapest for these inputs" in c.value for c in at.caption)
    other = next(h for h in inf[inf["feasible"]]["hardware_id"] if h != cheapest)
    at.selectbox(key="sv_hw").set_value(other).run()
    at.number_input(key="i_rps_avg").set_value(900.0).run()
    assert_clean(at)
    assert shown_device(at, "sv_hw", inf) == other
    assert any("your pick" in c.value for c in at.caption)
    assert at.query_params["sv_hw"] in (other, [other])
