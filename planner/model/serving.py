"""Serving fleets: size a fleet of replicas for traffic and a latency target, then its year of
device-hours, energy, carbon and cost, on every device in one vectorised pass.

Method, per hardware × engine concurrency (``batch_size``) × tensor-parallel size (one grid
row each):

1. The replica's layout, concurrency cap and per-step figures from
   ``inference.evaluate_inference`` (continuous batching: ``planner.model.batching``;
   tensor/expert/pipeline parallelism: ``planner.model.parallel``).
2. The fewest replicas whose p95 latency, TTFT and TPOT meet the targets with the load at
   most 1 − headroom of the replicas' capacity (``planner.model.fleet``): latency grows with
   the sequences a replica carries; requests queue only when every slot of the fleet is
   taken. Devices in users' hands (placement: edge) each serve their own share at batch 1.
3. Per hardware, the row needing the fewest devices (ties: the least device energy per
   request, then the largest batch).
4. A year of service hour by hour over the daily profile: the power of a replica follows the
   sequences it carries (``batching.average_power_w``), host power per server from the node's
   rating (else the default share), then PUE. Without autoscaling the peak-sized fleet is
   rented all year; with it, each hour rents the replicas that hour needs. Cost: cloud
   device-hours × price; on-premises amortisation of the peak fleet plus electricity; edge
   devices belong to their owners (electricity plus the busy-time share of the purchase).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.model import batching, fleet, memo, parallel, queueing, serving_memo
from planner.model.context import PlanningData
from planner.model.fleet import (
    FLEET_INPUTS,
    fleet_inputs,
    sized_units,
    targets,
    variability_factor,
)
from planner.model.frames import refuse_non_finite, with_columns
from planner.model.inference import (
    evaluate_inference,
    inference_grid,
)
from planner.model.scenario import InferenceSpec, Scenario
from planner.model.service_year import year_footprint, year_physics
from planner.model.site import ResolvedSite
from planner.model.units import (
    HOURS_PER_DAY,
)

BATCH_CANDIDATES: tuple[int, ...] = tuple(2**k for k in range(10))  # 1 … 512
P95_TAIL = queueing.DEFAULT_TAIL_PROBABILITY


@dataclass(frozen=True)
class Traffic:
    """Request rates: the peak the fleet is sized for and the 24 hourly means of a day."""

    peak_requests_per_s: float
    hourly_requests_per_s: tuple[float, ...]
    basis: str

    @property
    def avg_requests_per_s(self) -> float:
        """The mean of the hourly rates."""
        return float(np.mean(self.hourly_requests_per_s))


def resolve_traffic(spec: InferenceSpec) -> Traffic | None:
    """Peak and hourly request rates from the scenario; None where no traffic is given.

    With a daily profile the hourly rates are the average × profile / mean(profile) (or the
    peak × profile / max(profile) when only the peak is given). Without one the load is flat
    at the average; a missing average is taken as the peak (stated in ``basis``).
    """
    peak, avg, profile = spec.requests_per_s_peak, spec.requests_per_s_avg, spec.daily_profile
    if peak is None and avg is None:
        return None
    if profile is not None:
        shape = np.asarray(profile, dtype=float)
        if avg is not None:
            hourly = avg * shape / shape.mean()
            basis = "average × daily profile"
        else:
            hourly = peak * shape / shape.max()
            basis = "peak × daily profile (average derived)"
        sized = max(peak or 0.0, float(hourly.max()))
        return Traffic(sized, tuple(hourly), basis)
    if avg is None:
        return Traffic(float(peak), (float(peak),) * HOURS_PER_DAY,
                       "flat at the peak (no average or daily profile given)")
    if peak is None:
        return Traffic(float(avg), (float(avg),) * HOURS_PER_DAY,
                       "flat at the average (no peak or daily profile given)")
    return Traffic(float(peak), (float(avg),) * HOURS_PER_DAY,
                   "sized for the peak, energy at the flat average")


def batch_candidates(spec: InferenceSpec) -> list[int]:
    """Batch sizes to try: powers of two up to ``batch_size`` (and it), or it alone."""
    if spec.batch_policy == "fixed":
        return [spec.batch_size]
    out = [b for b in BATCH_CANDIDATES if b <= spec.batch_size]
    return out if spec.batch_size in out else [*out, spec.batch_size]


def serving_grid(planner: PlanningData, scenario: Scenario, site: ResolvedSite,
                 spec: InferenceSpec | None = None) -> pd.DataFrame:
    """One row per hardware × engine concurrency (batch) × tensor-parallel size; edge devices
    serve their own user at batch 1 on one device."""
    spec = spec or scenario.inference
    base = inference_grid(planner, scenario, site, spec)
    batches = np.array(batch_candidates(spec), dtype=float)  # ascending
    edge = (base["placement"] == "edge").to_numpy()
    node = base["devices_per_node"].to_numpy(dtype=float)
    tps = (np.array([spec.tensor_parallel], dtype=float) if spec.tensor_parallel
           else np.array(parallel.TP_CANDIDATES, dtype=float))
    # Each option's (batch, TP) pairs in order, by one positional take instead of a cross
    # merge, a concat and a sort; a TP size above the node's device count is not tried.
    pairs = [np.array([[1.0, 1.0]]) if e else
             np.array([[b, t] for b in batches for t in tps
                       if t <= n or spec.tensor_parallel or t == tps[0]])
             for e, n in zip(edge, node, strict=True)]
    rows = np.repeat(np.arange(len(base)), [len(p) for p in pairs])
    pair = np.concatenate(pairs) if len(base) else np.zeros((0, 2))
    grid = base.iloc[rows].reset_index(drop=True)
    return with_columns(grid, {"batch_size": pair[:, 0], "tensor_parallel": pair[:, 1],
                               "option_order": rows})


def _check_target_kinds(spec: InferenceSpec, llm: np.ndarray) -> None:
    if (spec.ttft_s is not None or spec.tpot_s is not None) and not llm.any():
        raise ScenarioError("inference.ttft_s / tpot_s: apply to language models only; use "
                            "latency_p95_s for this model")


def _text(values, fmt: str) -> np.ndarray:
    return np.array([format(v, fmt) if np.isfinite(v) else "-" for v in np.ravel(values)],
                    dtype=object)


def size_fleet(perf: pd.DataFrame, traffic: Traffic, spec: InferenceSpec) -> pd.DataFrame:
    """Replicas, devices, p50/p95 latencies and the target check for every evaluated row."""
    c = fleet_inputs(perf)
    llm = c["is_llm"]
    _check_target_kinds(spec, llm)
    lam = float(traffic.peak_requests_per_s)
    if not np.isfinite(lam) or lam <= 0:
        raise ScenarioError("traffic: the request rate must be a finite number above 0 "
                            "requests/s (omit the traffic fields to get per-replica figures only)")
    s = sized_units(c, spec, lam)
    units, q, meets, worst = s["units"], s["figures"], s["meets"], s["worst"]
    binding, batch, n = s["binding"], c["batch_size"], len(perf)
    perf_reason = perf["infeasible_reason"].fillna("").to_numpy(dtype=object)
    target_of = {"latency_p95_s": "p95 latency", "ttft_s": "time to first token",
                 "tpot_s": "time per output token"}
    given = targets(spec)
    fixed_edge = s["fixed_edge"]
    util, p95 = q["utilisation"], q["latency_p95_s"]

    def unmeetable(i):
        b = binding[i]
        target_value = np.array([given.get(x) or np.nan for x in b], dtype=float)
        target_text = np.array([target_of.get(x, "") for x in b], dtype=object)
        return ("inference." + b + " " + _text(target_value, ".3g") + " s cannot be met: "
                + target_text + " is " + _text(s["achieved"][i], ".3g")
                + " s for a lone request at batch " + _text(batch[i], ".0f") + " ("
                + _text(worst[i], ".2f") + "× the target)")

    edge = np.asarray(c["edge"], dtype=bool)
    devices = np.where(edge, units, units * c["devices_per_replica"])
    kind = np.where(edge, " user device", " device") + np.where(devices == 1, "", "s")
    conditions = [perf_reason != "", ~s["fits"], worst > 1.0, fixed_edge & np.isnan(units),
                  fixed_edge & (util >= 1.0), fixed_edge & ~meets, ~meets]
    messages = [
        perf_reason,
        lambda i: ("needs the memory of " + _text(c["devices_per_replica"][i], ".0f")
                   + " devices; a user's device serves alone"),
        unmeetable,
        lambda i: ("inference.devices " + str(spec.devices) + " is not a whole number of "
                   + _text(c["devices_per_replica"][i], ".0f") + "-device replicas"),
        lambda i: ("the " + _text(devices[i], ".0f") + kind[i] + " cannot keep up: each "
                   "would be " + _text(util[i] * 100, ".0f") + "% busy"),
        lambda i: ("with " + _text(devices[i], ".0f") + kind[i] + " the p95 latency is "
                   + _text(p95[i], ".3g") + " s, over the target"),
        np.full(n, "no fleet size meets the target", dtype=object)]
    # each message is written only for the rows whose reason it is (np.select's first match)
    reason = np.full(n, "", dtype=object)
    open_rows = np.ones(n, dtype=bool)
    for cond, message in zip(conditions, messages, strict=True):
        i = np.flatnonzero(open_rows & np.broadcast_to(cond, (n,)))
        if i.size:
            reason[i] = message(i) if callable(message) else message[i]
        open_rows[i] = False
    with np.errstate(divide="ignore", invalid="ignore"):
        capacity = batching.capacity_per_s(s["lines"])
    masked = {
        "fleet_replicas": units,
        "fleet_devices": units * c["devices_per_replica"],
        "fleet_capacity_requests_per_s": units * capacity,
        "fleet_peak_utilisation": q["utilisation"],
        "fleet_mean_active_per_replica": q["mean_active"],
        "fleet_wait_probability": q["wait_probability"],
        "fleet_wait_mean_s": q["wait_mean_s"],
        "fleet_wait_p95_s": q["wait_p95_s"],
        "fleet_latency_p50_s": q["latency_p50_s"],
        "fleet_latency_p95_s": q["latency_p95_s"],
        "fleet_ttft_p50_s": np.where(llm, q["ttft_p50_s"], np.nan),
        "fleet_ttft_p95_s": np.where(llm, q["ttft_p95_s"], np.nan),
        "fleet_tpot_p50_s": q["tpot_p50_s"],
        "fleet_tpot_s": q["tpot_p95_s"],
    }
    return with_columns(perf, {
        "fleet_peak_requests_per_s": lam,
        "fleet_avg_requests_per_s": traffic.avg_requests_per_s,
        "fleet_traffic_basis": traffic.basis,
        **{name: np.where(meets, values, np.nan) for name, values in masked.items()},
        "fleet_meets_target": meets,
        "fleet_target_ratio": worst,
        "fleet_binding_target": binding,
        "fleet_reason": reason,
    })


def choose_rows(sized: pd.DataFrame, keys: tuple[str, ...] = ("hardware_id",)) -> np.ndarray:
    """Per option, the position of the batch and tensor-parallel size needing the fewest
    devices (ties: the least device energy per request, then the largest batch), else of the
    one closest to the target."""
    meets = sized["fleet_meets_target"].to_numpy(dtype=bool)
    ratio = sized["fleet_target_ratio"].astype(float).fillna(np.inf).to_numpy()
    joules = sized["device_energy_j_per_request"].astype(float).fillna(np.inf).to_numpy()
    group = None  # each distinct key tuple's number, in order of first appearance (as a
    for key in keys:  # MultiIndex's factorize, without building ~7,000 tuples for levers)
        codes, uniques = pd.factorize(sized[key], use_na_sentinel=False)
        group = codes if group is None else group * len(uniques) + codes
    group = pd.factorize(group)[0] if len(keys) > 1 else group
    # one stable lexicographic sort (NaN devices last), then each option's first row, in
    # the table's order: the rows a stable sort_values + drop_duplicates would keep
    order = np.lexsort((-sized["batch_size"].to_numpy(dtype=float),
                        np.where(meets, joules, ratio),
                        sized["fleet_devices"].to_numpy(dtype=float), ~meets, group))
    first = np.ones(order.size, dtype=bool)
    first[1:] = group[order][1:] != group[order][:-1]
    return order[first]


def choose_batch(sized: pd.DataFrame, keys: tuple[str, ...] = ("hardware_id",)) -> pd.DataFrame:
    """Per option: the row of ``choose_rows``, in the table's order."""
    return sized.iloc[choose_rows(sized, keys)].sort_index().reset_index(drop=True)


