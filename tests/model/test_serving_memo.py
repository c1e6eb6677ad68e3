"""The kept serving rows (``serving_memo``): at a new site, the serving table, its levers and
edge comparison built from the kept rows are the tables computed afresh, exactly (values,
dtypes, column order); a site at which a row's feasibility changes is computed afresh."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.model import memo, serving
from planner.model.plan import Planner
from planner.model.scenario import parse_scenario

SERVE = {"model": "llama-3-8b", "prompt_tokens": 512, "output_tokens": 256, "batch_size": 64,
         "requests_per_s_avg": 200, "requests_per_s_peak": 400, "latency_p95_s": 8,
         "hardware": "all"}
LEVERS = {"distillation": {"student": "llama-3.2-1b"}, "pruning": {"pattern": "2:4"},
          "quantisation": {"precision": "int4"}, "batch_size": 32,
          "site": {"country": "FRA", "pue": 1.1}}  # the Optimisation page's, and a batch
FIRST = {"cloud_provider": "aws", "cloud_region": "us-east-1"}
# Sites and prices a user can change in the sidebar (each kept table must be the fresh one).
CHANGES = [
    ({**FIRST, "pue": 1.37}, {}),
    ({**FIRST, "pue": 1.05, "carbon_intensity_g_per_kwh": 900.0, "wue_l_per_kwh": 2.0,
      "electricity_usd_per_kwh": 0.31}, {}),
    ({"country": "FRA", "pue": 1.2}, {}),
    ({"cloud_provider": "gcp", "cloud_region": "europe-west1"},
     {"cloud_discount": 0.3, "cloud_providers": "any"}),
    ({**FIRST, "pue": 1.3}, {"mode": "on_prem", "service_life_years": 3}),
]


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def _scenario(site: dict, pricing: dict, **extra) -> dict:
    return {"inference": SERVE, "site": site, "pricing": pricing, **extra}


def _clear() -> None:
    for kept in (memo.LAYOUTS, memo.FLEETS, memo.SERVING, memo.YEARS, memo.GRIDS):
        kept.clear()


def _assert_same(a, b) -> None:
    pd.testing.assert_frame_equal(a.inference, b.inference, check_exact=True)
    assert sorted(a.extras) == sorted(b.extras)
    for name in a.extras:
        pd.testing.assert_frame_equal(a.extras[name], b.extras[name], check_exact=True)


@pytest.mark.parametrize("levers", [None, LEVERS])
@pytest.mark.parametrize(("site", "pricing"), CHANGES)
def test_kept_rows_at_a_new_site_are_the_fresh_table(planner, site, pricing, levers):
    extra = {"levers": levers} if levers else {}
    _clear()
    planner.plan(_scenario(FIRST, {}, **extra))  # keeps the rows at the first site
    hits, years = memo.SERVING.hits, memo.YEARS.hits
    kept = planner.plan(_scenario(site, pricing, **extra))
    assert memo.SERVING.hits > hits  # the kept rows were used
    assert memo.YEARS.hits > years  # and their year's site-free part
    with memo.disabled():
        fresh = planner.plan(_scenario(site, pricing, **extra))
    _assert_same(kept, fresh)
    # the footprint did follow the change (the comparison is not vacuous)
    with memo.disabled():
        first = planner.plan(_scenario(FIRST, {}, **extra))
    assert not first.inference["annual_cost_usd"].fillna(0).equals(
        kept.inference["annual_cost_usd"].fillna(0)) or not first.inference[
        "annual_total_co2e_kg"].fillna(0).equals(kept.inference["annual_total_co2e_kg"].fillna(0))


def _grid(planner, site: dict):
    s = parse_scenario(_scenario(site, {}))
    return (serving.serving_grid(planner, s, planner.resolve_site(s), s.inference),
            s.inference, serving.resolve_traffic(s.inference))


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_a_row_whose_feasibility_moves_with_the_site_is_computed_afresh(planner):
    _clear()
    grid, spec, traffic = _grid(planner, FIRST)
    serving.evaluate_serving(grid, spec, traffic, ("hardware_id",))
    # an electricity price that overflows the cost of some rows: those rows are refused
    changed = grid.copy()
    price = changed["electricity_usd_per_kwh"].to_numpy(dtype=float).copy()
    price[: len(price) // 2] = 1e308
    changed["electricity_usd_per_kwh"] = price
    changed["pricing_mode"] = "on_prem"  # electricity is charged on premises
    kept = memo.SERVING.hits
    out = serving.evaluate_serving(changed, spec, traffic, ("hardware_id",))
    assert memo.SERVING.hits == kept + 1  # the same site-free grid: a hit, then refused
    with memo.disabled():
        fresh = serving.evaluate_serving(changed, spec, traffic)
    pd.testing.assert_frame_equal(out, fresh, check_exact=True)
    assert not fresh["feasible"].all()


def test_a_site_free_change_is_a_miss(planner):
    _clear()
    grid, spec, traffic = _grid(planner, FIRST)
    serving.evaluate_serving(grid, spec, traffic, ("hardware_id",))
    other = grid.assign(output_tokens=grid["output_tokens"] * 2)
    serving.evaluate_serving(other, spec, traffic, ("hardware_id",))
    assert memo.SERVING.hits == 0 and memo.SERVING.misses == 2


def test_kept_rows_are_not_changed_by_a_caller(planner):
    _clear()
    grid, spec, traffic = _grid(planner, FIRST)
    first = serving.evaluate_serving(grid, spec, traffic, ("hardware_id",))
    expected = first.copy()
    first["fleet_devices"] = -1.0
    first.loc[0, "name"] = "changed"
    again = serving.evaluate_serving(grid, spec, traffic, ("hardware_id",))
    assert memo.SERVING.hits == 1
    pd.testing.assert_frame_equal(again, expected, check_exact=True)
    assert np.all(again["fleet_devices"].fillna(0) != -1.0)


@pytest.mark.parametrize(("site", "pricing"), CHANGES)
def test_a_kept_grid_at_a_new_site_gives_its_own_digest(planner, site, pricing):
    """``memo.site_grid_and_digest``'s digest (the kept grid's, computed once) is the
    returned grid's own ``site_free_digest``, or None where not known."""
    _clear()
    for s in (FIRST, site):
        parsed = parse_scenario(_scenario(s, pricing))
        grid, digest = memo.site_grid_and_digest(
            serving.serving_grid, planner, parsed, planner.resolve_site(parsed), parsed.inference)
        assert digest is None or digest == memo.site_free_digest(grid)
    assert (digest is not None) == (memo.GRIDS.hits > 0)  # a kept grid gives it
