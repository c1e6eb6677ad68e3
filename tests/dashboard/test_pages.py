"""Every page under AppTest: no exception, the numbers shown equal the planner API's for the
same scenario, the CSV downloads hold the planner's rows, and bad input shows st.error."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from planner.dashboard import formats, state, tables
from planner.model.report import plan_sections
from tests.dashboard.conftest import assert_clean, make_app, open_page, shown_device


def _scenario(planner, sections=("training", "inference"), **changes):
    s = {**state.default_state(planner.defaults), **changes}
    return state.to_scenario(s, planner.defaults, sections)


def _metrics(at) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.proto.body) for m in at.metric}


def _csv(downloads, key) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(downloads[key]["data"]))


def test_compare_page_matches_planner(planner, downloads):
    at = open_page("compare")
    assert_clean(at)
    assert not at.error
    result = planner.plan(_scenario(planner, ("training",)))
    feasible = result.training[result.training["feasible"]]
    cheapest = feasible.loc[feasible["cost_usd"].idxmin()]
    cleanest = feasible.loc[feasible["total_co2e_kg"].idxmin()]
    shown = _metrics(at)
    assert shown["Cheapest"][0] == formats.money(cheapest["cost_usd"])
    assert shown["Least CO2e"][0] == formats.co2e(cleanest["total_co2e_kg"])
    # the training table and its CSV: the planner's rows in the CLI's columns
    expected = tables.training_table(plan_sections(result)["training"])
    table = at.dataframe[0].value
    assert list(table["name"]) == list(expected["name"])
    pd.testing.assert_series_equal(table["cost_usd"].reset_index(drop=True),
                                   expected["cost_usd"].reset_index(drop=True),
                                   check_dtype=False, check_names=False)
    assert downloads["dl_cmp_training"]["file_name"] == "compare-training.csv"
    assert downloads["dl_cmp_training"]["data"] == expected.to_csv(index=False)
    # serving a year of the default traffic
    inf = planner.plan(_scenario(planner, ("inference",))).inference
    ok = inf[inf["feasible"]]
    assert shown["Lowest p95 latency"][0] == formats.seconds(ok["fleet_latency_p95_s"].min())
    assert shown["Cheapest per year"][0] == formats.money(ok["annual_cost_usd"].min())
    expected = tables.inference_table(plan_sections(planner.plan(
        _scenario(planner, ("inference",))))["inference"])
    assert downloads["dl_cmp_serving"]["data"] == expected.to_csv(index=False)
    csv = _csv(downloads, "dl_cmp_serving")
    for col in ("utilisation_basis", "power_basis", "price_basis", "fleet_devices",
                "annual_cost_usd"):
        assert col in csv.columns


def test_compare_filter_by_class(planner, downloads):
    at = open_page("compare")
    at.multiselect(key="cmp_classes").set_value(["TPU"]).run()
    assert_clean(at)
    csv = _csv(downloads, "dl_cmp_training")
    assert set(csv["kind"]) == {"tpu"}
    at.multiselect(key="cmp_classes").set_value(["Edge"]).run()
    assert_clean(at)
    assert any("data-centre" in i.value for i in at.info)
    serving = _csv(downloads, "dl_cmp_serving")
    assert set(serving["placement"]) == {"edge"}
    assert at.query_params["cmp_classes"] in ("Edge", ["Edge"])


def test_training_page_matches_planner(planner, downloads):
    at = open_page("training")
    assert_clean(at)
    training = planner.plan(_scenario(planner, ("training",))).training
    hw = tables.default_training_choice(training)
    assert at.selectbox(key="tp_hw").value == state.AUTO  # follows the inputs
    assert shown_device(at, "tp_hw", training) == hw
    row = training.set_index("hardware_id").loc[hw]
    shown = _metrics(at)
    assert shown["Time to train"][0] == formats.duration_days(row["days"])
    assert shown["Devices"][0] == formats.count(row["devices"])
    assert shown["Energy"][0] == formats.energy(row["energy_kwh"])
    assert shown["Cost"][0] == formats.money(row["cost_usd"])
    assert shown["Operational CO2e"][0] == formats.co2e(row["co2e_kg"])
    assert shown["Embodied CO2e"][0] == formats.co2e(row["embodied_co2e_kg"])
    assert shown["Water"][0] == formats.water(row["water_l"])
    assert shown["Water on site"][0] == formats.water(row["water_onsite_l"])
    assert shown["Market-based CO2e"][0] == formats.co2e(row["market_co2e_kg"])
    csv = _csv(downloads, "dl_tp_row")
    assert len(csv) == 1 and csv.iloc[0]["hardware_id"] == hw
    assert csv.iloc[0]["energy_kwh"] == pytest.approx(row["energy_kwh"])
    assert csv.iloc[0]["assumptions"] == row["assumptions"]
    basis = _csv(downloads, "dl_tp_basis")
    assert "model-FLOPs utilisation" in set(basis["figure"])


def test_training_page_device_count_and_hardware_choice(planner, downloads):
    at = open_page("training")
    at.radio(key="t_size_by").set_value("devices").run()
    at.number_input(key="t_devices").set_value(2048).run()
    at.selectbox(key="tp_hw").set_value("nvidia-h100-sxm").run()
    assert_clean(at)
    training = planner.plan(_scenario(planner, ("training",), t_size_by="devices",
                                      t_devices=2048)).training
    row = training.set_index("hardware_id").loc["nvidia-h100-sxm"]
    shown = _metrics(at)
    assert shown["Devices"][0] == "2,048"
    assert shown["Time to train"][0] == formats.duration_days(row["days"])
    assert at.query_params["tp_hw"] in ("nvidia-h100-sxm", ["nvidia-h100-sxm"])
    assert at.query_params["t_devices"] in ("2048", ["2048"])


def test_profiles_page_filters_and_csv(planner, downloads):
    at = open_page("profiles")
    assert_clean(at)
    csv = _csv(downloads, "dl_hw_catalogue")
    assert len(csv) == len(planner.catalogue)
    at.text_input(key="hw_search").set_value("nvidia").run()
    csv = _csv(downloads, "dl_hw_catalogue")
    assert len(csv) and csv["vendor"].str.contains("NVIDIA").all()
    at.multiselect(key="hw_classes").set_value(["Edge"]).run()
    csv = _csv(downloads, "dl_hw_catalogue")
    assert set(csv["placement"]) == {"edge"}
    assert_clean(at)


def _fill_custom_device(at, **values):
    defaults = {"cd_name": "Acme X1", "cd_vendor": "Acme", "cd_memory_gb": 96.0,
                "cd_bandwidth": 2000.0, "cd_bf16": 400.0, "cd_power": 350.0,
                "cd_source": "Acme X1 datasheet"}
    for key, value in {**defaults, **values}.items():
        widget = at.text_input(key=key) if key in ("cd_name", "cd_vendor", "cd_source") \
            else at.number_input(key=key)
        widget.set_value(value)


def test_custom_device_form(planner, downloads):
    at = open_page("profiles")
    _fill_custom_device(at)
    at.button(key="FormSubmitter:custom_device-Check and build the profile").click().run()
    assert_clean(at)
    assert not at.error
    text = downloads["dl_custom_profile"]["data"]
    assert downloads["dl_custom_profile"]["file_name"] == "acme-x1.yaml"
    from planner.model.hardware import parse_profile
    assert parse_profile(text, "download").memory_gb.value == 96.0


def test_custom_device_bad_value_shows_error(planner):
    at = open_page("profiles")
    _fill_custom_device(at, cd_power=-10.0)
    at.button(key="FormSubmitter:custom_device-Check and build the profile").click().run()
    assert_clean(at)
    assert any("rated power" in e.value for e in at.error)
    assert at.dataframe  # the rest of the page still works


@pytest.mark.parametrize("page", ["compare", "training"])
@pytest.mark.parametrize("key, value, needle", [
    ("site_pue", 0.0, "PUE (facility energy ÷ IT energy) must be at least 1"),
    ("site_pue", -1.0, "PUE (facility energy ÷ IT energy) must be at least 1"),
    ("t_days", 0.0, "Deadline (days) must be more than 0"),
    ("i_batch", 0, "Largest batch (requests at once) must be at least 1"),
    ("price_discount_pct", -10.0, "Cloud discount (%) must be at least 0"),
    ("price_discount_pct", 100.0, "Cloud discount (%) must be below 100"),
])
def test_bad_inputs_show_error_not_traceback(page, key, value, needle):
    at = open_page(page)
    at.number_input(key=key).set_value(value).run()
    assert_clean(at)
    errors = " ".join(e.value for e in at.error)
    if page == "training" and key == "i_batch":
        assert not errors  # the training page does not use the served workload
    else:
        assert needle in errors
    assert at.sidebar  # the sidebar keeps working


def test_negative_devices_and_no_fit(planner):
    at = open_page("training")
    at.radio(key="t_size_by").set_value("devices").run()
    at.number_input(key="t_devices").set_value(-4).run()
    assert_clean(at)
    assert any("Devices must be at least 1" in e.value for e in at.error)
    # a combination no hardware can satisfy: a 405B model on 2 devices
    at.selectbox(key="t_model").set_value("llama-3.1-405b").run()
    at.number_input(key="t_devices").set_value(2).run()
    assert_clean(at)
    assert any("No hardware can run this training" in e.value for e in at.error)
    at.switch_page("planner/dashboard/views/compare.py").run()
    assert_clean(at)
    assert any("No device in the chosen classes can run this training" in e.value
               for e in at.error)
    assert at.metric  # serving still shows its figures


def test_url_restores_the_view(planner):
    query = {"site_region": "country:FRA", "site_pue": "1.1", "t_size_by": "devices",
             "t_devices": "4096", "tp_hw": "nvidia-h100-sxm"}
    at = make_app(query).run()
    at.switch_page("planner/dashboard/views/training.py").run()
    assert_clean(at)
    assert at.selectbox(key="site_region").value == "country:FRA"
    assert at.number_input(key="site_pue").value == 1.1
    assert at.selectbox(key="tp_hw").value == "nvidia-h100-sxm"
    assert _metrics(at)["Devices"][0] == "4,096"
    training = planner.plan(_scenario(planner, ("training",), site_region="country:FRA",
                                      site_pue=1.1, t_size_by="devices",
                                      t_devices=4096)).training
    row = training.set_index("hardware_id").loc["nvidia-h100-sxm"]
    assert _metrics(at)["Operational CO2e"][0] == formats.co2e(row["co2e_kg"])


def test_bad_url_parameters_warn(planner):
    at = make_app({"site_pue": "abc", "t_model": "gpt-9"}).run()
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "site_pue" in warnings and "t_model" in warnings
    assert at.number_input(key="site_pue").value == planner.defaults.pue.value


def test_state_survives_page_switches(planner):
    at = open_page("compare")
    at.multiselect(key="cmp_classes").set_value(["GPU"]).run()
    at.switch_page("planner/dashboard/views/profiles.py").run()
    at.switch_page("planner/dashboard/views/compare.py").run()
    assert at.multiselect(key="cmp_classes").value == ["GPU"]


def test_save_and_full_report_downloads(planner, downloads):
    at = open_page("compare")
    at.number_input(key="site_pue").set_value(1.4).run()
    assert_clean(at)
    saved = downloads["save_scenario"]["data"]
    back, _ = state.load_scenario_text(saved, "saved", planner.defaults)
    assert back["site_pue"] == 1.4
    report = pd.read_csv(io.StringIO(downloads["full_report"]["data"]))
    assert {"inputs", "site", "assumptions", "training", "inference"} <= set(report["section"])
    site = report[report["section"] == "site"].set_index("item")
    assert float(site.loc["PUE", "value"]) == 1.4
    expected = planner.plan(_scenario(planner, site_pue=1.4))
    got = report[report["section"] == "training"].set_index("hardware_id")
    want = expected.training.set_index("hardware_id")
    pd.testing.assert_series_equal(got["energy_kwh"].astype(float),
                                   want.loc[got.index, "energy_kwh"], check_names=False)


def test_scenario_file_loads_into_the_widgets(planner):
    at = open_page("compare")
    text = state.scenario_yaml({**state.default_state(planner.defaults),
                                "site_region": "country:SWE", "t_days": 60.0,
                                "i_rps_avg": 50.0, "i_rps_peak": 80.0}, planner.defaults)
    at.file_uploader(key="scenario_upload").set_value(
        ("mine.yaml", text.encode(), "application/x-yaml")).run()
    assert_clean(at)
    assert at.selectbox(key="site_region").value == "country:SWE"
    assert at.number_input(key="t_days").value == 60.0
    assert any("Loaded mine.yaml" in s.value for s in at.success)


@pytest.mark.parametrize("content, needle", [
    (b"training: [", "not valid YAML"),
    (b"site: {pue: 0.2}\ntraining: {model: llama-3-8b}", "site.pue"),
    (b"training: {model: gpt-9}\nsite: {country: XXX}", "does not know"),
])
def test_broken_scenario_file_is_refused(planner, content, needle):
    at = open_page("compare")
    at.file_uploader(key="scenario_upload").set_value(
        ("bad.yaml", content, "application/x-yaml")).run()
    assert_clean(at)
    assert any(needle in e.value for e in at.error)
    assert at.number_input(key="site_pue").value == planner.defaults.pue.value  # unchanged


def test_compare_headlines_say_when_their_device_has_no_price_here(planner):
    """A headline chosen on CO2e, devices or latency names a device the site's cloud may not
    rent: its name then says why it has no price (as the page's note under the chart)."""
    at = open_page("compare")
    assert_clean(at)
    result = planner.plan(_scenario(planner, ("training",)))
    feasible = result.training[result.training["feasible"]]
    cleanest = feasible.loc[feasible["total_co2e_kg"].idxmin()]
    delta = {m.label: m.proto.delta for m in at.metric}["Least CO2e"]
    if np.isfinite(cleanest["cost_usd"]):
        assert delta == cleanest["name"]
    else:
        why = ("not offered by" if str(cleanest["price_basis"]).startswith("not offered by")
               else "no published price")
        assert delta.startswith(f"{cleanest['name']} · {why}")
    cheapest = feasible.loc[feasible["cost_usd"].idxmin()]
    assert {m.label: m.proto.delta for m in at.metric}["Cheapest"] == cheapest["name"]
