"""Continuous batching, replica layouts (TP/EP/PP), power that follows the work, the
simulation check and bad input: each against a hand figure or an independent computation."""

from __future__ import annotations

import numpy as np
import pytest

from planner.errors import ScenarioError
from planner.model import batching, fleet
from planner.model.plan import Planner
from planner.model.scenario import parse_scenario
from planner.model.serving import fleet_inputs, plan_serving
from planner.model.simulation import StepModel, load_trace, poisson_requests, simulate

H100 = "nvidia-h100-sxm"
SITE = {"cloud_provider": "aws", "cloud_region": "us-east-1"}


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def _plan(planner, inference):
    s = parse_scenario({"inference": inference, "site": SITE})
    return plan_serving(planner, s, planner.resolve_site(s))


def test_kv_cache_beside_the_weights_limits_concurrency(planner):
    """Llama 3 70B bf16 (141.2 GB) on two H100s: 2·80 GB·0.9 − 141.2 GB = 2.8 GB of KV cache,
    327,680 B per token (2·80 layers·8 KV heads·128·2 B), 768 tokens a sequence → 11."""
    row = _plan(planner, {"model": "llama-3-70b", "hardware": H100, "batch_size": 64,
                          "tensor_parallel": 2}).iloc[0]
    kv_tokens = (2 * 80e9 * 0.9 - 7.06e10 * 2) / 327_680
    assert row["replica_concurrency"] == np.floor(kv_tokens / 768)
    assert row["devices_per_replica"] == 2 and row["layout"] == "TP2"


def test_a_70b_model_plans_as_a_tensor_parallel_replica_with_its_all_reduces(planner):
    row = _plan(planner, {"model": "llama-3-70b", "hardware": H100, "batch_size": 64,
                          "requests_per_s_peak": 5, "latency_p95_s": 20}).iloc[0]
    assert row["feasible"] and row["devices_per_replica"] >= 2
    assert row["layout"].startswith("TP")
    # 2 all-reduces per layer: 160 collectives of at least 10 us each
    assert row["tensor_parallel_s_per_step"] >= 160 * 1e-5
    assert 0 < row["communication_share"] < 1


def test_a_moe_model_computes_with_active_and_stores_all_parameters(planner):
    row = _plan(planner, {"model": "mixtral-8x22b", "hardware": H100, "batch_size": 64,
                          "requests_per_s_peak": 5, "latency_p95_s": 30}).iloc[0]
    assert row["feasible"], row["infeasible_reason"]
    assert row["decode_flops_per_token"] == pytest.approx(2 * 3.9e10)
    assert row["weight_bytes"] == pytest.approx(2 * 1.41e11)
    assert row["devices_per_replica"] >= 4 and "EP" in row["layout"]
    assert row["expert_parallel_s_per_step"] > 0
    # experts: (141 − 39)·8/6 B of the 141 B parameters are routed
    assert row["expert_weight_bytes"] / row["weight_bytes"] == pytest.approx(
        (1.41e11 - 3.9e10) * 8 / 6 / 1.41e11)


def test_a_model_larger_than_a_node_gets_pipeline_stages_across_nodes(planner):
    row = _plan(planner, {"model": "llama-3.1-405b", "hardware": H100, "batch_size": 16,
                          "prompt_tokens": 256, "output_tokens": 128}).iloc[0]
    assert row["feasible"], row["infeasible_reason"]
    assert row["pipeline_parallel"] == 2 and row["devices_per_replica"] == 16
    assert row["pipeline_parallel_s_per_step"] > 0 and "PP2" in row["layout"]


def test_mean_active_solves_littles_law(planner):
    row = _plan(planner, {"model": "llama-3-8b", "hardware": H100, "batch_size": 128,
                          "batch_policy": "fixed", "tensor_parallel": 1}).iloc[[0]]
    c = fleet_inputs(row)
    curve = fleet.service_lines(c)
    for rate in (0.5, 5.0, 20.0):
        n = batching.mean_active(curve, rate)[0]
        t = batching.times_at(c, n + 1.0)["slot_s"][0]
        assert n == pytest.approx(rate * t, rel=1e-2)
    assert np.isinf(batching.mean_active(curve, 1e4)[0])  # beyond capacity


def test_power_follows_the_work(planner):
    row = _plan(planner, {"model": "llama-3-8b", "hardware": H100, "batch_size": 64,
                          "batch_policy": "fixed", "tensor_parallel": 1}).iloc[[0]]
    c = fleet_inputs(row)
    idle, decode, busy = (float(c[k][0]) for k in ("idle_power_w", "decode_power_w",
                                                   "busy_power_w"))
    light = float(batching.step_power_w(c, 1.0)[0])
    # decode-bound, below its full-bandwidth draw (0.66 of the rating, fitted to ML.ENERGY
    # v3), which is below the compute-bound draw (0.75)
    assert idle < light < decode < busy
    assert float(batching.average_power_w(c, 0.0)[0]) == pytest.approx(idle)
    long_prompts = dict(c, prompt_tokens=np.array([8000.0]), output_tokens=np.array([8.0]))
    assert float(batching.step_power_w(long_prompts, 8.0)[0]) > light  # prefill-bound
    # a step that keeps compute and memory busy draws both, never above the rating
    both = {"compute_s": np.array([1.0]), "memory_s": np.array([0.9]),
            "communication_s": np.array([0.0])}
    drawn = float(batching._draw_w(c, both, np.array([1.0]))[0])
    assert drawn == pytest.approx(min(idle + (busy - idle) + 0.9 * (decode - idle), 700.0))
    assert drawn <= float(c["power_limit_w"][0]) == 700.0


