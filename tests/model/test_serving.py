"""Serving fleets: a hand-worked fleet and year, targets, batching, edge and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import ScenarioError
from planner.model import queueing
from planner.model.edge import edge_vs_cloud
from planner.model.inference import evaluate_inference, plan_inference, replica_times_s
from planner.model.plan import Planner
from planner.model.scenario import parse_scenario
from planner.model.serving import (
    batch_candidates,
    plan_serving,
    resolve_traffic,
    serving_grid,
)

H100 = "nvidia-h100-sxm"
JETSON = "nvidia-jetson-orin-nano-8gb-super"
SITE = {"cloud_provider": "aws", "cloud_region": "us-east-1", "carbon_intensity_g_per_kwh": 400,
        "pue": 1.2}


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def _scenario(inference, site=None, **extra):
    return parse_scenario({"inference": {"model": "llama-3-8b", **inference},
                           "site": site or SITE, **extra})


def _serve(planner, inference, site=None):
    s = _scenario(inference, site)
    return plan_serving(planner, s, planner.resolve_site(s))


def _hand_step(n, prompt_tokens):
    """One engine step of Llama 3 8B bf16 on one H100 with n decoding sequences (each at a
    mean context of 512 + 128 tokens) and ``prompt_tokens`` of a new prompt, by hand: 2 ms
    overhead + max(bytes / (70% of 3.35 TB/s), FLOPs / (50% of 989 TFLOP/s)); FLOPs are
    2·8.03e9 per token plus attention 2·32 layers·4096·context. Returns (seconds, memory
    share, compute share)."""
    context = n * 640 + prompt_tokens / 2
    mem = (2 * 8.03e9 + context * 131072) / (3.35e12 * 0.7)
    flops = (2 * 8.03e9 * (n + prompt_tokens)
             + 2 * 32 * 4096 * (context + prompt_tokens * 512 / 2))
    comp = flops / (989e12 * 0.5)
    step = 0.002 + max(mem, comp)
    return step, mem / step, comp / step


def _hand_slot(n):
    """(TTFT, TPOT, slot time) at n active: half a decode step + the prompt's chunk step;
    255 decode steps plus the others' prompt stalls, (n − 1) × (chunk − decode step)."""
    decode, chunk = _hand_step(n, 0)[0], _hand_step(n, 512)[0]
    ttft = 0.5 * decode + chunk
    decoding = 255 * decode + (n - 1) * (chunk - decode)
    return ttft, decoding / 255, ttft + decoding


def test_hand_worked_fleet_and_year(planner):
    """Llama 3 8B, bf16, at most 16 sequences on one H100; 20 requests/s flat, 20% headroom.

    Continuous batching at 16 active: a decode step reads 16.06 GB + 16·640 tokens of KV
    (9.4 ms, memory-bound); a new prompt's chunk step (512 tokens + 16 decodes) is
    compute-bound (19.2 ms). A request holds its slot for TTFT + 255 decode steps + the 15
    other prompts' stalls, so a replica serves 16 / T(16) requests/s and the headroom rule
    needs ceil(20 / (16 / T(16) · 0.8)) replicas.
    """
    row = _serve(planner, {"hardware": H100, "batch_size": 16, "batch_policy": "fixed",
                           "tensor_parallel": 1, "requests_per_s_avg": 20}).iloc[0]
    ttft, tpot, slot = _hand_slot(16)
    assert row["tpot_s"] == pytest.approx(tpot, rel=1e-9)
    assert row["ttft_s"] == pytest.approx(ttft, rel=1e-9)
    assert row["batch_time_s"] == pytest.approx(slot, rel=1e-9)
    replicas = math.ceil(20 / (16 / slot * 0.8))
    assert replicas == 5
    assert row["fleet_replicas"] == replicas and row["fleet_devices"] == replicas
    # Each replica carries 4 requests/s: N = 4 · T(N + 1) active on average (Little's law;
    # the plan interpolates it on a 40-point load curve, hence 1%).
    n = 0.0
    for _ in range(200):
        n = 4 * _hand_slot(n + 1)[2]
    assert row["fleet_mean_active_per_replica"] == pytest.approx(n, rel=1e-2)
    # Power: busy 1 − e^−N of the time with N / (1 − e^−N) active; a step draws idle 140 W
    # + (462 − 140 W; 0.66 of the 700 W rating) × its memory share + (525 − 140 W) × its
    # compute share, at most the 700 W rating; chunk steps take N · chunk / T of the time.
    busy = 1 - math.exp(-n)
    active = n / busy
    _, d_mem, d_comp = _hand_step(active, 0)
    chunk, c_mem, c_comp = _hand_step(active, 512)
    p_decode = min(140 + 322 * d_mem + 385 * d_comp, 700)
    p_chunk = min(140 + 322 * c_mem + 385 * c_comp, 700)
    share = active * chunk / _hand_slot(active)[2]
    power_w = 140 + (share * p_chunk + (1 - share) * p_decode - 140) * busy
    host_w = 4600 * 0.47 / 8  # DGX H100 host rating less GPUs, at the BNL load share, per GPU
    energy_kwh = replicas * (power_w + host_w) * 8760 / 1000 * 1.2  # PUE 1.2
    assert row["annual_device_hours"] == pytest.approx(replicas * 8760)
    assert row["annual_energy_kwh"] == pytest.approx(energy_kwh, rel=1e-2)
    assert row["annual_co2e_kg"] == pytest.approx(row["annual_energy_kwh"] * 0.4, rel=1e-9)
    assert row["annual_embodied_co2e_kg"] == pytest.approx(replicas * 318 / 5, rel=1e-9)
    assert row["annual_cost_usd"] == pytest.approx(replicas * 8760 * 6.88, rel=1e-9)
    requests = 20 * 3600 * 8760
    assert row["fleet_cost_usd_per_1k_requests"] == pytest.approx(
        replicas * 8760 * 6.88 / requests * 1000, rel=1e-9)
    assert row["fleet_energy_kwh_per_1m_tokens"] == pytest.approx(
        row["annual_energy_kwh"] / (requests * 256) * 1e6, rel=1e-9)
    # The slots are far from full, so no request waits for one.
    assert row["fleet_wait_p95_s"] == 0.0
    assert row["fleet_latency_p50_s"] < row["fleet_latency_p95_s"] < slot


