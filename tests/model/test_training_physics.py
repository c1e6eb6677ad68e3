"""The training model's physics: FLOPs, architecture, layouts, memory, step time, goodput,
precision, mixture-of-experts, known runs and bad layouts."""

from __future__ import annotations

import numpy as np
import pytest

from planner.errors import ScenarioError
from planner.model import architecture, parallelism, step_time
from planner.model.plan import Planner
from planner.model.workloads import preset

H100 = "nvidia-h100-sxm"


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def _one(planner, training, **extra):
    return planner.plan_training({"training": {"hardware": H100, **training},
                                  "site": {"carbon_intensity_g_per_kwh": 400, "pue": 1.2},
                                  **extra}).iloc[0]


# --- architecture and FLOPs ---------------------------------------------------------------

def test_llama3_8b_parameter_count_from_its_shape():
    # 32 layers, 4096 wide, 32 heads (8 KV) of 128, SwiGLU 14336, vocabulary 128256 (untied).
    n = architecture.dense_params(32, 4096, 32, 8, 128, 14336, 128256)
    assert n == pytest.approx(8.03e9, rel=0.01)


def test_flops_per_token_adds_the_attention_term():
    # PaLM Appendix B: 6N + 12·L·H·Q·T; the attention share grows with the sequence.
    short = architecture.training_flops_per_token(8e9, 32, 32, 128, 2048)
    long = architecture.training_flops_per_token(8e9, 32, 32, 128, 131072)
    assert short == pytest.approx(6 * 8e9 + 12 * 32 * 32 * 128 * 2048)
    assert long > 2 * short


def test_mixture_of_experts_computes_with_active_and_stores_all(planner):
    p = preset("deepseek-v3")
    row = _one(planner, {"model": "deepseek-v3", "devices": 2048, "precision": "fp8"})
    per_token = 6 * p.active_params + 12 * p.layers * p.heads * p.head_dim * 4096
    assert row["total_flops"] == pytest.approx(per_token * p.tokens)
    # All 671B parameters' state (16 B each) cannot sit on 9 H100s, whatever the layout.
    few = _one(planner, {"model": "deepseek-v3", "devices": 9, "precision": "fp8"})
    assert not few["feasible"]
    assert "memory" in few["infeasible_reason"] or "devices" in few["infeasible_reason"]


def test_expert_parameters_follow_total_and_active():
    arch = architecture.build(params=6.71e11, active_params=3.7e10, sequence_tokens=4096,
                              layers=61, hidden=7168, heads=128, experts=256,
                              experts_per_token=8)
    per_expert = (6.71e11 - 3.7e10) / (256 - 8)
    assert arch.expert_params == pytest.approx(per_expert * 256)
    assert arch.params - arch.expert_params + per_expert * 8 == pytest.approx(3.7e10)


def test_estimated_architecture_is_labelled(planner):
    row = _one(planner, {"params": 7e9, "tokens": 1e11, "devices": 64})
    assert row["architecture_basis"] == "estimated"
    assert row["layout"].startswith("tp")


# --- layouts and memory ----------------------------------------------------------------------

def test_zero_stages_shard_what_the_paper_says():
    # Rajbhandari et al. 2020: stage 1 shards the 12 optimizer bytes, 2 the gradients too,
    # 3 the weights as well.
    z = np.array([0, 1, 2, 3])
    got = parallelism.state_bytes_per_param(z, 64.0)
    assert got == pytest.approx([16, 4 + 12 / 64, 2 + 14 / 64, 16 / 64])


def test_candidates_only_divide_the_layers_and_heads():
    # Plain stages divide the layers or are a power of two up to the layers (uneven stages, as
    # DeepSeek-V3's 61 layers on 16 stages); interleaved chunks hold at least a layer each
    # and may be uneven (Megatron-Core's pipeline layouts; changed 2026-12, issue 9).
    lay = parallelism.candidates(layers=[80], heads=[64], experts=[1], max_tp=8)
    assert set(np.unique(lay["tp"])) <= {1, 2, 4, 8}
    for p, v in zip(lay["pp"], lay["v"], strict=True):
        assert 80 % p == 0 or p in parallelism.UNEVEN_PP_CHOICES
        assert p * v <= 80
    assert set(np.unique(lay["ep"])) == {1}
    assert 16 in parallelism.candidates(layers=[61], heads=[128], experts=[1], max_tp=8)["pp"]


