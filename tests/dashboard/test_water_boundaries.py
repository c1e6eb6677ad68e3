"""Water and the reporting boundaries on the dashboard: the market-based inputs reach the
plan, the Training page shows water and market-based CO2e beside carbon, both market inputs
at once are refused with an error, and the sidebar offers the footprint statement."""

from __future__ import annotations

from planner.dashboard import formats
from tests.dashboard.conftest import assert_clean, open_page


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_training_page_shows_water_and_market_based_co2e(planner):
    at = open_page("training")
    assert_clean(at)
    assert _metrics(at)["Market-based CO2e"] == "–"  # no contract given: no figure
    at.number_input(key="site_cfe_pct").set_value(50.0).run()
    at.number_input(key="site_wue_l_per_kwh").set_value(1.0).run()
    assert_clean(at)
    shown = _metrics(at)
    location = shown["Operational CO2e"]
    assert shown["Market-based CO2e"] not in ("–", location)
    assert shown["Water"] != "–" and shown["Water on site"] != "–"
    assert any("Boundaries" in c.value and "scope 3" in c.value for c in at.caption)
    assert {b.key for b in at.get("download_button")} >= {"statement_md", "statement_json"}


def test_both_market_inputs_are_refused(planner):
    at = open_page("training")
    at.number_input(key="site_cfe_pct").set_value(50.0).run()
    at.number_input(key="site_market_g_per_kwh").set_value(30.0).run()
    assert not at.exception
    assert any("not both" in e.value for e in at.error)


def test_water_format():
    assert formats.water(1.5e6) == "1.50 ML" and formats.water(2300) == "2.30 m³"
    assert formats.water(12) == "12.0 L" and formats.water(0.035) == "35.0 mL"
    assert formats.water(None) == "–"