def test_a_tight_target_adds_the_fewest_replicas_that_meet_it(planner):
    spec = {"hardware": H100, "batch_size": 16, "batch_policy": "fixed",
            "requests_per_s_avg": 20, "headroom": 0.0, "latency_p95_s": 2.3}
    row = _serve(planner, spec).iloc[0]
    t, n = row["batch_time_s"], row["fleet_replicas"]
    budget = 2.3 - t

    def p95(units):
        return float(queueing.wait_quantile_s(units * 16, 20.0, 1 / t))

    assert p95(n) <= budget < p95(n - 1)
    assert row["fleet_latency_p95_s"] <= 2.3


def test_the_chosen_batch_needs_the_fewest_devices_and_meets_every_target(planner):
    spec = {"hardware": H100, "batch_size": 256, "requests_per_s_avg": 30,
            "latency_p95_s": 6, "ttft_s": 1.0, "tpot_s": 0.015, "network_rtt_s": 0.05}
    chosen = _serve(planner, spec).iloc[0]
    assert chosen["fleet_latency_p95_s"] <= 6
    assert chosen["fleet_ttft_p95_s"] <= 1.0
    assert chosen["fleet_tpot_s"] <= 0.015
    for b in batch_candidates(_scenario(spec).inference):
        other = _serve(planner, {**spec, "batch_size": b, "batch_policy": "fixed"}).iloc[0]
        if other["fleet_meets_target"]:
            assert chosen["fleet_devices"] <= other["fleet_devices"]


def test_an_unmeetable_target_names_the_closest_hardware(planner):
    with pytest.raises(ScenarioError, match=r"closest is .*cannot be met.*× the target"):
        planner.plan({"inference": {"model": "llama-3-8b", "hardware": [H100, "nvidia-l4"],
                                    "requests_per_s_avg": 5, "latency_p95_s": 0.05},
                      "site": SITE})
    table = _serve(planner, {"hardware": [H100, "nvidia-l4"], "requests_per_s_avg": 5,
                             "latency_p95_s": 0.05})
    assert not table["feasible"].any()
    assert (table["fleet_target_ratio"] > 1).all()
    assert table["annual_cost_usd"].isna().all()  # NaN only beside a reason
    assert table["infeasible_reason"].str.contains("latency_p95_s").all()


@pytest.mark.parametrize(("field", "value", "match"), [
    ("requests_per_s_avg", 0, "inference.requests_per_s_avg"),
    ("requests_per_s_peak", -3, "inference.requests_per_s_peak"),
    ("latency_p95_s", 0, "inference.latency_p95_s"),
    ("daily_profile", [0] * 24, "inference.daily_profile"),
    ("headroom", 1.0, "inference.headroom"),
])
def test_bad_traffic_and_targets_get_a_message_naming_the_field(field, value, match):
    with pytest.raises(ScenarioError, match=match):
        _scenario({"requests_per_s_avg": 10, field: value})


