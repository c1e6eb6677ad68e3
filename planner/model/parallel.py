"""Replicas that span devices: tensor-, expert- and pipeline-parallel layouts and the
communication each engine step pays for them, vectorised over grid rows.

* Tensor parallelism over ``t`` devices of one node (Shoeybi et al. 2019, Megatron-LM,
  arXiv:1909.08053): two all-reduces of the step's activations per layer in the forward pass
  (after attention and after the MLP). A ring all-reduce moves 2(t − 1)/t of the message per
  device (Patarasuk & Yuan 2009) over the intra-node link, plus a fixed latency per collective.
* Expert parallelism (mixture-of-experts; Lepikhin et al. 2021, GShard): the experts are
  spread over the same ``t`` devices; each MoE layer dispatches and combines its tokens with
  two all-to-alls, each moving (t − 1)/t of tokens × experts per token × hidden.
* Pipeline parallelism over ``p`` nodes when the weights do not fit one node (Narayanan et al.
  2021, arXiv:2104.04473): every step a micro-batch crosses p stage boundaries on the
  inter-node network (activations of hidden × tokens / p each).

Communication is not overlapped with compute (engines run these collectives in the critical
path of decode steps), so it adds to the step time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

TP_CANDIDATES: tuple[int, ...] = (1, 2, 4, 8)
ACTIVATION_BYTES = 2.0  # activations exchanged in 16-bit
# Llama-style shape used to estimate layers and hidden size when only ``params`` is given:
# N ≈ 12·L·d² (Kaplan et al. 2020, eq. 2.1) with d ≈ 128·L (Llama 3 8B: 4096 / 32).
HIDDEN_PER_LAYER = 128.0


def estimated_shape(params: float) -> tuple[float, float]:
    """(layers, hidden) of a dense transformer of ``params`` parameters, Llama-shaped."""
    layers = (params / (12.0 * HIDDEN_PER_LAYER**2)) ** (1.0 / 3.0)
    return max(round(layers), 1), max(round(layers), 1) * HIDDEN_PER_LAYER


def communication_parts_s(c: Mapping[str, np.ndarray], tokens) -> dict[str, np.ndarray]:
    """Seconds per step of tensor-parallel all-reduces, expert all-to-alls and pipeline hops
    for ``tokens`` tokens in the step (0 where a replica is one device)."""
    tp = np.asarray(c["tensor_parallel"], float)
    pp = np.asarray(c["pipeline_parallel"], float)
    if not (np.any(tp > 1) or np.any(pp > 1)):  # single-device replicas: nothing to send
        zero = np.zeros(np.broadcast_shapes(tp.shape, pp.shape, np.shape(tokens)))
        return {"tensor_parallel_s": zero, "expert_parallel_s": zero,
                "pipeline_parallel_s": zero}
    layers, hidden = np.asarray(c["layers"], float), np.asarray(c["hidden"], float)
    latency = np.asarray(c["collective_latency_s"], float)
    per_micro = np.asarray(tokens, float) / pp * hidden * ACTIVATION_BYTES
    link = np.asarray(c["intra_node_bytes_per_s"], float)
    moe = np.asarray(c["experts"], float) > 1
    with np.errstate(divide="ignore", invalid="ignore"):
        all_reduce = 2.0 * layers * (latency + 2.0 * (tp - 1.0) / tp * per_micro / link)
        all_to_all = 2.0 * layers * (latency + (tp - 1.0) / tp * per_micro
                                     * np.asarray(c["experts_per_token"], float) / link)
        hops = pp * (latency + per_micro / np.asarray(c["inter_node_bytes_per_s_per_device"],
                                                      float))
    return {"tensor_parallel_s": np.where(tp > 1, all_reduce, 0.0),
            "expert_parallel_s": np.where((tp > 1) & moe, all_to_all, 0.0),
            "pipeline_parallel_s": np.where(pp > 1, hops, 0.0)}


def communication_s(c: Mapping[str, np.ndarray], tokens):
    """Total communication seconds of one step (the sum of ``communication_parts_s``)."""
    parts = communication_parts_s(c, tokens)
    return parts["tensor_parallel_s"] + parts["expert_parallel_s"] + parts["pipeline_parallel_s"]


def pipeline_stages(weight_bytes, memory_bytes, tensor_parallel, devices_per_node,
                    kv_memory_fraction, min_kv_bytes):
    """Pipeline stages (nodes) a replica needs: 1 where ``t`` devices hold the weights and
    one full-context sequence of KV; where they do not and ``t`` is the whole node, the
    fewest nodes that do; NaN where a larger tensor-parallel group inside the node would."""
    t = np.asarray(tensor_parallel, float)
    room = t * np.asarray(memory_bytes, float) * kv_memory_fraction
    need = np.asarray(weight_bytes, float) + np.asarray(min_kv_bytes, float)
    node = np.asarray(devices_per_node, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stages = np.ceil(need / room)
    fits = (need <= room) | np.isnan(room)
    whole_node = t >= node
    return np.where(fits, 1.0, np.where(whole_node & np.isfinite(stages), stages, np.nan))


def choose_layout(c: Mapping[str, np.ndarray], capacity_fn):
    """Tensor-parallel size, pipeline stages and devices per replica for every row.

    A row with ``tensor_parallel`` given keeps it (pipeline stages added where it is the whole
    node and still too small); otherwise the smallest of 1, 2, 4, 8 (up to the node) whose
    replica holds the weights and KV cache for ``batch_size`` sequences, else the one holding
    the most. ``capacity_fn(c, devices)`` gives the sequences a replica of that size holds.
    """
    given = np.asarray(c["tensor_parallel"], float)
    node = np.asarray(c["devices_per_node"], float)
    rows = given.shape[0]
    cand = np.where(np.isnan(given)[:, None], np.asarray(TP_CANDIDATES, float)[None, :],
                    given[:, None])
    node_size = np.where(np.isnan(node), 1.0, node)[:, None]
    allowed = (cand <= node_size) | ~np.isnan(given)[:, None]
    # a group needs a published scale-up link; stages across nodes a published network
    link = np.isfinite(np.asarray(c["intra_node_bytes_per_s"], float))[:, None]
    net = np.isfinite(np.asarray(c["inter_node_bytes_per_s_per_device"], float))[:, None]
    allowed &= (cand == 1) | link | ~np.isnan(given)[:, None]
    wide = {k: (np.asarray(v)[:, None] if np.ndim(v) else v) for k, v in c.items()}
    context = np.asarray(c["prompt_tokens"], float) + np.asarray(c["output_tokens"], float)
    stages = pipeline_stages(wide["weight_bytes"], wide["memory_bytes"], cand, node_size,
                             wide["kv_memory_fraction"],
                             (context * np.asarray(c["kv_bytes_per_token"], float))[:, None])
    devices = cand * stages
    cap = capacity_fn(dict(wide, tensor_parallel=cand, pipeline_parallel=stages), devices)
    cap = np.where(allowed & np.isfinite(stages) & ((stages == 1) | net), cap, -np.inf)
    target = np.asarray(c["batch_size"], float)[:, None]
    enough = cap >= target
    first = np.argmax(enough, axis=1)
    pick = np.where(enough.any(axis=1), first, np.argmax(cap, axis=1))
    at = np.arange(rows)
    return {"tensor_parallel": cand[at, pick], "pipeline_parallel": stages[at, pick],
            "devices_per_replica": devices[at, pick], "replica_concurrency": cap[at, pick]}


def layout_text(tensor_parallel, pipeline_parallel, experts) -> np.ndarray:
    """'1 device', 'TP4', 'TP8 x PP2', 'TP8 (EP8)' per row; each distinct layout written once
    (a levers table has ~7,000 rows and a few dozen layouts)."""
    written: dict[tuple, str] = {}
    out = []
    for t, p, e in zip(np.ravel(tensor_parallel).tolist(), np.ravel(pipeline_parallel).tolist(),
                       np.ravel(experts).tolist(), strict=True):
        if not (math.isfinite(t) and math.isfinite(p)):
            out.append("-")
            continue
        key = (t, p, e > 1)
        text = written.get(key)
        if text is None:
            text = "1 device" if t * p == 1 else f"TP{t:.0f}"
            if e > 1 and t > 1:
                text += f" (EP{t:.0f})"
            if p > 1:
                text += f" x PP{p:.0f}"
            written[key] = text
        out.append(text)
    return np.array(out, dtype=object)
