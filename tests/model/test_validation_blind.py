"""The blind check (tests/model/validation_blind.py): every pre-registered run is planned,
or refused with its reason, and the summaries count refusals as misses."""

from __future__ import annotations

import numpy as np
import pytest

from tests.model import validation_cases as vc
from tests.model.validation_blind import BLIND_PATH, blind_table, summaries


@pytest.fixture(scope="module")
def table():
    return blind_table()


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


def test_refused_runs_count_as_misses(table):
    s = summaries(table).set_index(["by", "group"])
    every = s.loc[("all", "all")]
    assert every["refused"] == (~table["feasible"]).sum()
    err = table["model_err"].abs().fillna(np.inf)
    assert every["model_median_abs_err"] == pytest.approx(float(np.median(err)))
    assert every["model_within_25pct"] == int((err <= 0.25).sum())
