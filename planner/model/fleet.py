"""Fleet sizing under continuous batching: the fewest replicas whose p95 latency, TTFT and
TPOT meet the targets with headroom, and the fleet's latencies at p50 and p95, for arrays of
any broadcast shape (the plan's grid and the Monte Carlo's draws × options alike).

A language-model replica serves as ``planner.model.batching`` describes: its requests share
its steps, so latency grows with the load it carries; a request waits only when every slot
(``replica_concurrency``) of the fleet is taken, a pooled queue of n × slots servers
(``planner.model.queueing``, Allen–Cunneen for non-exponential service). A generic model's
replica serves fixed batches: ``batch_size`` slots each held for ``batch_time_s``. Devices in
users' hands (placement: edge) each serve their own share of the traffic in their own queue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from planner.model import batching, queueing
from planner.model.footprint import RATE_COLUMNS
from planner.model.frames import float_columns
from planner.model.inference import LAYOUT_COLUMNS, STEP_INPUTS
from planner.model.scenario import InferenceSpec

P95_TAIL = queueing.DEFAULT_TAIL_PROBABILITY
MAX_DOUBLINGS = 30


def service_lines(c: Mapping[str, np.ndarray], steps=None):
    """Every row's load curve (``batching.load_curve``): the batching model's slot time for
    language models, the constant batch time for generic models. ``steps``:
    ``batching.step_lines(c)`` where already computed."""
    llm = np.asarray(c["is_llm"], dtype=bool)[..., None]
    wide = {k: (np.asarray(v)[..., None] if np.ndim(v) else v) for k, v in c.items()}
    lines = batching.expand_lines(batching.step_lines(c) if steps is None else steps)

    def slot_s(n):
        t = batching.times_at(wide, n, lines=lines)["slot_s"]
        return np.where(llm, t, wide["batch_time_s"])

    return batching.load_curve(c["replica_concurrency"], slot_s)


def figures(c: Mapping[str, np.ndarray], lines, units, rate_per_s, variability=1.0,
            steps=None, p95_only: bool = False):
    """Utilisation, mean active, waits and p50/p95 latency, TTFT and TPOT of a fleet of
    ``units`` replicas at ``rate_per_s`` requests/s (inf where it cannot keep up);
    ``steps`` is ``batching.step_lines(c)`` where already computed. ``p95_only``: only the
    utilisation, mean active and p95 figures (what sizing reads; the Monte Carlo's case)."""
    steps = batching.step_lines(c) if steps is None else steps
    edge = np.asarray(c["edge"], dtype=bool)
    llm = np.asarray(c["is_llm"], dtype=bool)
    cap = np.asarray(c["replica_concurrency"], float)
    units = np.asarray(units, float)
    lam = np.asarray(rate_per_s, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_replica = lam / units
        capacity = batching.capacity_per_s(lines)
        util = per_replica / capacity
        mean_n = batching.mean_active(lines, per_replica)
        servers = np.where(edge, cap, units * cap)
        rate = np.where(edge, per_replica, lam)
        mu = capacity / cap  # a slot's service rate at full load
        out = {"utilisation": util, "mean_active": mean_n}
        if p95_only:
            at = (("p95", batching.Z_P95, P95_TAIL, queueing.wait_quantiles_s(
                servers, rate, mu, (P95_TAIL,), variability)[0]),)
        else:
            waits = queueing.waits_s(servers, rate, mu, (0.5, P95_TAIL), variability)
            out.update(wait_probability=waits["wait_probability"], wait_mean_s=waits["mean_s"])
            at = (("p50", batching.Z_P50, 0.5, waits["quantiles_s"][0]),
                  ("p95", batching.Z_P95, P95_TAIL, waits["quantiles_s"][1]))
        for name, z, tail, wait in at:
            n_q = batching.quantile_count(mean_n, np.where(edge, 1.0, units), cap, z)
            t = batching.times_at(c, np.where(np.isfinite(n_q), n_q, cap), mid_step=0.0,
                                  lines=steps)
            ahead = prefill_wait_s(c, t, per_replica, tail)
            slot = np.where(llm, t["slot_s"] + ahead, c["batch_time_s"])
            ttft = np.where(llm, t["ttft_s"] + ahead, np.nan)
            out[f"wait_{name}_s"] = wait
            out[f"latency_{name}_s"] = wait + slot + c["network_rtt_s"]
            out[f"ttft_{name}_s"] = wait + ttft + c["network_rtt_s"]
            out[f"tpot_{name}_s"] = np.where(llm, t["tpot_s"], np.nan)
    return out


def md1_wait_quantile_s(rate_per_s, service_s, tail):
    """Wait exceeded by a share ``tail`` of arrivals at an M/D/1 queue: P(W > t) ≈ ρ·e^(−θt)
    with θ the positive root of λ(e^(θS) − 1) = θ (the Cramér–Lundberg decay rate of the
    M/G/1 waiting time; Asmussen 2003, Applied Probability and Queues, XIII.5); inf when
    ρ ≥ 1, 0 when ρ ≤ tail."""
    lam = np.asarray(rate_per_s, float)
    svc = np.asarray(service_s, float)
    rho = lam * svc
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        theta = 2.0 * (1.0 - rho) / (rho * svc) + 2.0 * np.log(1.0 / rho) / svc  # right of root
        for _ in range(16):  # Newton on the convex f(θ) = λ(e^(θS) − 1) − θ, from the right
            e = np.exp(theta * svc)
            theta = theta - (lam * (e - 1.0) - theta) / (lam * svc * e - 1.0)
        t = np.log(rho / tail) / theta
    t = np.where(rho > tail, t, 0.0)
    return np.where(rho < 1.0, np.nan_to_num(t, nan=0.0), np.inf)


def prefill_wait_s(c, t, rate_per_s, tail):
    """The wait before a new prompt's first chunk runs, at the quantile 1 − ``tail``: the rest
    of the step under way plus the queue of earlier prompts for the step's token budget.

    The step under way is a chunk step with probability φ (the share of time in chunk steps,
    λ · chunks · chunk step) and the arrival lands uniformly in it, so P(rest > r) =
    φ·(1 − r/chunk)⁺ + (1 − φ)·(1 − r/decode)⁺. Prompts queue for the budget: an M/D/k
    queue (Allen–Cunneen, C_s = 0) of service chunks × chunk step, where k prompts fit one
    step's token budget (1 for a prompt longer than the budget).
    """
    decode, chunk = t["decode_step_s"], t["chunk_step_s"]
    chunks = batching.prefill_chunks(c)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.clip(rate_per_s * chunks * chunk, 0.0, 1.0)
        # r beyond the decode step: only chunk steps remain
        long_r = chunk * (1.0 - tail / phi)
        # r within the decode step: both uniform parts, a line in r
        short_r = (1.0 - tail) / (phi / chunk + (1.0 - phi) / decode)
        # an arrival in a chunk step may share the next step with that step's own arrivals:
        # beyond the decode step the rest is taken as a whole chunk step (conservative)
        rest = np.where(phi > tail, np.maximum(chunk + 0.0 * long_r, short_r), short_r)
        rest = np.clip(np.nan_to_num(rest, nan=0.0), 0.0, chunk)
        per_step = np.maximum(np.floor(c["prefill_chunk_tokens"] * chunks
                                       / np.maximum(c["prompt_tokens"], 1.0)), 1.0)
        queue = queueing.wait_quantiles_s(per_step, rate_per_s, 1.0 / (chunks * chunk),
                                          (tail,), 0.5)[0]
        one = np.broadcast_to(per_step <= 1, np.shape(queue))
        if one.any():  # one prompt per step: the M/D/1 decay rate
            queue = np.array(queue, dtype=float)
            queue[one] = md1_wait_quantile_s(
                np.broadcast_to(rate_per_s, queue.shape)[one],
                np.broadcast_to(chunks * chunk, queue.shape)[one], tail)
    # (with one prompt per step, the M/D/1 wait already holds the rest of a chunk step in
    # service; the rest of a decode step adds only when no prompt is: share 1 − φ)
    rest = np.where(per_step > 1, rest, rest * (1.0 - phi))
    return rest + np.where(np.isfinite(queue), queue, np.inf)


def unloaded(c: Mapping[str, np.ndarray], steps=None):
    """Latency, TTFT and TPOT of a lone request at the p95 (no queueing, no other sequence):
    what ``figures`` tends to as the fleet grows, so a target beyond it is unmeetable."""
    llm = np.asarray(c["is_llm"], dtype=bool)
    t = batching.times_at(c, np.ones_like(np.asarray(c["batch_time_s"], float)), mid_step=0.0,
                          lines=steps)
    ahead = prefill_wait_s(c, t, 0.0, P95_TAIL)
    return {"latency_s": np.where(llm, t["slot_s"] + ahead, c["batch_time_s"])
            + c["network_rtt_s"],
            "ttft_s": np.where(llm, t["ttft_s"] + ahead + c["network_rtt_s"], np.nan),
            "tpot_s": np.where(llm, t["tpot_s"], np.nan)}


def targets_met(fig, targets: Mapping[str, float | None], max_utilisation: float):
    """Whether the figures meet every given target (p95) with the utilisation headroom."""
    ok = (fig["utilisation"] <= max_utilisation * (1 + 1e-12)) & (fig["utilisation"] < 1.0)
    ok &= np.isfinite(fig["mean_active"])
    for name, key in (("latency_p95_s", "latency_p95_s"), ("ttft_s", "ttft_p95_s"),
                      ("tpot_s", "tpot_p95_s")):
        target = targets.get(name)
        if target is not None:
            value = fig[key]
            ok &= np.where(np.isnan(value), True, value <= target * (1 + 1e-12))
    return ok


DOUBLING_BLOCKS = (4, MAX_DOUBLINGS - 3)  # counts low·2^j per call: j = 0…3, then 4…30
TREE_DEPTH = 5  # bisection levels evaluated per call: 2^5 − 1 counts per open row


def smallest_passing(passes: Callable[[np.ndarray, np.ndarray], np.ndarray], low, valid):
    """Fewest units ≥ ``low`` for which ``passes(units, rows)`` holds, assuming it is monotone
    in the units: ``low`` doubled until it passes (at most MAX_DOUBLINGS times), then bisection
    of (last failing, first passing]; NaN where none is found within 2^MAX_DOUBLINGS × ``low``.

    Each call of ``passes`` takes many counts of every open row at once (``rows`` repeats a
    row): a block of the doublings, then the whole bisection tree TREE_DEPTH levels deep
    (every midpoint the bisection could visit), whose path is then replayed. So a search of
    a few dozen steps is a handful of calls, and the answer is the step-by-step search's
    exactly, monotone or not.
    """
    low = np.asarray(low, float).ravel()
    valid = np.asarray(valid, bool).ravel()
    units = np.where(valid, low, np.nan)
    rows = np.flatnonzero(valid)
    first = np.full(rows.size, -1)  # the first j with low·2^j passing
    todo, j0 = np.arange(rows.size), 0
    for block in DOUBLING_BLOCKS:
        if not todo.size:
            break
        j = np.arange(j0, j0 + block)
        n = low[rows[todo], None] * 2.0 ** j
        ok = passes(n.ravel(), np.repeat(rows[todo], j.size)).reshape(n.shape)
        hit = ok.any(axis=1)
        first[todo[hit]] = j[np.argmax(ok[hit], axis=1)]
        todo, j0 = todo[~hit], j0 + block
    units[rows[first < 0]] = np.nan
    b = np.flatnonzero(first > 0)
    hi = low[rows[b]] * 2.0 ** first[b]
    lo = hi / 2.0
    while True:
        open_ = np.flatnonzero(hi - lo > 1.0)
        if not open_.size:
            break
        lo[open_], hi[open_] = _bisect_tree(passes, lo[open_], hi[open_], rows[b[open_]])
    units[rows[b]] = hi
    return units


def _bisect_tree(passes, lo, hi, rows):
    """TREE_DEPTH steps of bisection of (lo, hi] (lo fails, hi passes) for every row: every
    node of the tree evaluated in one call of ``passes``, then the path replayed."""
    size = 2**TREE_DEPTH - 1
    node_lo = np.empty((lo.size, size))
    node_hi = np.empty((lo.size, size))
    node_lo[:, 0], node_hi[:, 0] = lo, hi
    for i in range(size // 2):  # node i's children: 2i + 1 (its mid passes), 2i + 2 (fails)
        m = np.floor((node_lo[:, i] + node_hi[:, i]) / 2.0)
        node_lo[:, 2 * i + 1], node_hi[:, 2 * i + 1] = node_lo[:, i], m
        node_lo[:, 2 * i + 2], node_hi[:, 2 * i + 2] = m, node_hi[:, i]
    mid = np.floor((node_lo + node_hi) / 2.0)
    need = node_hi - node_lo > 1.0
    ok = np.zeros(need.shape, dtype=bool)
    r, k = np.nonzero(need)
    ok[r, k] = passes(mid[r, k], rows[r])
    at = np.zeros(lo.size, dtype=np.intp)
    every = np.arange(lo.size)
    for _ in range(TREE_DEPTH):
        step = need[every, at]
        good = ok[every, at]
        m = mid[every, at]
        hi = np.where(step & good, m, hi)
        lo = np.where(step & ~good, m, lo)
        at = np.minimum(np.where(step, 2 * at + 1 + ~good, at), size - 1)
    return lo, hi


def min_replicas(c: Mapping[str, np.ndarray], lines, rate_per_s, targets, max_utilisation,
                 variability=1.0):
    """Fewest replicas meeting ``targets`` at ``max_utilisation``; NaN where none can."""
    shape = np.broadcast(np.asarray(rate_per_s, float), np.asarray(c["batch_time_s"], float)
                         ).shape
    flat = {k: (np.broadcast_to(np.asarray(v), shape).ravel() if np.ndim(v) else v)
            for k, v in c.items()}
    k = lines[0].shape[-1]
    flat_lines = tuple(np.broadcast_to(x, (*shape, k)).reshape(-1, k) for x in lines)
    lam = np.broadcast_to(np.asarray(rate_per_s, float), shape).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        capacity = batching.capacity_per_s(flat_lines)
        low = np.ceil(lam / (capacity * max_utilisation) * (1 - 1e-12))
    valid = np.isfinite(low) & (capacity > 0)
    low = np.maximum(np.where(valid, low, 1.0), 1.0)

    steps = batching.step_lines(flat)

    def passes(n, rows):
        sub = {k: (v[rows] if np.ndim(v) else v) for k, v in flat.items()}
        sub_lines = tuple(x[rows] for x in flat_lines)
        sub_steps = {k: (np.broadcast_to(a, lam.shape)[rows], np.broadcast_to(b, lam.shape)[rows])
                     for k, (a, b) in steps.items()}
        fig = figures(sub, sub_lines, n, lam[rows], variability, sub_steps)
        return targets_met(fig, targets, max_utilisation)

    return smallest_passing(passes, low, valid).reshape(shape)


# The columns the fleet and year models read (besides the flags).
FLEET_INPUTS = tuple(dict.fromkeys((*STEP_INPUTS, *LAYOUT_COLUMNS, *RATE_COLUMNS,
                                    "batch_time_s", "ttft_s", "tpot_s")))


def variability_factor(spec: InferenceSpec) -> float:
    """(C_a² + C_s²)/2 with Poisson arrivals (C_a = 1): the Allen–Cunneen wait factor."""
    return (1.0 + spec.service_time_cv**2) / 2.0


def targets(spec: InferenceSpec) -> dict[str, float | None]:
    """The p95 targets a fleet is sized for."""
    return {"latency_p95_s": spec.latency_p95_s, "ttft_s": spec.ttft_s, "tpot_s": spec.tpot_s}


def target_ratio(spec: InferenceSpec, c: Mapping[str, np.ndarray], steps=None):
    """How far the tightest target is from being met by a lone request (achieved / target;
    > 1 is unmeetable at any fleet size), the binding target's field and its value."""
    un = unloaded(c, steps)
    shape = np.shape(un["latency_s"])
    checks = [(name, un[key], target) for name, key, target in (
        ("latency_p95_s", "latency_s", spec.latency_p95_s), ("ttft_s", "ttft_s", spec.ttft_s),
        ("tpot_s", "tpot_s", spec.tpot_s)) if target is not None]
    worst = np.zeros(shape)
    binding = np.full(shape, "", dtype=object)
    achieved = np.full(shape, np.nan)
    for name, value, target in checks:
        r = value / target
        take = np.nan_to_num(r, nan=-np.inf) > worst
        worst, binding = np.where(take, r, worst), np.where(take, name, binding)
        achieved = np.where(take, value, achieved)
    worst = np.where(np.isnan(un["latency_s"]), np.nan, worst)
    return (worst if checks else np.full(shape, np.nan)), binding, achieved


def fleet_inputs(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns the fleet and year models read, as arrays (flags included)."""
    c = float_columns(frame, FLEET_INPUTS)
    c["edge"] = (frame["placement"] == "edge").to_numpy()
    c["on_prem"] = (frame["pricing_mode"] == "on_prem").to_numpy()
    c["is_llm"] = frame["is_llm"].to_numpy(dtype=bool)
    c["feasible"] = frame["feasible"].to_numpy(dtype=bool)
    return c


def fixed_fleet(c: Mapping[str, np.ndarray], spec: InferenceSpec):
    """Rows whose fleet is given rather than sized, and its replicas: ``edge_devices`` user
    devices on edge rows; a known data-centre system of ``devices`` devices elsewhere, as
    devices ÷ devices per replica (NaN where that is not a whole number)."""
    edge = np.asarray(c["edge"], dtype=bool)
    fixed = edge & (spec.edge_devices is not None)
    units = np.full(np.shape(edge), float(spec.edge_devices or 1))
    if spec.devices is not None:
        fixed = fixed | ~edge
        with np.errstate(divide="ignore", invalid="ignore"):
            replicas = spec.devices / np.asarray(c["devices_per_replica"], float)
        whole = np.isfinite(replicas) & (np.abs(replicas - np.round(replicas)) < 1e-9)
        units = np.where(edge, units, np.where(whole, np.round(replicas), np.nan))
    return fixed, units


def sized_units(c: Mapping[str, np.ndarray], spec: InferenceSpec, rate_per_s, base=None,
                lines=None, steps=None, ratio=None):
    """Replicas per row (NaN where no fleet meets the targets), their lines, the unloaded
    target ratio, and the fleet figures at ``rate_per_s`` (arrays of any broadcast shape).

    ``base`` (replicas, capacity per replica, rate) of a sized plan resizes that fleet in
    proportion to the capacity each row now needs instead of searching (the Monte Carlo's
    shortcut, exact at the plan's own inputs): the plan's replicas × (rate / capacity) ÷
    (its rate / its capacity), rounded up, then × 1.25 and × 2 where that misses a target;
    its figures are then the p95 ones alone (``figures``' ``p95_only``).
    ``lines``, ``steps``, ``ratio``: the rows' load curves, ``batching.step_lines`` and
    ``target_ratio`` where already computed.
    """
    lines = service_lines(c) if lines is None else lines
    steps = batching.step_lines(c) if steps is None else steps
    k = variability_factor(spec)
    worst, binding, achieved = target_ratio(spec, c, steps) if ratio is None else ratio
    edge = np.asarray(c["edge"], dtype=bool)
    fits = ~(edge & (np.asarray(c["devices_per_replica"]) > 1))
    ok_rows = (fits & np.asarray(c["feasible"], bool) & np.isfinite(c["batch_time_s"])
               & (c["batch_time_s"] > 0) & ~(worst > 1.0))
    c_ok = dict(c, batch_time_s=np.where(ok_rows, c["batch_time_s"], np.nan))
    fixed_edge, fixed_units = fixed_fleet(c, spec)
    set_edge = fixed_edge & np.isfinite(c["batch_time_s"])
    if base is None:
        units = min_replicas(c_ok, lines, rate_per_s, targets(spec), 1.0 - spec.headroom, k)
        units = np.where(set_edge, fixed_units, units)
        fig = figures(c, lines, units, rate_per_s, k, steps)
    else:
        units, fig = _resized(c_ok, lines, steps, rate_per_s, base, spec, k)
        units = np.where(set_edge, fixed_units, units)
        shape = np.shape(units)
        redo = np.nonzero(np.broadcast_to(set_edge, shape))
        if redo[0].size:
            sub = figures(_take(_figure_inputs(c), shape, redo), _take_lines(lines, shape, redo),
                          units[redo], _take(rate_per_s, shape, redo), k,
                          _take(steps, shape, redo), p95_only=True)
            for key, v in sub.items():
                fig[key][redo] = v
    meets = np.isfinite(units) & targets_met(
        fig, targets(spec), np.where(fixed_edge, 1.0, 1.0 - spec.headroom))
    if spec.devices is not None and all(v is None for v in targets(spec).values()):
        # a known system with no latency target may run at its full capacity (a batch
        # workload such as MLPerf Offline): busy all the time, no queue to bound
        meets = meets | (np.isfinite(units) & ~edge & np.isfinite(fig["mean_active"])
                         & (fig["utilisation"] <= 1.0 + 1e-9))
    return {"units": units, "lines": lines, "figures": fig, "meets": meets, "fits": fits,
            "worst": worst, "binding": binding, "achieved": achieved,
            "fixed_edge": fixed_edge}


def _take(v, shape, index, flat=None):
    """Elements ``index`` (a tuple of index arrays into ``shape``; ``flat``: the same as
    indices into the flattened shape, where known) of arrays that broadcast to ``shape`` (a
    dict or (intercept, slope) pairs of them alike), without broadcasting them out first."""
    if isinstance(v, Mapping):
        return {k: _take(x, shape, index, flat) for k, x in v.items()}
    if isinstance(v, tuple):
        return tuple(_take(x, shape, index, flat) for x in v)
    a = np.asarray(v)
    if a.ndim == 0:
        return v
    a = a.reshape((1,) * (len(shape) - a.ndim) + a.shape)
    wide = [n > 1 and step != 0 for n, step in zip(a.shape, a.strides, strict=True)]
    if sum(wide) <= 1:  # one value, or values along one axis (a broadcast view alike)
        lane = a[tuple(slice(None) if w else 0 for w in wide)]
        return (np.broadcast_to(lane, index[0].shape) if not any(wide)
                else lane.take(index[wide.index(True)]))
    if flat is not None and a.shape == tuple(shape) and a.flags.c_contiguous:
        return a.ravel().take(flat)  # (a 1-d take: a third of the time of a[index])
    return a[tuple(i if w else np.zeros_like(i) for i, w in zip(index, wide, strict=True))]


# The columns ``figures`` reads, given its step lines and load curves.
FIGURE_INPUTS = ("edge", "is_llm", "replica_concurrency", "batch_time_s", "network_rtt_s",
                 "output_tokens", "prompt_tokens", "prefill_chunk_tokens",
                 "engine_overhead_s_per_step")


def _figure_inputs(c):
    return {k: c[k] for k in FIGURE_INPUTS}


def _take_lines(lines, shape, index, flat=None):
    if isinstance(lines, batching.RowCurves):
        return lines._replace(rows=_take(lines.rows, shape, index, flat))
    k = lines[0].shape[-1]
    return tuple(np.broadcast_to(x, (*shape, k))[index] for x in lines)


def _resized(c, lines, steps, rate_per_s, base, spec: InferenceSpec, k):
    """The ``base`` fleet resized to this capacity and rate (see ``sized_units``), and its
    p95 figures (NaN where no trial meets the targets). Each larger trial is evaluated on
    the rows the smaller ones left open only."""
    units0, capacity0, rate0 = base
    goal = targets(spec)
    with np.errstate(divide="ignore", invalid="ignore"):
        capacity = batching.capacity_per_s(lines)
        need = np.ceil(units0 * (rate_per_s / capacity) / (rate0 / capacity0) - 1e-9)
        floor = np.ceil(rate_per_s / (capacity * (1.0 - spec.headroom)) * (1 - 1e-12))
    units = np.where(np.isfinite(c["batch_time_s"]), np.maximum(np.maximum(need, floor), 1.0),
                     np.nan)
    shape = np.shape(units)
    fig = {key: np.array(np.broadcast_to(v, shape), dtype=float) for key, v in
           figures(c, lines, units, rate_per_s, k, steps, p95_only=True).items()}
    ok = np.ascontiguousarray(targets_met(fig, goal, 1.0 - spec.headroom))
    out = np.where(ok, units, np.nan)
    for grow in (1.25, 2.0):
        # (flat indices: a 2-d nonzero and 2-d fancy indexing take several times longer)
        flat = np.flatnonzero(~ok & np.isfinite(units))
        if not flat.size:
            break
        index = np.unravel_index(flat, shape)
        trial = np.ceil(units.ravel()[flat] * grow)
        sub = figures(_take(_figure_inputs(c), shape, index, flat),
                      _take_lines(lines, shape, index, flat), trial,
                      _take(rate_per_s, shape, index, flat), k, _take(steps, shape, index, flat),
                      p95_only=True)
        hit = targets_met(sub, goal, 1.0 - spec.headroom)
        for key, v in sub.items():
            f = fig[key].reshape(-1)
            f[flat] = np.where(hit, v, f[flat])
        out.reshape(-1)[flat] = np.where(hit, trial, np.nan)
        ok.reshape(-1)[flat] = hit
    for key in fig:
        fig[key][~ok] = np.nan
    return out, fig
