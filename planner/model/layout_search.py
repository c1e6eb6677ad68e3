"""The fastest parallel layout that fits memory, for many runs at once.

Every run (row) is evaluated against every candidate layout in one numpy pass
(``planner.model.parallelism`` for validity and memory, ``planner.model.step_time`` for
time); the fastest valid, fitting layout of each row is kept.

The candidates are laid out as the product of their per-axis choices, one array axis per
layout field (tp × pp × v × zero × recompute × ep × rows), with a mask of the product's cells
that are candidates. The physics is elementwise, so numpy broadcasting evaluates each term
only over the axes it depends on (the matrix-size factor over tp × rows, memory over every
axis but v, ...) and only the last sums span the whole product. Rows are the last axis so
numpy's inner loops run along them rather than along a 2- or 4-choice layout axis. In C
order the product's layouts are in ``parallelism.candidates``' order, so ties go to the same
layout as a flat (rows × layouts) search. Blocks are cut to a bounded number of cells so
memory stays bounded on large sweeps.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from planner.model import parallelism, step_time

MAX_CELLS = 250_000  # (rows × product cells) per block: about 2 MB per full temporary array
AXES = ("tp", "pp", "v", "zero", "rc", "ep")  # parallelism.candidates' product order
RESULT_FIELDS = ("tp", "pp", "v", "dp", "ep", "zero", "rc", "memory_bytes", "recompute_share",
                 "compute_s",
                 "tensor_s", "pipeline_s", "data_s", "expert_s", "bubble_s", "total_s")


def product_axes(layouts: dict) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``layouts`` (columns keyed tp, pp, v, zero, rc, ep; optionally one dp) as one array per
    field along its own axis of a 7-d product (the last axis: rows), and the
    (T, P, V, Z, C, E, 1) mask of the cells that are layouts of ``layouts``."""
    values = {name: np.unique(np.asarray(layouts[name])) for name in AXES}
    shape = tuple(len(values[name]) for name in AXES)
    keep = np.zeros(shape, dtype=bool)
    keep[tuple(np.searchsorted(values[name], np.asarray(layouts[name])) for name in AXES)] = True
    lay = {}
    for axis, name in enumerate(AXES):
        dims = [1] * (len(AXES) + 1)
        dims[axis] = shape[axis]
        lay[name] = values[name].reshape(dims)
    if "dp" in layouts:  # a user's layout: its data-parallel ranks, one for every candidate
        dp = np.asarray(layouts["dp"], dtype=float)
        if dp.size != 1:
            raise ValueError("a given dp is one number")
        lay["dp"] = dp.reshape([1] * (len(AXES) + 1))
    return lay, keep[..., None]


@lru_cache(maxsize=64)
def _searched(layers: tuple, heads: tuple, experts: tuple, max_tp: float):
    """``product_axes`` of ``parallelism.candidates`` for these runs (a pure function of its
    arguments, kept: building the candidates costs more than searching a small plan)."""
    lay, keep = product_axes(parallelism.candidates(
        layers=np.array(layers), heads=np.array(heads), experts=np.array(experts),
        max_tp=max_tp))
    for a in (*lay.values(), keep):
        a.flags.writeable = False
    return lay, keep


def _pick(values, rows: np.ndarray, index: tuple[np.ndarray, ...]) -> np.ndarray:
    """``values`` (broadcastable to product × rows) at one product cell per row."""
    a = np.asarray(values)
    a = a.reshape((1,) * (len(index) + 1 - a.ndim) + a.shape)
    key = tuple(ix if a.shape[axis] > 1 else 0 for axis, ix in enumerate((*index, rows)))
    return np.broadcast_to(a[key], rows.shape)


V_AXIS = AXES.index("v")


def _block(r: dict, lay: dict, keep: np.ndarray, k: dict) -> dict[str, np.ndarray]:
    """The best layout per row: the plain (v = 1) and interleaved (v > 1) candidates apart,
    since their data-parallel replicas differ (``parallelism.data_parallel``) and within
    each part they depend on tp and pp only; the faster wins, the plain one on a tie (it
    comes first in the candidates' order)."""
    v = lay["v"].reshape(-1)
    parts = []
    for interleaved in (False, True):
        on = (v > 1) if interleaved else (v <= 1)
        if not on.any():
            continue
        sub = {**lay, "v": np.compress(on, lay["v"], axis=V_AXIS)}
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            parts.append(_evaluate(r, sub, np.compress(on, keep, axis=V_AXIS), k,
                                   interleaved))
    if len(parts) == 1:
        return parts[0]
    plain, inter = parts
    better = inter["total_s"] < np.where(plain["found"], plain["total_s"], np.inf)
    out = {name: np.where(better, inter[name], plain[name]) for name in plain}
    out["min_memory_bytes"] = np.minimum(plain["min_memory_bytes"], inter["min_memory_bytes"])
    out["any_valid"] = plain["any_valid"] | inter["any_valid"]
    return out