def test_uneven_stages_pace_the_pipeline_by_the_busiest_stage():
    # 61 layers on 16 stages: the busiest holds 4, so the layer work is 4·16/61 of an even
    # split's; memory holds 4 layers' activations and parameters.
    r = _row(layers=61.0)
    balanced = step_time.layout_times(dict(r, stage_layers=np.array([[61 / 16]])), _lay(pp=16),
                                      32.0, 32.0, K)
    odd = step_time.layout_times(r, _lay(pp=16), 32.0, 32.0, K)
    assert odd["compute_s"] == pytest.approx(balanced["compute_s"] * 4 * 16 / 61, rel=1e-9)
    assert odd["tensor_s"] == pytest.approx(balanced["tensor_s"] * 4 * 16 / 61, rel=1e-9)
    assert parallelism.stage_layers(r, _lay(pp=16)) == 4
    given = dict(r, stage_layers=np.array([[5.0]]))
    assert parallelism.stage_layers(given, _lay(pp=16)) == 5
    assert parallelism.valid(r, _lay(pp=16), 32.0, 32.0).all()
    # Uneven chunks are valid (changed 2026-12, issue 9), more chunks than layers are not.
    assert parallelism.valid(r, _lay(pp=16, v=2), 32.0, 32.0).all()
    assert not parallelism.valid(r, _lay(pp=16, v=4), 32.0, 32.0).all()


def _row(**over):
    r = {"params": 7e10, "active_params": 7e10, "expert_params": 0.0, "layers": 80.0,
         "hidden": 8192.0, "heads": 64.0, "seq": 4096.0, "vocab": 128256.0, "experts": 1.0,
         "experts_per_token": 1.0, "tokens": 1e12, "batch_tokens": 4 * 2 ** 20,
         "attention_flops_per_token": 12 * 80 * 64 * 128 * 4096.0, "devices": 512.0,
         "peak_bf16": 989e12, "peak_linear": 989e12, "memory": 80e9,
         "memory_bandwidth": 3.35e12, "intra_bw": 450e9, "inter_bw": 50e9, "node": 8.0,
         "matmul_efficiency": 0.8, "fp8": 0.0}
    r.update(over)
    return {k: np.array([[v]], dtype=float) for k, v in r.items()}


def _lay(tp=8, pp=4, v=1, zero=1, rc=1, ep=1):
    return {k: np.array([[x]]) for k, x in
            dict(tp=tp, pp=pp, v=v, zero=zero, rc=rc, ep=ep).items()}


K = {"kernel_efficiency": 0.6, "matrix_half_size": 128.0, "elementwise_bytes": 200.0,
     "network_efficiency": 0.75}


def test_more_tensor_and_pipeline_parallelism_less_memory_per_device():
    r = _row()
    small = parallelism.memory_per_device_bytes(r, _lay(tp=8, pp=8), 8.0, 128.0)
    big = parallelism.memory_per_device_bytes(r, _lay(tp=2, pp=2), 128.0, 8.0)
    assert small < big


def test_pipeline_bubble_is_p_minus_one_over_m():
    # Narayanan et al. 2021: the 1F1B bubble is (p - 1)/m of the ideal time; v chunks divide it.
    r = _row()
    dp, m = 16.0, 4 * 2 ** 20 / 4096 / 16
    t = step_time.layout_times(r, _lay(pp=4), dp, m, K)
    work = t["compute_s"] + t["tensor_s"] + t["expert_s"]
    assert t["bubble_s"] == pytest.approx(3 / m * work)
    t2 = step_time.layout_times(r, _lay(pp=4, v=2), dp, m, K)
    assert t2["bubble_s"] == pytest.approx(3 / (2 * m) * work)


