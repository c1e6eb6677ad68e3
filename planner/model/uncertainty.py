"""Uncertainty: Monte Carlo over the key assumptions (utilisation, power, PUE, price, grid
intensity, traffic, training time) with P10/P50/P90 results, and a sensitivity ranking of
which assumption moves each result most.

Each assumption carries a triangular range of factors of its baseline value (defaults with
sources in ``profiles/levers.yaml``; a scenario's ``uncertainty.ranges`` override them). A
draw multiplies every option's baseline figure by the same factor, so options stay comparable
within a draw. All draws are evaluated at once on (draws × options) arrays by the same
vectorised functions as the plan (``serving.replica_times_s``, ``queueing``,
``service_year.year_of_service``): performance, fleet size, energy, carbon and cost are all
recomputed; the batch size and devices per replica stay at the plan's choice. With
autoscaling the hourly fleet follows the headroom rule alone inside the Monte Carlo.

Training reads its own factor, ``training_time``, not the utilisation: a planned run's
device-hours multiply by it. Its range is fitted, not assumed: P5 to P95 of published ÷
predicted device-hours over the validation's held-out and blind runs (README, Uncertainty).
Each phase draws on the assumptions that apply to it (``PHASE_ASSUMPTIONS``).

Sensitivity is one-at-a-time (a tornado): each assumption at its low and its high factor with
the others at their mode, ranked by the swing of the result (Saltelli et al. 2008, Global
Sensitivity Analysis: The Primer, section 1.2.3); Spearman's rank correlation between each
factor and the result over the Monte Carlo draws is given beside it.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.model import batching, fleet, memo
from planner.model.draw_statistics import rank_order, ranks
from planner.model.draw_threads import in_parallel, keep_freed_memory, serial, started, workers
from planner.model.footprint import RATE_COLUMNS, Rates, footprint
from planner.model.inference import replica_times_s
from planner.model.levers import LeverDefaults, load_lever_defaults
from planner.model.report import SENSITIVITY_COLUMNS
from planner.model.report import UNCERTAINTY_COLUMNS as SUMMARY_COLUMNS
from planner.model.scenario import UNCERTAIN_NAMES, InferenceSpec, UncertaintySpec
from planner.model.service_year import year_of_service
from planner.model.serving import (
    Traffic,
    fleet_inputs,
    hourly_replicas,
    resolve_traffic,
    sized_units,
)
from planner.model.training import TrainingMode
from planner.model.uncertainty_tables import frame, section_tables

UTILISATION_LEVELS = 33
SERVING_METRICS = ("annual_cost_usd", "annual_energy_kwh", "annual_total_co2e_kg",
                   "annual_water_l", "fleet_devices", "fleet_latency_p95_s")
TRAINING_METRICS = ("cost_usd", "energy_kwh", "total_co2e_kg", "water_l")
# Factors of the site and the prices: only the year's footprint reads them (not the sizing)
SITE_FACTORS = ("pue", "price", "carbon_intensity")
# The assumptions each phase's draws and sensitivity read: serving the utilisation (its
# performance), training its fitted training_time (device-hours) instead. (Traffic stays listed
# for training, where it moves nothing, as it was.)
PHASE_ASSUMPTIONS = {
    "serving": tuple(n for n in UNCERTAIN_NAMES if n != "training_time"),
    "training": tuple(n for n in UNCERTAIN_NAMES if n != "utilisation"),
}

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


def one_at_a_time_factors(ranges: Ranges, names=UNCERTAIN_NAMES) -> dict[str, np.ndarray]:
    """2 × n cases: assumption i of ``names`` at its low then its high, every other at its
    mode."""
    names = list(names)
    out = {n: np.full(2 * len(names), ranges[n][1]) for n in names}
    for i, n in enumerate(names):
        out[n][2 * i], out[n][2 * i + 1] = ranges[n][0], ranges[n][2]
    return out


def _columns(table: pd.DataFrame, names) -> dict[str, np.ndarray]:
    return {k: table[k].to_numpy(dtype=float)[None, :] for k in names}


# Draw × option evaluations held at once: a chunk of draws × the options (CHUNK_DRAWS draws
# of 35 options: arrays that stay in the caches), and the most a Monte Carlo runs (with its
# percentiles and ranks then up to about 0.3 GB and 2–3 s of CPU: 10⁶ draws of one option).
CHUNK_EVALUATIONS = 72_000
MAX_EVALUATIONS = 1_000_000
# Below this many draw × option evaluations the Monte Carlo runs on the caller's thread alone
# (``draw_threads.serial``): handing a small one to the threads costs more than it gains
# (measured on the 2-core machine, 2026-12-01; README, Speed).
THREADS_FROM_EVALUATIONS = 100_000


def serving_draws(table: pd.DataFrame, spec: InferenceSpec, traffic: Traffic,
                  factors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every serving metric for every draw × option (rows of a sized inference table): the
    plan's own functions (``replica_times_s``, ``sized_units``, ``year_of_service``) on
    arrays of draws × options, about CHUNK_EVALUATIONS of them at a time (each draw is
    independent of the others, so the chunks only bound the arrays' size: the figures are
    those of one pass)."""
    return serving_draw_sets(table, spec, traffic, [factors])[0]


