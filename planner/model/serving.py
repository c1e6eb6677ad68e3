"""Serving fleets: size a fleet of replicas for traffic and a latency target, then its year of
device-hours, energy, carbon and cost, on every device in one vectorised pass.

Method, per hardware × candidate batch size (one grid row each):

1. Per-replica performance at that batch from ``inference.evaluate_inference`` (roofline).
2. Continuous batching (Yu et al. 2022, Orca, OSDI; Kwon et al. 2023, vLLM, SOSP) is treated
   as a queue with ``batch`` slots per replica: a request holds one slot for the batch's
   end-to-end time. A data-centre fleet of n replicas is one M/M/(n·batch) queue
   (``planner.model.queueing``); devices in users' hands (placement: edge) each serve their
   own share of the traffic at batch 1, as n separate M/M/1 queues.
3. Fewest replicas that keep utilisation at or below 1 − headroom and the p95 of
   (wait + service + network round trip) within the latency target, the p95 of
   (wait + time to first token + round trip) within the TTFT target, and the time per output
   token within its target. The p95 of the sum is taken as the p95 wait plus the service
   time, which is deterministic for a given batch.
4. Per hardware, the batch needing the fewest devices (ties: the largest batch).
5. A year of service: hour by hour over the daily profile each device is busy for the share
   load / capacity; average power = idle + (busy − idle) × that share (``energy``), plus the
   host share and PUE as for training. Without autoscaling the peak-sized fleet is rented all
   year; with it, each hour rents the replicas that hour needs. Cost: cloud device-hours ×
   price; on-premises amortisation of the peak fleet plus electricity; edge devices belong to
   their owners, so their cost is the electricity plus the busy-time share of the purchase.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.model import energy, queueing
from planner.model.context import PlanningData
from planner.model.footprint import Rates, footprint
from planner.model.frames import refuse_non_finite, with_columns
from planner.model.inference import evaluate_inference, inference_grid
from planner.model.scenario import InferenceSpec, Scenario
from planner.model.site import ResolvedSite
from planner.model.units import (
    DAYS_PER_YEAR,
    HOURS_PER_DAY,
    HOURS_PER_YEAR,
    SECONDS_PER_HOUR,
    W_PER_KW,
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
    """One row per hardware × candidate batch; edge devices serve their own user at batch 1."""
    spec = spec or scenario.inference
    base = inference_grid(planner, scenario, site, spec)
    batches = np.array(batch_candidates(spec), dtype=float)  # ascending
    edge = (base["placement"] == "edge").to_numpy()
    # Each data-centre row once per candidate batch, each edge row once at batch 1, in the
    # base order: one positional take instead of a cross merge, a concat and a sort.
    counts = np.where(edge, 1, len(batches))
    rows = np.repeat(np.arange(len(base)), counts)
    batch = np.concatenate([[1.0] if e else batches for e in edge]) if len(base) else batches[:0]
    grid = base.iloc[rows].reset_index(drop=True)
    return with_columns(grid, {"batch_size": batch, "option_order": rows})


def _check_target_kinds(spec: InferenceSpec, llm: np.ndarray) -> None:
    if (spec.ttft_s is not None or spec.tpot_s is not None) and not llm.any():
        raise ScenarioError("inference.ttft_s / tpot_s: apply to language models only; use "
                            "latency_p95_s for this model")


def _text(values, fmt: str) -> np.ndarray:
    return np.array([format(v, fmt) if np.isfinite(v) else "-" for v in np.ravel(values)],
                    dtype=object)


def variability_factor(spec: InferenceSpec) -> float:
    """(C_a² + C_s²)/2 with Poisson arrivals (C_a = 1): the Allen–Cunneen wait factor."""
    return (1.0 + spec.service_time_cv**2) / 2.0


def wait_budget_s(spec: InferenceSpec, batch_time_s, ttft_s, tpot_s, network_rtt_s, is_llm):
    """Time left for queueing under every given target, and how far the tightest target is
    from being met with no queueing at all (achieved / target; > 1 is unmeetable).

    Returns (budget_s, ratio, binding target field, achieved value); budget −1 marks a target
    that no fleet size can meet, inf means no latency target.
    """
    shape = np.broadcast(batch_time_s, ttft_s, tpot_s, network_rtt_s).shape
    checks = []
    if spec.latency_p95_s is not None:
        checks.append(("latency_p95_s", batch_time_s + network_rtt_s, spec.latency_p95_s, True))
    if spec.ttft_s is not None:
        checks.append(("ttft_s", np.where(is_llm, ttft_s + network_rtt_s, np.nan),
                       spec.ttft_s, True))
    if spec.tpot_s is not None:
        checks.append(("tpot_s", tpot_s, spec.tpot_s, False))
    budget = np.full(shape, np.inf)
    worst = np.zeros(shape)
    binding = np.full(shape, "", dtype=object)
    achieved = np.full(shape, np.nan)
    for name, value, target, queued in checks:
        value = np.broadcast_to(value, shape)
        r = value / target
        take = np.nan_to_num(r, nan=-np.inf) > worst
        worst, binding = np.where(take, r, worst), np.where(take, name, binding)
        achieved = np.where(take, value, achieved)
        if queued:  # the wait adds to end-to-end latency and TTFT, not to TPOT
            budget = np.minimum(budget, np.where(np.isnan(value), np.inf, target - value))
    worst = np.where(np.isnan(batch_time_s), np.nan, worst)
    budget = np.where(worst > 1.0, -1.0, budget)
    return budget, (worst if checks else np.full(shape, np.nan)), binding, achieved


def queue_stats(units, batch_size, batch_time_s, arrival_rate_per_s, edge, variability=1.0):
    """Utilisation, P(wait), mean and p95 wait of a fleet of ``units`` replicas at the peak.

    Data-centre replicas share one queue of units × batch slots; edge devices each take a
    1/units share of the traffic into their own queue of batch slots.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = 1.0 / batch_time_s
        servers = np.where(edge, batch_size, units * batch_size)
        rate = np.where(edge, arrival_rate_per_s / units, arrival_rate_per_s)
        util = rate / (servers * mu)
        w = queueing.waits_s(servers, rate, mu, P95_TAIL, variability)  # one Erlang C
        return {"utilisation": util, "wait_probability": w["wait_probability"],
                "wait_mean_s": w["mean_s"], "wait_p95_s": w["quantile_s"]}