def test_compute_time_is_flops_over_efficient_peak_plus_memory_bound_work():
    r = _row(devices=1.0, node=1.0)
    t = step_time.layout_times(r, _lay(tp=1, pp=1, rc=0), 1.0, 1024.0, K)
    eff = 0.8 * 0.6 * (8192 / (8192 + 128))
    # Fused attention (the default): half the causal score blocks, 7 attention matmuls for 6.
    matmul = 1e12 * (6 * 7e10 + 12 * 80 * 64 * 128 * 4096.0 * 0.5 * 7 / 6) / (989e12 * eff)
    elementwise = 200 * 1e12 * 80 * 8192 / 3.35e12
    assert t["compute_s"] == pytest.approx(matmul + elementwise)
    assert t["tensor_s"] == 0 and t["bubble_s"] == 0


def test_fp8_rows_pay_the_casts_of_every_linear_input_and_output_gradient():
    # Added 2026-12-02 (issue 9): 16·h values a token and layer cast to FP8 (7h inputs, 9h
    # output gradients of a GPT-style layer), 4 bytes each (a cast + transpose reads 2 and
    # writes 2 × 1), at memory bandwidth; a recomputed forward casts its inputs again.
    lay = _lay(tp=1, pp=1, rc=0)
    base = dict(devices=1.0, node=1.0, peak_linear=1979e12)
    bf16 = step_time.layout_times(_row(**base), lay, 1.0, 1024.0, K)
    k = dict(K, fp8_matmul_efficiency=1.0)
    fp8 = step_time.layout_times(_row(**base, fp8=1.0), lay, 1.0, 1024.0, k)
    no_cast = step_time.layout_times(_row(**base), lay, 1.0, 1024.0, k)  # fp8 0, same peak
    casts = 4 * 16 * 1e12 * 80 * 8192 / 3.35e12
    assert fp8["compute_s"] - no_cast["compute_s"] == pytest.approx(casts)
    assert bf16["compute_s"] == no_cast["compute_s"]  # BF16 rows are unchanged
    full = step_time.layout_times(_row(**base, fp8=1.0), _lay(tp=1, pp=1, rc=2), 1.0, 1024.0, k)
    full_no_cast = step_time.layout_times(_row(**base), _lay(tp=1, pp=1, rc=2), 1.0, 1024.0, k)
    assert full["compute_s"] - full_no_cast["compute_s"] == pytest.approx(casts * 4 / 3)


def test_unfused_attention_computes_every_score_and_moves_the_score_matrices():
    r = _row(devices=1.0, node=1.0, unfused=1.0)
    t = step_time.layout_times(r, _lay(tp=1, pp=1, rc=0), 1.0, 1024.0, K)
    eff = 0.8 * 0.6 * (8192 / (8192 + 128))
    matmul = 1e12 * (6 * 7e10 + 12 * 80 * 64 * 128 * 4096.0) / (989e12 * eff)
    # 34·h + 5·a·T stored bytes per token and layer (Korthikanti et al. 2022), moved alike.
    elementwise = 200 * 1e12 * 80 * (8192 + 5 * 64 * 4096 / 34) / 3.35e12
    assert t["compute_s"] == pytest.approx(matmul + elementwise)
    fused = parallelism.memory_per_device_bytes(_row(), _lay(rc=0), 16.0, 64.0)
    unfused = parallelism.memory_per_device_bytes(_row(unfused=1.0), _lay(rc=0), 16.0, 64.0)
    assert unfused > fused


