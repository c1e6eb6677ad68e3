"""Clouds as they are: each price names its provider and region; a cloud region prices only
what its provider rents (unless any provider is asked for); a site change re-prices."""

from __future__ import annotations

import math

import pytest

from planner.model.catalogue import cloud_price_for
from planner.model.plan import Planner


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def _prices(planner, site, pricing=None, ids=("nvidia-h100-sxm", "google-tpu-v6e")):
    scenario = {"training": {"model": "llama-3-8b", "hardware": list(ids), "days": 30},
                "site": site, "pricing": pricing or {}}
    t = planner.plan(scenario).training.set_index("hardware_id")
    return {h: (t.loc[h, "price_usd_per_device_hour"], t.loc[h, "price_basis"]) for h in ids}


def _profile(planner, hardware_id):
    return next(p for p in planner.profiles if p.id == hardware_id)


def test_a_cloud_region_prices_only_what_its_provider_rents(planner):
    got = _prices(planner, {"cloud_provider": "aws", "cloud_region": "us-east-1"})
    h100 = next(c for c in _profile(planner, "nvidia-h100-sxm").cloud_prices
                if c.provider == "aws" and c.region == "us-east-1")
    assert got["nvidia-h100-sxm"][0] == h100.usd_per_device_hour
    assert "aws us-east-1" in got["nvidia-h100-sxm"][1]
    price, basis = got["google-tpu-v6e"]
    assert math.isnan(price) and basis.startswith("not offered by AWS")


def test_any_provider_prices_at_the_devices_own_provider(planner):
    got = _prices(planner, {"cloud_provider": "aws", "cloud_region": "us-east-1"},
                  {"cloud_providers": "any"})
    tpu = next(c for c in _profile(planner, "google-tpu-v6e").cloud_prices
               if c.pricing == "on_demand")
    assert got["google-tpu-v6e"][0] == tpu.usd_per_device_hour
    assert f"gcp {tpu.region}" in got["google-tpu-v6e"][1]
    assert "not offered by AWS; its own provider's price" in got["google-tpu-v6e"][1]


def test_a_site_change_reprices_where_the_catalogue_has_prices(planner):
    aws = _prices(planner, {"cloud_provider": "aws", "cloud_region": "us-east-1"})
    gcp = _prices(planner, {"cloud_provider": "gcp", "cloud_region": "us-central1"})
    assert gcp["nvidia-h100-sxm"][0] != aws["nvidia-h100-sxm"][0]
    assert "gcp us-central1" in gcp["nvidia-h100-sxm"][1]
    # the TPU is Google's: priced in another GCP region of the same country (us-east1)
    assert not math.isnan(gcp["google-tpu-v6e"][0])
    assert "Google Cloud's price in the same country" in gcp["google-tpu-v6e"][1]


def test_a_country_without_prices_says_where_the_price_is_from(planner):
    got = _prices(planner, {"country": "FRA"})
    price, basis = got["nvidia-h100-sxm"]
    assert not math.isnan(price) and "no price in FRA in the profile" in basis
    usa = _prices(planner, {"country": "USA"})
    assert "no price in" not in usa["nvidia-h100-sxm"][1]


def test_a_profile_without_prices_has_none(planner):
    assert cloud_price_for(_profile(planner, "amd-mi300x"), "aws", "us-east-1") is None
