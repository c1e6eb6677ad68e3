"""Uncertainty: Monte Carlo over the key assumptions (utilisation, power, PUE, price, grid
intensity, traffic) with P10/P50/P90 results, and a sensitivity ranking of which assumption
moves each result most.

Each assumption carries a triangular range of factors of its baseline value (defaults with
sources in ``profiles/levers.yaml``; a scenario's ``uncertainty.ranges`` override them). A
draw multiplies every option's baseline figure by the same factor, so options stay comparable
within a draw. All draws are evaluated at once on (draws × options) arrays by the same
vectorised functions as the plan (``serving.replica_times_s``, ``queueing``,
``serving.year_of_service``): performance, fleet size, energy, carbon and cost are all
recomputed; the batch size and devices per replica stay at the plan's choice. With
autoscaling the hourly fleet follows the headroom rule alone inside the Monte Carlo.

Sensitivity is one-at-a-time (a tornado): each assumption at its low and its high factor with
the others at their mode, ranked by the swing of the result (Saltelli et al. 2008, Global
Sensitivity Analysis: The Primer, section 1.2.3); Spearman's rank correlation between each
factor and the result over the Monte Carlo draws is given beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.model import batching, fleet
from planner.model.footprint import RATE_COLUMNS, Rates, footprint
from planner.model.inference import replica_times_s
from planner.model.levers import LeverDefaults, load_lever_defaults
from planner.model.report import SENSITIVITY_COLUMNS
from planner.model.report import UNCERTAINTY_COLUMNS as SUMMARY_COLUMNS
from planner.model.scenario import UNCERTAIN_NAMES, InferenceSpec, UncertaintySpec
from planner.model.serving import (
    Traffic,
    fleet_inputs,
    hourly_replicas,
    resolve_traffic,
    sized_units,
    year_of_service,
)
from planner.model.training import TrainingMode

PERCENTILES = (10.0, 50.0, 90.0)
UTILISATION_LEVELS = 33
SERVING_METRICS = ("annual_cost_usd", "annual_energy_kwh", "annual_total_co2e_kg",
                   "annual_water_l", "fleet_devices", "fleet_latency_p95_s")
TRAINING_METRICS = ("cost_usd", "energy_kwh", "total_co2e_kg", "water_l")

Ranges = dict[str, tuple[float, float, float]]


def resolve_ranges(spec: UncertaintySpec | None, defaults: LeverDefaults) -> Ranges:
    """(low, mode, high) factors per assumption: the scenario's, else the sourced defaults."""
    out = {}
    for name in UNCERTAIN_NAMES:
        r = (spec.ranges.get(name) if spec is not None else None) or defaults.uncertainty[name]
        out[name] = (float(r.low), float(r.mode), float(r.high))
    return out


