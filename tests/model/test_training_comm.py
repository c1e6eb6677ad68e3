"""The training model's data-parallel traffic and replicas: the NICs a node's ranks share,
NCCL's ring latency, and interleaved schedules' whole groups of micro-batches."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from planner.model import parallelism, step_time
from planner.model.plan import Planner
from tests.model.test_training_physics import _one


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


# --- data-parallel rings: the NICs a node's ranks share, and NCCL's ring latency -----------

def test_data_parallel_ranks_on_a_node_share_its_nics():
    intra, inter = 300e9, 25e9  # DGX A100: NVLink 3 one way, one 200 Gb/s HDR NIC per GPU
    dense, _ = step_time.data_parallel_bandwidth(8.0, np.array([1.0, 2.0, 8.0]), 128.0, 1.0,
                                                 intra, inter)
    # FSDP over every GPU: 8 ranks a node on 8 NICs, 200 GB/s (NVIDIA measures 192 GB/s
    # all-reduce bus bandwidth on a DGX A100); tp 2: 4 ranks, 4 NICs; tp 8: one NIC, as before.
    assert dense.tolist() == [200e9, 100e9, 25e9]
    # Never above the intra-node link, and inside one node the ring is NVLink only.
    capped, _ = step_time.data_parallel_bandwidth(8.0, 1.0, 64.0, 1.0, 150e9, 25e9)
    inside, _ = step_time.data_parallel_bandwidth(8.0, 2.0, 4.0, 1.0, intra, inter)
    assert capped == 150e9 and inside == intra
    # The experts' data-parallel group has node ÷ (tp · ep) ranks a node.
    _, expert = step_time.data_parallel_bandwidth(8.0, 1.0, 64.0, 4.0, intra, inter)
    assert expert == 2 * inter


def test_ring_latency_is_nccls_cost_model():
    # 2,048 ranks on 256 nodes: 8.4 µs + 1,792 NVLink hops of 3.4 µs + 255 network hops of 14.
    big = step_time.ring_latency_s(8.0, 1.0, 2048.0)
    assert big == pytest.approx(8.4e-6 + 1792 * 3.4e-6 + 255 * 14e-6)
    # One rank a node (tp 8): every hop crosses the network; one node: NVLink only.
    assert step_time.ring_latency_s(8.0, 8.0, 64.0) == pytest.approx(8.4e-6 + 63 * 14e-6)
    assert step_time.ring_latency_s(8.0, 1.0, 8.0) == pytest.approx(8.4e-6 + 7 * 3.4e-6)
    # TPU slices (no node boundary) and a single rank pay none.
    assert step_time.ring_latency_s(np.inf, 1.0, 4096.0) == 0.0
    assert step_time.ring_latency_s(8.0, 8.0, 1.0) == 0.0


def test_fsdp_over_many_nodes_pays_its_ring_latency(planner):
    # Llama 1 65B on 2,048 A100 as one FSDP group, one sequence a GPU a step: 240 collectives
    # a step of about 9.7 ms each cannot all hide behind the step's compute.
    base = {"hardware": "nvidia-a100-sxm-80gb", "params": 6.52e10, "tokens": 1.4e12,
            "architecture": {"layers": 80, "hidden": 8192, "heads": 64}, "devices": 2048,
            "sequence_tokens": 2048, "global_batch_tokens": 4194304, "goodput": 1.0}
    fsdp = _one(planner, {**base, "parallelism": {"tp": 1, "pp": 1, "zero_stage": 3,
                                                  "recompute": "none"}})
    assert fsdp["feasible"]
    assert fsdp["communication_share"] > 0.1
    tp8 = _one(planner, {**base, "parallelism": {"tp": 8, "pp": 1, "zero_stage": 3,
                                                 "recompute": "none"}})
    assert tp8["feasible"]


def test_interleaved_replicas_divide_the_batch_into_whole_groups():
    # 512 sequences, pp 16 interleaved: a replica's sequences a multiple of 16, so dp 32 at
    # most (36 would leave 14.2 each); without interleaving every whole replica that fits.
    assert parallelism.data_parallel(4608.0, 8.0, 16.0, 512.0, interleaved=True) == 32
    assert parallelism.data_parallel(4608.0, 8.0, 16.0, 512.0) == 36
    assert parallelism.data_parallel(4096.0, 8.0, 16.0, 512.0, interleaved=True) == 32
    # No whole number of groups divides an odd batch over 16 stages: no such layout.
    assert np.isnan(parallelism.data_parallel(4096.0, 8.0, 16.0, 511.0, interleaved=True))


def test_more_devices_never_plan_slower_than_fewer(planner):
    # Llama 3.1 405B in FP8 with the default 4M-token batch (512 sequences) on B200: 4,096
    # devices run tp8 pp16x6 dp32; 4,608 used to force a pipeline of 63 stages (156 days
    # against 114) because the interleaved layout's dp 36 does not divide the batch.
    days = [_one(planner, {"model": "llama-3.1-405b", "hardware": "nvidia-b200",
                           "precision": "fp8", "devices": d})["days"]
            for d in (4096, 4608, 5120, 6144, 8192)]
    assert all(b <= a * (1 + 1e-12) for a, b in itertools.pairwise(days))


def test_a_plan_stuck_in_the_bubble_names_its_batch(planner):
    # Llama 3.1 405B FP8 in 90 days on B200 with the default 4M-token batch (512 sequences of
    # 8,192): the deadline needs more replicas than the batch feeds, so most of the time is
    # pipeline bubble; the basis says so and names the input that cuts it.
    row = _one(planner, {"model": "llama-3.1-405b", "hardware": "nvidia-b200",
                         "precision": "fp8", "days": 90})
    assert row["feasible"] and row["bubble_share"] > 0.5
    basis = row["utilisation_basis"]
    assert basis.startswith("predicted (layout model; pipeline bubble")
    assert "512 sequences" in basis and "training.global_batch_tokens" in basis
    assert basis in row["assumptions"]
    # Llama 3 70B on 64 H100 at the same default batch has little bubble: the plain basis.
    plain = _one(planner, {"model": "llama-3-70b", "devices": 64})
    assert plain["bubble_share"] < 0.25
    assert plain["utilisation_basis"] == "predicted (layout model)"
