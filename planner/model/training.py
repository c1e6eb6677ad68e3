"""Training plans: time, devices, energy, carbon and cost of a training run on each device.

``evaluate_training`` is one vectorised pass over a grid (one row per hardware × variant);
``training_grid`` builds that grid from a scenario. Modes (``TrainingSpec.mode``): a fixed
device count gives the time; a deadline gives the devices; a known run (device-hours, or
devices and days) gives energy, carbon and cost and needs no model size.

Time is predicted from the run (``planner.model.training_perf``): the fastest parallel layout
that fits memory, its compute, unhidden communication and pipeline bubble, hence a predicted
model-FLOPs utilisation; then ÷ goodput for wall time. A user's (or a calibration's)
utilisation replaces the prediction; models without a transformer architecture use the
stated default utilisation of their device kind.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.model import memo, performance, training_perf, training_power
from planner.model.assumptions import attach_assumptions
from planner.model.catalogue import cloud_prices_for
from planner.model.defaults import Defaults
from planner.model.footprint import Rates, footprint
from planner.model.frames import refuse_non_finite, with_columns
from planner.model.hardware import HardwareProfile
from planner.model.perf_constants import load_performance
from planner.model.scenario import Scenario
from planner.model.site import ResolvedSite
from planner.model.training_inputs import (
    host_columns,
    network_columns,
    precision_columns,
    training_workload,
)
from planner.model.units import HOURS_PER_DAY, SECONDS_PER_DAY, SECONDS_PER_HOUR

DEFAULT_DEADLINE_DAYS = 30.0


class TrainingMode(IntEnum):
    """How a training run is sized; the grid's ``mode_code`` column holds these values."""

    DEVICES = 0  # a fixed device count gives the time
    DEADLINE = 1  # a deadline (given, or the default) gives the devices
    KNOWN_RUN = 2  # device-hours known: only energy, carbon and cost


# ``TrainingSpec.mode`` (the CSV's ``mode`` column) to its sizing mode.
MODE_OF: dict[str, TrainingMode] = {
    "devices": TrainingMode.DEVICES, "deadline": TrainingMode.DEADLINE,
    "default_deadline": TrainingMode.DEADLINE, "known_run": TrainingMode.KNOWN_RUN,
}
BASIS_PREDICTED = "predicted (layout model)"
BUBBLE_NOTE_SHARE = 0.25  # bubble share of the time above which the basis names the batch
GB = 1e9


def _count(n: float) -> str:
    """A device count for a message; an unbounded one says so instead of overflowing."""
    return f"{n:,.0f}" if np.isfinite(n) else "unboundedly many"


def _texts(mask: np.ndarray, write, *columns: np.ndarray) -> np.ndarray:
    """``write(*values)`` on the rows of ``mask`` ("" elsewhere), an object array; each
    distinct set of values is written once, however many rows share it."""
    out = np.full(len(mask), "", dtype=object)
    rows = np.flatnonzero(mask)
    if rows.size:
        values = np.column_stack([np.asarray(c, dtype=float)[rows] for c in columns])
        first, inverse = training_perf.unique_rows(values)
        out[rows] = np.array([write(*v) for v in values[first]], dtype=object)[inverse]
    return out


def evaluate_training(grid: pd.DataFrame, constants: dict | None = None,
                      digest: bytes | None = None) -> pd.DataFrame:
    """Vectorised: one row in, one row out, for any number of hardware × scenario rows.

    ``constants`` overrides the step-time constants of ``profiles/performance.yaml`` (the
    validation refits them); the layout search runs over every row at once. ``digest``: the
    grid's ``memo.site_free_digest`` where known (``memo.training_grid_and_digest``).

    Two parts: ``_physics`` (devices, time, utilisation, power, layout: nothing that reads
    the site or the prices), kept per site-free grid with the layout search
    (``memo.training_physics``; not while the constants are refitted), and ``_table``, the
    footprint at the grid's site and prices.
    """
    performance_constants = load_performance()
    k = constants or performance_constants.step_constants()

    def physics() -> dict:
        return _physics(grid, k, constants, digest, performance_constants)

    if constants is not None:
        return _table(grid, physics())
    return _table(grid, memo.training_physics(grid, k, performance_constants, physics, digest))


