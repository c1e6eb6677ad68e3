"""The site-independent memos: a plan whose layout search and fleet sizing come from the
memo, at a new site, is the plan computed from scratch there, column for column; and the
columns the memo keys leave out are columns the layout search and fleet sizing do not read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from planner.model import inference, memo, serving, training, training_perf
from planner.model.inference import evaluate_inference
from planner.model.perf_constants import load_performance
from planner.model.plan import Planner
from planner.model.report import plan_sections
from planner.model.scenario import parse_scenario

SCENARIO = {  # the dashboard's first view: Llama 3 8B trained in 30 days, served at 200/s
    "training": {"model": "llama-3-8b", "days": 30, "hardware": "all"},
    "inference": {"model": "llama-3-8b", "prompt_tokens": 512, "output_tokens": 256,
                  "batch_size": 64, "requests_per_s_avg": 200, "requests_per_s_peak": 400,
                  "latency_p95_s": 8, "hardware": "all"},
    "lifecycle": {"horizon_months": 36, "retrain_every_months": 12, "retrain_fraction": 0.25},
    "site": {"cloud_provider": "aws", "cloud_region": "us-east-1"},
}
# Sites and prices a user can change in the sidebar; each plan must match a fresh one.
CHANGES = [
    ({"cloud_provider": "aws", "cloud_region": "us-east-1", "pue": 1.37}, {}),
    ({"country": "FRA", "pue": 1.2, "wue_l_per_kwh": 0.4}, {}),
    ({"cloud_provider": "gcp", "cloud_region": "europe-west1"},
     {"cloud_discount": 0.3, "cloud_providers": "any"}),
    ({"cloud_provider": "aws", "cloud_region": "us-east-1"},
     {"mode": "on_prem", "service_life_years": 3}),
]


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def _at(site: dict, pricing: dict) -> dict:
    return {**SCENARIO, "site": site, "pricing": pricing}


def _assert_same_plan(a, b) -> None:
    pd.testing.assert_frame_equal(a.training, b.training)
    pd.testing.assert_frame_equal(a.inference, b.inference)
    assert sorted(a.extras) == sorted(b.extras)
    for name in a.extras:
        pd.testing.assert_frame_equal(a.extras[name], b.extras[name])


@pytest.mark.parametrize(("site", "pricing"), CHANGES)
def test_a_kept_phase_at_a_new_site_is_the_fresh_plan(planner, site, pricing):
    for kept_memo in (memo.LAYOUTS, memo.FLEETS, memo.SERVING):
        kept_memo.clear()
    planner.plan(SCENARIO)  # fills the memos at the first site
    hits = memo.LAYOUTS.hits, memo.SERVING.hits
    kept = planner.plan(_at(site, pricing))
    # the memos were used (the kept serving rows, which also hold the fleet sizing)
    assert memo.LAYOUTS.hits > hits[0] and memo.SERVING.hits > hits[1]
    for kept_memo in (memo.LAYOUTS, memo.FLEETS, memo.SERVING):
        kept_memo.clear()
    fresh = planner.plan(_at(site, pricing))
    assert memo.LAYOUTS.hits == memo.FLEETS.hits == memo.SERVING.hits == 0
    _assert_same_plan(kept, fresh)
    # and the footprint did follow the change (the comparison is not vacuous)
    base = planner.plan(SCENARIO)
    assert not np.allclose(base.inference["annual_total_co2e_kg"].fillna(0),
                           kept.inference["annual_total_co2e_kg"].fillna(0)) or not np.allclose(
        base.inference["annual_cost_usd"].fillna(0), kept.inference["annual_cost_usd"].fillna(0))


def test_a_new_pue_changes_only_the_footprint(planner):
    memo.LAYOUTS.clear()
    a = planner.plan(_at({"pue": 1.1}, {}))
    b = planner.plan(_at({"pue": 1.5}, {}))
    ok = a.training["feasible"].to_numpy(bool)
    assert ok.any()
    np.testing.assert_array_equal(a.training["devices"], b.training["devices"])
    np.testing.assert_allclose(b.training["energy_kwh"][ok] * 1.1,
                               a.training["energy_kwh"][ok] * 1.5, rtol=1e-12)


def _perturbed(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column the memo keys leave out, changed (numbers × 1.7 + 0.3, text replaced)."""
    out = frame.copy()
    for name in frame.columns:
        if not memo.is_footprint(str(name)):
            continue
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            out[name] = ~column
        elif pd.api.types.is_numeric_dtype(column):
            out[name] = column.astype(float) * 1.7 + 0.3
        elif name == "pricing_mode":  # the one text column a figure depends on
            out[name] = np.where(column == "on_prem", "cloud", "on_prem")
        else:
            out[name] = "changed"
    return out