def test_moe_layers_add_the_router_and_the_token_permutations():
    # Added 2026-12 (issue 9): per token and MoE layer, the router's 6·h·E FLOPs at the bf16
    # peak and, at the memory bandwidth, the permutation and unpermutation of the k copies
    # (read and written, forward and backward; twice with experts on other ranks, each rank
    # holding several: Megatron-Core's permutation 1 and 2) and the router's fp32 scores.
    moe = dict(experts=128.0, experts_per_token=8.0, params=3.05e10, active_params=3.3e9,
               expert_params=2.8e10, layers=48.0, hidden=2048.0, heads=32.0,
               attention_flops_per_token=12 * 48 * 32 * 128 * 4096.0, devices=1.0, node=1.0)
    dense = dict(moe, experts=1.0, experts_per_token=1.0, expert_params=0.0)
    for ep, sorts in ((1, 1.0), (8, 2.0)):
        lay = _lay(tp=1, pp=1, rc=0, ep=ep)
        t = step_time.layout_times(_row(**moe), lay, 8.0, 64.0, K)
        base = step_time.layout_times(_row(**dense), lay, 8.0, 64.0, K)
        eff = 0.8 * 0.6 * (2048 / (2048 + 128))
        per_token = (6 * 2048 * 128 / (989e12 * eff)
                     + (8 * sorts * 2 * 8 * 2048 + 8 * 4 * 128) / 3.35e12)
        # The routed experts' FLOPs run at each GEMM's own K instead of h (added 2026-12):
        # the expert FFN f = 2.8e10 / (3·2048·48·128), the tokens per expert ep·T·k/E.
        f, m = 2.8e10 / (3 * 2048 * 48 * 128), ep * 4096 * 8 / 128
        flops = 6 * 2.8e10 * 8 / 128
        own = sum(w / (989e12 * 0.8 * 0.6 * kd / (kd + 128)) for kd, w in (
            (2048, 2 / 9), (2 * f, 2 / 9), (m, 2 / 9), (f, 1 / 9), (2048, 1 / 9), (m, 1 / 9)))
        per_token += (flops * own - flops / (989e12 * eff)) / 48
        assert t["compute_s"] - base["compute_s"] == pytest.approx(1e12 * 48 / 8 * per_token)
    # Dense models do no MoE work: their compute is unchanged.
    router, moved = step_time.moe_layer_work(_row(), _lay()["ep"])
    assert router.item() == 0 and moved.item() == 0


def test_faster_interconnect_less_exposed_communication():
    slow = step_time.layout_times(_row(intra_bw=50e9), _lay(), 16.0, 64.0, K)
    fast = step_time.layout_times(_row(intra_bw=450e9), _lay(), 16.0, 64.0, K)
    assert fast["tensor_s"] < slow["tensor_s"]
    assert fast["total_s"] < slow["total_s"]



def test_zero3_gathers_overlap_the_whole_step_and_repeat_per_micro_batch():
    # FSDP / ZeRO-3 prefetches each layer's weights ahead of its forward and backward (Zhao et
    # al. 2023, section 3.3): the traffic hides behind the whole step's compute, where ZeRO-1's
    # gradient reduction hides behind 2/3 of the last micro-batch's work only.
    r = _row(params=7e9, active_params=7e9, layers=32.0, hidden=4096.0, heads=32.0,
             seq=2048.0, devices=128.0, attention_flops_per_token=12 * 32 * 32 * 128 * 2048.0,
             memory=40e9, inter_bw=1.25e9)  # 10 Gb/s a GPU: a slow network, so both expose
    dp, m = 128.0, 4 * 2 ** 20 / 2048 / 128
    lay3, lay1 = _lay(tp=1, pp=1, zero=3, rc=2), _lay(tp=1, pp=1, zero=1, rc=2)
    memory, share, gathers = parallelism.zero3_micro_batches(r, lay3, dp, m)
    assert gathers.item() == 1  # 16 sequences of a 7B model's checkpointed layers fit at once
    assert parallelism.fits(r, memory).all()
    z3 = step_time.layout_times(r, lay3, dp, m, K, share, gathers)
    z1 = step_time.layout_times(r, lay1, dp, m, K)
    steps = 1e12 / (4 * 2 ** 20)
    # The 8 ranks a node share its 8 NICs; 3 ring collectives a layer pay NCCL's latency.
    latency = 8.4e-6 + (128 - 16) * 3.4e-6 + (16 - 1) * 14e-6
    traffic = steps * (1.5 * 2 * (dp - 1) / dp * 2 * 7e9 / (8 * 1.25e9 * 0.75)
                       + 3 * 32 * latency)
    assert z3["data_s"].item() == pytest.approx(max(traffic - z3["compute_s"].item(), 0.0))
    assert z3["data_s"].item() < z1["data_s"].item()
    # With pipeline stages every micro-batch gathers the stage's weights again.
    _, _, piped = parallelism.zero3_micro_batches(r, _lay(tp=1, pp=4, zero=3, rc=2), 32.0,
                                                  m * 4)
    assert piped.item() == m * 4
    # ZeRO-1 keeps its weights: nothing is gathered.
    assert parallelism.zero3_micro_batches(r, lay1, dp, m)[2].item() == 0