def test_the_simulation_uses_the_same_step_model(planner):
    row = _plan(planner, {"model": "mixtral-8x22b", "hardware": H100, "batch_size": 64,
                          "tensor_parallel": 8}).iloc[[0]]
    c = fleet_inputs(row)
    one = {k: float(v[0]) for k, v in c.items()}
    model = StepModel.from_row(one)
    rng = np.random.default_rng(0)
    for d, p, ctx in rng.uniform([0, 0, 0], [64, 2048, 50_000], size=(20, 3)):
        want = float(batching.step_time_s(c, d, p, ctx)[0])
        assert model.step_s(d, p, ctx) == pytest.approx(want, rel=1e-9)


def test_analytical_p95_is_within_15_percent_of_the_simulation(planner):
    inference = {"model": "llama-3-8b", "hardware": H100, "batch_size": 32,
                 "batch_policy": "fixed", "tensor_parallel": 1, "requests_per_s_peak": 6,
                 "prompt_tokens": 256, "output_tokens": 64, "service_time_cv": 0.0}
    row = _plan(planner, inference).iloc[[0]]
    c = fleet_inputs(row)
    units, lam = float(row["fleet_replicas"].iloc[0]), 6.0
    fig = fleet.figures(c, fleet.service_lines(c), units, lam, 0.5)
    sim = simulate({k: float(v[0]) for k, v in c.items()}, int(units),
                   poisson_requests(lam, 1500, 256, 64, seed=2))
    assert fig["latency_p95_s"][0] == pytest.approx(sim["latency_p95_s"], rel=0.15)
    assert fig["ttft_p95_s"][0] == pytest.approx(sim["ttft_p95_s"], rel=0.15)


@pytest.mark.parametrize(("field", "value", "match"), [
    ("bandwidth_utilisation", 1.5, r"bandwidth_utilisation: Input should be less than or"),
    ("prefill_utilisation", 0.0, r"prefill_utilisation: Input should be greater than 0"),
    ("engine_overhead_s_per_step", -1, r"engine_overhead_s_per_step"),
    ("tensor_parallel", 0, r"tensor_parallel"),
])
def test_bad_efficiencies_get_one_line_naming_the_field(field, value, match):
    with pytest.raises(ScenarioError, match=match):
        parse_scenario({"inference": {"model": "llama-3-8b", field: value}})


def test_a_context_with_no_room_for_the_kv_cache_says_so(planner):
    row = _plan(planner, {"model": "llama-3-8b", "hardware": "nvidia-l4", "batch_size": 8,
                          "prompt_tokens": 200_000}).iloc[0]
    assert not row["feasible"]
    assert row["infeasible_reason"].startswith("no room for the KV cache")


def test_a_model_too_large_for_any_replica_says_so(planner):
    row = _plan(planner, {"model": "llama-3.1-405b", "hardware": "nvidia-l4"}).iloc[0]
    assert not row["feasible"]
    assert "does not fit" in row["infeasible_reason"]


@pytest.mark.parametrize(("text", "match"), [
    ("arrival_s,prompt_tokens,output_tokens\n", "no rows"),
    ("arrival_s,prompt_tokens\n0,1\n", "missing output_tokens"),
    ("arrival_s,prompt_tokens,output_tokens\n0,10,x\n", "row 2: .* must be numbers"),
    ("arrival_s,prompt_tokens,output_tokens\n1,10,5\n0.5,10,5\n", "row 3: need arrival_s"),
])
def test_a_bad_trace_gets_one_line_naming_the_file(tmp_path, text, match):
    path = tmp_path / "trace.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=match):
        load_trace(path)


def test_a_good_trace_is_read(tmp_path):
    path = tmp_path / "trace.csv"
    path.write_text("arrival_s,prompt_tokens,output_tokens\n0,10,5\n0.5,20,7\n", "utf-8")
    assert [r.output_tokens for r in load_trace(path)] == [5, 7]


def test_row_curves_give_the_same_mean_active_as_the_curves(planner):
    """The Monte Carlo's row-indexed curves: the same interpolation as the full curves at
    rates below, on and between the curve's points, beyond its end and at 0."""
    row = _plan(planner, {"model": "llama-3-8b", "hardware": H100, "batch_size": 128,
                          "batch_policy": "fixed", "tensor_parallel": 1}).iloc[[0]]
    curve = fleet.service_lines(fleet_inputs(row))
    n, rate = (np.asarray(x).reshape(-1, x.shape[-1]) for x in curve)
    rows = np.zeros(7 * rate.shape[-1], dtype=np.intp)
    lam = np.concatenate([rate[0], (rate[0][1:] + rate[0][:-1]) / 2, [0.0, 1e9],
                          rate[0][:5] * 0.999])[:rows.size]
    full = batching.mean_active(tuple(x[:1] for x in curve), lam)
    rowwise = batching.mean_active(batching.RowCurves(n, rate, rows[:lam.size]), lam)
    np.testing.assert_array_equal(rowwise, np.ravel(full))
