"""Training plans: hand-worked examples, modes, memory fit, provenance and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import ScenarioError
from planner.model.plan import Planner
from planner.model.report import TRAINING_REPORT_COLUMNS

H100 = "nvidia-h100-sxm"


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def _one(planner, training, site=None, pricing=None):
    scenario = {"training": {"hardware": H100, **training},
                "site": site or {"carbon_intensity_g_per_kwh": 400, "pue": 1.2},
                "pricing": pricing or {}}
    df = planner.plan_training(scenario)
    assert len(df) == 1
    return df.iloc[0]


def test_hand_worked_fixed_devices(planner):
    """1e21 FLOPs on 8 H100s at 40% of 989 TFLOP/s, 90% goodput; 525 W busy (700 W × 0.75),
    host 4.6 kW per DGX H100 node × 0.47 (BNL's load share) ÷ 8, PUE 1.2, 400 g/kWh,
    $6.88 per device-hour."""
    row = _one(planner, {"total_flops": 1e21, "devices": 8, "mfu": 0.4})
    seconds = 1e21 / (8 * 989e12 * 0.4)  # 315,977 s of training
    hours = seconds / 3600 / 0.9  # wall time at the default goodput
    assert row["hours"] == pytest.approx(hours, rel=1e-9)
    assert row["device_hours"] == pytest.approx(8 * hours, rel=1e-9)
    device_kwh = 525 * 8 * hours / 1000
    assert row["device_energy_kwh"] == pytest.approx(device_kwh, rel=1e-9)
    host_kwh = 4600 * 0.47 / 8 * 8 * hours / 1000  # 270.25 W of host per device
    assert row["host_energy_kwh"] == pytest.approx(host_kwh, rel=1e-9)
    total_kwh = (device_kwh + host_kwh) * 1.2
    assert row["energy_kwh"] == pytest.approx(total_kwh, rel=1e-9)
    assert row["co2e_kg"] == pytest.approx(total_kwh * 0.4, rel=1e-9)
    # Embodied: 318 kg over 5 years, charged per device-hour.
    assert row["embodied_co2e_kg"] == pytest.approx(318 * 8 * hours / (5 * 8760), rel=1e-9)
    assert row["cost_usd"] == pytest.approx(6.88 * 8 * hours, rel=1e-9)
    assert row["utilisation_basis"] == "user"
    assert row["power_basis"] == "spec × default busy share"
    assert row["throughput_basis"] == "spec"


def test_deadline_mode_finds_devices(planner):
    row = _one(planner, {"total_flops": 1e23, "days": 10, "mfu": 0.5})
    need = math.ceil(1e23 / (989e12 * 0.5 * 10 * 86400 * 0.9))  # 90% goodput
    assert row["devices"] == need
    assert row["days"] <= 10
    assert row["mode"] == "deadline"


def test_known_run_mode_only_energy(planner):
    row = _one(planner, {"params": 1e9, "tokens": 1e9, "device_hours": 1000,
                         "avg_power_w": 600})
    assert row["mode"] == "known_run"
    assert row["device_hours"] == 1000
    # User power is system power per device: no host share added.
    assert row["energy_kwh"] == pytest.approx(1000 * 600 / 1000 * 1.2)
    assert row["power_basis"] == "user"


def test_memory_fit_sets_minimum_devices(planner):
    # 70B params × 16 bytes = 1.12 TB of training state; H100 holds 72 GB usable minus
    # activations, so at least 16 devices.
    row = _one(planner, {"model": "llama-3-70b", "devices": 2})
    assert not row["feasible"]
    assert "too few devices" in row["infeasible_reason"]
    assert np.isnan(row["energy_kwh"])
    assert row["min_devices_for_memory"] >= 16


def test_on_prem_cost(planner):
    row = _one(planner, {"total_flops": 1e21, "devices": 8, "mfu": 0.4},
               site={"carbon_intensity_g_per_kwh": 400, "pue": 1.2,
                     "electricity_usd_per_kwh": 0.1},
               pricing={"mode": "on_prem"})
    capital = 33600 * row["device_hours"] / (5 * 8760)
    assert row["cost_usd"] == pytest.approx(capital + row["energy_kwh"] * 0.1, rel=1e-9)


def test_cloud_discount(planner):
    full = _one(planner, {"total_flops": 1e21, "devices": 8})
    spot = _one(planner, {"total_flops": 1e21, "devices": 8}, pricing={"cloud_discount": 0.6})
    assert spot["cost_usd"] == pytest.approx(0.4 * full["cost_usd"])


def test_region_changes_carbon_not_energy(planner):
    fra = _one(planner, {"total_flops": 1e21, "devices": 8}, site={"country": "FRA"})
    ind = _one(planner, {"total_flops": 1e21, "devices": 8}, site={"country": "IND"})
    assert fra["energy_kwh"] == pytest.approx(ind["energy_kwh"])
    assert ind["co2e_kg"] > 5 * fra["co2e_kg"]


def test_preset_flops_are_six_n_d_plus_attention(planner):
    row = _one(planner, {"model": "llama-3-8b", "devices": 64})
    # PaLM Appendix B: 6·N + 12·L·H·Q·T per token (32 layers, 32 heads of 128, 8,192 tokens).
    per_token = 6 * 8.03e9 + 12 * 32 * 32 * 128 * 8192
    assert row["total_flops"] == pytest.approx(per_token * 1.5e13)
    assert row["flops"] == row["total_flops"]


def test_all_hardware_has_report_columns(planner):
    df = planner.plan_training({"training": {"model": "llama-3-8b", "days": 30}})
    assert set(TRAINING_REPORT_COLUMNS) <= set(df.columns)
    assert len(df) >= 1
    assert (df["placement"] == "datacenter").all()
    assert df["assumptions"].str.contains("grid").all()


def test_unknown_hardware_names_allowed_values(planner):
    with pytest.raises(ScenarioError, match=r"unknown id.*allowed: all"):
        planner.plan_training({"training": {"model": "llama-3-8b", "hardware": "nope"}})


def test_calibration_overrides_defaults(planner):
    import pandas as pd

    cal = pd.DataFrame([{"hardware_id": H100, "precision": "bf16", "utilisation": 0.5,
                         "busy_power_w": 610.0}])
    row = planner.with_calibration(cal).plan_training(
        {"training": {"hardware": H100, "total_flops": 1e21, "devices": 8}}).iloc[0]
    assert row["utilisation"] == 0.5
    assert row["utilisation_basis"] == "calibrated"
    assert row["busy_power_w"] == 610.0
    assert row["power_basis"] == "calibrated"


# --- properties -------------------------------------------------------------------------

flops = st.floats(min_value=1e15, max_value=1e26)
devices = st.integers(min_value=1, max_value=100_000)
mfu = st.floats(min_value=0.01, max_value=1.0)


@settings(max_examples=30, deadline=None)
@given(flops=flops, n=devices, extra=st.integers(min_value=1, max_value=1000), u=mfu)
def test_more_devices_never_more_time(planner, flops, n, extra, u):
    a = _one(planner, {"total_flops": flops, "devices": n, "mfu": u})
    b = _one(planner, {"total_flops": flops, "devices": n + extra, "mfu": u})
    assert b["hours"] <= a["hours"] * (1 + 1e-12)


@settings(max_examples=30, deadline=None)
@given(flops=flops, n=devices, u=mfu, g=st.floats(min_value=0, max_value=1500),
       pue=st.floats(min_value=1.0, max_value=3.0), on_prem=st.booleans())
def test_never_negative(planner, flops, n, u, g, pue, on_prem):
    row = _one(planner, {"total_flops": flops, "devices": n, "mfu": u},
               site={"carbon_intensity_g_per_kwh": g, "pue": pue},
               pricing={"mode": "on_prem" if on_prem else "cloud"})
    for col in ("hours", "device_hours", "energy_kwh", "co2e_kg", "embodied_co2e_kg",
                "cost_usd"):
        assert row[col] >= 0, col


@settings(max_examples=25, deadline=None)
@given(params=st.floats(min_value=1e6, max_value=1e12),
       tokens=st.floats(min_value=1e6, max_value=1e13), n=st.integers(1, 4096))
def test_doubling_tokens_doubles_energy(planner, params, tokens, n):
    base = {"params": params, "tokens": tokens, "device_hours": None}
    a = _one(planner, {**base, "devices": max(n, 1_000_000)})
    b = _one(planner, {**base, "tokens": 2 * tokens, "devices": max(n, 1_000_000)})
    assert b["device_energy_kwh"] == pytest.approx(2 * a["device_energy_kwh"], rel=1e-9)
    assert b["energy_kwh"] == pytest.approx(2 * a["energy_kwh"], rel=1e-9)


def test_reserved_prices_are_not_used_as_on_demand(planner):
    # Trainium's only listed price is a reserved Capacity Block price.
    row = planner.plan_training({"training": {"hardware": "aws-trainium",
                                              "total_flops": 1e21, "devices": 16}}).iloc[0]
    assert row["price_basis"] == "missing"
    assert np.isnan(row["cost_usd"])
    assert row["energy_kwh"] > 0