# --- plans ------------------------------------------------------------------------------------

def test_device_count_matters(planner):
    few = _one(planner, {"model": "llama-3-70b", "devices": 64})
    many = _one(planner, {"model": "llama-3-70b", "devices": 16384})
    assert few["feasible"] and many["feasible"]
    assert many["days"] < few["days"]
    # More devices than a 4M-token batch can spread: utilisation falls, device-hours rise.
    assert many["predicted_mfu"] < few["predicted_mfu"]
    assert many["device_hours"] > 1.5 * few["device_hours"]
    for row in (few, many):
        assert row["compute_share"] + row["communication_share"] + row["bubble_share"] == (
            pytest.approx(1.0))


def test_goodput_scales_wall_time_not_mfu(planner):
    base = {"model": "llama-3-8b", "devices": 256}
    full = _one(planner, {**base, "goodput": 1.0})
    half = _one(planner, {**base, "goodput": 0.5})
    assert half["hours"] == pytest.approx(2 * full["hours"])
    assert half["predicted_mfu"] == pytest.approx(full["predicted_mfu"])
    assert full["goodput_basis"] == "user"


def test_user_mfu_overrides_the_prediction(planner):
    row = _one(planner, {"model": "llama-3-8b", "devices": 256, "mfu": 0.5, "goodput": 1.0})
    assert row["utilisation"] == 0.5 and row["utilisation_basis"] == "user"
    assert row["hours"] == pytest.approx(row["total_flops"] / (256 * 989e12 * 0.5) / 3600)


def test_fp8_runs_faster_than_bf16_on_h100(planner):
    bf16 = _one(planner, {"model": "llama-3-70b", "devices": 1024})
    fp8 = _one(planner, {"model": "llama-3-70b", "devices": 1024, "precision": "fp8"})
    assert fp8["hours"] < bf16["hours"]
    # Attention stays at bf16: less than the 2x of the linear layers' peak.
    assert fp8["hours"] > bf16["hours"] / 2


def test_precision_a_device_lacks_is_refused_in_one_line(planner):
    with pytest.raises(ScenarioError, match=r"nvidia-a100-sxm-80gb does not support fp8 "
                                            r"training \(supports fp32, tf32, bf16, fp16\)"):
        planner.plan_training({"training": {"model": "llama-3-8b", "devices": 64,
                                            "hardware": "nvidia-a100-sxm-80gb",
                                            "precision": "fp8"}})
    every = planner.plan_training({"training": {"model": "llama-3-8b", "devices": 64,
                                                "precision": "fp8"}})
    a100 = every.set_index("hardware_id").loc["nvidia-a100-sxm-80gb"]
    assert not a100["feasible"] and "does not support fp8" in a100["infeasible_reason"]


def test_known_run_needs_no_model_size(planner):
    row = _one(planner, {"devices": 64, "days": 3})
    assert row["feasible"]
    assert row["device_hours"] == 64 * 3 * 24
    assert row["energy_kwh"] > 0 and row["co2e_kg"] > 0
    assert np.isnan(row["flops"])


