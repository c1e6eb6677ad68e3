"""Predicted training time per grid row: the layout search for a device count or a deadline.

Rows with a transformer architecture get the fastest layout that fits memory
(``planner.model.layout_search``) and the time it takes (``planner.model.step_time``); the
model FLOPs utilisation follows. Rows without one (generic models, FLOPs only) and rows
whose utilisation is the user's or a calibration's use that utilisation directly. Wall time
is training time ÷ goodput (the share of wall time that trains).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.model import layout_search, parallelism

DEVICES, KNOWN_RUN = 0, 2  # training.TrainingMode codes (that module imports this one)
START_MFU = 0.4  # the deadline ladder's middle rung: devices at this MFU
LADDER = np.array([0.25, 0.5, 1.0, 2.0, 4.0, 8.0])  # device counts tried around it
FINE = np.linspace(0.125, 1.0, 8)  # between the last count missing the deadline and the first
LAYOUT_FIELDS = ("tp", "pp", "dp", "ep", "zero", "rc", "v")


# The search's per-row inputs: name in ``layout_search`` / ``step_time`` -> grid column.
ROW_COLUMNS = {
    "params": "params", "active_params": "active_params", "expert_params": "expert_params",
    "layers": "layers", "hidden": "hidden", "heads": "heads", "seq": "sequence_tokens",
    "vocab": "vocab", "experts": "experts", "experts_per_token": "experts_per_token",
    "tokens": "tokens", "batch_tokens": "global_batch_tokens",
    "attention_flops_per_token": "attention_flops_per_token",
    "peak_bf16": "mfu_reference_flops_per_s", "peak_linear": "peak_flops_per_s",
    "memory": "memory_bytes", "memory_bandwidth": "memory_bandwidth_bytes_per_s",
    "intra_bw": "intra_bw_bytes_per_s", "inter_bw": "inter_bw_bytes_per_s",
    "node": "scale_up_devices", "matmul_efficiency": "matmul_efficiency",
    "kernel_efficiency": "kernel_efficiency", "unfused": "attention_unfused",
    "stage_layers": "given_stage_layers", "routed_nodes": "routed_nodes_per_token",
    "dualpipe": "given_dualpipe", "fp8_gemm_measured": "fp8_gemm_measured",
    "hierarchical": "given_hierarchical", "tp_overlap": "given_tp_overlap",
}


def _rows(g: pd.DataFrame, idx: np.ndarray) -> dict[str, np.ndarray]:
    """The search's inputs of rows ``idx`` as float arrays (devices are added per count)."""
    r = {name: g[col].to_numpy(dtype=float)[idx] for name, col in ROW_COLUMNS.items()}
    r["fp8"] = (g["precision_used"].to_numpy() == "fp8")[idx].astype(float)
    return r