def size_fleet(perf: pd.DataFrame, traffic: Traffic, spec: InferenceSpec) -> pd.DataFrame:
    """Replicas, devices, waits and the target check for every row of an evaluated grid."""
    f = lambda c: perf[c].to_numpy(dtype=float)  # noqa: E731
    batch, batch_s, ttft, tpot = f("batch_size"), f("batch_time_s"), f("ttft_s"), f("tpot_s")
    rtt, dpr = f("network_rtt_s"), f("devices_per_replica")
    llm = perf["is_llm"].to_numpy(dtype=bool)
    edge = (perf["placement"] == "edge").to_numpy()
    _check_target_kinds(spec, llm)
    lam = float(traffic.peak_requests_per_s)
    k = variability_factor(spec)
    n = len(perf)

    budget, worst, binding, achieved = wait_budget_s(spec, batch_s, ttft, tpot, rtt, llm)
    fits = ~(edge & (dpr > 1))
    with np.errstate(divide="ignore"):
        mu = np.where(fits & np.isfinite(batch_s) & (batch_s > 0), 1.0 / batch_s, np.nan)
    sized = queueing.min_units_for_wait(
        lam, mu, batch, budget, max_utilisation=1.0 - spec.headroom, pooled=~edge,
        tail_probability=P95_TAIL, variability_factor=k)
    fixed_edge = edge & (spec.edge_devices is not None)
    units = np.where(fixed_edge & np.isfinite(mu), float(spec.edge_devices or 1), sized)
    q = queue_stats(units, batch, batch_s, lam, edge, k)
    latency_p95 = q["wait_p95_s"] + batch_s + rtt
    ttft_p95 = np.where(llm, q["wait_p95_s"] + ttft + rtt, np.nan)
    meets = (np.isfinite(units) & (q["utilisation"] < 1.0)
             & (~np.isfinite(budget) | (q["wait_p95_s"] <= budget)))

    perf_reason = perf["infeasible_reason"].fillna("").to_numpy(dtype=object)
    target_of = {"latency_p95_s": "p95 latency", "ttft_s": "time to first token",
                 "tpot_s": "time per output token"}
    given = {"latency_p95_s": spec.latency_p95_s, "ttft_s": spec.ttft_s, "tpot_s": spec.tpot_s}
    binding = np.asarray(binding, dtype=object)

    def unmeetable(i):
        target_text = np.array([target_of.get(b, "") for b in binding[i]], dtype=object)
        target_value = np.array([given.get(b) or np.nan for b in binding[i]], dtype=float)
        return ("inference." + binding[i] + " " + _text(target_value, ".3g") + " s cannot be "
                "met: " + target_text + " is " + _text(achieved[i], ".3g") + " s at batch "
                + _text(batch[i], ".0f") + " with no queueing (" + _text(worst[i], ".2f")
                + "× the target)")

    # Each message is written only for the rows it applies to: formatting every row's
    # numbers into every message cost a fifth of a plan.
    messages = (
        (perf_reason != "", lambda i: perf_reason[i]),
        (~fits, lambda i: "needs the memory of " + _text(dpr[i], ".0f") + " devices; a "
         "user's device serves alone"),
        (worst > 1.0, unmeetable),
        (fixed_edge & (q["utilisation"] >= 1.0),
         lambda i: "the " + _text(units[i], ".0f") + " user devices cannot keep up: each "
         "would be " + _text(q["utilisation"][i] * 100, ".0f") + "% busy"),
        (fixed_edge & ~meets, lambda i: "with " + _text(units[i], ".0f") + " user devices the "
         "p95 wait is " + _text(q["wait_p95_s"][i], ".3g") + " s, over the target"),
        (~meets, lambda i: np.full(i.size, "no fleet size meets the target", dtype=object)),
    )
    which = np.select([np.broadcast_to(c, (n,)) for c, _ in messages],
                      np.arange(1, len(messages) + 1), default=0)
    reason = np.full(n, "", dtype=object)
    for k, (_, make) in enumerate(messages, start=1):
        rows = np.flatnonzero(which == k)
        if rows.size:
            reason[rows] = make(rows)
    masked = {
        "fleet_replicas": units,
        "fleet_devices": units * dpr,
        "fleet_capacity_requests_per_s": units * batch / batch_s,
        "fleet_peak_utilisation": q["utilisation"],
        "fleet_wait_probability": q["wait_probability"],
        "fleet_wait_mean_s": q["wait_mean_s"],
        "fleet_wait_p95_s": q["wait_p95_s"],
        "fleet_latency_p95_s": latency_p95,
        "fleet_ttft_p95_s": ttft_p95,
        "fleet_tpot_s": tpot,
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


def choose_batch(sized: pd.DataFrame, keys: tuple[str, ...] = ("hardware_id",)) -> pd.DataFrame:
    """Per option: the batch needing the fewest devices (ties: the largest batch, which draws
    the least energy per request), else the batch that comes closest to the target."""
    meets = sized["fleet_meets_target"].to_numpy(dtype=bool)
    ratio = sized["fleet_target_ratio"].astype(float).fillna(np.inf).to_numpy()
    ranked = sized.assign(
        _miss=~meets,
        # Sized rows: the largest batch first; the rest: the one closest to the target.
        _tiebreak=np.where(meets, -sized["batch_size"].to_numpy(dtype=float), ratio),
    ).sort_values([*keys, "_miss", "fleet_devices", "_tiebreak"],
                  ascending=[*(True,) * len(keys), True, True, True],
                  na_position="last", kind="stable")
    chosen = ranked.drop_duplicates(list(keys), keep="first").drop(columns=["_miss", "_tiebreak"])
    return chosen.sort_index().reset_index(drop=True)


def hourly_replicas(spec: InferenceSpec, units, batch_size, batch_time_s, budget_s, hourly,
                    edge, *, exact: bool = True):
    """Replicas running in each hour: the peak fleet all day, or with autoscaling the fewest
    that hour's load needs (never more than the peak fleet; at least one)."""
    hourly = np.asarray(hourly, dtype=float)
    units = np.asarray(units, dtype=float)[..., None]
    if not spec.autoscaling:
        return np.broadcast_to(units, np.broadcast_shapes(units.shape, hourly.shape))
    mu = 1.0 / np.asarray(batch_time_s, dtype=float)[..., None]
    b = np.asarray(batch_size, dtype=float)[..., None]
    if exact:
        per_hour = queueing.min_units_for_wait(
            np.maximum(hourly, 1e-9), np.where(np.isfinite(units), mu, np.nan), b,
            np.asarray(budget_s, dtype=float)[..., None], max_utilisation=1.0 - spec.headroom,
            variability_factor=variability_factor(spec))
    else:  # the Monte Carlo's shortcut: the headroom rule alone
        per_hour = np.maximum(np.ceil(hourly / (mu * b * (1.0 - spec.headroom))), 1.0)
    return np.where(np.asarray(edge)[..., None], units, np.minimum(per_hour, units))


def year_of_service(c: Mapping[str, np.ndarray], units, units_h, hourly,
                    hours_per_column: float = 1.0) -> dict[str, np.ndarray]:
    """Annual device-hours, energy, carbon and cost of a sized fleet (arrays of any shape; the
    hourly axis is last). ``units`` is the peak fleet, ``units_h`` the replicas in each hour.
    ``hours_per_column`` lets one column stand for several hours of the same fleet: energy is
    linear in the load while the fleet is fixed, so a day can be one column at its mean load.

    Energy: average power idle + (busy − idle) × duty per hour (``energy.average_power_w``),
    host share and PUE (``energy.energy_breakdown_kwh``). Embodied carbon: a data-centre fleet
    is reserved for the service all year; a user's device is charged only while it serves
    (allocation by use time, as Green Algorithms does for shared hardware).
    """
    x = {k: np.asarray(v)[..., None] if np.ndim(v) else v for k, v in c.items()}
    edge = np.asarray(c["edge"], dtype=bool)
    capacity = x["batch_size"] / x["batch_time_s"]
    with np.errstate(divide="ignore", invalid="ignore"):
        duty = np.clip(hourly / (units_h * capacity), 0.0, 1.0)
    devices_h = units_h * x["devices_per_replica"]
    power_h = energy.average_power_w(x["idle_power_w"], x["busy_power_w"], duty)
    days = DAYS_PER_YEAR * hours_per_column
    device_hours = devices_h.sum(axis=-1) * days
    busy_hours = (devices_h * duty).sum(axis=-1) * days
    device_kwh = (devices_h * power_h).sum(axis=-1) * days / W_PER_KW
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_power = device_kwh * W_PER_KW / device_hours
    # A data-centre fleet is owned all year at its peak size; a user's device is charged the
    # busy-time share of its embodied CO2e and of its purchase (none published: electricity).
    fp = footprint(
        device_hours, mean_power,
        Rates.from_columns({**c, "on_prem": edge | c["on_prem"],
                            "purchase_price_usd": np.where(edge,
                                                           np.nan_to_num(c["purchase_price_usd"]),
                                                           c["purchase_price_usd"])}),
        embodied_device_hours=np.where(edge, busy_hours, device_hours),
        owned_device_hours=np.where(edge, busy_hours,
                                    units * c["devices_per_replica"] * HOURS_PER_YEAR))
    requests = np.sum(hourly, axis=-1) * SECONDS_PER_HOUR * days
    tokens = np.where(c["is_llm"], requests * c["output_tokens"], np.nan)
    return {
        "requests": requests, "tokens": tokens, "device_hours": device_hours,
        "busy_hours": busy_hours, **fp.columns(),
    }


YEAR_INPUTS = ("batch_size", "batch_time_s", "devices_per_replica", "idle_power_w",
               "busy_power_w", "host_power_fraction", "pue", "carbon_intensity_g_per_kwh",
               "embodied_co2e_kg_per_device", "service_life_years", "price_usd_per_device_hour",
               "cloud_discount", "purchase_price_usd", "electricity_usd_per_kwh",
               "output_tokens", "market_carbon_intensity_g_per_kwh", "wue_l_per_kwh",
               "water_offsite_l_per_kwh")


def year_inputs(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns ``year_of_service`` reads, as arrays (flags included)."""
    c = {k: frame[k].to_numpy(dtype=float) for k in YEAR_INPUTS}
    c["edge"] = (frame["placement"] == "edge").to_numpy()
    c["on_prem"] = (frame["pricing_mode"] == "on_prem").to_numpy()
    c["is_llm"] = frame["is_llm"].to_numpy(dtype=bool)
    return c


def annual_footprint(chosen: pd.DataFrame, traffic: Traffic, spec: InferenceSpec) -> pd.DataFrame:
    """A year of service for each sized row: device-hours, energy, carbon, cost, per 1k/1M."""
    f = lambda col: chosen[col].to_numpy(dtype=float)  # noqa: E731
    hourly = np.asarray(traffic.hourly_requests_per_s, dtype=float)
    c = year_inputs(chosen)
    units = f("fleet_replicas")
    budget, *_ = wait_budget_s(spec, f("batch_time_s"), f("ttft_s"), f("tpot_s"),
                               f("network_rtt_s"), c["is_llm"])
    units_h = hourly_replicas(spec, units, c["batch_size"], c["batch_time_s"], budget, hourly,
                              c["edge"])
    y = year_of_service(c, units, units_h, hourly)
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
    return with_columns(chosen, {
        **{name: np.where(met, values, np.nan) for name, values in cols.items()},
        "annual_cost_basis": np.where(met, basis, ""),
    })


def evaluate_serving(grid: pd.DataFrame, spec: InferenceSpec, traffic: Traffic,
                     keys: tuple[str, ...] = ("hardware_id",)) -> pd.DataFrame:
    """Evaluate, size, choose the batch and add the year, for a hardware × batch grid."""
    sized = size_fleet(evaluate_inference(grid), traffic, spec)
    out = annual_footprint(choose_batch(sized, keys), traffic, spec)
    miss = ~out["fleet_meets_target"].to_numpy(dtype=bool)
    reason = np.where(miss, out["fleet_reason"], out["infeasible_reason"]).astype(object)
    reason = refuse_non_finite(reason, (out["fleet_devices"], out["annual_energy_kwh"]),
                               (out["annual_cost_usd"], out["annual_total_co2e_kg"]))
    return with_columns(out, {
        "feasible": out["feasible"].to_numpy(dtype=bool) & (reason == ""),
        "infeasible_reason": reason,
    })


def plan_serving(planner: PlanningData, scenario: Scenario, site: ResolvedSite,
                 spec: InferenceSpec | None = None) -> pd.DataFrame:
    """The inference table: per-replica figures, plus fleet and annual columns with traffic."""
    spec = spec or scenario.inference
    traffic = resolve_traffic(spec)
    if traffic is None:
        return evaluate_inference(inference_grid(planner, scenario, site, spec))
    return evaluate_serving(serving_grid(planner, scenario, site, spec), spec, traffic)


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