def test_host_power_from_the_node_specification(planner):
    row = _one(planner, {"total_flops": 1e21, "devices": 8, "mfu": 0.4})
    # DGX H100: 10.2 kW less 8 x 700 W = 4.6 kW of host, drawing 0.47 of it under load
    # (BNL's measured DGX H100 nodes, defaults.host_load_fraction), as the serving plan does.
    assert row["host_power_w_per_device"] == pytest.approx(4600 * 0.47 / 8)
    assert "node specification" in row["energy_boundary"]


def test_published_system_power_is_used_as_such(planner):
    row = planner.plan_training({"training": {"hardware": "google-tpu-v4",
                                              "device_hours": 8404992},
                                 "site": {"carbon_intensity_g_per_kwh": 79, "pue": 1.0}}
                                ).iloc[0]
    # PaLM Appendix B: 378.5 W system power per TPU v4 chip, host included.
    assert row["energy_kwh"] == pytest.approx(8404992 * 378.5 / 1000)
    assert row["host_energy_kwh"] == 0
    assert "system power" in row["energy_boundary"]


@pytest.mark.parametrize(("training", "match"), [
    ({"model": "llama-3-70b", "devices": 64, "parallelism": {"tp": 16}},
     r"training\.parallelism\.tp: 16 is more than the devices of one node \(8\)"),
    ({"model": "llama-3-70b", "devices": 64, "parallelism": {"pp": 3}},
     r"training\.parallelism\.pp: 3 pipeline stages do not divide the 80 layers"),
    ({"model": "llama-3-70b", "devices": 64,
      "parallelism": {"pp": 4, "first_stage_layers": 25, "last_stage_layers": 30}},
     r"training\.parallelism\.first_stage_layers: 25 \+ 30 layers on the end stages leave 25 "
     r"of the 80 layers for the other 2 stages"),
    ({"model": "llama-3-70b", "devices": 64, "parallelism": {"last_stage_layers": 30}},
     r"training\.parallelism\.last_stage_layers: needs pp of 2 or more stages"),
    ({"model": "mixtral-8x7b", "tokens": 1e12, "devices": 64, "parallelism": {"ep": 3}},
     r"training\.parallelism\.ep: 3 expert-parallel ranks do not divide the 8 experts"),
    ({"model": "llama-3-70b", "devices": 64, "parallelism": {"tp": 8, "pp": 4, "dp": 4}},
     r"tp × pp × dp = 128 is more than the 64 devices"),
])
def test_bad_layouts_are_refused(planner, training, match):
    with pytest.raises(ScenarioError, match=match):
        planner.plan_training({"training": {"hardware": H100, **training}})


def test_given_uneven_split_is_used(planner):
    # 80 layers on 3 stages as 26 + 28 + 26: the busiest stage has 28, so the step is slower
    # than an even split of 81 would be per layer, and the layout is accepted.
    row = _one(planner, {"model": "llama-3-70b", "devices": 48,
                         "parallelism": {"tp": 8, "pp": 3, "first_stage_layers": 26,
                                         "last_stage_layers": 26}})
    assert row["layout"].startswith("tp8 pp3 dp2")


def test_given_layout_is_used(planner):
    row = _one(planner, {"model": "llama-3-70b", "devices": 64,
                         "parallelism": {"tp": 8, "pp": 4, "dp": 2, "zero_stage": 1,
                                         "recompute": "full"}})
    assert row["layout"].startswith("tp8 pp4 dp2 zero1 recompute=full")