def hourly_replicas(spec: InferenceSpec, c: Mapping[str, np.ndarray], units, hourly, *,
                    exact: bool = True, lines=None):
    """Replicas running in each hour: the peak fleet all day, or with autoscaling the fewest
    that hour's load needs (never more than the peak fleet; at least one)."""
    hourly = np.asarray(hourly, dtype=float)
    units = np.asarray(units, dtype=float)[..., None]
    if not spec.autoscaling:
        return np.broadcast_to(units, np.broadcast_shapes(units.shape, hourly.shape))
    x = {k: (np.asarray(v)[..., None] if np.ndim(v) else v) for k, v in c.items()}
    if exact:
        per_hour = fleet.min_replicas(
            dict(x, batch_time_s=np.where(np.isfinite(units), x["batch_time_s"], np.nan)),
            fleet.service_lines(x), np.maximum(hourly, 1e-9), targets(spec), 1.0 - spec.headroom,
            variability_factor(spec))
    else:  # the Monte Carlo's shortcut: the headroom rule alone
        curve = fleet.service_lines(c) if lines is None else lines
        capacity = batching.capacity_per_s(curve)[..., None]
        per_hour = np.maximum(np.ceil(hourly / (capacity * (1.0 - spec.headroom))), 1.0)
    fixed = np.asarray(c["edge"]) | (spec.devices is not None)  # a given fleet runs all day
    return np.where(np.asarray(fixed)[..., None], units, np.minimum(per_hour, units))


