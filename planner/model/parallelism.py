"""Parallel layouts of a training run: candidates, validity and memory per device.

A layout is tensor (tp), pipeline (pp, with v interleaved chunks per device), data (dp) and
expert (ep) parallelism, a ZeRO stage and an activation-recomputation policy. ``candidates``
is the search space, one column per layout; ``memory_per_device_bytes`` and ``valid`` are
evaluated for every (run × layout) pair at once as (R, K) numpy arrays, so the search stays
vectorised (``planner.model.step_time`` times each pair; ``search`` keeps the fastest).

Memory per device (bytes):
- model state of mixed-precision Adam, 16 bytes per parameter (2 weights + 2 gradients + 12
  optimizer), ZeRO stages 1/2/3 sharding optimizer / + gradients / + weights over the data-
  parallel group (Rajbhandari et al. 2020, ZeRO, arXiv:1910.02054, section 5 and Figure 1);
  all parameters count, experts sharded over ep;
- activations per layer and sequence of T tokens with tensor + sequence parallelism:
  T·h·(34 + 5·a·T/h)/tp without recomputation (T·h·34/tp with fused attention kernels, which
  keep no score matrix: Dao et al. 2022, FlashAttention, arXiv:2205.14135), T·h·34/tp with
  selective recomputation and
  2·T·h/tp (the layer input) with full recomputation (Korthikanti et al. 2022,
  arXiv:2205.05198, Table 2); ``partial`` recomputes in full only the share of layers needed;
  the first pipeline stage holds min(pp, m) micro-batches of its
  L/pp layers in flight under 1F1B (Narayanan et al. 2021, arXiv:2104.04473, section 2.2);
- fp32 logits of one sequence on the last stage, T·V·4/tp.

Pipeline stages need not divide the layers: the busiest stage holds ceil(L/pp) of them (or the
user's split: ``first_stage_layers`` / ``last_stage_layers`` and the rest shared evenly, as
Megatron-LM's ``--decoder-first/last-pipeline-num-layers`` set it; DeepSeek-V3 runs 61 layers
on 16 stages, DeepSeek-AI 2024, arXiv:2412.19437, section 3.2; BLOOM 70 on 12, BigScience
2022, arXiv:2211.05100, section 3.4). Its layers set the pipeline's pace and its memory; the
other stages wait for it. Interleaved chunks (v > 1, at least one layer each) may be uneven too.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np

# Share of device memory a framework can use (runtime, allocator, workspace take the rest).
USABLE_MEMORY_FRACTION = 0.9
# "partial": full recomputation of only the share of layers needed to fit memory, selective on
# the rest (Megatron-LM's --recompute-num-layers; Korthikanti et al. 2022, section 5).
RECOMPUTE = ("none", "selective", "full", "partial")
FULL, PARTIAL = 2, 3
FIT_TOLERANCE = 1e-9  # relative: rounding of a memory sum that just fits
TP_CHOICES = (1, 2, 4, 8, 16)
PP_CHOICES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 21, 24, 32, 36, 42, 48, 63, 64)
# Stage counts searched even where they leave the stages uneven (the counts large runs use).
UNEVEN_PP_CHOICES = (2, 4, 8, 16, 32, 64)
V_CHOICES = (1, 2, 3, 4, 6, 8)
ZERO_CHOICES = (1, 3)  # stage 2 moves what stage 1 does; stage 3 shards the weights too
EP_CHOICES = (1, 2, 4, 8, 16, 32, 64)
FP8_EXTRA_BYTES_PER_PARAM = 1.0  # an fp8 copy of the weights beside the bf16 ones
# DualPipe keeps two copies of the (bf16) weights (DeepSeek-AI 2024, arXiv:2412.19437, Table 2).
DUALPIPE_EXTRA_BYTES = 2.0


def candidates(layers=None, heads=None, experts=None, max_tp=None,
               fixed: dict | None = None) -> dict[str, np.ndarray]:
    """Every layout the search tries, as (K,) integer arrays keyed tp, pp, v, zero, rc, ep.

    Given the layer, head and expert counts (and the largest node) of the runs searched,
    choices that divide none of them are left out before any arithmetic. ``fixed``: fields
    the user gave (tp, pp, v, zero, rc, ep; checked by the caller), searched over no other
    value; a given pipeline is not interleaved (v = 1) unless its chunks are given.
    """
    def dividing(choices, counts):
        if counts is None:
            return choices
        return tuple(c for c in choices if any(int(n) % c == 0 for n in counts)) or (1,)

    tps = dividing(TP_CHOICES, heads)
    if max_tp is not None:
        tps = tuple(t for t in tps if t <= max_tp) or (1,)
    pps = dividing(PP_CHOICES, layers)
    if layers is not None:  # uneven stages: powers of two up to the layers
        pps = tuple(sorted(set(pps) | {p for p in UNEVEN_PP_CHOICES
                                       if p <= max(int(n) for n in layers)}))
    eps = dividing(EP_CHOICES, experts) if experts is not None and max(experts) > 1 else (1,)
    axes = {"tp": tps, "pp": pps, "v": V_CHOICES, "zero": ZERO_CHOICES,
            "rc": tuple(range(len(RECOMPUTE))), "ep": eps}
    for name, value in (fixed or {}).items():
        axes[name] = (int(value),)
    if fixed and "pp" in fixed and "v" not in fixed:
        axes["v"] = (1,)  # a given pipeline is plain 1F1B unless its chunks are given too
    grid = np.array(list(itertools.product(*axes.values())), dtype=np.int64)
    keep = ~((grid[:, 2] > 1) & (grid[:, 1] == 1))  # interleaving needs pipeline stages
    if layers is not None and not (fixed and "v" in fixed):
        # at least one layer per chunk (uneven chunks: the busiest stage sets the pace)
        keep &= np.array([v == 1 or any(p * v <= int(n) for n in layers)
                          for p, v in grid[:, 1:3]])
    grid = grid[keep]
    return {name: grid[:, i] for i, name in enumerate(("tp", "pp", "v", "zero", "rc", "ep"))}


def given(tp: int, pp: int, dp: int | None, ep: int, zero: int, recompute: str,
          v: int = 1) -> dict[str, np.ndarray]:
    """One user-given layout in the same shape as ``candidates`` (dp checked by the caller)."""
    return {"tp": np.array([tp]), "pp": np.array([pp]), "v": np.array([v]),
            "zero": np.array([zero]), "rc": np.array([RECOMPUTE.index(recompute)]),
            "ep": np.array([ep])}


DIVISOR_TRIES = 16  # group counts tried at once before the exact search (data_parallel)


@lru_cache(maxsize=4096)
def _largest_divisor(n: float, at_most: float) -> float:
    """The largest divisor of the whole number ``n`` that is at most ``at_most`` (NaN if ``n``
    is not a whole number ≥ 1 or ``at_most`` < 1)."""
    if not (math.isfinite(n) and n >= 1 and at_most >= 1 and n == int(n)):
        return float("nan")
    n_int, cap = int(n), int(at_most)
    if cap >= n_int:
        return float(n_int)
    best = 1
    for d in range(1, math.isqrt(n_int) + 1):
        if n_int % d == 0:
            for c in (d, n_int // d):
                if best < c <= cap:
                    best = c
    return float(best)


def data_parallel(devices, tp, pp, max_replicas=np.inf, interleaved=False):
    """Data-parallel replicas on ``devices``: whole replicas, at most one per sequence of the
    global batch (``max_replicas``); the devices left over stay idle (and are charged).

    An interleaved schedule (``interleaved``: v > 1) runs each replica's micro-batches in
    groups of pp (Megatron-LM's interleaved 1F1B: the sequences a replica gets, S ÷ dp, a
    multiple of pp): there dp is the largest divisor of S ÷ pp that fits on the devices, so
    that more devices never force a worse layout than fewer would (the rest idle); NaN where
    S ÷ pp is not a whole number (no such layout, as before).
    """
    most = np.minimum(np.floor(np.asarray(devices, dtype=float) / (tp * pp)),
                      np.floor(max_replicas))
    if not interleaved:
        return most
    groups = np.asarray(max_replicas, dtype=float) / pp
    shape = np.broadcast_shapes(np.shape(groups), np.shape(most))
    g = np.broadcast_to(groups, shape).ravel()
    m = np.broadcast_to(most, shape).ravel()
    out = np.full(g.size, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = np.isfinite(g) & (g >= 1) & (g == np.floor(g)) & (m >= 1)
        # dp = S ÷ (pp · q) for the fewest groups q ≥ S ÷ (pp · most) that divide S ÷ pp:
        # counted up from there, most cells at their first try; the rare rest one by one.
        todo = np.flatnonzero(ok)
        gf = g[todo]
        qf = np.maximum(np.ceil(gf / m[todo]), 1.0)
        for _ in range(DIVISOR_TRIES):
            if not todo.size:
                break
            hit = np.mod(gf, qf) == 0
            out[todo[hit]] = gf[hit] / qf[hit]
            todo, gf, qf = todo[~hit], gf[~hit], qf[~hit] + 1.0
    for i in todo:
        out[i] = _largest_divisor(float(g[i]), float(m[i]))
    return out.reshape(shape)


def stage_layers(r: dict, lay: dict):
    """Layers of the busiest pipeline stage: the user's split (``r["stage_layers"]``) or the
    most even one, ceil(L / pp) (L / pp where pp divides L; interleaved layouts, v > 1, are
    may be uneven too, so v does not change it and is left out of the shape)."""
    even = np.ceil(r["layers"] / lay["pp"])
    given = r.get("stage_layers")
    return even if given is None else np.where(np.isnan(given), even, given)


def state_bytes_per_param(zero, group):
    """Bytes of mixed-precision Adam state per parameter at a ZeRO stage over ``group`` ranks."""
    g = np.maximum(group, 1.0)
    return np.select([zero == 0, zero == 1, zero == 2],
                     [16.0, 4.0 + 12.0 / g, 2.0 + 14.0 / g], default=16.0 / g)


def _parts(r: dict, lay: dict, dp, micro_batches):
    """Model state, activations without and with full recomputation, and logits (bytes)."""
    tp, pp, ep, zero, rc = lay["tp"], lay["pp"], lay["ep"], lay["zero"], lay["rc"]
    held = stage_layers(r, lay)
    share = held / r["layers"]  # of the layers (and their parameters) on the busiest stage
    dense = (r["params"] - r["expert_params"]) * share / tp
    experts = r["expert_params"] * share / (tp * ep)
    # FP8's weight copy is kept whole per tensor/pipeline shard under ZeRO-1/2 (Transformer
    # Engine's cached FP8 weights), but under ZeRO-3 / FSDP each rank casts only its shard
    # before the all-gather and the gathered layer is freed after use (torchao float8's
    # FSDP2 float8 all-gather, pytorch/ao torchao/float8/README.md): sharded like the rest.
    fp8 = r["fp8"] * FP8_EXTRA_BYTES_PER_PARAM
    dualpipe = r.get("dualpipe", 0.0) * DUALPIPE_EXTRA_BYTES
    per_param = (state_bytes_per_param(zero, dp) + dualpipe
                 + fp8 / np.where(zero == 3, np.maximum(dp, 1.0), 1.0))
    per_expert = (state_bytes_per_param(zero, dp / ep) + dualpipe
                  + fp8 / np.where(zero == 3, np.maximum(dp / ep, 1.0), 1.0))
    state = dense * per_param + experts * per_expert
    t, h, a = r["seq"], r["hidden"], r["heads"]
    # The 5·a·T/h term is the attention's score matrices, kept only by unfused kernels.
    kept = np.where(rc == 0, t * h * (34.0 + r.get("unfused", 0.0) * 5.0 * a * t / h),
                    34.0 * t * h) / tp
    layers_held = held * np.minimum(pp, np.maximum(micro_batches, 1.0))
    logits = 4.0 * t * r["vocab"] / tp
    return state, kept * layers_held, 2.0 * t * h / tp * layers_held, logits


def recompute_share(r: dict, lay: dict, dp, micro_batches, parts=None):
    """Share of layers recomputed in full: 0 or 1 for the fixed policies; for ``partial`` the
    least share that makes the layout fit the usable memory."""
    rc = lay["rc"]
    state, kept, full, logits = _parts(r, lay, dp, micro_batches) if parts is None else parts
    room = r["memory"] * USABLE_MEMORY_FRACTION
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.clip((state + kept + logits - room) / (kept - full), 0.0, 1.0)
    need = np.where(np.isnan(room), 0.0, need)
    return np.select([rc == FULL, rc == PARTIAL], [1.0, need], default=0.0)


def memory_per_device_bytes(r: dict, lay: dict, dp, micro_batches, share=None):
    """Model state + activations + logits on the busiest device, (R, K) bytes."""
    return memory_and_share(r, lay, dp, micro_batches, share)[0]


def memory_and_share(r: dict, lay: dict, dp, micro_batches, share=None):
    """(memory per device, share of layers recomputed in full), the parts computed once."""
    state, per_sequence, logits, share = _per_sequence(r, lay, dp, micro_batches, share)
    return state + per_sequence + logits, share


def _per_sequence(r: dict, lay: dict, dp, micro_batches, share=None):
    """(model state, activations of one micro-batch at the recomputation share, logits,
    that share): the parts both memory figures add up."""
    parts = _parts(r, lay, dp, micro_batches)
    state, kept, full, logits = parts
    if share is None:
        share = recompute_share(r, lay, dp, micro_batches, parts)
    return state, kept * (1.0 - share) + full * share, logits, share


def zero3_micro_batches(r: dict, lay: dict, dp, micro_batches, share=None):
    """(memory per device, share recomputed in full, micro-batches that gather the weights).

    ZeRO-3 / FSDP gathers every layer's parameters (and reduce-scatters its gradients) once per
    micro-batch, since the gathered weights are freed after each use (Rajbhandari et al. 2020,
    section 5.3; Zhao et al. 2023, PyTorch FSDP, arXiv:2304.11277, section 3.3). Without a
    pipeline nothing else needs micro-batches, so a replica's sequences run in the fewest
    micro-batches whose activations fit (MosaicML llm-foundry's published A100/H100 FSDP
    configurations run 6-18 sequences a micro-batch, mostly one micro-batch a step); with
    pipeline stages, the step's m micro-batches each gather them. Other ZeRO stages keep the
    weights: none is gathered (0). Memory then holds the chosen micro-batch's activations.
    """
    state, per_sequence, logits, share = _per_sequence(r, lay, dp, micro_batches, share)
    m = np.maximum(micro_batches, 1.0)
    room = r["memory"] * USABLE_MEMORY_FRACTION
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = np.floor((room - state - logits) / per_sequence)
    fit = np.where(np.isnan(room), m, fit)  # unknown memory: one micro-batch
    alone = (lay["zero"] == 3) & (lay["pp"] == 1)
    size = np.where(alone, np.clip(fit, 1.0, m), 1.0)
    gathers = np.where(lay["zero"] == 3, np.where(alone, np.ceil(m / size), m), 0.0)
    return state + per_sequence * size + logits, share, gathers


def valid(r: dict, lay: dict, dp, micro_batches) -> np.ndarray:
    """Layouts that can exist for each run (before memory): (R, K) booleans."""
    tp, pp, v, ep = lay["tp"], lay["pp"], lay["v"], lay["ep"]
    # Not in place: each test broadcasts over only the layout axes it depends on
    # (``layout_search`` passes one axis per layout field).
    ok = (tp <= r["node"]) & (tp <= r["devices"]) & (np.mod(r["heads"], tp) == 0)
    # At least one layer per chunk; chunks may be uneven (Megatron-Core's pipeline layouts, as
    # Megatron-Bridge runs DeepSeek-V3's 61 layers on 8 stages of 4 chunks): the busiest
    # stage's ceil(L/pp) layers set the pace. Interleaving runs the micro-batches in groups
    # of pp (Megatron-LM's interleaved schedule): m a multiple of pp.
    ok = ok & (pp * v <= r["layers"])
    ok = ok & (dp >= 1)
    ok = ok & (np.mod(r["experts"], ep) == 0) & (np.mod(dp, ep) == 0)
    ok = ok & (micro_batches >= 1)
    return ok & ((v == 1) | ((micro_batches >= pp) & (np.mod(micro_batches, pp) == 0)))


def fits(r: dict, memory_bytes) -> np.ndarray:
    """Whether a layout's memory fits the device's usable memory (unknown memory: fits)."""
    room = r["memory"] * USABLE_MEMORY_FRACTION
    # A partial recomputation share is the least that fits (``recompute_share``): its memory
    # is the room itself, give or take the last bits of rounding, which must not refuse it.
    return np.isnan(room) | (memory_bytes <= room * (1.0 + FIT_TOLERANCE))


def describe(tp, pp, dp, ep, zero, rc, v, devices=None, share=None) -> list[str]:
    """Readable layouts, e.g. ``tp8 pp16 dp64 zero1 recompute=selective``."""
    out = []
    devices = np.full(len(tp), np.nan) if devices is None else devices
    for t, p, d, e, z, c, vv, n in zip(tp, pp, dp, ep, zero, rc, v, devices, strict=True):
        if not np.isfinite(d):
            out.append("")
            continue
        text = f"tp{int(t)} pp{int(p)}" + (f"x{int(vv)}" if vv > 1 else "") + f" dp{int(d)}"
        text += (f" ep{int(e)}" if e > 1 else "") + f" zero{int(z)} recompute={RECOMPUTE[int(c)]}"
        if c == PARTIAL and share is not None and np.isfinite(share[len(out)]):
            text = text.replace("recompute=partial",
                                f"recompute=full on {share[len(out)]:.0%} of layers")
        idle = n - t * p * d if np.isfinite(n) else 0
        out.append(text + (f" ({int(idle):,} devices idle)" if idle >= 1 else ""))
    return out