def test_expert_gemms_run_at_their_own_reduction_size():
    # Added 2026-12 (issue 9): FP8 expert GEMMs on Hopper at DeepGEMM's measured H800 rates
    # by K (README table: 590 TFLOPS at K 512 ... 1,358 at K 16384), the rest at the dense
    # chain with each GEMM's own K. Small expert FFNs (Qwen3-30B-A3B: 768) run slower than
    # the dense matrix-size factor of h says.
    assert step_time.fp8_k_share(np.array([512.0, 1536.0, 16384.0])) == pytest.approx(
        np.array([590.0, 990.0, 1358.0]) / 1979.0)
    assert step_time.fp8_k_share(np.array([100.0]))[0] == pytest.approx(590.0 / 1979.0)
    moe = dict(experts=128.0, experts_per_token=8.0, params=3.05e10, active_params=3.3e9,
               expert_params=2.9e10, layers=48.0, hidden=2048.0, heads=32.0, fp8=1.0,
               peak_linear=1979e12, attention_flops_per_token=12 * 48 * 32 * 128 * 4096.0,
               devices=16.0, node=8.0)
    lay = _lay(tp=1, pp=1, rc=0, ep=8)
    k = dict(K, fp8_matmul_efficiency=1.16)
    table = step_time.expert_gemm_seconds(_row(**moe, fp8_gemm_measured=1.0), lay, k, 0.6,
                                          1979e12 * 1.16)
    chain = step_time.expert_gemm_seconds(_row(**moe), lay, k, 0.6, 1979e12 * 1.16)
    f, m = 2.9e10 / (3 * 2048 * 48 * 128), 8 * 4096 * 8 / 128
    share = {kd: step_time.fp8_k_share(np.array([kd]))[0] for kd in (2048, 2 * f, f, m)}
    expected = 6 * 2.9e10 * 8 / 128 * sum(w / (1979e12 * share[kd] * 0.6) for kd, w in (
        (2048, 2 / 9), (2 * f, 2 / 9), (m, 2 / 9), (f, 1 / 9), (2048, 1 / 9), (m, 1 / 9)))
    assert table.item() == pytest.approx(expected)
    assert table.item() > chain.item()  # the measured FP8 rates are below the fitted chain's


def test_dense_rows_do_no_expert_gemm_work_and_keep_their_times_bit_for_bit():
    # Dense models (experts <= 1): the expert GEMM term is exactly 0, and the compute time is
    # the dense formula's, bit for bit (the MoE terms must not move a dense prediction).
    for fp8, measured in ((0.0, 0.0), (1.0, 1.0)):
        r = _row(fp8=fp8, fp8_gemm_measured=measured, peak_linear=989e12 * (1 + fp8))
        lay = _lay(tp=8, pp=4, rc=1)
        assert step_time.expert_gemm_seconds(r, lay, K, 0.6, 989e12).item() == 0.0
        t = step_time.layout_times(r, lay, 16.0, 64.0, K)
        size = 8192 / 8 / (8192 / 8 + 128)
        eff = 0.8 * 0.6 * size
        lin = 1e12 / 512 * (6 * 7e10 * 1.0 / (989e12 * (1 + fp8))
                            + 12 * 80 * 64 * 128 * 4096.0 * 0.5 * 7 / 6 / 989e12) / eff
        # FP8 rows add the casts to FP8 (4 bytes × 16·h a token and layer; 2026-12-02)
        bytes_per_token_layer = 200 + fp8 * 4 * 16
        assert t["compute_s"].item() == pytest.approx(
            lin + bytes_per_token_layer * 1e12 * 80 * 8192 / 512 / 3.35e12, rel=1e-12)
        # The expert inputs do not reach a dense row: the same bits with or without them.
        other = step_time.layout_times(dict(r, fp8_gemm_measured=1.0 - r["fp8_gemm_measured"],
                                            expert_params=r["expert_params"] + 1e9), lay,
                                       16.0, 64.0, K)
        assert all((other[name] == t[name]).all() for name in t)