def _scenario(planner, site=None):
    s = parse_scenario(_at(site or SCENARIO["site"], {}))
    return s, planner.resolve_site(s)


def test_the_layout_search_reads_no_site_or_footprint_column(planner):
    s, site = _scenario(planner)
    grid = training.training_grid(s, list(planner.profiles), planner.catalogue,
                                  planner.defaults, site)
    k = load_performance().step_constants()
    changed = _perturbed(grid)
    assert memo.site_free_digest(changed) == memo.site_free_digest(grid)
    a, cells_a, evaluated_a = training_perf.predict(grid, k)
    b, cells_b, evaluated_b = training_perf.predict(changed, k)
    assert (cells_a, evaluated_a) == (cells_b, evaluated_b)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_the_training_physics_reads_no_site_or_footprint_column(planner):
    """``training._physics`` (kept with the layout searches) is the same for a grid whose
    site and footprint columns all differ."""
    s, site = _scenario(planner)
    grid = training.training_grid(s, list(planner.profiles), planner.catalogue,
                                  planner.defaults, site)
    constants = load_performance()
    k = constants.step_constants()
    changed = _perturbed(grid)
    with memo.disabled():
        a = training._physics(grid, k, None, None, constants)
        b = training._physics(changed, k, None, None, constants)
    assert a.keys() == b.keys()
    for name in a:
        for x, y in zip(*(v.values() if isinstance(v, dict) else [v] for v in (a[name], b[name])),
                        strict=True):
            np.testing.assert_array_equal(x, y, err_msg=name)


def test_the_fleet_sizing_reads_no_site_or_footprint_column(planner):
    s, site = _scenario(planner)
    spec = s.inference
    perf = evaluate_inference(serving.serving_grid(planner, s, site, spec))
    changed = _perturbed(perf)
    traffic = serving.resolve_traffic(spec)
    a = serving.size_fleet(perf, traffic, spec)
    b = serving.size_fleet(changed, traffic, spec)
    added = [c for c in a.columns if c not in perf.columns]
    assert added and all(not memo.is_footprint(c) for c in added)
    pd.testing.assert_frame_equal(a[added], b[added])


def test_the_memo_hands_out_copies(planner):
    s, site = _scenario(planner, {"pue": 1.234})
    grid = training.training_grid(s, list(planner.profiles), planner.catalogue,
                                  planner.defaults, site)
    k = load_performance().step_constants()
    memo.LAYOUTS.clear()
    first, _, _ = memo.predict(grid, k, training_perf.predict)
    kept = first["devices"].copy()
    first["devices"][:] = -1.0
    again, _, _ = memo.predict(grid, k, training_perf.predict)
    assert memo.LAYOUTS.hits == 1
    np.testing.assert_array_equal(again["devices"], kept)


def test_a_changed_model_is_a_miss(planner):
    for kept_memo in (memo.LAYOUTS, memo.FLEETS, memo.SERVING):
        kept_memo.clear()
    planner.plan(SCENARIO)
    other = {**SCENARIO, "training": {**SCENARIO["training"], "days": 60},
             "inference": {**SCENARIO["inference"], "requests_per_s_peak": 500}}
    planner.plan(other)
    assert memo.LAYOUTS.hits == 0 and memo.FLEETS.hits == 0 and memo.SERVING.hits == 0


# Site changes that keep the cloud region and which inputs are given (so each figure's
# basis): the kept grid is re-sited, not rebuilt.
GIVEN_SITE = {**SCENARIO["site"], "pue": 1.2, "carbon_intensity_g_per_kwh": 380.0,
              "wue_l_per_kwh": 0.3, "electricity_usd_per_kwh": 0.1,
              "market_emission_factor_g_per_kwh": 200.0}
RESITED = [{"pue": 1.37}, {"carbon_intensity_g_per_kwh": 120.0, "wue_l_per_kwh": 0.9},
           {"electricity_usd_per_kwh": 0.21, "pue": 1.05},
           {"market_emission_factor_g_per_kwh": 30.0}]


