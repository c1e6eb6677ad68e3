"""Calibration of the serving model from serving records (issue 10 item 3).

The records are vLLM serving-benchmark results (``benchmark_serving.py --save-result``, the
keys ``planner.model.imports.vllm`` reads, as in tests/model/test_imports.py) imported with
``planner import``. SYNTHETIC: no vLLM run is in measurements/, so the figures in these files
are made by the planner's own step model with known engine constants (decode bandwidth
efficiency 0.55, 4 ms per step, decode power 0.70 of the rating) at two concurrencies; the
test checks that calibration recovers those constants from the files alone and that a plan
with the calibration uses them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from planner.model import serving_calibration as sc
from planner.model.calibration import calibrate, for_planning
from planner.model.fleet import fleet_inputs
from planner.model.imports import ImportOptions, import_file
from planner.model.plan import Planner
from planner.model.scenario import parse_scenario
from planner.model.serving import plan_serving
from planner.model.serving_records import calibrate_serving, serving_observation

H100 = "nvidia-h100-sxm"
TRUE = {"bandwidth_utilisation": 0.55, "engine_overhead_s_per_step": 0.004,
        "decode_power_fraction": 0.70}
PROMPT, OUTPUT = 300.0, 250.0


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def synthetic_result(planner: Planner, concurrency: int, energy: bool = True) -> dict:
    """A vLLM result JSON of Llama 3 8B on one H100 at ``concurrency``, made by the step
    model with the TRUE constants (SYNTHETIC, see the module docstring)."""
    s = parse_scenario({"inference": {
        "model": "llama-3-8b", "hardware": H100, "precision": "bf16",
        "batch_size": concurrency, "batch_policy": "fixed", "tensor_parallel": 1,
        "prompt_tokens": PROMPT, "output_tokens": OUTPUT}})
    c = fleet_inputs(plan_serving(planner, s, planner.resolve_site(s)))
    rated = float(planner.catalogue.set_index("hardware_id").loc[H100, "rated_power_w"])
    o = sc.Observation(c=c, concurrency=float(concurrency), s_per_token=1.0, rated_w=rated)
    p = sc.predict(o, TRUE)
    slot_s = p["s_per_token"] * OUTPUT
    completed, duration = 2000, 2000 * slot_s / concurrency
    raw = {"date": "20261130-101500", "backend": "vllm",
           "model_id": "meta-llama/Llama-3.1-8B-Instruct", "num_prompts": completed,
           "request_rate": "inf", "max_concurrency": concurrency, "duration": duration,
           "completed": completed, "total_input_tokens": int(PROMPT * completed),
           "total_output_tokens": int(OUTPUT * completed),
           "request_throughput": completed / duration,
           "output_throughput": OUTPUT * completed / duration,
           "total_token_throughput": (PROMPT + OUTPUT) * completed / duration,
           "mean_e2el_ms": slot_s * 1000.0, "median_e2el_ms": slot_s * 1000.0,
           "mean_tpot_ms": p["tpot_s"] * 1000.0}
    if energy:
        raw["gpu_energy_j"] = p["power_w"] * duration
    return raw


def imported(planner: Planner, raw: dict, **options):
    opts = ImportOptions(device_name="NVIDIA H100 80GB HBM3", precision="bf16",
                         model="llama-3-8b", **options)
    return import_file(json.dumps(raw).encode(), "vllm.json", planner.profiles, options=opts)[0]


def test_an_imported_result_is_planned_as_it_ran(planner):
    rec = imported(planner, synthetic_result(planner, 32))
    assert rec.settings.workload_params["model"] == "llama-3-8b"
    assert any("model preset" in n for n in rec.notes)
    o, why = serving_observation(rec, planner)
    assert why == "" and o.concurrency == pytest.approx(32, rel=1e-6)
    assert float(o.c["prompt_tokens"][0]) == PROMPT and float(o.c["output_tokens"][0]) == OUTPUT


def test_calibration_recovers_the_constants_from_two_concurrencies(planner):
    recs = [imported(planner, synthetic_result(planner, n)) for n in (8, 64)]
    table = calibrate_serving(recs, planner.profiles, planner.defaults)
    assert len(table) == 1
    row = table.iloc[0]
    assert row["hardware_id"] == H100 and row["n_serving_records"] == 2
    assert row["bandwidth_utilisation"] == pytest.approx(TRUE["bandwidth_utilisation"], rel=1e-3)
    assert row["engine_overhead_s_per_step"] == pytest.approx(
        TRUE["engine_overhead_s_per_step"], rel=1e-2)
    assert row["decode_power_w"] == pytest.approx(0.70 * 700, rel=1e-3)


def test_one_concurrency_fits_bandwidth_only_and_no_energy_no_power(planner):
    recs = [imported(planner, synthetic_result(planner, 32, energy=False))]
    row = calibrate_serving(recs, planner.profiles, planner.defaults).iloc[0]
    assert np.isnan(row["engine_overhead_s_per_step"]) and np.isnan(row["decode_power_w"])
    # the overhead is held at the default 2 ms, so the bandwidth absorbs the other 2 ms
    assert 0.3 < row["bandwidth_utilisation"] < TRUE["bandwidth_utilisation"]


def test_a_plan_with_the_calibration_uses_it(planner):
    recs = [imported(planner, synthetic_result(planner, n)) for n in (8, 64)]
    table = calibrate(recs, planner.profiles, planner.defaults)
    assert table["bandwidth_utilisation"].notna().sum() == 1
    calibrated = planner.with_calibration(for_planning(table, "train"),
                                          for_planning(table, "infer"))
    s = parse_scenario({"inference": {
        "model": "llama-3-8b", "hardware": [H100, "nvidia-a100-sxm-80gb"], "precision": "bf16",
        "batch_size": 16, "batch_policy": "fixed", "tensor_parallel": 1}})
    plain = plan_serving(planner, s, planner.resolve_site(s)).set_index("hardware_id")
    cal = plan_serving(calibrated, s, calibrated.resolve_site(s)).set_index("hardware_id")
    assert cal.loc[H100, "bandwidth_utilisation"] == pytest.approx(0.55, rel=1e-3)
    assert cal.loc[H100, "bandwidth_basis"] == "calibrated"
    assert cal.loc[H100, "engine_overhead_s_per_step"] == pytest.approx(0.004, rel=1e-2)
    assert cal.loc[H100, "decode_power_w"] == pytest.approx(490, rel=1e-3)
    assert cal.loc[H100, "tpot_s"] > plain.loc[H100, "tpot_s"]  # 0.55 < 0.70, 4 > 2 ms
    # a device without records keeps its defaults
    a100 = "nvidia-a100-sxm-80gb"
    assert cal.loc[a100, "bandwidth_basis"] == "default"
    assert cal.loc[a100, "tpot_s"] == pytest.approx(plain.loc[a100, "tpot_s"], rel=1e-12)


def test_records_that_cannot_calibrate_say_why(planner):
    raw = synthetic_result(planner, 16)
    no_model = import_file(json.dumps(raw).encode(), "v.json", planner.profiles,
                           options=ImportOptions(device_name="NVIDIA H100 80GB HBM3",
                                                 precision="bf16"))[0]
    assert "no model preset" in serving_observation(no_model, planner)[1]
    no_device = import_file(json.dumps(raw).encode(), "v.json", planner.profiles,
                            options=ImportOptions(precision="bf16", model="llama-3-8b"))[0]
    assert "hardware profile" in serving_observation(no_device, planner)[1]
    assert calibrate_serving([no_model, no_device], planner.profiles).empty