def serving_draw_sets(table: pd.DataFrame, spec: InferenceSpec, traffic: Traffic,
                      sets: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """``serving_draws`` of several sets of factors (the Monte Carlo's draws and the
    sensitivity's cases) in one pass: their draws end to end, each set reading the
    performance at its own utilisation levels (``_utilisation_levels``), so each set's
    figures are those it has alone."""
    names = list(sets[0])
    factors = {k: np.concatenate([np.asarray(f[k], dtype=float) for f in sets]) for k in names}
    levels = _utilisation_levels(table, spec, [np.asarray(f["utilisation"], dtype=float)
                                               for f in sets])
    n = len(factors["utilisation"])
    # chunks of at most CHUNK_EVALUATIONS, as many as a multiple of the threads (even shares)
    threads = workers()
    count = -(-n * max(len(table), 1) // CHUNK_EVALUATIONS)
    chunk = max(-(-n // (-(-count // threads) * threads)), 1)
    # the draws taken in order of their level (and put back in their own order at the end),
    # so a chunk reads each level's figures for a run of draws (``_serving_chunk``)
    by_level = np.argsort(levels.nearest, kind="stable")
    factors = {k: v[by_level] for k, v in factors.items()}
    nearest = levels.nearest[by_level]
    parts = in_parallel(lambda s: _serving_chunk(
        levels, spec, traffic, {k: v[s:s + chunk] for k, v in factors.items()},
        nearest[s:s + chunk]), range(0, n, chunk))
    back = np.empty_like(by_level)
    back[by_level] = np.arange(n)
    whole = {k: np.concatenate([p[k] for p in parts]).take(back, axis=0) for k in parts[0]}
    ends = np.cumsum([0] + [len(f["utilisation"]) for f in sets])
    return [{k: v[a:b] for k, v in whole.items()} for a, b in itertools.pairwise(ends)]


@dataclass(frozen=True)
class _Levels:
    """The options' performance at a few levels of the utilisation factor (``serving_draws``)."""

    table: pd.DataFrame
    columns: dict[str, np.ndarray]  # the options' own columns, shape (1, options)
    levels: np.ndarray  # the utilisation factors: each set's, ascending, end to end
    nearest: np.ndarray  # each draw's level (an index into ``levels``), the sets end to end
    at_level: dict[str, np.ndarray]  # figures the utilisation moves, shape (levels, options)
    steps: dict[str, tuple[np.ndarray, np.ndarray]]
    ratio: tuple[np.ndarray, np.ndarray, np.ndarray]
    curves: tuple[np.ndarray, np.ndarray]  # load curves, (levels · options, points)
    base: tuple[np.ndarray, np.ndarray, np.ndarray]  # the plan's replicas, capacity, rate
    key: tuple | None  # what the figures above follow from, less the site (``memo.draws``)


def _utilisation_levels(table: pd.DataFrame, spec: InferenceSpec,
                        sets: list[np.ndarray]) -> _Levels:
    """Performance depends on a draw only through its utilisation factor: the replicas' step
    lines, load curves, times and unloaded figures are computed at UTILISATION_LEVELS levels
    of it (the baseline 1 among them; the factors themselves where there are no more of
    them), each draw takes its nearest level, and the draws read their level's figures (the
    curves by row, not copied out per draw). ``sets``: the utilisation factors of each set
    of draws; each set has its own levels (all computed in one pass) and its draws take the
    nearest of those."""
    c = {k: v[None, :] for k, v in fleet_inputs(table).items()}
    own, nearest, offset = [], [], 0
    for f in sets:
        lv_f = np.unique(np.append(f, 1.0))
        if lv_f.size > UTILISATION_LEVELS + 1:
            lv_f = np.unique(np.append(np.linspace(f.min(), f.max(), UTILISATION_LEVELS), 1.0))
        own.append(lv_f)
        nearest.append(_nearest(f, lv_f) + offset)
        offset += lv_f.size
    levels = np.concatenate(own)
    lv = {**c, "utilisation": np.minimum(c["utilisation"] * levels[:, None], 1.0),
          "bandwidth_utilisation": np.minimum(c["bandwidth_utilisation"] * levels[:, None],
                                              1.0)}
    lv = {k: np.broadcast_to(v, np.broadcast_shapes(np.shape(v), (len(levels), 1)))
          for k, v in lv.items()}

    def performance():  # reads no site column: kept per the rest (``memo.draws``)
        steps = batching.step_lines(lv)  # (the times do not enter the step lines)
        times = replica_times_s(lv, lines=steps)
        lv.update(times)
        ratio = fleet.target_ratio(spec, lv, steps)
        n_k, rate_k = fleet.service_lines(lv, steps)
        curves = (n_k.reshape(-1, n_k.shape[-1]), rate_k.reshape(-1, rate_k.shape[-1]))
        at_level = {name: lv[name] for name in ("utilisation", "bandwidth_utilisation", *times)}
        return at_level, steps, ratio, curves

    key = (("levels", memo.arrays_digest(c), levels.tobytes(), spec.model_dump_json())
           if memo.enabled() else None)  # no key to hash when the memos are off
    at_level, steps, ratio, curves = memo.draws(key, performance)
    replicas, capacity, rate = (table[k].to_numpy(dtype=float)[None, :] for k in (
        "fleet_replicas", "fleet_capacity_requests_per_s", "fleet_peak_requests_per_s"))
    return _Levels(table, c, levels, np.concatenate(nearest), at_level, steps, ratio,
                   curves, (replicas, capacity / replicas, rate), key)


def _nearest(f: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Each factor's nearest level (``levels`` ascending; midway: the lower one, as
    ``np.abs(f − levels).argmin()`` takes it), by bisection."""
    above = np.clip(np.searchsorted(levels, f), 1, max(levels.size - 1, 1))
    if levels.size == 1:
        return np.zeros(f.shape, dtype=np.intp)
    below = above - 1
    return np.where(f - levels[below] <= levels[above] - f, below, above)


def _serving_chunk(lv: _Levels, spec: InferenceSpec, traffic: Traffic,
                   factors: dict[str, np.ndarray], nearest: np.ndarray) -> dict[str, np.ndarray]:
    """``serving_draws`` for one chunk of draws (``nearest``: each one's level)."""
    levels = lv.levels
    n_opt = len(lv.table)
    rows = nearest[:, None] * n_opt + np.arange(n_opt)[None, :]
    curves = batching.RowCurves(*lv.curves, rows)
    fx = {k: v[:, None] for k, v in factors.items()}
    first = int(nearest.min()) if nearest.size else 0
    runs = (np.bincount(nearest - first) if nearest.size and np.all(nearest[1:] >= nearest[:-1])
            else None)  # draws in order of their level: how many at each

    def per_draw(v):
        v = np.broadcast_to(v, (len(levels), n_opt))
        same = v == v[:1]
        if v.dtype.kind == "f":
            same |= np.isnan(v) & np.isnan(v[:1])
        if same.all():
            return v[:1]  # the same at every level (a figure the utilisation does not move)
        if runs is not None:  # each level's row repeated for its run of draws
            return np.repeat(v[first:first + runs.size], runs, axis=0)
        return np.take(v.ravel(), rows)

    c = dict(lv.columns)
    for name, v in lv.at_level.items():
        c[name] = per_draw(v)
    steps = {k: (per_draw(a), per_draw(b)) for k, (a, b) in lv.steps.items()}
    ratio = tuple(per_draw(v) for v in lv.ratio)
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

    def sizing():  # reads no site column or factor: kept per the rest (``memo.draws``)
        s = sized_units(c, spec, lam, lv.base, lines=curves, steps=steps, ratio=ratio)
        units = np.where(s["meets"], s["units"], np.nan)
        units_h = (hourly_replicas(spec, c, units, hourly, exact=False, lines=s["lines"])
                   if spec.autoscaling else None)
        return s, units, units_h

    # the site-free part of ``c`` follows from the levels, the rows each draw reads and the
    # draws' other factors; the plan's fleet (``base``) and the traffic are the rest
    key = None if lv.key is None else (
        "sizing", lv.key, memo.arrays_digest(dict(enumerate(lv.base)), site_free=False),
        memo.arrays_digest({k: v for k, v in factors.items() if k not in SITE_FACTORS},
                           site_free=False), nearest.tobytes(), repr(traffic))
    s, units, units_h = memo.draws(key, sizing)
    if spec.autoscaling:
        y = year_of_service(c, units, units_h, hourly, lines=s["lines"], steps=steps)
    else:  # a fixed fleet: the day as its 24 hours at the fleet's peak size
        y = year_of_service(c, units, units[..., None], hourly, lines=s["lines"], steps=steps)
    out = {
        "annual_cost_usd": y["cost_usd"], "annual_energy_kwh": y["energy_kwh"],
        "annual_total_co2e_kg": y["total_co2e_kg"], "annual_water_l": y["water_l"],
        "fleet_devices": units * c["devices_per_replica"],
        "fleet_latency_p95_s": s["figures"]["latency_p95_s"],
    }
    result = {name: _full(np.where(s["meets"], v, np.nan), units.shape)
              for name, v in out.items()}
    result["meets_target"] = _full(s["meets"], units.shape)
    return result


def _full(v: np.ndarray, shape) -> np.ndarray:
    """``v`` as a writable array of ``shape`` (draws × options)."""
    return v if np.shape(v) == shape else np.broadcast_to(v, shape).copy()


def training_draws(table: pd.DataFrame, factors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Cost, energy and CO2e of each training option for every draw: a planned run's
    device-hours multiply by the ``training_time`` factor (fitted on the validation's runs;
    a known run keeps its device-hours; the utilisation factor is not read)."""
    c = _columns(table, ("device_hours", "busy_power_w", *RATE_COLUMNS))
    fx = {k: v[:, None] for k, v in factors.items()}
    known = (table["mode_code"].to_numpy() == TrainingMode.KNOWN_RUN)[None, :]
    device_hours = np.where(known, c["device_hours"], c["device_hours"] * fx["training_time"])
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
    n, seed = (spec.draws, spec.seed) if spec is not None else (10_000, 0)
    serving = inference if inference_spec is not None else None  # (no traffic: no serving)
    feasible = {phase: table[table["feasible"].astype(bool)].reset_index(drop=True)
                for phase, table in (("serving", serving), ("training", training))
                if table is not None}
    evaluations = _check_size(n, {phase: len(rows) for phase, rows in feasible.items()})
    with serial(evaluations < THREADS_FROM_EVALUATIONS):
        keep_freed_memory()
        d = defaults or load_lever_defaults()
        ranges = resolve_ranges(spec, d)
        factors = draw_factors(ranges, n, seed)
        oat_factors = {phase: one_at_a_time_factors(ranges, names)
                       for phase, names in PHASE_ASSUMPTIONS.items()}
        sources = {name: d.cite(d.uncertainty[name].source) for name in UNCERTAIN_NAMES}
        factor_ranks = ranks(np.column_stack([factors[name] for name in UNCERTAIN_NAMES]))
        factor_order = rank_order(factor_ranks)
        # each phase's columns of them (a factor's ranks are its own: the same in any subset)
        columns = {phase: [UNCERTAIN_NAMES.index(name) for name in names]
                   for phase, names in PHASE_ASSUMPTIONS.items()}
        traffic = resolve_traffic(inference_spec) if inference_spec is not None else None

        def phase_draws(phase: str, rows: pd.DataFrame) -> tuple[dict, dict]:
            """A phase's draws and the sensitivity's cases (in the same pass)."""
            names = PHASE_ASSUMPTIONS[phase]
            mine = {k: factors[k] for k in names}
            if phase == "serving":
                mc, oat = serving_draw_sets(rows, inference_spec, traffic,
                                            [mine, oat_factors[phase]])
                return mc, oat
            both = training_draws(rows, {k: np.concatenate([mine[k], oat_factors[phase][k]])
                                         for k in names})
            return {k: v[:n] for k, v in both.items()}, {k: v[n:] for k, v in both.items()}

        def phase_tables(phase: str, rows: pd.DataFrame, metrics, drawn: tuple) -> tuple:
            mc, oat = drawn
            ids = rows["hardware_id"].tolist()
            cols = columns[phase]
            s, t = section_tables(phase, ids, rows, metrics, mc, oat, factor_ranks[:, cols],
                                  factor_order[:, cols], ranges, sources,
                                  PHASE_ASSUMPTIONS[phase])
            return s, t, {f"{phase}.{k}": v for k, v in mc.items() if k != "meets_target"}, ids

        phases = []
        if inference is not None and traffic is not None and len(feasible["serving"]):
            phases.append(("serving", feasible["serving"], SERVING_METRICS))
        if training is not None and len(feasible["training"]):
            phases.append(("training", feasible["training"], TRAINING_METRICS))
        # On the threads: the training draws (small) beside the serving levels, then the serving
        # chunks; then the training tables, queued before the serving statistics, so the cores
        # share the work of both phases.
        first, rest = phases[:1], phases[1:]
        drawn_later = {phase: started(functools.partial(phase_draws, phase, rows))
                       for phase, rows, _ in rest}
        drawn = {phase: phase_draws(phase, rows) for phase, rows, _ in first}
        later = {phase: started(functools.partial(phase_tables, phase, rows, metrics,
                                                  drawn_later[phase]()))
                 for phase, rows, metrics in rest}
        done = {phase: phase_tables(phase, rows, metrics, drawn[phase])
                for phase, rows, metrics in first}
        done.update({phase: result() for phase, result in later.items()})
        summary, sensitivity, raw, options = [], [], {}, {}
        for phase, _, _ in phases:
            s, t, r, ids = done[phase]
            summary.append(s)
            sensitivity.append(t)
            raw.update(r)
            options[phase] = ids
        # one frame of each, built once (the sensitivity by phase, option, metric and rank)
        return UncertaintyResult(frame(summary, SUMMARY_COLUMNS),
                                 frame(sensitivity, SENSITIVITY_COLUMNS), raw, factors, options)


def _check_size(draws: int, options: dict[str, int]) -> int:
    """The draw × option evaluations of a Monte Carlo; refused beyond MAX_EVALUATIONS (its
    time and memory grow with them), naming the most draws these options allow."""
    total = sum(options.values())
    if draws * total <= MAX_EVALUATIONS:
        return draws * total
    which = " + ".join(f"{k} {v:,}" for k, v in options.items() if v)
    raise ScenarioError(
        f"uncertainty.draws (Monte Carlo draws): {draws:,} draws × {total:,} options "
        f"({which}) is {draws * total:,} evaluations, more than the {MAX_EVALUATIONS:,} a "
        f"Monte Carlo runs; use at most {MAX_EVALUATIONS // total:,} draws, or fewer devices")
