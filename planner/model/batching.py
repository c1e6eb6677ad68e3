"""Continuous batching of one serving replica at iteration level: step time, the load it can
carry, and its latencies, for arrays of any broadcast shape.

An engine with iteration-level scheduling (Yu et al. 2022, Orca, OSDI) runs one step after
another; each step produces one token for every active sequence and folds a chunk of waiting
prompts into the same step (chunked prefill: Agrawal et al. 2024, Sarathi-Serve, OSDI). A step
takes the roofline (Williams et al. 2009; Pope et al. 2022, arXiv:2211.05102) of

* the bytes read: the weights once (for a mixture-of-experts model, the experts the step's
  tokens touch) plus the KV cache of every active sequence at its context length;
* the FLOPs: 2 × active parameters per token (Kaplan et al. 2020) plus attention,
  2 · layers · hidden · context per token;

plus the tensor-/expert-/pipeline-parallel communication that is not overlapped
(``planner.model.parallel``) and a fixed engine overhead per step (scheduling, sampling,
kernel launches). Concurrency is capped by the KV cache that fits beside the weights
(Kwon et al. 2023, vLLM/PagedAttention) and by the engine's maximum (``batch_size``).

Load. With ``N`` sequences active on average, every step also carries N·P/O prompt tokens
(each request brings P prompt tokens per O output tokens), so the step time is linear in N
piece by piece, and so is the time a request holds a slot, T(N) = TTFT + (O − 1)·step.
Little's law (N = λ·T) then has a closed-form solution per linear piece; the fixed point of a
max (min) of increasing lines is the max (min) of their fixed points. A request sees N others
on average (M/G/∞: the Poisson arrivals see time averages) plus itself; the p-quantile of the
count averaged over its lifetime is N + 1 + z_p·sqrt(2N/(3n)) under join-shortest-queue routing
over n replicas (the variance of a Poisson count averaged over one service time is 2/3 of
its mean for deterministic service). The p-quantile latency is T at that count plus the wait
for a slot (``planner.model.queueing``, pooled over the fleet's slots).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from planner.model import parallel

# Normal quantiles of the count a request sees: p50 and p95.
Z_P50 = 0.0
Z_P95 = 1.6448536269514722
# A request that arrives mid-step waits on average half a step before its prompt is taken.
MID_STEP_WAIT = 0.5


def prefill_chunks(c: Mapping[str, np.ndarray]):
    """Steps a prompt needs: ceil(prompt / chunk tokens), at least one."""
    prompt = np.asarray(c["prompt_tokens"], dtype=float)
    return np.maximum(np.ceil(prompt / np.asarray(c["prefill_chunk_tokens"], dtype=float)), 1.0)


def log_untouched(k_over_e):
    """log(1 − k/E): −inf for a dense model (every token uses its one expert)."""
    with np.errstate(divide="ignore"):
        return np.log1p(-np.minimum(np.asarray(k_over_e, float), 1.0))


def untouched_share(log_q, tokens):
    """(1 − k/E)^tokens from log(1 − k/E): the share of experts no token routes to; 1 with no
    tokens, 0 for a dense model (k/E = 1) with any."""
    tokens = np.asarray(tokens, float)
    with np.errstate(invalid="ignore"):
        return np.where(tokens > 0, np.exp(np.asarray(log_q, float) * tokens), 1.0)


def step_parts_s(c: Mapping[str, np.ndarray], decode_seqs, prefill_tokens, context_tokens,
                 all_experts: bool = False):
    """Memory, compute and communication time [s] of one step, per replica.

    ``decode_seqs`` sequences each make one token, ``prefill_tokens`` prompt tokens ride along,
    ``context_tokens`` is the KV cache read (sum of the active sequences' contexts).
    Returns ``memory_s`` (the share of the experts a step's tokens touch, 1 − (1 − k/E)^tokens:
    the expected share under independent routing of each token to k of E experts, or all of
    them with ``all_experts``), ``compute_s`` and ``communication_s``.
    """
    tp, pp = np.asarray(c["tensor_parallel"], float), np.asarray(c["pipeline_parallel"], float)
    tokens = np.asarray(decode_seqs, float) + np.asarray(prefill_tokens, float)
    expert_b = np.asarray(c["expert_weight_bytes"], float)
    dense_b = np.asarray(c["weight_bytes"], float) - expert_b
    k_over_e = np.asarray(c["experts_per_token"], float) / np.asarray(c["experts"], float)
    touched = 1.0 if all_experts else 1.0 - untouched_share(log_untouched(k_over_e), tokens)
    bw = np.asarray(c["memory_bandwidth_bytes_per_s"], float) * c["bandwidth_utilisation"]
    kv_read = np.asarray(context_tokens, float) * c["kv_bytes_per_token"] / (tp * pp)
    # With p pipeline stages a token passes every stage in turn, so one step reads the
    # weights of all stages one after another: W / t of time, not W / (t·p).
    memory_s = ((dense_b + expert_b * touched) / tp + kv_read) / bw
    attention = 2.0 * c["layers"] * c["hidden"] * (
        np.asarray(context_tokens, float) + np.asarray(prefill_tokens, float)
        * np.asarray(c["prompt_tokens"], float) / 2.0)
    flops = c["decode_flops_per_token"] * tokens + attention
    compute_s = flops / (tp * pp * c["peak_flops_per_s"] * c["utilisation"])
    comm_s = parallel.communication_s(c, tokens)
    return {"memory_s": memory_s, "compute_s": compute_s, "communication_s": comm_s}


def step_time_s(c: Mapping[str, np.ndarray], decode_seqs, prefill_tokens, context_tokens):
    """One engine step [s]: overhead + max(memory, compute) + communication."""
    p = step_parts_s(c, decode_seqs, prefill_tokens, context_tokens)
    return c["engine_overhead_s_per_step"] + np.maximum(p["memory_s"], p["compute_s"]) + p[
        "communication_s"]


def _decode_step(c, n):
    """Decode sequences, prompt tokens and KV context of a step that only decodes, n active."""
    n = np.asarray(n, dtype=float)
    prompt, out = np.asarray(c["prompt_tokens"], float), np.asarray(c["output_tokens"], float)
    return n, np.zeros_like(n * prompt), n * (prompt + out / 2.0)


def _chunk_step(c, n):
    """A step with n decoding sequences that also takes one chunk of a new prompt."""
    chunk = np.asarray(c["prompt_tokens"], float) / prefill_chunks(c)
    decode, _, context = _decode_step(c, n)
    return decode, chunk + 0.0 * decode, context + chunk / 2.0


def step_lines(c: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each part of a decode step and of a chunk step as (intercept, slope) in the count n:
    exact, since compute, communication, the tokens of a step and its memory with every
    expert read are linear in n (the experts a step touches are then the full memory less the
    untouched share, ``_parts_at``), so evaluating them on a grid of counts costs a few
    multiply-adds and one power."""
    out = {}
    tp = np.asarray(c["tensor_parallel"], float)
    bw = np.asarray(c["memory_bandwidth_bytes_per_s"], float) * c["bandwidth_utilisation"]
    expert_s = np.asarray(c["expert_weight_bytes"], float) / tp / bw
    k_over_e = np.asarray(c["experts_per_token"], float) / np.asarray(c["experts"], float)
    for kind, step in (("decode", _decode_step), ("chunk", _chunk_step)):
        s0, s1 = step(c, np.zeros(1)), step(c, np.ones(1))
        at0, at1 = step_parts_s(c, *s0), step_parts_s(c, *s1)
        full0 = step_parts_s(c, *s0, all_experts=True)["memory_s"]
        full1 = step_parts_s(c, *s1, all_experts=True)["memory_s"]
        for part in ("compute_s", "communication_s"):
            out[f"{kind}_{part}"] = (at0[part], at1[part] - at0[part])
        out[f"{kind}_memory_full_s"] = (full0, full1 - full0)
        tokens0, tokens1 = s0[0] + s0[1], s1[0] + s1[1]
        out[f"{kind}_tokens"] = (tokens0, tokens1 - tokens0)
        out[f"{kind}_untouched_log"] = (log_untouched(k_over_e), 0.0)
        out[f"{kind}_expert_s"] = (expert_s, 0.0)
    return out


def expand_lines(lines, axis_len: int = 1):
    """The lines with a trailing axis, to evaluate on a grid of counts (..., K)."""
    return {k: (np.asarray(a)[..., None], np.asarray(b)[..., None]) for k, (a, b) in
            lines.items()}


def _parts_at(c, lines, kind: str, n):
    line = lambda name: lines[f"{kind}_{name}"][0] + lines[f"{kind}_{name}"][1] * n  # noqa: E731
    # every expert read, less the experts no token of the step routes to: (1 − k/E)^tokens
    # (a dense model has no expert bytes: that share, in [0, 1], takes nothing off)
    expert_s, log_q = lines[f"{kind}_expert_s"][0], lines[f"{kind}_untouched_log"][0]
    if np.all(np.asarray(expert_s) == 0.0) and not np.isnan(log_q).any():
        memory = line("memory_full_s")
    else:
        memory = line("memory_full_s") - expert_s * untouched_share(log_q, line("tokens"))
    parts = {"memory_s": memory, "compute_s": line("compute_s"),
             "communication_s": line("communication_s")}
    step = (c["engine_overhead_s_per_step"] + np.maximum(memory, parts["compute_s"])
            + parts["communication_s"])
    return parts, step


def times_at(c: Mapping[str, np.ndarray], n, mid_step=MID_STEP_WAIT, lines=None):
    """TPOT, TTFT, prefill and slot time [s] of a request sharing its replica with ``n``
    sequences in all (itself included); ``lines`` from ``step_lines(c)`` where computed.

    TTFT = the rest of the step under way (``mid_step`` of a decode step: half on average,
    0.95 at the 95th percentile of a uniform arrival) + its prompt's chunk steps. While it
    decodes, the n − 1 others' prompts arrive at the same rate as it leaves (Little), each
    adding its chunk steps' excess over a decode step (prefill stalls; Agrawal et al. 2024):
    TPOT = decode step + (n − 1) · chunks · (chunk step − decode step) / (O − 1).
    """
    n = np.asarray(n, dtype=float)
    lines = step_lines(c) if lines is None else lines
    out = np.asarray(c["output_tokens"], float)
    decode_parts, decode = _parts_at(c, lines, "decode", n)
    chunk_parts, chunk = _parts_at(c, lines, "chunk", n)
    chunks = prefill_chunks(c)
    prefill = chunks * chunk
    stall = np.maximum(n - 1.0, 0.0) * chunks * np.maximum(chunk - decode, 0.0)
    decoding = (out - 1.0) * decode + np.where(out > 1, stall, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tpot = np.where(out > 1, decoding / (out - 1.0), decode)
    ttft = mid_step * decode + prefill
    return {"tpot_s": tpot, "ttft_s": ttft, "slot_s": ttft + decoding, "prefill_s": prefill,
            "decode_step_s": decode, "chunk_step_s": chunk, "decode_parts": decode_parts,
            "chunk_parts": chunk_parts}


GRID_POINTS = 24


def load_curve(cap, slot_s_at):
    """The load a replica carries at each mean active count: (N, λ(N)) on a grid of
    ``GRID_POINTS`` counts from 0 to ``cap`` (denser at light load), with λ(N) = N /
    T(min(N + 1, cap)) (Little's law; a request shares its replica with N others and
    itself) made non-decreasing. ``slot_s_at(n)`` gives T at counts of shape (..., K)."""
    cap = np.asarray(cap, dtype=float)[..., None]
    n = cap * np.linspace(0.0, 1.0, GRID_POINTS) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = n / slot_s_at(np.minimum(n + 1.0, cap))
    rate = np.maximum.accumulate(np.nan_to_num(rate, nan=0.0), axis=-1)
    return n, rate


class RowCurves(NamedTuple):
    """Load curves stored once per distinct row (``n`` and ``rate`` of shape (R, K)) and the
    row each element reads (``rows``: integers of any shape): the Monte Carlo's draws share
    a few dozen curves per option, so they are not copied out per draw."""

    n: np.ndarray
    rate: np.ndarray
    rows: np.ndarray


def per_hour(curve):
    """The curves with an axis before the points (or the rows) for an hourly axis."""
    if isinstance(curve, RowCurves):
        return curve._replace(rows=np.asarray(curve.rows)[..., None])
    return tuple(np.expand_dims(v, -2) for v in curve)


def capacity_per_s(curve):
    """Most requests/s a replica carries (its load curve's end)."""
    if isinstance(curve, RowCurves):
        return np.take(curve.rate[:, -1], curve.rows)
    return curve[1][..., -1]


def _mean_active_rows(curve: RowCurves, rate_per_s):
    """``mean_active`` on row-indexed curves, reading each element's row: the same point
    pair as its bisection (the first point whose rate reaches λ, at least the second), found
    by counting the points below λ in power-of-two strides (the rates rise along the curve),
    with no per-element branch."""
    k = curve.rate.shape[-1]
    lam = np.asarray(rate_per_s, dtype=float)
    rows = np.asarray(curve.rows, dtype=np.intp)
    lam, rows = np.broadcast_arrays(lam, rows)
    stride = 1 << int(np.ceil(np.log2(k)))
    padded = np.full((curve.rate.shape[0], stride), np.inf)  # inf: never below λ
    padded[:, :k] = curve.rate
    padded = padded.ravel()
    start = rows * stride - 1
    count = np.zeros(lam.shape, dtype=np.intp)  # points of the curve below λ
    step = stride // 2
    while step:
        count += step * (padded.take(start + count + step) < lam)
        step //= 2
    hi = np.clip(count, 1, k - 1) + rows * k
    lo = hi - 1
    rate_flat, n_flat = curve.rate.ravel(), curve.n.ravel()
    r_lo, r_hi = rate_flat.take(lo), rate_flat.take(hi)
    n_lo, n_hi = n_flat.take(lo), n_flat.take(hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(r_hi > r_lo, (lam - r_lo) / (r_hi - r_lo), 1.0)
    out = n_lo + np.clip(w, 0.0, 1.0) * (n_hi - n_lo)
    return np.where(lam > curve.rate[:, -1].take(rows), np.inf, out)


def mean_active(curve, rate_per_s, cap=None):
    """Mean active sequences at ``rate_per_s`` requests/s per replica (interpolated on the
    load curve, found by bisection on its points); inf where the replica cannot keep up."""
    if isinstance(curve, RowCurves):
        return _mean_active_rows(curve, rate_per_s)
    n, rate = curve
    lam = np.asarray(rate_per_s, dtype=float)[..., None]
    k = rate.shape[-1]
    shape = np.broadcast_shapes(lam.shape, (*rate.shape[:-1], 1))
    lo = np.zeros(shape, dtype=np.intp)  # rate[lo] < lam ≤ rate[hi] (rate[0] = 0)
    hi = np.full(shape, k - 1, dtype=np.intp)
    for _ in range(int(np.ceil(np.log2(k))) + 1):
        mid = (lo + hi) // 2
        below = np.take_along_axis(rate, mid, -1) < lam
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    hi = np.maximum(hi, 1)
    lo = hi - 1
    r_lo, r_hi = np.take_along_axis(rate, lo, -1), np.take_along_axis(rate, hi, -1)
    n_lo, n_hi = np.take_along_axis(n, lo, -1), np.take_along_axis(n, hi, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(r_hi > r_lo, (lam - r_lo) / (r_hi - r_lo), 1.0)
    out = (n_lo + np.clip(w, 0.0, 1.0) * (n_hi - n_lo))[..., 0]
    return np.where(lam[..., 0] > rate[..., -1], np.inf, out)


def quantile_count(mean_n, replicas, cap, z):
    """Sequences a request shares its replica with at the quantile of normal score ``z``:
    itself + the mean + z·sqrt(2N/(3n)), at most ``cap`` (see the module docstring)."""
    with np.errstate(invalid="ignore"):
        spread = np.sqrt(2.0 * np.maximum(mean_n, 0.0) / (3.0 * np.asarray(replicas, float)))
    return np.minimum(mean_n + 1.0 + z * spread, cap)


def kv_capacity_tokens(c: Mapping[str, np.ndarray], devices):
    """Tokens of KV cache a replica of ``devices`` devices holds beside its weights:
    devices × memory × usable share − weights, over KV bytes per token; inf where the KV
    cache is free (no KV bytes) or the memory unknown."""
    room = (np.asarray(devices, float) * np.asarray(c["memory_bytes"], float)
            * c["kv_memory_fraction"] - c["weight_bytes"])
    kv = np.asarray(c["kv_bytes_per_token"], float)
    with np.errstate(divide="ignore", invalid="ignore"):
        tokens = np.where(kv > 0, room / np.where(kv > 0, kv, 1.0), np.inf)
    tokens = np.where(np.isnan(np.asarray(c["memory_bytes"], float)), np.inf, tokens)
    return np.where(room > 0, tokens, np.where(np.isnan(room), tokens, 0.0))


def concurrency_cap(c: Mapping[str, np.ndarray], devices):
    """Sequences a replica can hold at full context: min(KV tokens // context, engine max)."""
    context = np.asarray(c["prompt_tokens"], float) + np.asarray(c["output_tokens"], float)
    with np.errstate(divide="ignore", invalid="ignore"):
        by_kv = np.floor(kv_capacity_tokens(c, devices) / np.maximum(context, 1.0))
    return np.minimum(by_kv, np.asarray(c["batch_size"], float))


def _draw_w(c, parts, step):
    """Idle + the compute draw + the memory draw above idle, each scaled by the share of the
    step its units are busy (the two overlap within a step, so both draw), at most the
    device's power limit."""
    idle = np.asarray(c["idle_power_w"], float)
    with np.errstate(divide="ignore", invalid="ignore"):
        compute = (c["busy_power_w"] - idle) * np.clip(parts["compute_s"] / step, 0.0, 1.0)
        # collectives are copy kernels streaming HBM over the links: memory-bound work
        streaming = np.clip((parts["memory_s"] + parts["communication_s"]) / step, 0.0, 1.0)
        memory = (c["decode_power_w"] - idle) * streaming
    return np.fmin(idle + compute + memory, np.asarray(c["power_limit_w"], float))


def step_power_w(c: Mapping[str, np.ndarray], n, lines=None):
    """Device power [W] while stepping with ``n`` active, for decode steps and chunk steps
    weighted by the share of time each takes (chunk steps: n · chunks · chunk step / T,
    Little).

    Within a step, power is idle plus a dynamic part per component busy (Hong & Kim 2010,
    An integrated GPU power and performance model, ISCA: power = idle + Σ access rate ×
    component power): the compute units at ``busy_power_w`` for the share of the step their
    FLOPs take, the memory system at ``decode_power_w`` for the share its bytes and the
    step's collectives take; the sum is held at the device's power limit (its rating, which
    the board enforces by lowering clocks). A prefill-bound step draws toward the
    compute-bound figure, a decode-bound one toward the memory-bound one, a large decode
    batch that keeps both busy more than either; engine overhead is spent near idle.
    """
    t = times_at(c, n, lines=lines)
    decode = _draw_w(c, t["decode_parts"], t["decode_step_s"])
    chunk = _draw_w(c, t["chunk_parts"], t["chunk_step_s"])
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(np.asarray(n, float) * prefill_chunks(c) * t["chunk_step_s"]
                        / t["slot_s"], 0.0, 1.0)
    return share * chunk + (1.0 - share) * decode


def busy_share(mean_n, cap):
    """Share of the time a replica is stepping: 1 − e^(−N) (M/G/∞: P(no request) = e^(−N));
    a one-slot replica is busy its utilisation N (M/G/1)."""
    n = np.maximum(np.asarray(mean_n, dtype=float), 0.0)
    return np.where(np.asarray(cap) <= 1, np.minimum(n, 1.0), -np.expm1(-n))


def average_power_w(c: Mapping[str, np.ndarray], mean_n, lines=None, busy=None):
    """Mean device power [W] of a replica with ``mean_n`` active on average: busy for the
    share ``busy_share`` of the time with N / that share active while busy; idle otherwise.
    ``busy``: that share where already computed."""
    n = np.asarray(mean_n, dtype=float)
    cap = np.asarray(c["replica_concurrency"], float)
    busy = busy_share(n, cap) if busy is None else busy
    with np.errstate(divide="ignore", invalid="ignore"):
        active = np.where(busy > 0, n / np.where(busy > 0, busy, 1.0), 1.0)
    p = step_power_w(c, np.minimum(np.maximum(active, 1.0), cap), lines)
    idle = np.asarray(c["idle_power_w"], float)
    return idle + (p - idle) * np.clip(busy, 0.0, 1.0)