def unique_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, inverse): one row index per distinct row of a float matrix and, per row, its
    distinct row's position, so ``matrix[first][inverse]`` is ``matrix`` bit for bit.

    Rows are hashed (their float bits mixed column by column) and the hash groups checked
    against the rows themselves; on a collision the exact (slower) byte sort decides.
    """
    m = np.ascontiguousarray(matrix, dtype=float)
    bits = m.view(np.uint64)
    h = np.zeros(len(m), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(m.shape[1]):
            h = (h * np.uint64(0x100000001B3)) ^ bits[:, j]
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    if (bits[first][inverse] == bits).all():
        return first, inverse.ravel()
    rows = m.view(np.dtype((np.void, m.dtype.itemsize * m.shape[1]))).ravel()
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def _given_layouts(g: pd.DataFrame) -> dict | None:
    """The candidates a scenario's ``training.parallelism`` leaves (every row shares it): the
    fields it gives fixed, the others searched; None when it gives none."""
    names = {"tp": "given_tp", "pp": "given_pp", "zero": "given_zero", "rc": "given_rc",
             "ep": "given_ep", "v": "given_v"}
    if "given_tp" not in g or g[[*names.values(), "given_dp"]].isna().all().all():
        return None
    first = g.iloc[0]
    fixed = {k: int(first[c]) for k, c in names.items() if not np.isnan(first[c])}
    lay = parallelism.candidates(
        layers=np.unique(g["layers"].to_numpy(float)), heads=np.unique(g["heads"].to_numpy(float)),
        experts=np.unique(g["experts"].to_numpy(float)),
        max_tp=float(np.nanmax(g["scale_up_devices"].to_numpy(float))), fixed=fixed)
    if not np.isnan(first["given_dp"]):
        lay["dp"] = np.array([float(first["given_dp"])])
    return lay


def _round_devices(n, node):
    """Whole nodes above one node; powers of two below it."""
    n = np.maximum(np.asarray(n, dtype=float), 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        small = 2.0 ** np.ceil(np.log2(n))
        whole = np.ceil(n / node) * node
    node_ok = np.isfinite(node)
    return np.where(node_ok & (n > node), whole, np.where(node_ok, np.minimum(small, node),
                                                          small))


def predict(g: pd.DataFrame, k: dict) -> tuple[dict[str, np.ndarray], int, int]:
    """Devices, training seconds, layout and time shares per row; the (scenario row ×
    layout) cells searched, and the cells evaluated (distinct rows and counts only)."""
    n = len(g)
    mode = g["mode_code"].to_numpy()
    has_arch = g["has_architecture"].to_numpy(dtype=bool)
    given = g["devices_given"].to_numpy(dtype=float)
    flops = g["total_flops"].to_numpy(dtype=float)
    ref_peak = g["mfu_reference_flops_per_s"].to_numpy(dtype=float)
    deadline = g["deadline_s"].to_numpy(dtype=float) * g["goodput"].to_numpy(dtype=float)
    node = g["devices_per_host"].to_numpy(dtype=float)  # devices come in whole hosts
    layouts = _given_layouts(g)
    cells = 0
    out = {name: np.full(n, np.nan) for name in
           (*LAYOUT_FIELDS, "memory_bytes", "recompute_share", "compute_s", "tensor_s",
            "pipeline_s", "data_s",
            "expert_s", "bubble_s", "total_s", "min_memory_bytes")}
    out["devices"] = given.copy()
    out["any_valid"] = np.zeros(n, dtype=bool)
    searched = has_arch & (mode != KNOWN_RUN) & np.isfinite(ref_peak)
    if not searched.any():
        return out, cells, 0
    idx = np.flatnonzero(searched)
    base = _rows(g, idx)
    fixed = mode[idx] == DEVICES
    with np.errstate(over="ignore"):  # an absurd deadline gives inf: refused as non-finite
        start = flops[idx] / (ref_peak[idx] * START_MFU * deadline[idx])
    devices = np.where(fixed, given[idx], _round_devices(start, node[idx]))
    if layouts is not None and "dp" in layouts and not fixed.all():
        n_layout = float(layouts["tp"][0] * layouts["pp"][0] * layouts["dp"][0])
        devices = np.where(fixed, devices, n_layout)
        fixed = np.ones_like(fixed)
    # Rows the search cannot tell apart (a sweep's sites, prices, utilisations) are searched
    # once; the cell counts stay those of every scenario row.
    first, inverse = unique_rows(np.column_stack(
        [*base.values(), devices, fixed, deadline[idx], node[idx]]))
    unique = {name: v[first] for name, v in base.items()}
    if fixed.all():
        res, cells, evaluated = layout_search.search(
            {**unique, "devices": devices[first]}, k, layouts, nominal_rows=len(idx))
        found_devices = devices[first]
    else:
        res, found_devices, cells, evaluated = _deadline_search(
            unique, devices[first], fixed[first], deadline[idx][first], node[idx][first], k,
            layouts, len(idx))
    out["devices"][idx] = found_devices[inverse]
    for name in out:
        if name != "devices" and name in res:
            out[name][idx] = res[name][inverse]
    return out, cells, evaluated


class _Searched:
    """Layout-search results per (row, device count), each pair searched once across the
    deadline search's steps (a row's result does not depend on the other rows searched)."""

    def __init__(self, r: dict, k: dict, layouts, nominal: int):
        self.r, self.k, self.layouts, self.nominal = r, k, layouts, nominal
        self.keys = np.empty((0, 2))
        self.res: dict[str, np.ndarray] = {}
        self.cells = self.evaluated = 0

    def at(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        """Every row at each of its candidate device counts: (rows, counts) results. The
        cells counted are every scenario row's at every count, as searched one by one."""
        rows, width = counts.shape
        row_of = np.repeat(np.arange(rows), width)
        keys = np.column_stack([row_of, counts.ravel()])
        first, inverse = unique_rows(np.concatenate([self.keys, keys]))
        held = len(self.keys)
        slot = np.full(len(first), -1)
        slot[inverse[:held]] = np.arange(held)
        new = first[first >= held] - held  # first rows (of ``keys``) of pairs not held yet
        slot[inverse[held + new]] = held + np.arange(len(new))
        self.cells += self.nominal * width * layout_search.width(
            self.r, keys[:, 1], row_of, self.layouts)
        if len(new):
            pairs = {name: v[row_of[new]] for name, v in self.r.items()}
            pairs["devices"] = keys[new, 1]
            res, _, evaluated = layout_search.search(pairs, self.k, self.layouts)
            self.evaluated += evaluated
            self.res = res if not self.res else {
                name: np.concatenate([self.res[name], res[name]]) for name in res}
            self.keys = np.concatenate([self.keys, keys[new]])
        at = slot[inverse[held:]]
        return {name: v[at].reshape(rows, width) for name, v in self.res.items()}


