"""Sweeps: the vectorised grid equals planning each combination on its own."""

from __future__ import annotations

import numpy as np
import pytest

from planner.model.plan import Planner
from planner.model.sweep import sweep_training

BASE = {"training": {"model": "llama-3-8b", "days": 30}}


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def test_default_axes_equal_a_plain_plan(planner):
    swept = sweep_training(planner, BASE)
    plain = planner.plan_training(BASE)
    assert len(swept) == len(plain)
    np.testing.assert_allclose(swept["energy_kwh"].to_numpy(float),
                               plain["energy_kwh"].to_numpy(float), equal_nan=True)


def test_each_combination_matches_its_own_plan(planner):
    swept = sweep_training(planner, BASE, precisions=["bf16", "fp8"],
                           sites=[{"country": "FRA"}, {"country": "IND"}],
                           mfus=[None, 0.5], devices=[None, 256])
    n = len(planner.plan_training(BASE))
    assert len(swept) == n * 2 * 2 * 2 * 2
    row = swept[(swept["hardware_id"] == "nvidia-h100-sxm") & (swept["precision_used"] == "fp8")
                & (swept["mfu_override"] == 0.5) & (swept["devices_override"] == 256)
                & swept["site"].str.contains("India")].iloc[0]
    alone = planner.plan_training({"training": {"model": "llama-3-8b", "precision": "fp8",
                                                "mfu": 0.5, "devices": 256,
                                                "hardware": "nvidia-h100-sxm"},
                                   "site": {"country": "IND"}}).iloc[0]
    for col in ("hours", "energy_kwh", "co2e_kg", "cost_usd"):
        assert row[col] == pytest.approx(alone[col], rel=1e-12), col
    assert row["utilisation_basis"] == "user"