def test_peak_below_average_is_refused():
    with pytest.raises(ScenarioError, match="peak must be at least the average"):
        _scenario({"requests_per_s_avg": 10, "requests_per_s_peak": 5})


def test_ttft_target_on_a_generic_model_is_refused(planner):
    with pytest.raises(ScenarioError, match="apply to language models only"):
        s = parse_scenario({"inference": {"model": "resnet-50", "hardware": H100,
                                          "requests_per_s_avg": 10, "ttft_s": 0.1},
                            "site": SITE})
        plan_serving(planner, s, planner.resolve_site(s))


def test_traffic_resolution():
    profile = [1.0] * 12 + [3.0] * 12
    t = resolve_traffic(_scenario({"requests_per_s_avg": 20, "daily_profile": profile}).inference)
    assert t.avg_requests_per_s == pytest.approx(20)
    assert t.peak_requests_per_s == pytest.approx(30)
    t = resolve_traffic(_scenario({"requests_per_s_peak": 30, "daily_profile": profile}).inference)
    assert t.avg_requests_per_s == pytest.approx(20)
    t = resolve_traffic(_scenario({"requests_per_s_peak": 30}).inference)
    assert t.avg_requests_per_s == 30 and "flat at the peak" in t.basis
    assert resolve_traffic(_scenario({}).inference) is None


def test_batch_candidates():
    assert batch_candidates(_scenario({"batch_size": 8}).inference) == [1, 2, 4, 8]
    assert batch_candidates(_scenario({"batch_size": 24}).inference) == [1, 2, 4, 8, 16, 24]
    fixed = _scenario({"batch_size": 24, "batch_policy": "fixed"}).inference
    assert batch_candidates(fixed) == [24]


def test_without_traffic_the_table_is_the_per_replica_plan(planner):
    s = _scenario({"hardware": [H100, JETSON], "batch_size": 8})
    site = planner.resolve_site(s)
    a, b = plan_serving(planner, s, site), plan_inference(planner, s, site)
    assert not [c for c in a.columns if c.startswith(("fleet_", "annual_"))]
    assert a.equals(b)


def test_monte_carlo_replica_times_match_the_inference_model(planner):
    s = _scenario({"hardware": "all", "batch_size": 64, "requests_per_s_avg": 5})
    perf = evaluate_inference(serving_grid(planner, s, planner.resolve_site(s)))
    perf = perf[perf["feasible"]]
    cols = {k: perf[k].to_numpy() for k in perf.columns if k != "batch_time_s"}
    cols["is_llm"] = perf["is_llm"].to_numpy(dtype=bool)
    got = replica_times_s(cols)
    np.testing.assert_allclose(got["batch_time_s"], perf["batch_time_s"], rtol=1e-12)
    np.testing.assert_allclose(got["ttft_s"], perf["ttft_s"], rtol=1e-12)


def test_bigger_batches_serve_more_per_replica_and_take_longer(planner):
    s = _scenario({"hardware": "all", "batch_size": 512, "requests_per_s_avg": 5})
    perf = evaluate_inference(serving_grid(planner, s, planner.resolve_site(s)))
    perf = perf[perf["feasible"] & (perf["placement"] != "edge")]
    for _, g in perf.groupby(["hardware_id", "devices_per_replica"]):
        g = g.sort_values("batch_size")
        assert (np.diff(g["requests_per_s_per_replica"]) >= -1e-9).all()
        assert (np.diff(g["batch_time_s"]) >= -1e-12).all()


@settings(max_examples=25, deadline=None)
@given(low=st.floats(1.0, 200.0), factor=st.floats(1.0, 4.0))
def test_more_traffic_never_needs_fewer_devices(planner, low, factor):
    spec = {"hardware": H100, "batch_size": 64, "latency_p95_s": 6}
    a = _serve(planner, {**spec, "requests_per_s_avg": low}).iloc[0]
    b = _serve(planner, {**spec, "requests_per_s_avg": low * factor}).iloc[0]
    assert b["fleet_devices"] >= a["fleet_devices"]
    assert b["annual_energy_kwh"] >= a["annual_energy_kwh"] * (1 - 1e-9)


def test_autoscaling_rents_fewer_device_hours_over_a_daily_profile(planner):
    spec = {"hardware": H100, "batch_size": 64, "requests_per_s_avg": 100,
            "daily_profile": [0.2] * 8 + [1.6] * 16, "latency_p95_s": 8}
    flat = _serve(planner, spec).iloc[0]
    scaled = _serve(planner, {**spec, "autoscaling": True}).iloc[0]
    assert scaled["fleet_devices"] == flat["fleet_devices"]  # sized for the same peak
    assert scaled["annual_device_hours"] < flat["annual_device_hours"]
    assert scaled["annual_cost_usd"] < flat["annual_cost_usd"]
    assert scaled["annual_energy_kwh"] < flat["annual_energy_kwh"]
    assert "autoscaled" in scaled["annual_cost_basis"]