def _deadline_search(r, start, fixed, deadline, node, k, layouts, nominal):
    """Fewest devices meeting the deadline: a doubling ladder, then a finer step below the
    first count that meets it. Where more devices stop helping (a global batch too small to
    spread) the fastest count is kept, and its time says the deadline is missed."""
    searched = _Searched(r, k, layouts, nominal)
    ladder = start[:, None] * LADDER[None, :]
    ladder = np.where(fixed[:, None], start[:, None], _round_devices(ladder, node[:, None]))
    res = searched.at(ladder)
    meets = res["total_s"] <= deadline[:, None]
    first = np.where(meets.any(axis=1), np.argmax(meets, axis=1),
                     np.nanargmin(np.where(np.isfinite(res["total_s"]), res["total_s"],
                                           np.inf), axis=1))
    rows = np.arange(len(start))
    chosen = ladder[rows, first]
    below = np.where(first > 0, ladder[rows, np.maximum(first - 1, 0)], chosen)
    with np.errstate(invalid="ignore"):  # inf - inf on an absurd deadline's row: NaN, refused
        fine = below[:, None] + (chosen - below)[:, None] * FINE[None, :]
    fine = np.where((meets.any(axis=1) & ~fixed)[:, None],
                    _round_devices(fine, node[:, None]), chosen[:, None])
    res2 = searched.at(fine)
    meets2 = res2["total_s"] <= deadline[:, None]
    pick = np.where(meets2.any(axis=1), np.argmax(meets2, axis=1), FINE.size - 1)
    best = {name: v[rows, pick] for name, v in res2.items()}
    devices = fine[rows, pick]
    # Last, scale by time over deadline to whole hosts: a run then takes about the deadline.
    closer = np.where(~fixed & np.isfinite(best["total_s"]) & (best["total_s"] <= deadline),
                      _round_devices(devices * best["total_s"] / deadline, node), devices)
    res3 = {name: v[:, 0] for name, v in searched.at(closer[:, None]).items()}
    take = (res3["total_s"] <= deadline) & (closer < devices)
    best = {name: np.where(take, res3[name], v) for name, v in best.items()}
    return best, np.where(take, closer, devices), searched.cells, searched.evaluated


def shares(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Compute, communication and bubble shares of training time (they sum to 1)."""
    total = p["total_s"]
    comm = p["tensor_s"] + p["pipeline_s"] + p["data_s"] + p["expert_s"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"compute_share": p["compute_s"] / total,
                "communication_share": comm / total,
                "bubble_share": p["bubble_s"] / total}


def layout_text(p: dict[str, np.ndarray], has_arch: np.ndarray, devices) -> np.ndarray:
    """The chosen layout per row, or how a row without an architecture is spread (an object
    array; each distinct layout is written once, however many rows share it)."""
    devices = np.asarray(devices, dtype=float)
    fields = [p[name] for name in ("tp", "pp", "dp", "ep", "zero", "rc", "v")]
    first, inverse = unique_rows(np.column_stack(
        [*fields, devices, p["recompute_share"], np.asarray(has_arch, dtype=float)]))
    text = parallelism.describe(*(f[first] for f in fields), devices[first],
                                p["recompute_share"][first])
    out = np.empty(len(first), dtype=object)
    for i, (t, arch, d) in enumerate(zip(text, np.asarray(has_arch)[first], devices[first],
                                         strict=True)):
        if t:
            out[i] = t
        elif not arch and np.isfinite(d):
            out[i] = f"data parallel over {d:,.0f} (no transformer architecture)"
        else:
            out[i] = ""
    return out[inverse]