def draw_factors(ranges: Ranges, draws: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Independent triangular draws of every factor, shape (draws,)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in UNCERTAIN_NAMES:
        low, mode, high = ranges[name]
        out[name] = (np.full(draws, mode) if high <= low
                     else rng.triangular(low, mode, high, size=draws))
    return out


def one_at_a_time_factors(ranges: Ranges) -> dict[str, np.ndarray]:
    """2 × n cases: assumption i at its low then its high, every other at its mode."""
    names = list(UNCERTAIN_NAMES)
    out = {n: np.full(2 * len(names), ranges[n][1]) for n in names}
    for i, n in enumerate(names):
        out[n][2 * i], out[n][2 * i + 1] = ranges[n][0], ranges[n][2]
    return out


def _columns(table: pd.DataFrame, names) -> dict[str, np.ndarray]:
    return {k: table[k].to_numpy(dtype=float)[None, :] for k in names}


def serving_draws(table: pd.DataFrame, spec: InferenceSpec, traffic: Traffic,
                  factors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every serving metric for every draw × option (rows of a sized inference table): the
    plan's own functions (``replica_times_s``, ``sized_units``, ``year_of_service``) on
    arrays of draws × options."""
    base_c = fleet_inputs(table)
    c = {k: v[None, :] for k, v in base_c.items()}
    # Performance depends on a draw only through its utilisation factor: the replicas' step
    # lines, load curves, times and unloaded figures are computed at UTILISATION_LEVELS
    # levels of it (the baseline 1 among them), each draw takes its nearest level, and the
    # draws read their level's figures (the curves by row, not copied out per draw).
    f = np.asarray(factors["utilisation"], dtype=float)
    levels = np.unique(np.append(np.linspace(f.min(), f.max(), UTILISATION_LEVELS), 1.0))
    nearest = np.abs(f[:, None] - levels[None, :]).argmin(axis=1)
    fx = {k: v[:, None] for k, v in factors.items()}
    n_opt = len(table)

    def at(factor):
        return {**c, "utilisation": np.minimum(c["utilisation"] * factor, 1.0),
                "bandwidth_utilisation": np.minimum(c["bandwidth_utilisation"] * factor, 1.0)}

    lv = {k: np.broadcast_to(v, np.broadcast_shapes(np.shape(v), (len(levels), 1)))
          for k, v in at(levels[:, None]).items()}
    times = replica_times_s(lv)
    lv.update(times)
    lv_steps = batching.step_lines(lv)
    lv_ratio = fleet.target_ratio(spec, lv, lv_steps)
    n_k, rate_k = fleet.service_lines(lv)
    rows = nearest[:, None] * n_opt + np.arange(n_opt)[None, :]
    curves = batching.RowCurves(n_k.reshape(-1, n_k.shape[-1]),
                                rate_k.reshape(-1, rate_k.shape[-1]), rows)

    def per_draw(v):
        v = np.broadcast_to(v, (len(levels), n_opt))
        same = v == v[:1]
        if v.dtype.kind == "f":
            same |= np.isnan(v) & np.isnan(v[:1])
        if same.all():
            return v[:1]  # the same at every level (a figure the utilisation does not move)
        return np.take(v.ravel(), rows)

    c = dict(c)
    for name in ("utilisation", "bandwidth_utilisation", *times):
        c[name] = per_draw(lv[name])
    steps = {k: (per_draw(a), per_draw(b)) for k, (a, b) in lv_steps.items()}
    ratio = tuple(per_draw(v) for v in lv_ratio)
    for name in ("busy_power_w", "decode_power_w", "idle_power_w", "power_limit_w",
                 "host_power_w_per_device"):
        c[name] = c[name] * fx["power"]
    c["pue"] = np.where(c["edge"], 1.0, np.maximum(c["pue"] * fx["pue"], 1.0))
    c["price_usd_per_device_hour"] = c["price_usd_per_device_hour"] * fx["price"]
    c["purchase_price_usd"] = c["purchase_price_usd"] * fx["price"]
    c["carbon_intensity_g_per_kwh"] = c["carbon_intensity_g_per_kwh"] * fx["carbon_intensity"]
    # (the columns keep their own shapes, options × 1 or draws × options: a figure of the
    # option alone is computed once, not once per draw)
    lam = traffic.peak_requests_per_s * fx["traffic"]
    hourly = np.asarray(traffic.hourly_requests_per_s)[None, None, :] * fx["traffic"][..., None]
    base = tuple(table[k].to_numpy(dtype=float)[None, :] for k in (
        "fleet_replicas", "fleet_capacity_requests_per_s", "fleet_peak_requests_per_s"))
    s = sized_units(c, spec, lam, (base[0], base[1] / base[0], base[2]), lines=curves,
                    steps=steps, ratio=ratio)
    units = np.where(s["meets"], s["units"], np.nan)
    if spec.autoscaling:
        units_h = hourly_replicas(spec, c, units, hourly, exact=False, lines=s["lines"])
        y = year_of_service(c, units, units_h, hourly, lines=s["lines"], steps=steps)
    else:  # a fixed fleet: the day as its 24 hours at the fleet's peak size
        y = year_of_service(c, units, units[..., None], hourly, lines=s["lines"], steps=steps)
    out = {
        "annual_cost_usd": y["cost_usd"], "annual_energy_kwh": y["energy_kwh"],
        "annual_total_co2e_kg": y["total_co2e_kg"], "annual_water_l": y["water_l"],
        "fleet_devices": units * c["devices_per_replica"],
        "fleet_latency_p95_s": s["figures"]["latency_p95_s"],
    }
    result = {name: np.where(s["meets"], v, np.nan) for name, v in out.items()}
    result["meets_target"] = s["meets"]
    return result


def training_draws(table: pd.DataFrame, factors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Cost, energy and CO2e of each training option for every draw: device-hours scale with
    1 / utilisation (the work is fixed; a known run keeps its device-hours)."""
    c = _columns(table, ("device_hours", "busy_power_w", *RATE_COLUMNS))
    fx = {k: v[:, None] for k, v in factors.items()}
    known = (table["mode_code"].to_numpy() == TrainingMode.KNOWN_RUN)[None, :]
    device_hours = np.where(known, c["device_hours"], c["device_hours"] / fx["utilisation"])
    on_prem = (table["pricing_mode"] == "on_prem").to_numpy()[None, :]
    rates = Rates.from_columns({**c, "on_prem": on_prem}).with_values(
        pue=np.maximum(c["pue"] * fx["pue"], 1.0),
        carbon_intensity_g_per_kwh=c["carbon_intensity_g_per_kwh"] * fx["carbon_intensity"],
        price_usd_per_device_hour=c["price_usd_per_device_hour"] * fx["price"],
        purchase_price_usd=c["purchase_price_usd"] * fx["price"])
    fp = footprint(device_hours, c["busy_power_w"] * fx["power"], rates)
    return {"cost_usd": fp.cost_usd, "energy_kwh": fp.energy_kwh,
            "total_co2e_kg": fp.total_co2e_kg, "water_l": fp.water_l,
            "meets_target": np.isfinite(device_hours)}


def _ranks(a: np.ndarray) -> np.ndarray:
    """Ranks along the first axis (ties broken by order; continuous draws have none)."""
    r = np.empty_like(a, dtype=float)
    np.put_along_axis(r, np.argsort(a, axis=0),
                      np.arange(a.shape[0], dtype=float).reshape(-1, *(1,) * (a.ndim - 1)),
                      axis=0)
    return r


def _sorted_summary(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From one sort of each column (draws × options): P10/P50/P90 over its finite draws
    (linear interpolation, as ``np.nanpercentile``), their mean, and the ranks of every draw
    (missing ones last), for ``spearman_rho``. A column with no finite draw is not sorted
    (its percentiles and mean are NaN; its ranks, 0…n−1, are never read)."""
    n, n_opt = values.shape
    finite = np.isfinite(values)
    m = finite.sum(axis=0)
    has = m > 0
    cols = np.flatnonzero(has)
    # each column sorted as one contiguous lane (the same sort, so the same order of ties)
    lanes = np.ascontiguousarray(np.where(finite, values, np.nan).T[cols])
    order = np.argsort(lanes, axis=1)  # NaN sorts last
    ranks_t = np.broadcast_to(np.arange(n, dtype=float), (n_opt, n)).copy()
    ranks_t[cols[:, None], order] = np.arange(n, dtype=float)
    ordered = np.take_along_axis(lanes, order, axis=1)
    pct = np.full((len(PERCENTILES), n_opt), np.nan)
    last = np.maximum(m[cols] - 1, 0)
    at = np.arange(cols.size)
    for i, q in enumerate(PERCENTILES):
        pos = q / 100.0 * last
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, last)
        a, b = ordered[at, lo], ordered[at, hi]
        pct[i, cols] = a + (b - a) * (pos - lo)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(has, np.where(finite, values, 0.0).sum(axis=0) / m, np.nan)
    return pct, mean, ranks_t.T


def spearman_rho(factor_ranks: np.ndarray, y: np.ndarray,
                 y_ranks: np.ndarray | None = None) -> np.ndarray:
    """Spearman's rho of each factor (draws × assumptions, already ranked 0…n−1) with each
    option's result (draws × options), as the Pearson correlation of ranks: (assumptions ×
    options). Options whose result is missing in some draws are ranked over the draws that
    have one.

    All at once, with no sort per option: without ties the ranks of m draws are 0…m−1, so
    their mean (m−1)/2 and variance (m²−1)/12 are known; a factor's ranks within an option's
    finite draws are a running count of those draws in the factor's order; and a result's
    ranks over all draws are its ranks within the finite ones (NaN sorts last). ``y_ranks``:
    those ranks, when already computed."""
    n, n_a = factor_ranks.shape
    finite = np.isfinite(y)
    m = finite.sum(axis=0).astype(float)  # (options,)
    order = np.empty((n, n_a), dtype=np.intp)  # order[r, k]: the draw of rank r in factor k
    np.put_along_axis(order, factor_ranks.astype(np.intp), np.arange(n)[:, None], axis=0)
    ry = np.where(finite, _ranks(y) if y_ranks is None else y_ranks, 0.0)
    mu = (m - 1.0) / 2.0
    var = (m * m - 1.0) / 12.0
    out = np.empty((n_a, y.shape[1]))
    whole = m == n
    # every draw: the factor's own ranks. einsum, not BLAS: a threaded BLAS spends more
    # time starting its threads than this (assumptions × draws × options) product takes.
    out[:, whole] = np.einsum("ik,ij->kj", factor_ranks, ry[:, whole])
    part = np.flatnonzero(~whole & (m > 2))  # (m ≤ 2: no correlation, NaN)
    if part.size:
        fin, rp = finite[:, part], ry[:, part]
        for k in range(n_a):  # a handful of assumptions; each step is (draws × options)
            mask = fin[order[:, k]]
            rx = np.cumsum(mask, axis=0, dtype=np.int32)  # 1 + rank within the finite draws
            out[k, part] = (mask * (rx - 1.0) * rp[order[:, k]]).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (out - m * mu * mu) / (m * var)
    return np.where(m > 2, rho, np.nan)


def _section_tables(phase: str, ids: list[str], baseline: pd.DataFrame, metrics,
                    mc: dict[str, np.ndarray], oat: dict[str, np.ndarray],
                    factors: dict[str, np.ndarray], ranges: Ranges, sources: dict[str, str]):
    names = list(UNCERTAIN_NAMES)
    n_opt, n_a = len(ids), len(names)
    factor_ranks = _ranks(np.column_stack([factors[n] for n in names]))
    summary: dict[str, list] = {c: [] for c in SUMMARY_COLUMNS}
    sens: dict[str, list] = {c: [] for c in SENSITIVITY_COLUMNS}
    share = mc["meets_target"].mean(axis=0)
    for metric in metrics:
        values = mc[metric]
        pct, mean, value_ranks = _sorted_summary(values)
        base = baseline[metric].to_numpy(dtype=float)
        for col, v in (("phase", [phase] * n_opt), ("hardware_id", ids),
                       ("metric", [metric] * n_opt), ("baseline", base), ("p10", pct[0]),
                       ("p50", pct[1]), ("p90", pct[2]), ("mean", mean),
                       ("draws", [values.shape[0]] * n_opt),
                       ("draws_meeting_target_share", share),
                       ("note", np.where(np.isnan(base), "no baseline figure: see the plan's "
                                         "basis and reason columns", ""))):
            summary[col].extend(v)
        lo, hi = oat[metric][0::2], oat[metric][1::2]  # (assumptions, options)
        with np.errstate(all="ignore"):
            swing = np.abs(hi - lo) / np.abs(base)[None, :]
        # An assumption whose low or high end breaks the target moves the result most of all.
        breaks = np.isfinite(base)[None, :] & (np.isnan(lo) | np.isnan(hi))
        order = np.where(breaks, np.inf, np.nan_to_num(swing, nan=-1.0))
        rank = pd.DataFrame(order).rank(axis=0, ascending=False, method="first").to_numpy()
        end = np.where(np.isnan(lo), "low", "high")
        note = np.where(breaks, "the target is missed at the " + end + " factor", "")
        rho = spearman_rho(factor_ranks, values, value_ranks)
        for col, v in (("phase", [phase] * n_opt * n_a), ("hardware_id", ids * n_a),
                       ("metric", [metric] * n_opt * n_a),
                       ("assumption", np.repeat(names, n_opt)), ("rank", rank.ravel()),
                       ("low_factor", np.repeat([ranges[n][0] for n in names], n_opt)),
                       ("high_factor", np.repeat([ranges[n][2] for n in names], n_opt)),
                       ("result_at_low", lo.ravel()), ("result_at_high", hi.ravel()),
                       ("swing_fraction", swing.ravel()), ("spearman_rho", rho.ravel()),
                       ("source", np.repeat([sources[n] for n in names], n_opt)),
                       ("note", note.ravel())):
            sens[col].extend(v)
    return [pd.DataFrame(summary)], [pd.DataFrame(sens)]


@dataclass(frozen=True)
class UncertaintyResult:
    """Percentiles, sensitivity ranking, and the raw draws (metric → draws × options)."""

    summary: pd.DataFrame
    sensitivity: pd.DataFrame
    draws: dict[str, np.ndarray]
    factors: dict[str, np.ndarray]
    options: dict[str, list[str]]


def plan_uncertainty(spec: UncertaintySpec | None, inference_spec: InferenceSpec | None,
                     training: pd.DataFrame | None, inference: pd.DataFrame | None,
                     defaults: LeverDefaults | None = None) -> UncertaintyResult:
    """P10/P50/P90 and sensitivity of the serving year (with traffic) and the training run,
    for every option the plan found feasible."""
    d = defaults or load_lever_defaults()
    ranges = resolve_ranges(spec, d)
    n, seed = (spec.draws, spec.seed) if spec is not None else (10_000, 0)
    factors = draw_factors(ranges, n, seed)
    oat_factors = one_at_a_time_factors(ranges)
    sources = {name: d.cite(d.uncertainty[name].source) for name in UNCERTAIN_NAMES}
    summary, sensitivity, raw, options = [], [], {}, {}
    traffic = resolve_traffic(inference_spec) if inference_spec is not None else None
    if inference is not None and traffic is not None:
        rows = inference[inference["feasible"].astype(bool)].reset_index(drop=True)
        if len(rows):
            ids = rows["hardware_id"].tolist()
            mc = serving_draws(rows, inference_spec, traffic, factors)
            oat = serving_draws(rows, inference_spec, traffic, oat_factors)
            s, t = _section_tables("serving", ids, rows, SERVING_METRICS, mc, oat, factors,
                                   ranges, sources)
            summary += s
            sensitivity += t
            raw.update({f"serving.{k}": v for k, v in mc.items() if k != "meets_target"})
            options["serving"] = ids
    if training is not None:
        rows = training[training["feasible"].astype(bool)].reset_index(drop=True)
        if len(rows):
            ids = rows["hardware_id"].tolist()
            mc = training_draws(rows, factors)
            oat = training_draws(rows, oat_factors)
            s, t = _section_tables("training", ids, rows, TRAINING_METRICS, mc, oat, factors,
                                   ranges, sources)
            summary += s
            sensitivity += t
            raw.update({f"training.{k}": v for k, v in mc.items() if k != "meets_target"})
            options["training"] = ids
    summary_frame = (pd.concat(summary, ignore_index=True) if summary
                     else pd.DataFrame(columns=SUMMARY_COLUMNS))
    sens_frame = (pd.concat(sensitivity, ignore_index=True).sort_values(
        ["phase", "hardware_id", "metric", "rank"], kind="stable").reset_index(drop=True)
        if sensitivity else pd.DataFrame(columns=SENSITIVITY_COLUMNS))
    return UncertaintyResult(summary_frame[SUMMARY_COLUMNS], sens_frame[SENSITIVITY_COLUMNS],
                             raw, factors, options)