def test_edge_devices_have_no_pue_no_round_trip_and_a_busy_time_embodied_share(planner):
    row = _serve(planner, {"model": "llama-3.2-1b", "precision": "int8", "hardware": JETSON,
                           "requests_per_s_avg": 10, "edge_devices": 10_000,
                           "network_rtt_s": 0.1}).iloc[0]
    assert row["feasible"] and row["pue"] == 1.0 and row["host_power_fraction"] == 0.0
    assert row["network_rtt_s"] == 0.0 and row["batch_size"] == 1
    assert row["fleet_devices"] == 10_000
    busy_hours = row["annual_busy_device_hours"]
    # each device carries 10 / 10,000 requests/s in its one slot: busy λ·T of the time (M/G/1)
    assert busy_hours == pytest.approx(10 * 8760 * row["batch_time_s"], rel=1e-9)
    assert row["annual_embodied_co2e_kg"] == pytest.approx(
        row["embodied_co2e_kg_per_device"] * busy_hours / (row["service_life_years"] * 8760),
        rel=1e-9)
    assert row["annual_energy_kwh"] == pytest.approx(
        row["device_power_w"] * busy_hours / 1000, rel=1e-9)  # idle is the owner's (0 W)


def test_too_few_edge_devices_say_they_cannot_keep_up(planner):
    row = _serve(planner, {"model": "llama-3.2-1b", "precision": "int8", "hardware": JETSON,
                           "requests_per_s_avg": 50, "edge_devices": 3}).iloc[0]
    assert not row["feasible"]
    assert "cannot keep up" in row["infeasible_reason"]


def test_a_known_system_serves_on_its_own_devices_with_its_host_draw(planner):
    """``inference.devices`` fixes the fleet (no sizing); the host draw per device is the
    scenario's, drawn every hour the servers run."""
    row = _serve(planner, {"hardware": H100, "requests_per_s_avg": 2, "devices": 8,
                           "tensor_parallel": 2, "host_power_w_per_device": 250.0,
                           "batch_policy": "fixed", "batch_size": 16}).iloc[0]
    assert row["feasible"]
    assert row["fleet_devices"] == 8 and row["fleet_replicas"] == 4
    assert row["host_power_basis"] == "scenario: host power per device"
    assert row["annual_host_energy_kwh"] == pytest.approx(8 * 250.0 * 8760 / 1000, rel=1e-6)
    sized = _serve(planner, {"hardware": H100, "requests_per_s_avg": 2, "tensor_parallel": 2,
                             "batch_policy": "fixed", "batch_size": 16}).iloc[0]
    assert sized["fleet_devices"] < 8


@pytest.mark.parametrize(("extra", "needle"), [
    ({"devices": 3, "tensor_parallel": 2}, "inference.devices 3 is not a whole number of "
     "2-device replicas"),
    ({"devices": 1, "requests_per_s_avg": 500}, "the 1 device cannot keep up"),
])
def test_a_known_system_that_cannot_serve_says_why(planner, extra, needle):
    row = _serve(planner, {"hardware": H100, "requests_per_s_avg": 2, **extra}).iloc[0]
    assert not row["feasible"]
    assert needle in row["infeasible_reason"]


def test_edge_versus_cloud_compares_with_the_best_data_centre_option(planner):
    s = {"inference": {"model": "llama-3.2-1b", "precision": "int8",
                       "hardware": [JETSON, H100, "google-tpu-v5e"], "requests_per_s_avg": 20,
                       "edge_devices": 50_000, "network_rtt_s": 0.06, "latency_p95_s": 10},
         "site": SITE}
    table = edge_vs_cloud(planner, s)
    best = table[table["hardware_id"] == table["best_datacenter_id"].iloc[0]].iloc[0]
    assert best["co2e_vs_best_datacenter"] == pytest.approx(1.0)
    dc = table[table["placement"] != "edge"]
    assert (dc["total_co2e_kg"] >= best["total_co2e_kg"] - 1e-9).all()
    assert (dc["network_rtt_s"] == 0.06).all()
    assert "edge_vs_cloud" in Planner.load().plan(s).extras
    with pytest.raises(ScenarioError, match="at least one edge device"):
        edge_vs_cloud(planner, {**s, "inference": {**s["inference"], "hardware": H100}})