@pytest.mark.parametrize("build", [serving.serving_grid, inference.inference_grid])
@pytest.mark.parametrize("change", RESITED)
def test_a_kept_grid_at_a_new_site_is_the_fresh_grid(planner, build, change):
    memo.GRIDS.clear()
    s, site = _scenario(planner, GIVEN_SITE)
    memo.site_grid(build, planner, s, site, s.inference)
    moved = {**GIVEN_SITE, **change}
    s2, site2 = _scenario(planner, moved)
    hits = memo.GRIDS.hits
    kept = memo.site_grid(build, planner, s2, site2, s2.inference)
    assert memo.GRIDS.hits == hits + 1
    fresh = build(planner, s2, site2, s2.inference)
    pd.testing.assert_frame_equal(kept, fresh)
    assert (kept["placement"] == "edge").any()  # edge rows keep their own PUE and water


def test_a_new_region_is_a_new_grid(planner):
    memo.GRIDS.clear()
    s, site = _scenario(planner, GIVEN_SITE)
    memo.site_grid(serving.serving_grid, planner, s, site, s.inference)
    s2, site2 = _scenario(planner, {**GIVEN_SITE, "cloud_region": "us-west-2"})
    kept = memo.site_grid(serving.serving_grid, planner, s2, site2, s2.inference)
    assert memo.GRIDS.hits == 0
    pd.testing.assert_frame_equal(kept, serving.serving_grid(planner, s2, site2, s2.inference))


@pytest.mark.parametrize("change", RESITED)
def test_a_kept_training_grid_at_a_new_site_is_the_fresh_grid(planner, change):
    memo.GRIDS.clear()
    s, site = _scenario(planner, GIVEN_SITE)
    args = (list(planner.profiles), planner.catalogue, planner.defaults)
    memo.training_grid(training.training_grid, s, *args, site)
    s2, site2 = _scenario(planner, {**GIVEN_SITE, **change})
    kept = memo.training_grid(training.training_grid, s2, *args, site2)
    assert memo.GRIDS.hits == 1
    fresh = training.training_grid(s2, *args, site2)
    pd.testing.assert_frame_equal(kept, fresh)
    if "pue" in change:  # the boundary text names the new PUE
        assert kept["energy_boundary"].str.contains(f"PUE {change['pue']:g}").all()


@pytest.mark.parametrize("change", RESITED)
def test_a_kept_training_grid_gives_its_own_digest(planner, change):
    """``memo.training_grid_and_digest``'s digest (the kept grid's, computed once) is the
    returned grid's own ``site_free_digest``, and the layout search it keys is the fresh one."""
    memo.GRIDS.clear()
    args = (list(planner.profiles), planner.catalogue, planner.defaults)
    for s_site in (GIVEN_SITE, {**GIVEN_SITE, **change}):
        s, site = _scenario(planner, s_site)
        grid, digest = memo.training_grid_and_digest(training.training_grid, s, *args, site)
        assert digest is None or digest == memo.site_free_digest(grid)
    assert digest is not None and memo.GRIDS.hits == 1  # the kept grid gives it
    with memo.disabled():
        fresh = training.evaluate_training(training.training_grid(s, *args, site))
    pd.testing.assert_frame_equal(training.evaluate_training(grid, digest=digest), fresh)


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", ["llama-8b-levers", "llama-8b-lifecycle", "edge-vs-cloud"])
def test_an_example_at_new_pues_is_the_same_with_and_without_the_memos(planner, name):
    """Levers (one moves the site), uncertainty and edge-versus-cloud sections included."""
    scenario = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    at = [{**scenario, "site": {**scenario.get("site", {}), "pue": pue}} for pue in (1.3, 1.45)]
    kept = [plan_sections(planner.plan(s)) for s in (scenario, *at)][1:]
    with memo.disabled():
        fresh = [plan_sections(planner.plan(s)) for s in at]
    for a, b in zip(kept, fresh, strict=True):
        assert sorted(a) == sorted(b)
        for section in a:
            pd.testing.assert_frame_equal(a[section], b[section])


def test_layout_text_writes_each_layout_as_before():
    from planner.model.parallel import layout_text

    text = layout_text(np.array([1.0, 4.0, 8.0, 8.0, np.nan, 2.0]),
                       np.array([1.0, 1.0, 2.0, 1.0, 1.0, np.inf]),
                       np.array([1.0, 1.0, 1.0, 8.0, 1.0, 1.0]))
    assert text.tolist() == ["1 device", "TP4", "TP8 x PP2", "TP8 (EP8)", "-", "-"]
