"""Grid carbon intensity comes from CodeCarbon's bundled data, with its year and source."""

from __future__ import annotations

import json

import pytest

from planner.errors import ScenarioError
from planner.model import grid


def test_country_matches_codecarbon_file():
    raw = json.loads((grid.codecarbon_data_dir() / "private_infra" /
                      "global_energy_mix.json").read_text())
    fra = grid.country_intensity("FRA")
    assert fra.g_per_kwh == raw["FRA"]["carbon_intensity"]
    assert fra.year == str(raw["FRA"]["year"])
    assert "CodeCarbon" in fra.source


def test_alpha2_codes_are_accepted():
    assert grid.country_intensity("SE").g_per_kwh == grid.country_intensity("SWE").g_per_kwh


def test_gcp_region_uses_google_figure():
    g = grid.cloud_region_intensity("gcp", "europe-north1")
    assert 0 < g.g_per_kwh < 200
    assert "europe-north1" in g.label


def test_aws_region_uses_state_grid():
    va = grid.cloud_region_intensity("aws", "us-east-1")
    raw = json.loads((grid.codecarbon_data_dir() / "private_infra" / "2023" /
                      "usa_emissions.json").read_text())
    # eGRID is in lbs/MWh; 1 lb = 453.59237 g.
    assert va.g_per_kwh == pytest.approx(raw["virginia"]["emissions"] * 0.45359237)
    assert va.year == "2023"


@pytest.mark.parametrize(("call", "match"), [
    (lambda: grid.country_intensity("ZZZ"), "site.country: unknown country code"),
    (lambda: grid.cloud_region_intensity("aws", "mars-1"), "unknown aws region"),
    (lambda: grid.cloud_region_intensity("ibm", "x"), "unknown provider 'ibm'; allowed: gcp"),
])
def test_unknown_regions_name_allowed_values(call, match):
    with pytest.raises(ScenarioError, match=match):
        call()


def test_region_choices_cover_clouds_and_countries():
    choices = grid.region_choices()
    kinds = {(c["kind"], c["provider"]) for c in choices}
    assert {("cloud", "gcp"), ("cloud", "aws"), ("cloud", "azure"), ("country", "")} <= kinds
    assert all(c["g_per_kwh"] >= 0 for c in choices)