def _evaluate(r: dict, lay: dict, keep: np.ndarray, k: dict,
              interleaved: bool = False) -> dict[str, np.ndarray]:
    n = len(np.asarray(r["devices"]))
    rr = {name: np.asarray(v).reshape((1,) * len(AXES) + (n,)) for name, v in r.items()}
    dp = (lay["dp"] if "dp" in lay else
          parallelism.data_parallel(rr["devices"], lay["tp"], lay["pp"],
                                    rr["batch_tokens"] / rr["seq"], interleaved))
    micro = rr["batch_tokens"] / (rr["seq"] * np.maximum(dp, 1.0))
    possible = parallelism.valid(rr, lay, dp, micro) & keep
    memory, share, gathers = parallelism.zero3_micro_batches(rr, lay, dp, micro)
    ok = possible & parallelism.fits(rr, memory)
    times = step_time.layout_times(rr, lay, dp, micro, k, share, gathers)
    shape = (*keep.shape[:-1], n)
    total = np.broadcast_to(np.where(ok & np.isfinite(times["total_s"]), times["total_s"],
                                     np.inf), shape).reshape(-1, n)
    best = np.argmin(total, axis=0)  # the first fastest in candidates' order
    rows = np.arange(n)
    index = np.unravel_index(best, keep.shape[:-1])
    found = np.isfinite(total[best, rows])
    out: dict[str, np.ndarray] = {}
    for name in ("tp", "pp", "v", "ep", "zero", "rc"):  # dp is set below
        out[name] = _pick(lay[name], rows, index).astype(float)
    out["dp"] = _pick(dp, rows, index)
    out["memory_bytes"] = _pick(memory, rows, index)
    out["recompute_share"] = _pick(share, rows, index)
    for name, values in times.items():
        out[name] = _pick(values, rows, index)
    out["total_s"] = total[best, rows]
    # The smallest memory any valid layout needs: what to report when nothing fits.
    out["min_memory_bytes"] = np.min(np.broadcast_to(np.where(possible, memory, np.inf), shape)
                                     .reshape(-1, n), axis=0)
    for name in out:
        if name != "min_memory_bytes":
            out[name] = np.where(found, out[name], np.nan)
    out["found"] = found
    out["any_valid"] = np.isfinite(out["min_memory_bytes"])
    return out


def width(r: dict, devices: np.ndarray, rows: np.ndarray, layouts: dict | None = None) -> int:
    """How many layouts ``search`` tries for rows ``rows`` of ``r`` at ``devices``."""
    if layouts is not None:
        return len(np.asarray(layouts["tp"]))
    node = np.asarray(r["node"], dtype=float)[rows]
    return int(_candidates_of(r, node, devices)[1].sum())


def _candidates_of(r: dict, node: np.ndarray, devices: np.ndarray):
    return _searched(
        tuple(np.unique(np.asarray(r["layers"])).tolist()),
        tuple(np.unique(np.asarray(r["heads"])).tolist()),
        tuple(np.unique(np.asarray(r["experts"])).tolist()),
        float(np.nanmax(np.minimum(node, np.asarray(devices, dtype=float)))))


def search(r: dict, k: dict, layouts: dict | None = None, nominal_rows: int | None = None
           ) -> tuple[dict[str, np.ndarray], int, int]:
    """Best layout per row, the number of (row × layout) cells searched and the number of
    (row × layout) cells evaluated (the rows given: after deduplication).

    ``r``: per-row arrays (see ``training_perf``); ``k``: the performance constants;
    ``layouts``: a fixed candidate set (e.g. one user-given layout) instead of the search;
    ``nominal_rows``: the scenario rows these (deduplicated) rows stand for, which the cell
    count is of (default: the rows given).
    """
    n = len(np.asarray(r["devices"]))
    if layouts is None:
        lay, keep = _candidates_of(r, np.asarray(r["node"], dtype=float), r["devices"])
    else:
        lay, keep = product_axes(layouts)
    width = int(keep.sum())
    step = max(1, MAX_CELLS // keep.size)
    parts = []
    for start in range(0, n, step):
        piece = {name: np.asarray(v)[start:start + step] for name, v in r.items()}
        parts.append(_block(piece, lay, keep, k))
    if not parts:
        return {}, 0, 0
    merged = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]} \
        if len(parts) > 1 else parts[0]
    return merged, (n if nominal_rows is None else nominal_rows) * width, n * width
