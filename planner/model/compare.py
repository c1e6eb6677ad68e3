"""Scenarios side by side: the headline figures of each plan (training run, serving year,
lifecycle, per-request figures) in one table, with each scenario's change against the first,
and the inputs in which the scenarios differ.

Pure functions of plans and scenarios, so the command line and the dashboard share them.
The headline option of a plan is its cheapest feasible device (fewest device-hours where
nothing has a price), the same choice the lifecycle makes for serving.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from planner.model.plan import PlanResult
from planner.model.scenario import Scenario

# (section, figure label, unit, plan column); the section's chosen row supplies the value.
TRAINING_FIGURES = (
    ("training", "device", "", "name"),
    ("training", "devices", "devices", "devices"),
    ("training", "time to train", "days", "days"),
    ("training", "total compute", "FLOPs", "total_flops"),
    ("training", "model-FLOPs utilisation", "fraction", "utilisation"),
    ("training", "energy", "kWh", "energy_kwh"),
    ("training", "CO2e, operational + embodied", "kg", "total_co2e_kg"),
    ("training", "cost", "USD", "cost_usd"),
)
SERVING_FIGURES = (
    ("serving year", "device", "", "name"),
    ("serving year", "fleet", "devices", "fleet_devices"),
    ("serving year", "p95 latency at the peak", "s", "fleet_latency_p95_s"),
    ("serving year", "energy per year", "kWh", "annual_energy_kwh"),
    ("serving year", "CO2e per year", "kg", "annual_total_co2e_kg"),
    ("serving year", "cost per year", "USD", "annual_cost_usd"),
    ("per request", "cost per 1,000 requests", "USD", "fleet_cost_usd_per_1k_requests"),
    ("per request", "energy per 1,000 requests", "kWh", "fleet_energy_kwh_per_1k_requests"),
    ("per request", "CO2e per 1,000 requests", "kg", "fleet_total_co2e_kg_per_1k_requests"),
    ("per request", "cost per 1M output tokens", "USD", "fleet_cost_usd_per_1m_tokens"),
)
ONE_REPLICA_FIGURES = (  # serving without traffic: one replica's per-request figures
    ("per request", "device", "", "name"),
    ("per request", "latency of a batch", "s", "latency_s"),
    ("per request", "cost per 1,000 requests", "USD", "cost_usd_per_1k_requests"),
    ("per request", "energy per 1,000 requests", "kWh", "energy_kwh_per_1k_requests"),
    ("per request", "CO2e per 1,000 requests (operational)", "kg", "co2e_kg_per_1k_requests"),
)
LIFECYCLE_FIGURES = (
    ("lifecycle", "horizon", "months", "horizon_months"),
    ("lifecycle", "total cost", "USD", "total_cost_usd"),
    ("lifecycle", "total energy", "kWh", "total_energy_kwh"),
    ("lifecycle", "total CO2e", "kg", "total_co2e_kg"),
    ("lifecycle", "serving's share of the cost", "fraction", "serving_share_of_cost"),
    ("lifecycle", "break-even (serving overtakes training), cost", "month",
     "break_even_month_cost"),
)
HEAD = ["section", "figure", "unit"]


def _cheapest(frame: pd.DataFrame | None, cost: str, fallback: str) -> pd.Series | None:
    """The feasible row with the lowest ``cost`` (``fallback`` where none has a price)."""
    if frame is None or not len(frame):
        return None
    ok = frame[frame["feasible"].astype(bool)]
    if "fleet_meets_target" in ok.columns:
        ok = ok[ok["fleet_meets_target"].fillna(False).astype(bool)]
    if not len(ok):
        return None
    for column in (cost, fallback):
        if column in ok.columns:
            values = ok[column].to_numpy(dtype=float)
            if np.isfinite(values).any():
                return ok.iloc[int(np.nanargmin(values))]
    return ok.iloc[0]


def _row(result: PlanResult, table) -> pd.Series | None:
    if table is TRAINING_FIGURES:
        return _cheapest(result.training, "cost_usd", "device_hours")
    if table is SERVING_FIGURES:
        return _cheapest(result.inference, "annual_cost_usd", "fleet_devices")
    if table is ONE_REPLICA_FIGURES:
        return _cheapest(result.inference, "cost_usd_per_1k_requests", "latency_s")
    summary = result.extras.get("lifecycle_summary")
    return summary.iloc[0] if summary is not None and len(summary) else None


def headline_figures(result: PlanResult) -> dict[tuple[str, str, str], object]:
    """(section, figure, unit) → value for one plan: its chosen training run, serving year,
    per-request figures and lifecycle totals; sections the plan lacks are left out."""
    fleet = result.inference is not None and "annual_cost_usd" in result.inference.columns
    tables = [TRAINING_FIGURES, SERVING_FIGURES if fleet else ONE_REPLICA_FIGURES,
              LIFECYCLE_FIGURES]
    out: dict[tuple[str, str, str], object] = {}
    for table in tables:
        row = _row(result, table)
        if row is None:
            continue
        for section, label, unit, column in table:
            if column in row.index:
                value = row[column]
                out[(section, label, unit)] = value.item() if hasattr(value, "item") else value
    return out


def compare_plans(results: Mapping[str, PlanResult]) -> pd.DataFrame:
    """One row per headline figure, one column per scenario (in the order given), and for
    every scenario after the first a ``<name> vs <first>`` column: its value over the
    first's (a ratio; text figures such as the device say ``same`` or ``differs``)."""
    if len(results) < 2:
        raise ValueError("compare at least two scenarios")
    names = list(results)
    figures = {name: headline_figures(r) for name, r in results.items()}
    keys: list[tuple[str, str, str]] = []
    for f in figures.values():
        keys += [k for k in f if k not in keys]
    rows = []
    first = names[0]
    for key in keys:
        row: dict[str, object] = dict(zip(HEAD, key, strict=True))
        for name in names:
            row[name] = figures[name].get(key)
        base = row[first]
        for name in names[1:]:
            value = row[name]
            if isinstance(base, int | float) and isinstance(value, int | float) \
                    and not isinstance(base, bool):
                ratio = value / base if base and np.isfinite(base) else np.nan
                row[f"{name} vs {first}"] = float(ratio)
            elif base is None or value is None:
                row[f"{name} vs {first}"] = None
            else:
                row[f"{name} vs {first}"] = "same" if value == base else "differs"
        rows.append(row)
    return pd.DataFrame(rows)


def _flatten(data: object, prefix: str = "") -> dict[str, object]:
    if isinstance(data, Mapping):
        out: dict[str, object] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): data}


def input_differences(scenarios: Mapping[str, Scenario]) -> pd.DataFrame:
    """The scenario fields whose values differ between the scenarios (dotted names, as in
    the file: ``site.cloud_region``), one column per scenario; unset fields are blank."""
    flat = {name: _flatten(s.model_dump(exclude_none=True, exclude={"name"}))
            for name, s in scenarios.items()}
    fields: list[str] = []
    for f in flat.values():
        fields += [k for k in f if k not in fields]
    rows = []
    for field in fields:
        values = [flat[name].get(field) for name in scenarios]
        if any(v != values[0] for v in values[1:]):
            rows.append({"field": field, **{name: ("" if v is None else str(v))
                                            for name, v in zip(scenarios, values,
                                                               strict=True)}})
    return pd.DataFrame(rows, columns=["field", *scenarios])


def unique_names(names: list[str]) -> list[str]:
    """Scenario names made unique by a number where two are the same (``base (2)``)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out
