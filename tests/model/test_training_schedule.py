"""Pipeline schedule, pipeline sends, expert all-to-all overlap and FP8 efficiency."""

from __future__ import annotations

import pytest

from planner.errors import ScenarioError
from planner.model import parallelism, step_time
from planner.model.perf_constants import load_performance
from planner.model.plan import Planner
from tests.model.test_training_physics import K, _lay, _row

H100 = "nvidia-h100-sxm"


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def _plan(planner, parallelism_block):
    return planner.plan_training({"training": {
        "hardware": H100, "model": "llama-3-70b", "devices": 64, "goodput": 1.0,
        "parallelism": parallelism_block}}).iloc[0]


def test_given_virtual_stages_divide_the_bubble(planner):
    # Narayanan et al. 2021, section 2.2: v model chunks per stage divide the 1F1B bubble by v.
    plain = _plan(planner, {"tp": 4, "pp": 4, "dp": 4})
    chunks = _plan(planner, {"tp": 4, "pp": 4, "dp": 4, "virtual_stages": 5})
    assert chunks["layout"].startswith("tp4 pp4x5 dp4")
    assert plain["layout"].startswith("tp4 pp4 dp4")
    assert chunks["bubble_share"] < plain["bubble_share"] / 3
    assert chunks["hours"] < plain["hours"]


@pytest.mark.parametrize(("block", "match"), [
    ({"tp": 4, "virtual_stages": 2}, r"training\.parallelism\.virtual_stages: 2 chunks per "
                                     r"stage need a given pp of 2 or more"),
    ({"pp": 8, "virtual_stages": 20}, r"pp × virtual_stages at most the 80 layers"),
])
def test_impossible_virtual_stages_are_refused(planner, block, match):
    with pytest.raises(ScenarioError, match=match):
        _plan(planner, block)


def test_interleaving_needs_micro_batches_in_multiples_of_the_stages():
    # Megatron-LM's interleaved schedule runs the micro-batches in groups of pp.
    r = _row()
    assert parallelism.valid(r, _lay(pp=4, v=2), 16.0, 64.0).all()
    assert not parallelism.valid(r, _lay(pp=4, v=2), 16.0, 66.0).all()
    assert parallelism.valid(r, _lay(pp=4, v=1), 16.0, 66.0).all()


def test_chunks_may_leave_virtual_stages_uneven():
    # 61 layers on 8 stages of 4 chunks (Megatron-Bridge's DeepSeek-V3 on H100): valid, as
    # long as every chunk holds a layer.
    r = _row(layers=61.0)
    assert parallelism.valid(r, _lay(pp=8, v=4), 64.0, 64.0).all()
    assert not parallelism.valid(r, _lay(pp=8, v=8), 64.0, 64.0).all()


def test_pipeline_sends_are_split_over_the_tensor_ranks():
    # Narayanan et al. 2021, section 4.1: each tensor-parallel rank sends 1/tp of a boundary.
    r = _row(inter_bw=450e9)  # both on links of one speed
    two = step_time.layout_times(r, _lay(tp=2, pp=4), 16.0, 64.0, K)
    eight = step_time.layout_times(r, _lay(tp=8, pp=4), 16.0, 64.0, K)
    assert two["pipeline_s"] == pytest.approx(4 * eight["pipeline_s"])


def _moe(**over):
    return _row(experts=64.0, experts_per_token=8.0, expert_params=6e10, active_params=1e10,
                devices=512.0, **over)


def test_expert_all_to_all_is_hidden_only_by_dualpipe():
    # DeepSeek-V3 (arXiv:2412.19437, section 3.2.1) hides the all-to-alls behind another
    # micro-batch's computation with DualPipe; plain 1F1B waits for them.
    lay = _lay(tp=1, pp=4, ep=64)
    plain = step_time.layout_times(_moe(), lay, 128.0, 8.0, K)
    dualpipe = step_time.layout_times(_moe(dualpipe=1.0), lay, 128.0, 8.0, K)
    assert plain["expert_s"] > 0
    assert dualpipe["expert_s"] == pytest.approx(
        max(float(plain["expert_s"].item()) - float(dualpipe["compute_s"].item()), 0.0))


def test_fp8_linear_layers_run_at_the_fp8_peak_times_its_efficiency():
    r = _row(fp8=1.0, peak_linear=2 * 989e12)
    full = step_time.layout_times(r, _lay(), 16.0, 64.0, {**K, "fp8_matmul_efficiency": 1.0})
    half = step_time.layout_times(r, _lay(), 16.0, 64.0, {**K, "fp8_matmul_efficiency": 0.5})
    bf16 = step_time.layout_times(_row(), _lay(), 16.0, 64.0, K)
    # At half its efficiency the FP8 peak (2x) buys nothing: the bf16 time again, plus the
    # casts to FP8 (4 bytes × 16·h a token and layer at memory bandwidth; 2026-12-02).
    casts = 4 * 16 * 8192 * 80 * 1e12 / 512 / 3.35e12  # tp 8 × pp 4 × dp 16 devices
    assert half["compute_s"] == pytest.approx(bf16["compute_s"] + casts)
    assert full["compute_s"] < half["compute_s"]


def test_fp8_efficiency_is_fitted_on_its_named_case_only():
    c = load_performance().fp8_matmul_efficiency
    assert c.source == "fitted" and c.fitted_on == ["nemo2407-llama2-70b-64-h100-fp8"]
    assert 0.3 < c.value <= 1.6


def test_tensor_parallel_collectives_hidden_up_to_compute_when_overlapped():
    # Added 2026-12-02 (issue 9): stacks that overlap the tensor-parallel collectives with the
    # GEMMs that feed them (Transformer Engine userbuffers, PyTorch Async TP) hide them up to
    # the compute time; off, they are charged in full (Megatron-LM 2021).
    exposed = step_time.layout_times(_row(tp_overlap=0.0), _lay(), 16.0, 64.0, K)
    hidden = step_time.layout_times(_row(tp_overlap=1.0), _lay(), 16.0, 64.0, K)
    assert exposed["tensor_s"] > 0 and hidden["tensor_s"] == 0.0
    assert hidden["compute_s"] == exposed["compute_s"]
    # More traffic than compute (a slow link): only the excess shows.
    slow = {"intra_bw": 1e9, "tp_overlap": 1.0}
    t = step_time.layout_times(_row(**slow), _lay(), 16.0, 64.0, K)
    full = step_time.layout_times(_row(**dict(slow, tp_overlap=0.0)), _lay(), 16.0, 64.0, K)
    assert t["tensor_s"] == pytest.approx(full["tensor_s"] - t["compute_s"])
    half = step_time.layout_times(_row(tp_overlap=0.5), _lay(), 16.0, 64.0, K)
    assert half["tensor_s"] == pytest.approx(0.5 * exposed["tensor_s"])


def test_tp_comm_overlap_is_a_layout_field_with_a_sourced_default():
    planner = Planner.load()
    base = {"model": "llama-3-70b", "hardware": "nvidia-h100-sxm", "devices": 1024}
    on = planner.plan_training({"training": base}).iloc[0]
    off = planner.plan_training({"training": {**base, "parallelism": {
        "tp_comm_overlap": False}}}).iloc[0]
    assert on["days"] < off["days"]
    c = load_performance().tensor_parallel_overlap
    assert c.value == 1.0 and c.source == "mbridge-overlap"
    with pytest.raises(ScenarioError, match="tp_comm_overlap"):
        planner.plan_training({"training": {**base, "parallelism": {"tp_comm_overlap": "often"}}})