def test_cross_node_all_to_all_sends_only_other_nodes_copies_over_the_network():
    # Added 2026-12 (issue 9): expert parallelism over 2 nodes of 8 (tp 1), top-8 of 128
    # experts, no node-limited routing. A plain all-to-all sends the copies for the 7 other
    # ranks of its node over NVLink and the 8 for the other node's ranks over the network, at
    # once; a hierarchical dispatcher (DeepEP, HybridEP) sends a token once to the other node
    # (1 - 1/2^8 of them have an expert there), then forwards it over NVLink.
    moe = dict(experts=128.0, experts_per_token=8.0, params=3.05e10, active_params=3.3e9,
               expert_params=2.9e10, layers=48.0, hidden=2048.0, heads=32.0, devices=16.0,
               node=8.0, attention_flops_per_token=12 * 48 * 32 * 128 * 4096.0,
               batch_tokens=1024 * 4096.0)
    lay = _lay(tp=1, pp=1, rc=0, ep=16)
    unit = 4 * 2 * 2048 * 1e12 / 16 * 48  # bytes of one copy of every token, 4 all-to-alls
    plain = step_time.layout_times(_row(**moe), lay, 16.0, 64.0, K)
    net = unit * 8 * 8 / 16 / (50e9 * 0.75)
    nvlink = unit * 8 * 7 / 16 / (450e9 * 0.75)
    assert plain["expert_s"].item() == pytest.approx(max(net, nvlink))
    hier = step_time.layout_times(_row(**moe, hierarchical=1.0), lay, 16.0, 64.0, K)
    forwarded = unit * 8 * 15 / 16 / (450e9 * 0.75)
    assert hier["expert_s"].item() == pytest.approx(
        max(unit * (1 - 0.5 ** 8) / (50e9 * 0.75), forwarded))
    # Inside one node, or with node-limited routing, the dispatcher changes nothing.
    one_node = _lay(tp=1, pp=1, rc=0, ep=8)
    for extra in ({}, {"routed_nodes": 1.0}):
        a = step_time.layout_times(_row(**moe, **extra), one_node if not extra else lay,
                                   16.0, 64.0, K)
        b = step_time.layout_times(_row(**moe, **extra, hierarchical=1.0),
                                   one_node if not extra else lay, 16.0, 64.0, K)
        assert a["expert_s"].item() == b["expert_s"].item()


def test_a_partial_recomputation_share_that_just_fits_is_not_refused_by_rounding():
    # Added 2026-12 (issue 9): the partial share is the least that fits, so its memory is the
    # usable memory itself; summed in another order (parallelism.zero3_micro_batches) it can
    # come out a few ulps over, which refused DeepSeek-V3's 2,048-H800 layout and forced full
    # recomputation. Memory within 1e-9 of the room fits; 1e-6 over does not.
    r = _row(memory=80e9)
    room = 80e9 * parallelism.USABLE_MEMORY_FRACTION
    assert parallelism.fits(r, np.array([[room * (1 + 4e-16)]])).all()
    assert not parallelism.fits(r, np.array([[room * (1 + 1e-6)]])).any()
    lay = dict(_lay(tp=8, pp=4, rc=parallelism.PARTIAL), zero=np.array([[1]]))
    for micro in (64.0, 256.0, 1024.0):
        memory, share, _ = parallelism.zero3_micro_batches(r, lay, 16.0, micro)
        if 0 < share.item() < 1:
            assert parallelism.fits(r, memory).all()



def test_fp8_weight_copy_is_sharded_under_zero3_and_whole_under_zero1():
    # Fixed 2026-12-02 (found by the fifth blind list, which ran FP8 FSDP runs the model
    # refused): FSDP casts each rank's shard to FP8 before the all-gather (torchao float8's
    # FSDP2 float8 all-gather), so the FP8 copy is sharded like the weights; ZeRO-1 keeps a
    # whole copy per tensor/pipeline shard (Transformer Engine's cached FP8 weights).
    r_bf16, r_fp8 = _row(), _row(fp8=1.0)
    for zero, dp, per_param in ((3, 64.0, 1.0 / 64.0), (1, 64.0, 1.0)):
        lay = _lay(tp=8, pp=4, zero=zero)
        extra = (parallelism.memory_per_device_bytes(r_fp8, lay, dp, 8.0)
                 - parallelism.memory_per_device_bytes(r_bf16, lay, dp, 8.0))
        assert extra.item() == pytest.approx(7e10 / (8 * 4) * per_param)
