"""A model's whole life: training at month 0, retraining every K months, and serving every
month over a horizon; cumulative cost, energy and carbon curves, per-phase totals and the
month in which cumulative serving overtakes cumulative training.

Time runs in months from launch. The first training is paid at t = 0; retraining number k
(k = 1, 2, …) is paid at t = k·K for every k·K before the horizon, at ``retrain_fraction`` of
the first training; serving accrues evenly at a twelfth of its annual figure per month
(``planner.model.serving``). Carbon is operational plus embodied in both phases. The curves
are evaluated for every serving option at once on a (options × months) numpy grid.

Break-even: training is a step function and serving a straight line S·t, so on each month
[m − 1, m) the training level L is constant and the lines cross at t = L / S if that falls in
the month; the first such t is reported (Patterson et al. 2022, The Carbon Footprint of
Machine Learning Training Will Plateau, Then Shrink, discuss the same serving-versus-training
split).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.model.report import LIFECYCLE_SUMMARY_COLUMNS as SUMMARY_COLUMNS
from planner.model.scenario import LifecycleSpec

MONTHS_PER_YEAR = 12.0
METRICS = (("cost", "cost_usd"), ("energy", "energy_kwh"), ("co2e", "co2e_kg"),
           ("water", "water_l"))

def retrainings_by_month(horizon_months: int, retrain_every_months: int | None) -> np.ndarray:
    """Retrainings paid by the end of each month 0..H (those at t = k·K < H)."""
    m = np.arange(horizon_months + 1, dtype=float)
    if not retrain_every_months:
        return np.zeros_like(m)
    last_paid = np.minimum(m, horizon_months - 1)  # a retraining at the horizon serves nobody
    return np.floor(last_paid / retrain_every_months)


def cumulative_curves(training, monthly_serving, horizon_months: int,
                      retrain_every_months: int | None, retrain_fraction: float):
    """Cumulative training (with retraining) and serving at the end of months 0..H.

    ``training`` and ``monthly_serving`` are arrays of options; returns two arrays of shape
    (options, H + 1).
    """
    training = np.asarray(training, dtype=float)[..., None]
    monthly = np.asarray(monthly_serving, dtype=float)[..., None]
    n = retrainings_by_month(horizon_months, retrain_every_months)
    cum_training = training * (1.0 + retrain_fraction * n)
    cum_serving = monthly * np.arange(horizon_months + 1, dtype=float)
    return cum_training, cum_serving


def break_even_month(training, monthly_serving, horizon_months: int,
                     retrain_every_months: int | None, retrain_fraction: float) -> np.ndarray:
    """First time (in months, fractional) at which cumulative serving reaches cumulative
    training; NaN where that does not happen within the horizon."""
    cum_training, _ = cumulative_curves(training, monthly_serving, horizon_months,
                                        retrain_every_months, retrain_fraction)
    monthly = np.asarray(monthly_serving, dtype=float)[..., None]
    level = cum_training[..., :-1]  # training level over month [m - 1, m), m = 1..H
    start = np.arange(horizon_months, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = level / monthly
    hit = (monthly > 0) & (t >= start) & (t <= start + 1.0)
    first = np.argmax(hit, axis=-1)
    found = hit.any(axis=-1)
    value = np.take_along_axis(t, first[..., None], axis=-1)[..., 0]
    zero_training = np.asarray(training, dtype=float) <= 0
    return np.where(zero_training, 0.0, np.where(found, value, np.nan))


def _lowest(table: pd.DataFrame, by: str) -> int | None:
    """The position of the feasible row of least ``by`` (the first of the least, as
    ``idxmin`` over the feasible rows gives it), None where no feasible row has a figure."""
    values = np.where(table["feasible"].to_numpy(dtype=bool),
                      table[by].to_numpy(dtype=float), np.nan)
    if np.isnan(values).all():
        return None
    return int(np.nanargmin(values))


def _row(table: pd.DataFrame, ok: pd.DataFrame, by: str, names) -> dict:
    """``ok.loc[ok[by].idxmin()]``'s ``names`` (``ok``: the feasible rows of ``table``),
    read by position rather than made into a row of every column."""
    at = _lowest(table, by)
    if at is None:
        r = ok.loc[ok[by].idxmin()]
        return {name: r[name] for name in names}
    return {name: table[name].iloc[at] for name in names}


def _pick_training(training: pd.DataFrame | None, spec: LifecycleSpec) -> dict:
    if training is None:
        return {"hardware_id": "given", "cost_usd": spec.training_cost_usd,
                "energy_kwh": spec.training_energy_kwh, "co2e_kg": spec.training_co2e_kg,
                "water_l": None}
    ok = training[training["feasible"]]
    if spec.training_hardware is not None:
        row = training[training["hardware_id"] == spec.training_hardware]
        if row.empty:
            raise ScenarioError(f"lifecycle.training_hardware: {spec.training_hardware!r} is not "
                                f"in the training plan; allowed: "
                                f"{', '.join(training['hardware_id'])}")
        if not bool(row["feasible"].iloc[0]):
            raise ScenarioError(f"lifecycle.training_hardware: {spec.training_hardware} cannot "
                                f"run the training ({row['infeasible_reason'].iloc[0]})")
        r = row.iloc[0]
    elif ok.empty:
        raise ScenarioError("lifecycle: no hardware can run the training section")
    else:
        by = "cost_usd" if ok["cost_usd"].notna().any() else "energy_kwh"
        r = _row(training, ok, by, ("hardware_id", "cost_usd", "energy_kwh", "total_co2e_kg",
                                    "water_l"))
    values = {
        "hardware_id": r["hardware_id"],
        "cost_usd": spec.training_cost_usd if spec.training_cost_usd is not None
        else r["cost_usd"],
        "energy_kwh": spec.training_energy_kwh if spec.training_energy_kwh is not None
        else r["energy_kwh"],
        "co2e_kg": spec.training_co2e_kg if spec.training_co2e_kg is not None
        else r["total_co2e_kg"],
        # A known run's energy given by the user makes the planned run's water inapplicable.
        "water_l": None if spec.training_energy_kwh is not None else r["water_l"],
    }
    return values


def _pick_serving(inference: pd.DataFrame, spec: LifecycleSpec) -> pd.DataFrame:
    if "annual_cost_usd" not in inference:
        raise ScenarioError("lifecycle: needs inference traffic (requests_per_s_avg or "
                            "requests_per_s_peak) to size the serving fleet")
    ok = inference[inference["feasible"]]
    choice = spec.serving_hardware
    if choice is None:
        if ok.empty:
            raise ScenarioError("lifecycle: no hardware can serve the inference section")
        by = "annual_cost_usd" if ok["annual_cost_usd"].notna().any() else "annual_energy_kwh"
        at = _lowest(inference, by)
        return ok.loc[[ok[by].idxmin()]] if at is None else inference.iloc[[at]]
    if choice == "all":
        return ok
    wanted = [choice] if isinstance(choice, str) else list(choice)
    rows = inference.set_index("hardware_id")
    unknown = [w for w in wanted if w not in rows.index]
    if unknown:
        raise ScenarioError(f"lifecycle.serving_hardware: {', '.join(unknown)} not in the "
                            f"inference plan; allowed: all, {', '.join(inference['hardware_id'])}")
    bad = [w for w in wanted if not bool(rows.loc[w, "feasible"])]
    if bad:
        raise ScenarioError(f"lifecycle.serving_hardware: {bad[0]} cannot serve this traffic "
                            f"({rows.loc[bad[0], 'infeasible_reason']})")
    return inference[inference["hardware_id"].isin(wanted)]


def lifecycle_tables(training: dict, serving: pd.DataFrame,
                     spec: LifecycleSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly cumulative curves (long: option × month) and per-phase totals per option."""
    h, k, f = spec.horizon_months, spec.retrain_every_months, spec.retrain_fraction
    months = np.arange(h + 1)
    n_opts = len(serving)
    annual = {"cost": serving["annual_cost_usd"], "energy": serving["annual_energy_kwh"],
              "co2e": serving["annual_total_co2e_kg"],
              "water": serving.get("annual_water_l", pd.Series(np.nan, index=serving.index))}
    curves = {
        "hardware_id": np.repeat(serving["hardware_id"].to_numpy(), h + 1),
        "training_hardware_id": training["hardware_id"],
        "month": np.tile(months, n_opts),
        "retrainings": np.tile(retrainings_by_month(h, k), n_opts),
    }
    summary = {
        "hardware_id": serving["hardware_id"].to_numpy(),
        "training_hardware_id": training["hardware_id"], "horizon_months": h,
        "retrain_every_months": k if k else np.nan,
        "retrainings": retrainings_by_month(h, k)[-1],
    }
    notes = np.full(n_opts, "", dtype=object)
    for name, unit in METRICS:
        first = float(training[unit]) if training.get(unit) is not None else np.nan
        monthly = annual[name].to_numpy(dtype=float) / MONTHS_PER_YEAR
        cum_t, cum_s = cumulative_curves(np.full(n_opts, first), monthly, h, k, f)
        curves[f"cumulative_training_{unit}"] = cum_t.ravel()
        curves[f"cumulative_serving_{unit}"] = cum_s.ravel()
        curves[f"cumulative_{unit}"] = (cum_t + cum_s).ravel()
        total_t, total_s = cum_t[:, -1], cum_s[:, -1]
        summary[f"training_{unit}"] = first
        summary[f"retraining_{unit}"] = total_t - first
        summary[f"serving_{unit}"] = total_s
        summary[f"total_{unit}"] = total_t + total_s
        with np.errstate(divide="ignore", invalid="ignore"):
            summary[f"serving_share_of_{name}"] = total_s / (total_t + total_s)
        be = break_even_month(np.full(n_opts, first), monthly, h, k, f)
        summary[f"break_even_month_{name}"] = be
        missing = np.isnan(be)
        why = np.where(np.isnan(monthly) | np.isnan(first), f"{name}: no figure",
                       f"{name}: serving does not overtake training within {h} months")
        notes = np.where(missing, np.where(notes == "", why, notes + "; " + why), notes)
    summary["break_even_note"] = notes
    # the summary built in its columns' order (the frame a selection of them would give)
    return pd.DataFrame(curves), pd.DataFrame({c: summary[c] for c in SUMMARY_COLUMNS})


def plan_lifecycle(spec: LifecycleSpec, training: pd.DataFrame | None,
                   inference: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The lifecycle of a planned scenario: (curves, summary). Training comes from the training
    table's chosen row (or the figures given in ``spec``); serving from the fleet's year."""
    return lifecycle_tables(_pick_training(training, spec), _pick_serving(inference, spec), spec)
