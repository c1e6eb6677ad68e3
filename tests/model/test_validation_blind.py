"""The blind check (tests/model/validation_blind.py): every pre-registered run is planned,
or refused with its reason, and the summaries count refusals as misses."""

from __future__ import annotations

import numpy as np
import pytest

from tests.model import validation_cases as vc
from tests.model.validation_blind import (
    BLIND5_PATH,
    BLIND6_PATH,
    BLIND_PATH,
    blind_table,
    summaries,
)


@pytest.fixture(scope="module")
def table():
    return blind_table()


@pytest.fixture(scope="module")
def later():
    """The fifth and sixth lists, each planned once for the whole module."""
    return {path: blind_table(path=path) for path in (BLIND5_PATH, BLIND6_PATH)}


def test_every_blind_row_is_sourced_and_planned_as_the_validation_plans(table):
    raw = vc.pd.read_csv(BLIND_PATH, comment="#")
    assert list(raw.columns) == list(vc.cases().columns)  # the same format as the cases
    assert len(table) == len(raw) >= 30
    assert raw["source"].str.len().min() > 40 and raw["run_report"].nunique() >= 3
    # No report is more than half of the list (the rule written before it was planned).
    assert raw["run_report"].value_counts().max() <= len(raw) / 2
    assert not raw["case"].isin(vc.cases()["case"]).any()  # none is a validation case
    planned = table["feasible"]
    assert np.isfinite(table.loc[planned, "model_err"]).all()
    assert table.loc[~planned, "model_err"].isna().all()
    assert np.isfinite(table["naive_err"]).all()


@pytest.mark.parametrize("path, apart", [(BLIND5_PATH, 1), (BLIND6_PATH, 0)])
def test_the_later_lists_are_planned_as_the_fourth(later, path, apart):
    # Added 2026-12-02: the fifth and sixth blind lists, each planned once (README), are
    # planned by the same code; every row planned or refused with its reason, refusals as
    # misses; rows repeating a fitted case's run (the fifth list's NeMo 24.12 rerun of the
    # FP8 constant's case) reported apart.
    t = later[path]
    raw = vc.pd.read_csv(path, comment="#")
    assert list(raw.columns) == list(vc.cases().columns) and len(t) == len(raw) >= 25
    assert not raw["case"].isin(vc.pd.read_csv(BLIND_PATH, comment="#")["case"]).any()
    planned = t["feasible"]
    assert np.isfinite(t.loc[planned, "model_err"]).all()
    assert t.loc[~planned, "model_err"].isna().all()
    s = summaries(t).set_index(["by", "group"])
    assert s.loc[("all", "all"), "refused"] == (~planned).sum()
    assert t["fitted_configuration"].sum() == apart


def test_refused_runs_count_as_misses(table):
    s = summaries(table).set_index(["by", "group"])
    every = s.loc[("all", "all")]
    assert every["refused"] == (~table["feasible"]).sum()
    err = table["model_err"].abs().fillna(np.inf)
    assert every["model_median_abs_err"] == pytest.approx(float(np.median(err)))
    assert every["model_within_25pct"] == int((err <= 0.25).sum())


def test_shipped_training_time_range_is_the_p5_p95_of_its_named_cases(table, later):
    """profiles/levers.yaml's training_time range (the Monte Carlo's factor on a planned run's
    device-hours) is fitted, not assumed: low and high are the P5 and P95 of published ÷
    model device-hours over the held-out validation cases and the planned blind cases,
    rounded to 0.01; its mode stays 1 (a draw at the baseline is the plan)."""
    from planner.model.levers import load_lever_defaults
    from tests.model.validation_blind import TRAINING_TIME_QUANTILES, training_time_ratios

    validation, _ = vc.validation_table()
    lists = [table, *later.values()]
    ratios = training_time_ratios(validation, *lists)
    held = int((validation["role"] == "held-out").sum())
    assert len(ratios) == held + sum(int(t["model_err"].notna().sum()) for t in lists)
    assert held >= 40
    assert np.isfinite(ratios).all() and (ratios > 0).all()
    q = ratios.quantile(list(TRAINING_TIME_QUANTILES))
    shipped = load_lever_defaults().uncertainty["training_time"]
    assert shipped.source == "fitted" and shipped.mode == 1.0
    assert shipped.low == pytest.approx(q[0.05], abs=0.005 + 1e-9)
    assert shipped.high == pytest.approx(q[0.95], abs=0.005 + 1e-9)
    # the note names the quantiles it was fitted to (as the README does)
    for quantile, name in zip(TRAINING_TIME_QUANTILES, ("P5", "P10", "P50", "P90", "P95"),
                              strict=True):
        assert f"{name} {q[quantile]:.2f}" in shipped.note