YEAR_INPUTS = FLEET_INPUTS  # the columns year_of_service reads


def year_inputs(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns ``year_of_service`` reads, as arrays (flags included)."""
    return fleet_inputs(frame)


def annual_footprint(chosen: pd.DataFrame, traffic: Traffic, spec: InferenceSpec) -> pd.DataFrame:
    """A year of service for each sized row: device-hours, energy, carbon, cost, per 1k/1M."""
    return with_columns(chosen, annual_columns(chosen, traffic, spec))


def annual_physics(chosen: pd.DataFrame, traffic: Traffic, spec: InferenceSpec,
                   c: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """The sized rows' ``year_physics`` (their hourly fleet from ``hourly_replicas``)."""
    c = year_inputs(chosen) if c is None else c
    hourly = np.asarray(traffic.hourly_requests_per_s, dtype=float)
    units = chosen["fleet_replicas"].to_numpy(dtype=float)
    return year_physics(c, hourly_replicas(spec, c, units, hourly), hourly)


def annual_columns(chosen: pd.DataFrame, traffic: Traffic, spec: InferenceSpec,
                   physics: Callable | None = None) -> dict[str, np.ndarray]:
    """The columns ``annual_footprint`` adds (NaN, and no cost basis, where the fleet misses
    the target). ``physics(c)``, where given, gives the rows' ``annual_physics`` (kept)."""
    c = year_inputs(chosen)
    units = chosen["fleet_replicas"].to_numpy(dtype=float)
    y = year_footprint(c, units, annual_physics(chosen, traffic, spec, c) if physics is None
                       else physics(c))
    edge, purchase = c["edge"], c["purchase_price_usd"]
    basis = np.where(
        edge, np.where(np.isnan(purchase), "device owners: electricity only (no purchase price)",
                       "device owners: electricity + busy-time share of purchase"),
        np.where(c["on_prem"],
                 np.where(np.isnan(purchase), "no purchase price published for this device",
                          "on-premises: peak fleet amortised + electricity"),
                 np.where(np.isnan(c["price_usd_per_device_hour"]),
                          "no cloud price published for this device",
                          "cloud: device-hours × price"
                          + (" (autoscaled hourly)" if spec.autoscaling else " (all year)"))))
    requests, tokens = y["requests"], y["tokens"]
    met = chosen["fleet_meets_target"].to_numpy(dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        cols = {
            "annual_requests": np.full(len(chosen), requests),
            "annual_output_tokens": tokens,
            "annual_device_hours": y["device_hours"],
            "annual_busy_device_hours": y["busy_hours"],
            "fleet_mean_utilisation": y["busy_hours"] / y["device_hours"],
            "annual_device_energy_kwh": y["device_energy_kwh"],
            "annual_host_energy_kwh": y["host_energy_kwh"],
            "annual_facility_energy_kwh": y["facility_energy_kwh"],
            "annual_energy_kwh": y["energy_kwh"],
            "annual_co2e_kg": y["co2e_kg"],
            "annual_embodied_co2e_kg": y["embodied_co2e_kg"],
            "annual_total_co2e_kg": y["total_co2e_kg"],
            "annual_market_co2e_kg": y["market_co2e_kg"],
            "annual_market_total_co2e_kg": y["market_total_co2e_kg"],
            "annual_water_onsite_l": y["water_onsite_l"],
            "annual_water_offsite_l": y["water_offsite_l"],
            "annual_water_l": y["water_l"],
            "annual_cost_usd": y["cost_usd"],
            "fleet_energy_kwh_per_1k_requests": y["energy_kwh"] / requests * 1e3,
            "fleet_co2e_kg_per_1k_requests": y["co2e_kg"] / requests * 1e3,
            "fleet_total_co2e_kg_per_1k_requests": y["total_co2e_kg"] / requests * 1e3,
            "fleet_cost_usd_per_1k_requests": y["cost_usd"] / requests * 1e3,
            "fleet_market_co2e_kg_per_1k_requests": y["market_co2e_kg"] / requests * 1e3,
            "fleet_water_l_per_1k_requests": y["water_l"] / requests * 1e3,
            "fleet_energy_kwh_per_1m_tokens": y["energy_kwh"] / tokens * 1e6,
            "fleet_co2e_kg_per_1m_tokens": y["co2e_kg"] / tokens * 1e6,
            "fleet_total_co2e_kg_per_1m_tokens": y["total_co2e_kg"] / tokens * 1e6,
            "fleet_cost_usd_per_1m_tokens": y["cost_usd"] / tokens * 1e6,
        }
    return {
        **{name: np.where(met, values, np.nan) for name, values in cols.items()},
        "annual_cost_basis": np.where(met, basis, ""),
    }


def evaluate_serving(grid: pd.DataFrame, spec: InferenceSpec, traffic: Traffic,
                     keys: tuple[str, ...] = ("hardware_id",),
                     digest: bytes | None = None) -> pd.DataFrame:
    """Evaluate, size, choose the batch and add the year, for a hardware × batch grid (the
    chosen rows' site-independent figures kept per site-free grid: ``serving_memo``;
    ``digest``, the grid's ``memo.site_free_digest`` where known)."""
    chosen, physics = serving_memo.chosen_rows_and_physics(
        grid, spec, traffic, keys, fresh=chosen_rows, sizing=size_fleet, choose=choose_rows,
        physics=lambda rows, c: annual_physics(rows, traffic, spec, c), digest=digest)
    return with_year(chosen, spec, traffic, physics)


def chosen_rows(grid: pd.DataFrame, spec: InferenceSpec, traffic: Traffic,
                keys: tuple[str, ...] = ("hardware_id",)) -> pd.DataFrame:
    """The grid evaluated and sized (the fleet sizing kept per site-free grid), then each
    option's chosen row."""
    sized = memo.size_fleet(evaluate_inference(grid), traffic, spec, size_fleet)
    return choose_batch(sized, keys)


def with_year(chosen: pd.DataFrame, spec: InferenceSpec, traffic: Traffic,
              physics: Callable | None = None) -> pd.DataFrame:
    """The chosen rows with their year of service, and a row that misses the target or has a
    non-finite result refused (the year's columns and these two joined in one step: the
    table ``annual_footprint`` would give, with both replaced). ``physics``: as for
    ``annual_columns``."""
    year = annual_columns(chosen, traffic, spec, physics)
    miss = ~chosen["fleet_meets_target"].to_numpy(dtype=bool)
    reason = np.where(miss, chosen["fleet_reason"], chosen["infeasible_reason"]).astype(object)
    reason = refuse_non_finite(reason, (chosen["fleet_devices"], year["annual_energy_kwh"]),
                               (year["annual_cost_usd"], year["annual_total_co2e_kg"]))
    replaced = [c for c in year if c in chosen.columns]  # as annual_footprint replaces them
    return with_columns(chosen.drop(columns=replaced) if replaced else chosen, {
        **year,
        "feasible": chosen["feasible"].to_numpy(dtype=bool) & (reason == ""),
        "infeasible_reason": reason,
    })


def plan_serving(planner: PlanningData, scenario: Scenario, site: ResolvedSite,
                 spec: InferenceSpec | None = None) -> pd.DataFrame:
    """The inference table: per-replica figures, plus fleet and annual columns with traffic."""
    spec = spec or scenario.inference
    traffic = resolve_traffic(spec)
    if traffic is None:
        return evaluate_inference(memo.site_grid(inference_grid, planner, scenario, site, spec))
    grid, digest = memo.site_grid_and_digest(serving_grid, planner, scenario, site, spec)
    return evaluate_serving(grid, spec, traffic, digest=digest)


def unmet_target_message(table: pd.DataFrame) -> str | None:
    """Where no option meets the latency target: which comes closest and by how much."""
    if "fleet_meets_target" not in table or table["fleet_meets_target"].any():
        return None
    ratio = table["fleet_target_ratio"].astype(float)
    if ratio.isna().all():
        return None
    best = table.loc[ratio.idxmin()]
    return (f"no hardware meets the latency target; closest is {best['hardware_id']}: "
            f"{best['fleet_reason']}")


def check_targets(table: pd.DataFrame) -> None:
    """Raise ScenarioError naming the closest option where no hardware meets the target."""
    message = unmet_target_message(table)
    if message is not None:
        raise ScenarioError(message)
