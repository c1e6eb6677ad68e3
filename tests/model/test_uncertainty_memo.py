"""The Monte Carlo's site-independent memo (``memo.DRAWS``): at a new site (PUE, grid
intensity, electricity price, discount) the serving draws that reuse the kept performance and
sizing are those computed from scratch, figure for figure, and the memo was used."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.model import memo
from planner.model.plan import Planner
from planner.model.uncertainty import plan_uncertainty

PROFILE = [0.3] * 7 + [1.0] * 5 + [1.6] * 8 + [0.8] * 4
BASE = {
    "inference": {"model": "llama-3-8b", "precision": "int8",
                  "hardware": ["nvidia-h100-sxm", "google-tpu-v6e", "nvidia-a100-sxm-80gb"],
                  "batch_size": 64, "batch_policy": "fixed", "requests_per_s_avg": 40,
                  "requests_per_s_peak": 80, "latency_p95_s": 8, "network_rtt_s": 0.05},
    "site": {"pue": 1.2},
    "uncertainty": {"draws": 1500, "seed": 5},
}
# (site, pricing) changes a user can make in the sidebar
CHANGES = [({"pue": 1.45}, {}), ({"pue": 1.1, "carbon_intensity_g_per_kwh": 55.0}, {}),
           ({"pue": 1.3, "electricity_usd_per_kwh": 0.21}, {"cloud_discount": 0.3}),
           ({"pue": 1.2}, {"mode": "on_prem", "service_life_years": 3})]


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def _mc(planner, scenario):
    result = planner.plan(scenario)
    return plan_uncertainty(result.scenario.uncertainty, result.scenario.inference, None,
                            result.inference)


def _same(a, b):
    pd.testing.assert_frame_equal(a.summary, b.summary, check_exact=True)
    pd.testing.assert_frame_equal(a.sensitivity, b.sensitivity, check_exact=True)
    assert a.draws.keys() == b.draws.keys()
    for k in a.draws:
        np.testing.assert_array_equal(a.draws[k], b.draws[k], err_msg=k)


@pytest.mark.parametrize("change", [{}, {"daily_profile": PROFILE, "autoscaling": True}])
def test_the_kept_draws_at_a_new_site_are_the_draws_from_scratch(planner, change):
    base = {**BASE, "inference": {**BASE["inference"], **change}}
    memo.DRAWS.clear()
    _mc(planner, base)  # fills the memo at the first site
    first = _mc(planner, base).draws
    footprint = ("serving.annual_cost_usd", "serving.annual_energy_kwh",
                 "serving.annual_total_co2e_kg")
    for site, pricing in CHANGES:
        scenario = {**base, "site": site, "pricing": pricing}
        hits = memo.DRAWS.hits
        kept = _mc(planner, scenario)
        if not pricing.get("mode"):  # (on-premises pricing is another key: a miss)
            assert memo.DRAWS.hits > hits  # performance and sizing came from the memo
        with memo.disabled():
            fresh = _mc(planner, scenario)
        _same(kept, fresh)
        # the change did move the year's footprint (the memo does not keep it)
        assert not all(np.array_equal(kept.draws[k], first[k], equal_nan=True)
                       for k in footprint)


def test_a_new_seed_or_traffic_is_not_a_hit(planner):
    memo.DRAWS.clear()
    _mc(planner, BASE)
    misses = memo.DRAWS.misses
    _mc(planner, {**BASE, "uncertainty": {"draws": 1500, "seed": 6}})
    _mc(planner, {**BASE, "inference": {**BASE["inference"], "requests_per_s_peak": 90}})
    assert memo.DRAWS.misses > misses
    with memo.disabled():
        fresh = _mc(planner, {**BASE, "uncertainty": {"draws": 1500, "seed": 6}})
    _same(_mc(planner, {**BASE, "uncertainty": {"draws": 1500, "seed": 6}}), fresh)


def test_other_traffic_or_power_draws_at_the_same_utilisation_are_not_a_hit(planner):
    """Same seed, so the same utilisation draws (the same performance levels), but a wider
    traffic and power range: the sizing must be computed again."""
    wider = {**BASE, "uncertainty": {**BASE["uncertainty"], "ranges": {
        "traffic": {"low": 0.3, "mode": 1.0, "high": 2.0},
        "power": {"low": 0.7, "mode": 1.0, "high": 1.3}}}}
    memo.DRAWS.clear()
    _mc(planner, BASE)
    kept = _mc(planner, wider)
    with memo.disabled():
        fresh = _mc(planner, wider)
    _same(kept, fresh)