def _physics(g: pd.DataFrame, k, constants: dict | None, digest: bytes | None,
             performance_constants) -> dict:
    """``evaluate_training``'s site-independent part: every figure but the footprint, and the
    reasons a row is refused before its footprint is known."""
    flops = g["total_flops"].to_numpy(dtype=float)
    ref_peak = g["mfu_reference_flops_per_s"].to_numpy(dtype=float)
    mode = g["mode_code"].to_numpy()
    goodput = g["goodput"].to_numpy(dtype=float)
    has_arch = g["has_architecture"].to_numpy(dtype=bool)
    basis = g["utilisation_basis"].to_numpy()
    fixed_util = (~has_arch) | (basis == "user") | (basis == "calibrated")
    min_devices = performance.min_devices_for_memory(
        g["state_bytes"].to_numpy(dtype=float),
        g["activation_bytes_per_device"].to_numpy(dtype=float),
        g["memory_bytes"].to_numpy(dtype=float),
    )
    given = g["devices_given"].to_numpy(dtype=float)
    # the layout search, kept per site-free grid (not when the constants are being refitted)
    pred, cells, evaluated = (memo.predict(g, k, training_perf.predict, digest)
                              if constants is None else training_perf.predict(g, k))
    util_in = g["utilisation"].to_numpy(dtype=float)
    deadline = g["deadline_s"].to_numpy(dtype=float)
    known = g["known_device_hours"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        predicted_mfu = flops / (pred["devices"] * ref_peak * pred["total_s"])
        # Constant-utilisation rows: the work at that share of the peak, then ÷ goodput.
        const_devices = np.maximum(performance.devices_for_deadline(
            flops, ref_peak, util_in, deadline * goodput), min_devices)
        const_devices = np.select([mode == TrainingMode.DEVICES, mode == TrainingMode.DEADLINE],
                                  [given, const_devices], default=given)
        devices = np.where(fixed_util | ~np.isfinite(pred["devices"]), const_devices,
                           pred["devices"])
        train_s = np.where(fixed_util, flops / (devices * ref_peak * util_in), pred["total_s"])
        known_run = mode == TrainingMode.KNOWN_RUN
        hours = np.where(known_run, known / devices, train_s / goodput / SECONDS_PER_HOUR)
        device_hours = np.where(mode == TrainingMode.KNOWN_RUN, known, devices * hours)
        utilisation = np.where(fixed_util, util_in, predicted_mfu)
    searched = has_arch & (mode != TrainingMode.KNOWN_RUN)
    no_layout = searched & ~np.isfinite(pred["total_s"])
    need_gb = pred["min_memory_bytes"] / GB
    room_gb = g["memory_bytes"].to_numpy(dtype=float) * 0.9 / GB
    layout_bad = no_layout & ~fixed_util & np.isfinite(devices)
    layout_reason = _texts(layout_bad, lambda n, r, d: (
        f"no parallel layout fits in memory on {_count(d)} devices (the smallest needs "
        f"{n:.0f} GB per device; {r:.0f} GB usable)" if np.isfinite(n) else
        f"no parallel layout can exist on {_count(d)} devices (batch, layers or experts do "
        "not divide)"), need_gb, room_gb, devices)
    precision_reason = g["precision_reason"].to_numpy()
    late = (mode == TrainingMode.DEADLINE) & (hours * SECONDS_PER_HOUR > deadline * 1.001)
    late_reason = _texts(late, lambda dl, h, d, b: (
        f"the {dl / SECONDS_PER_DAY:g}-day deadline cannot be met: at best "
        f"{h / HOURS_PER_DAY:.1f} days on {_count(d)} devices (more devices stop "
        f"helping: a global batch of {b / 1e6:.1f}M tokens limits data parallelism)"),
        deadline, hours, devices, g["global_batch_tokens"].to_numpy(float))
    reason = np.select(
        [(precision_reason != "") & (mode != TrainingMode.KNOWN_RUN),
         g["busy_power_w"].isna().to_numpy(),
         ~np.isfinite(min_devices) & (mode != TrainingMode.KNOWN_RUN),
         (mode == TrainingMode.DEVICES) & (given < min_devices),
         layout_bad,
         (mode == TrainingMode.DEADLINE) & fixed_util & ~np.isfinite(flops),
         late],
        [precision_reason,
         "no published power figure",
         "model state does not fit even with its share of memory",
         "too few devices to hold the model state",
         layout_reason,
         "cannot size the run: no FLOPs",
         late_reason],
        default="")
    # Device power follows the run's mean utilisation over its wall time where the profile's
    # figures allow (training_power); the host's watts stay those of the node.
    mean_util = np.where(known_run, training_power.mean_utilisation(flops, device_hours, ref_peak),
                         utilisation * goodput)
    power = training_power.following_power(g, mean_util, performance_constants)
    layout = training_perf.layout_text(pred, has_arch & ~fixed_util, devices)
    # A plan that spends much of its time in the pipeline bubble is limited by its batch (few
    # micro-batches per replica; the bubble is (pp − 1) ÷ (v · m) of the work): its basis says
    # so (site-free, so kept with the physics; ``_table`` shows it on the feasible rows).
    bubble = training_perf.shares(pred)["bubble_share"]
    with np.errstate(invalid="ignore"):
        bubbly = (reason == "") & ~fixed_util & ~known_run & (bubble > BUBBLE_NOTE_SHARE)
    seqs = g["global_batch_tokens"].to_numpy(float) / g["sequence_tokens"].to_numpy(float)
    bubble_note = _texts(bubbly, lambda b, s, d: (
        f"{BASIS_PREDICTED[:-1]}; pipeline bubble {b:.0%} of the time: the batch of "
        f"{s:,.0f} sequences gives each of {d:,.0f} replicas {s / d:.3g} micro-batches; a "
        "larger training.global_batch_tokens cuts it)"), bubble, seqs, pred["dp"])
    return {"reason": reason, "layout": layout, "bubble_note": bubble_note,
            "device_hours": device_hours, "devices": devices,
            "hours": hours, "known_run": known_run, "power": power, "min_devices": min_devices,
            "utilisation": utilisation, "predicted_mfu": predicted_mfu, "pred": pred,
            "fixed_util": fixed_util, "basis": basis, "flops": flops,
            "cells": cells, "evaluated": evaluated}


def _table(grid: pd.DataFrame, p: dict) -> pd.DataFrame:
    """``evaluate_training``'s table from its ``_physics`` ``p``: the footprint at the grid's
    site and prices, a row with a non-finite result refused, the results masked to the
    feasible rows. (The power columns are among the results, so the table is the grid with
    them: ``with_columns`` puts a replaced column where the last join puts it.)"""
    power, pred, devices, hours = p["power"], p["pred"], p["devices"], p["hours"]
    device_hours, known_run, fixed_util = p["device_hours"], p["known_run"], p["fixed_util"]
    rates = Rates.from_frame(grid).with_values(
        host_power_fraction=np.asarray(power["host_power_fraction"], dtype=float))
    fp = footprint(device_hours, power["busy_power_w"], rates)
    # A known run may give device-hours alone: devices and hours are then missing, not wrong.
    reason = refuse_non_finite(p["reason"], (device_hours, fp.energy_kwh),
                               (devices, hours, fp.total_co2e_kg, fp.cloud_cost_usd,
                                fp.on_prem_cost_usd))
    feasible = reason == ""
    results = {
        "feasible": feasible,
        "infeasible_reason": reason,
        "min_devices_for_memory": p["min_devices"],
        "devices": devices,
        "hours": hours,
        "days": hours / HOURS_PER_DAY,
        "device_hours": device_hours,
        **fp.columns(),
        **power,
        "utilisation": p["utilisation"],
        "predicted_mfu": np.where(np.isfinite(p["predicted_mfu"]), p["predicted_mfu"], np.nan),
        **training_perf.shares(pred),
        "memory_per_device_gb": pred["memory_bytes"] / GB,
        "flops": p["flops"],
    }
    kept_as_is = ("feasible", "infeasible_reason", "min_devices_for_memory", "flops",
                  *power)
    computed = {name: values if name in kept_as_is else np.where(feasible, values, np.nan)
                for name, values in results.items()}
    computed["layout"] = np.where(feasible & ~known_run, np.array(p["layout"], dtype=object), "")
    computed["utilisation_basis"] = np.where(fixed_util, p["basis"], BASIS_PREDICTED)
    note = p["bubble_note"]
    computed["utilisation_basis"] = np.where(feasible & (note != ""), note,
                                             computed["utilisation_basis"])
    out = with_columns(grid, computed)
    out.attrs["layout_cells"] = p["cells"]
    out.attrs["layout_cells_evaluated"] = p["evaluated"]
    return out


def _select(catalogue_profiles: list[HardwareProfile], selection, *, training: bool):
    ids = [p.id for p in catalogue_profiles]
    if selection == "all":
        return [p for p in catalogue_profiles if not training or p.placement == "datacenter"]
    wanted = [selection] if isinstance(selection, str) else list(selection)
    unknown = [w for w in wanted if w not in ids]
    if unknown:
        raise ScenarioError(
            f"hardware: unknown id(s) {', '.join(unknown)}; allowed: all, {', '.join(ids)}")
    by_id = {p.id: p for p in catalogue_profiles}
    return [by_id[w] for w in wanted]


def training_grid(
    scenario: Scenario,
    profiles: list[HardwareProfile],
    catalogue: pd.DataFrame,
    defaults: Defaults,
    site: ResolvedSite,
    calibration: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The evaluation grid of a scenario's training section: one row per chosen device."""
    spec = scenario.training
    if spec is None:
        raise ScenarioError("the scenario has no `training` section")
    chosen = _select(profiles, spec.hardware, training=True)
    if not chosen:
        raise ScenarioError("training.hardware: no data-centre devices in the catalogue")
    rows = catalogue.set_index("hardware_id").loc[[p.id for p in chosen]].reset_index()
    prices = cloud_prices_for(chosen, site.cloud_provider, site.cloud_region, site.country,
                              scenario.pricing.cloud_providers == "any")
    grid = attach_assumptions(
        rows, defaults=defaults, site=site, precision=spec.precision,
        utilisation_name="training_utilisation", user_utilisation=spec.mfu,
        user_power_w=spec.avg_power_w, cloud_discount=scenario.pricing.cloud_discount,
        pricing_mode=scenario.pricing.mode,
        service_life_years=scenario.pricing.service_life_years,
        calibration=calibration, cloud_prices=prices,
    )
    constants = load_performance()
    workload = training_workload(spec, constants)
    explicit = spec.hardware != "all"
    grid = with_columns(grid, {**precision_columns(rows, spec.precision, explicit),
                               **network_columns(rows, defaults, constants)})
    grid = with_columns(grid, host_columns(grid, defaults, spec.avg_power_w is not None))
    mode = spec.mode
    deadline_days = spec.days if spec.days else DEFAULT_DEADLINE_DAYS
    known = spec.device_hours or (spec.devices * spec.days * HOURS_PER_DAY
                                  if spec.devices and spec.days else np.nan)
    devices_given = spec.devices
    if devices_given is None and spec.device_hours is not None and spec.days:
        devices_given = spec.device_hours / (spec.days * HOURS_PER_DAY)
    if spec.parallelism is not None and spec.devices is None and spec.parallelism.dp:
        par = spec.parallelism
        devices_given = (par.tp or 1) * (par.pp or 1) * par.dp
        if mode != "known_run":
            mode = "devices"
    if spec.parallelism is not None and spec.parallelism.tp:
        node = grid["scale_up_devices"].to_numpy(dtype=float)
        if (spec.parallelism.tp > node).all():
            raise ScenarioError(f"training.parallelism.tp: {spec.parallelism.tp} is more than "
                                f"the devices of one node ({int(node.max())}); tensor "
                                "parallelism stays inside a node")
    extra = {
        **workload,
        "mode": mode,
        "mode_code": int(MODE_OF[mode]),
        "deadline_s": deadline_days * SECONDS_PER_DAY,
        "devices_given": float(devices_given) if devices_given else np.nan,
        "known_device_hours": known,
    }
    return with_columns(grid, extra)
