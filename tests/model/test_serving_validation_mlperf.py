"""Validation of serving energy at the wall on MLPerf Inference power results.

Data: tests/model/data/published_mlperf_power.csv (source and boundary in its header). Each
case is planned as a user would plan that service: the published throughput as the traffic
(flat, no headroom), the scenario's latency bound as the p95 target, int8, the card's
profile, a PUE of 1 (the measurement is the server at the wall, not the facility); the
planner sizes its own fleet. Compared: the fleet's device + host energy per sample against
the published system power over the throughput. Nothing is fitted to these cases.
``mlperf_validation_table()`` is what the README prints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.model.plan import Planner
from planner.model.scenario import parse_scenario
from planner.model.serving import plan_serving

DATA = Path(__file__).parent / "data" / "published_mlperf_power.csv"
SECONDS_PER_YEAR = 3600 * 8760


def published() -> pd.DataFrame:
    return pd.read_csv(DATA, comment="#")


def mlperf_validation_table(planner: Planner | None = None) -> pd.DataFrame:
    planner = planner or Planner.load()
    rows = []
    for case in published().itertuples():
        inference = {"model": case.model, "hardware": case.hardware,
                     "precision": case.precision, "batch_size": 64,
                     "requests_per_s_avg": case.samples_per_s,
                     "requests_per_s_peak": case.samples_per_s, "headroom": 0.0}
        if np.isfinite(case.prompt_tokens):
            inference.update(prompt_tokens=case.prompt_tokens, output_tokens=case.output_tokens)
        if np.isfinite(case.latency_bound_s):
            inference["latency_p95_s"] = case.latency_bound_s
        s = parse_scenario({"site": {"pue": 1.0}, "inference": inference})
        row = plan_serving(planner, s, planner.resolve_site(s)).iloc[0]
        samples = case.samples_per_s * SECONDS_PER_YEAR
        model_j = float(row["annual_energy_kwh"]) * 3.6e6 / samples
        published_j = case.system_power_w / case.samples_per_s
        rows.append({"case": case.case, "boundary": case.boundary,
                     "published_devices": int(case.devices),
                     "model_devices": float(row["fleet_devices"]),
                     "published_j_per_sample": published_j, "model_j_per_sample": model_j,
                     "model_device_power_w": float(row["device_power_w"]),
                     "host_power_basis": row["host_power_basis"],
                     "err": model_j / published_j - 1})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return mlperf_validation_table()


def test_every_case_is_planned_at_the_wall_boundary(table):
    assert len(table) == len(published()) >= 3
    assert (table["boundary"] == "wall").all()
    assert np.isfinite(table["model_j_per_sample"]).all()
    assert (table["model_j_per_sample"] > 0).all()


def test_the_plan_serves_the_published_throughput_with_host_power(table):
    """The fleet is sized for the published load, and the wall boundary adds host power."""
    assert (table["model_devices"] >= 1).all()
    assert (table["host_power_basis"] != "none (edge, or measured system power)").all()
