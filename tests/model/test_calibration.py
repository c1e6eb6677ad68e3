"""Calibration and the predicted-versus-measured table (planner.model.calibration)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from planner.model.calibration import (
    NO_PROFILE,
    calibrate,
    for_planning,
    match_profile,
    prediction_table,
)
from planner.model.defaults import load_defaults
from planner.model.hardware import HardwareProfile, load_profiles
from planner.model.plan import Planner
from planner.model.records import GpuResult, Results, quantity

from .test_records import make_record

CPU = HardwareProfile.model_validate({
    "id": "test-xeon", "name": "Test Xeon", "vendor": "Intel", "kind": "cpu",
    "dense_tflops": {"fp32": {"value": 2.0, "source": "s"}},
    "rated_power_w": {"value": 100, "basis": "tdp", "source": "s"},
    "match_names": ["Xeon(R) Processor"], "sources": {"s": {"title": "test data", "date": "2026"}},
})


def cpu_record(run_id: str, flops: float, wall: float, energy: float, measured: bool,
               mode: str = "train", status: str = "complete"):
    method = "codecarbon_rapl" if measured else "codecarbon_cpu_load_estimate"
    res = Results(wall_time_s=quantity(wall, "s", "wall_clock", True),
                  flops=quantity(flops, "FLOP", "flop_counter", True),
                  cpu_energy_j=quantity(energy, "J", method, measured))
    rec = make_record(run_id=run_id, results=res, status=status)
    return rec.model_copy(update={"settings": rec.settings.model_copy(update={"mode": mode})})


def h100_record(run_id: str, flops: float, wall: float, energies: list[float]):
    t = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    gpus = [GpuResult(index=i, name="NVIDIA H100 80GB HBM3",
                      energy_j=quantity(e, "J", "nvml_energy_counter", True))
            for i, e in enumerate(energies)]
    res = Results(wall_time_s=quantity(wall, "s", "wall_clock", True),
                  flops=quantity(flops, "FLOP", "flop_counter", True),
                  gpu_energy_j=quantity(sum(energies), "J", "nvml_energy_counter", True),
                  gpus=gpus)
    rec = make_record(run_id=run_id, results=res, device_name="NVIDIA H100 80GB HBM3",
                      started_at=t, ended_at=t + dt.timedelta(seconds=wall))
    return rec.model_copy(update={"settings": rec.settings.model_copy(
        update={"device": "cuda", "precision": "bf16"})})


def test_matching_by_substring_and_kind():
    profiles = load_profiles().profiles
    assert match_profile("NVIDIA H100 80GB HBM3", profiles, "gpu").id == "nvidia-h100-sxm"
    assert match_profile("nvidia h100 80gb hbm3", profiles).id == "nvidia-h100-sxm"
    assert match_profile("NVIDIA H100 80GB HBM3", profiles, "cpu") is None
    assert match_profile("Example CPU 9000", profiles, "cpu") is None
    # A generic KVM guest's name finds the derived one-vCPU profile.
    assert match_profile("Intel(R) Xeon(R) Processor", profiles, "cpu").id == "intel-xeon-kvm-vcpu"


def test_utilisation_is_flop_weighted_and_power_uses_measured_energy_only():
    recs = [cpu_record("aaaaaa1", 2e12, 10.0, 500.0, True),    # 0.1 of peak, 50 W
            cpu_record("aaaaaa2", 6e12, 10.0, 700.0, True),    # 0.3 of peak, 70 W
            cpu_record("aaaaaa3", 4e12, 10.0, 9999.0, False),  # estimate: no power
            cpu_record("aaaaaa4", 9e12, 1.0, 10.0, True, status="incomplete"),
            cpu_record("aaaaaa5", 1e12, 10.0, 100.0, True, mode="infer")]
    cal = calibrate(recs, [CPU])
    train = cal[cal["mode"] == "train"].iloc[0]
    assert train["hardware_id"] == "test-xeon" and train["precision"] == "fp32"
    assert train["utilisation"] == pytest.approx(12e12 / (30.0 * 2e12))
    assert train["busy_power_w"] == pytest.approx(60.0)
    assert train["n_records"] == 3 and train["n_power_records"] == 2
    assert train["source_runs"] == "aaaaaa1,aaaaaa2,aaaaaa3"
    infer = cal[cal["mode"] == "infer"].iloc[0]
    assert infer["utilisation"] == pytest.approx(0.05)
    assert list(for_planning(cal, "infer").columns) == [
        "hardware_id", "precision", "utilisation", "busy_power_w"]


def test_prediction_table_lists_every_record_with_the_models_error():
    d = load_defaults()
    util = d.per_kind("training_utilisation", ["cpu"])[0]
    busy = 100.0 * d.per_kind("busy_power_fraction", ["cpu"])[0]
    recs = [cpu_record("bbbbbb1", 4e12, 10.0, 500.0, True),
            make_record(run_id="bbbbbb2")]  # no FLOP count
    t = prediction_table(recs, [CPU])
    assert len(t) == 2
    row = t[t["run_id"] == "bbbbbb1"].iloc[0]
    assert row["predicted_time_s"] == pytest.approx(4e12 / (2e12 * util))
    assert row["time_error"] == pytest.approx(row["predicted_time_s"] / 10.0 - 1)
    assert row["predicted_energy_j"] == pytest.approx(busy * row["predicted_time_s"])
    assert row["energy_error"] == pytest.approx(row["predicted_energy_j"] / 500.0 - 1)
    assert row["achieved_utilisation"] == pytest.approx(0.2) and row["note"] == ""
    other = t[t["run_id"] == "bbbbbb2"].iloc[0]
    assert np.isnan(other["predicted_time_s"]) and "no FLOP count" in other["note"]


def test_records_without_a_profile_are_listed_as_such():
    t = prediction_table([cpu_record("cccccc1", 1e12, 1.0, 10.0, False)], profiles=[])
    assert t.loc[0, "hardware_id"] == NO_PROFILE and t.loc[0, "note"] == NO_PROFILE
    assert calibrate([cpu_record("cccccc1", 1e12, 1.0, 10.0, False)], []).empty


def test_planning_uses_calibrated_values_and_says_so():
    profiles = load_profiles().profiles
    peak = match_profile("NVIDIA H100 80GB HBM3", profiles).tflops("bf16") * 1e12
    rec = h100_record("dddddd1", flops=0.4 * peak * 2 * 100.0, wall=100.0,
                      energies=[55_000.0, 57_000.0])
    cal = calibrate([rec], profiles)
    row = cal.iloc[0]
    assert row["hardware_id"] == "nvidia-h100-sxm" and row["precision"] == "bf16"
    assert row["utilisation"] == pytest.approx(0.4)
    assert row["busy_power_w"] == pytest.approx(560.0)  # 112 kJ over 2 GPUs × 100 s
    planner = Planner.load().with_calibration(for_planning(cal, "train"))
    plan = planner.plan_training({"training": {"model": "llama-3-8b"}, "site": {"country": "FRA"}})
    h100 = plan[plan["hardware_id"] == "nvidia-h100-sxm"].iloc[0]
    assert h100["utilisation"] == pytest.approx(0.4)
    assert h100["utilisation_basis"] == "calibrated"
    assert h100["busy_power_w"] == pytest.approx(560.0) and h100["power_basis"] == "calibrated"
    other = plan[plan["hardware_id"] != "nvidia-h100-sxm"].iloc[0]
    assert other["utilisation_basis"] != "calibrated"


def test_no_records_give_empty_tables():
    profiles = load_profiles().profiles
    assert calibrate([], profiles).empty
    table = prediction_table([], profiles)
    assert table.empty and "energy_error" in table.columns
