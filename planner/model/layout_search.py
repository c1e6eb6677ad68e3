"""The fastest parallel layout that fits memory, for many runs at once.

Every run (row) is evaluated against every candidate layout as one (rows × layouts) numpy
block (``planner.model.parallelism`` for validity and memory, ``planner.model.step_time`` for
time); the fastest valid, fitting layout of each row is kept. Blocks are cut to a bounded
number of cells so memory stays bounded on large sweeps.
"""

from __future__ import annotations

import numpy as np

from planner.model import parallelism, step_time

MAX_CELLS = 250_000  # (rows × layouts) per block: about 2 MB per temporary array
RESULT_FIELDS = ("tp", "pp", "v", "dp", "ep", "zero", "rc", "memory_bytes", "recompute_share",
                 "compute_s",
                 "tensor_s", "pipeline_s", "data_s", "expert_s", "bubble_s", "total_s")


def _block(r: dict, lay: dict, k: dict) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _evaluate(r, lay, k)


def _evaluate(r: dict, lay: dict, k: dict) -> dict[str, np.ndarray]:
    rr = {name: np.asarray(v)[:, None] for name, v in r.items()}
    dp = (np.broadcast_to(lay["dp"], (rr["devices"].shape[0], lay["tp"].shape[1])).astype(float)
          if "dp" in lay else parallelism.data_parallel(rr["devices"], lay["tp"], lay["pp"],
                                                        rr["batch_tokens"] / rr["seq"]))
    micro = rr["batch_tokens"] / (rr["seq"] * np.maximum(dp, 1.0))
    possible = parallelism.valid(rr, lay, dp, micro)
    memory, share = parallelism.memory_and_share(rr, lay, dp, micro)
    ok = possible & parallelism.fits(rr, memory)
    times = step_time.layout_times(rr, lay, dp, micro, k, share)
    total = np.where(ok & np.isfinite(times["total_s"]), times["total_s"], np.inf)
    best = np.argmin(total, axis=1)
    rows = np.arange(total.shape[0])
    found = np.isfinite(total[rows, best])
    out: dict[str, np.ndarray] = {}
    for name in ("tp", "pp", "v", "ep", "zero", "rc"):  # dp is set below
        out[name] = np.broadcast_to(lay[name], total.shape)[rows, best].astype(float)
    out["dp"] = np.broadcast_to(dp, total.shape)[rows, best]
    out["memory_bytes"] = np.broadcast_to(memory, total.shape)[rows, best]
    out["recompute_share"] = np.broadcast_to(share, total.shape)[rows, best]
    for name, values in times.items():
        out[name] = np.broadcast_to(values, total.shape)[rows, best]
    out["total_s"] = total[rows, best]
    # The smallest memory any valid layout needs: what to report when nothing fits.
    out["min_memory_bytes"] = np.min(np.where(possible, memory, np.inf), axis=1)
    for name in out:
        if name != "min_memory_bytes":
            out[name] = np.where(found, out[name], np.nan)
    out["found"] = found
    out["any_valid"] = np.isfinite(out["min_memory_bytes"])
    return out


def search(r: dict, k: dict, layouts: dict | None = None) -> tuple[dict[str, np.ndarray], int]:
    """Best layout per row and the number of (row × layout) cells evaluated.

    ``r``: per-row arrays (see ``training_rows``); ``k``: the performance constants;
    ``layouts``: a fixed candidate set (e.g. one user-given layout) instead of the search.
    """
    n = len(np.asarray(r["devices"]))
    if layouts is None:
        node = np.asarray(r["node"], dtype=float)
        layouts = parallelism.candidates(
            layers=np.unique(np.asarray(r["layers"])), heads=np.unique(np.asarray(r["heads"])),
            experts=np.unique(np.asarray(r["experts"])),
            max_tp=float(np.nanmax(np.minimum(node, np.asarray(r["devices"], dtype=float)))))
    lay = {name: np.asarray(v)[None, :] for name, v in layouts.items()}
    width = lay["tp"].shape[1]
    step = max(1, MAX_CELLS // width)
    parts = []
    for start in range(0, n, step):
        piece = {name: np.asarray(v)[start:start + step] for name, v in r.items()}
        parts.append(_block(piece, lay, k))
    if not parts:
        return {}, 0
    merged = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    return merged, n * width
