"""State ↔ scenario ↔ URL: the pure mappings behind save, load and shared links."""

from __future__ import annotations

import pytest

from planner.dashboard import state
from planner.errors import ScenarioError
from planner.model.scenario import parse_scenario


def test_default_state_is_a_meaningful_scenario(planner):
    s = state.default_state(planner.defaults)
    scenario = state.to_scenario(s, planner.defaults)
    assert scenario["training"] == {"hardware": "all", "precision": "bf16",
                                    "model": "llama-3-8b", "days": 30.0}
    assert scenario["inference"]["model"] == "llama-3-8b"
    assert scenario["site"] == {"cloud_provider": "aws", "cloud_region": "us-east-1"}
    result = planner.plan(scenario)
    assert result.training["feasible"].any() and result.inference["feasible"].any()
    # defaults stay defaults: their provenance is the sourced default, not "user input"
    assert result.site.pue_basis.startswith("default")


def test_changed_values_become_user_inputs(planner):
    s = {**state.default_state(planner.defaults), "site_pue": 1.5, "price_discount_pct": 30.0,
         "t_size_by": "devices", "t_devices": 512, "t_mfu_pct": 40.0,
         "site_region": "country:FRA", "t_model": state.CUSTOM_MODEL, "t_params_b": 2.0,
         "t_tokens_t": 1.0}
    sc = state.to_scenario(s, planner.defaults)
    assert sc["site"] == {"country": "FRA", "pue": 1.5}
    assert sc["pricing"] == {"mode": "cloud", "cloud_discount": 0.3}
    assert sc["training"]["devices"] == 512 and "days" not in sc["training"]
    assert sc["training"]["mfu"] == pytest.approx(0.4)
    assert sc["training"]["params"] == 2e9 and sc["training"]["tokens"] == 1e12
    parse_scenario(sc)


def test_sections_are_separable(planner):
    s = state.default_state(planner.defaults)
    only = state.to_scenario(s, planner.defaults, ("inference",))
    assert "training" not in only and "inference" in only


def test_query_round_trip(planner):
    s = {**state.default_state(planner.defaults), "site_pue": 1.35, "t_days": 12.5,
         "cmp_classes": ["GPU", "TPU"], "site_g_per_kwh": 50.0, "t_devices": 256,
         "i_model": "llama-3-70b"}
    query = state.to_query(s, planner.defaults)
    assert "site_region" not in query  # defaults stay out of the URL
    back, errors = state.from_query(query, planner.defaults)
    assert not errors
    assert {**state.default_state(planner.defaults), **back} == s


def test_bad_query_values_are_reported_not_fatal(planner):
    choices = state.static_choices(["llama-3-8b"])
    back, errors = state.from_query(
        {"site_pue": "abc", "t_model": "gpt-9", "t_devices": "2.5", "t_days": "inf",
         "cmp_classes": "GPU,XPU", "unrelated": "x", "i_batch": "16"},
        planner.defaults, choices)
    assert back == {"i_batch": 16}
    assert len(errors) == 5
    assert any("site_pue" in e and "is not a number" in e for e in errors)
    assert any("t_devices='2.5'" in e and "is not a whole number" in e for e in errors)


def test_scenario_file_round_trip(planner):
    s = {**state.default_state(planner.defaults), "site_region": "gcp:europe-west1",
         "site_pue": 1.1, "price_mode": "on_prem", "price_life_years": 4.0,
         "t_size_by": "devices", "t_devices": 2048, "i_batch": 32, "i_precision": "int8",
         "t_mfu_pct": 45.0, "i_model": state.CUSTOM_MODEL, "i_params_b": 3.0}
    text = state.scenario_yaml(s, planner.defaults)
    back, ignored = state.load_scenario_text(text, "saved.yaml", planner.defaults)
    assert not ignored
    scenario_keys = [k for k, f in state.fields(planner.defaults).items() if f.scenario]
    merged = {**state.default_state(planner.defaults), **back}
    for key in scenario_keys:
        if key in ("t_days",):  # not in a device-count scenario: keeps its default
            continue
        assert merged[key] == pytest.approx(s[key]) if isinstance(s[key], float) \
            else merged[key] == s[key], key


def test_foreign_scenario_fields_are_listed(planner):
    text = ("training: {model: llama-3-8b, devices: 64, days: 10, avg_power_w: 500, "
            "hardware: [nvidia-h100-sxm]}\nsite: {country: SWE}\n")
    back, ignored = state.load_scenario_text(text, "x.yaml", planner.defaults)
    assert back["site_region"] == "country:SWE" and back["t_devices"] == 64
    assert any("avg_power_w" in i for i in ignored)
    assert any("hardware" in i for i in ignored)


@pytest.mark.parametrize("text, needle", [
    (b"\xff\xfe", "UTF-8"),
    ("training: [", "not valid YAML"),
    ("- a list", "expected a mapping"),
    ("training: {model: llama-3-8b, days: -3}", "training.days"),
    ("site: {pue: 0.5}\ntraining: {model: llama-3-8b}", "site.pue"),
])
def test_broken_scenario_files_say_why(planner, text, needle):
    with pytest.raises(ScenarioError, match=needle.replace(".", r"\.")):
        state.load_scenario_text(text, "upload.yaml", planner.defaults)
