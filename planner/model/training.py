"""Training plans: time, devices, energy, carbon and cost of a training run on each device.

``evaluate_training`` is one vectorised pass over a grid (one row per hardware × variant);
``plan_training`` builds that grid from a scenario. Modes (``TrainingSpec.mode``): a fixed
device count gives the time; a deadline gives the devices; a known run (device-hours, or
devices and days) gives only energy, carbon and cost.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.model import performance
from planner.model.assumptions import attach_assumptions
from planner.model.catalogue import cloud_prices_for
from planner.model.defaults import Defaults
from planner.model.footprint import Rates, footprint
from planner.model.frames import refuse_non_finite, with_columns
from planner.model.hardware import HardwareProfile
from planner.model.scenario import Scenario, TrainingSpec
from planner.model.site import ResolvedSite
from planner.model.units import HOURS_PER_DAY, SECONDS_PER_DAY, SECONDS_PER_HOUR
from planner.model.workloads import (
    CHECKPOINT_ACTIVATION_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER,
    TRAINING_STATE_BYTES_PER_PARAM,
    generic_training_flops,
    lm_training_flops,
    preset,
)

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


def training_workload(spec: TrainingSpec) -> dict[str, float]:
    """Total FLOPs, sharded state bytes and per-device activation bytes of a training run."""
    p = preset(spec.model) if spec.model else None
    params = spec.params or (p.params if p else None)
    tokens = spec.tokens or (p.tokens if p else None)
    if spec.total_flops:
        flops = spec.total_flops
    elif params and tokens and (spec.params or spec.tokens or (p and p.family == "llm")):
        flops = lm_training_flops(params, tokens)
    else:
        fps = spec.flops_per_sample or (p.flops_per_sample_forward if p else None)
        samples = spec.samples or (p.samples if p else None)
        epochs = spec.epochs or (p.epochs if p else None) or 1.0
        if not (fps and samples):
            raise ScenarioError("training: cannot size the run; give params and tokens, or "
                                "flops_per_sample and samples")
        flops = generic_training_flops(fps, samples, epochs)
    params = params or 0.0
    activation = 0.0
    if p is not None and p.layers and p.hidden:
        seq = min(spec.sequence_tokens, p.context_tokens or spec.sequence_tokens)
        activation = (CHECKPOINT_ACTIVATION_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER
                      * seq * p.hidden * p.layers)
    return {
        "total_flops": float(flops),
        "params": float(params),
        "state_bytes": float(params) * TRAINING_STATE_BYTES_PER_PARAM,
        "activation_bytes_per_device": float(activation),
    }


def evaluate_training(grid: pd.DataFrame) -> pd.DataFrame:
    """Vectorised: one row in, one row out, for any number of hardware × scenario rows."""
    g = grid
    flops = g["total_flops"].to_numpy(dtype=float)
    peak = g["peak_flops_per_s"].to_numpy(dtype=float)
    util = g["utilisation"].to_numpy(dtype=float)
    mode = g["mode_code"].to_numpy()
    known_run = mode == TrainingMode.KNOWN_RUN
    min_devices = performance.min_devices_for_memory(
        g["state_bytes"].to_numpy(dtype=float),
        g["activation_bytes_per_device"].to_numpy(dtype=float),
        g["memory_bytes"].to_numpy(dtype=float),
    )
    given = g["devices_given"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for_deadline = np.maximum(
            performance.devices_for_deadline(flops, peak, util, g["deadline_s"].to_numpy(float)),
            min_devices)
        devices = np.select([mode == TrainingMode.DEVICES, mode == TrainingMode.DEADLINE],
                            [given, for_deadline], default=given)
        compute_hours = performance.compute_time_s(flops, peak, util, devices) / SECONDS_PER_HOUR
        known = g["known_device_hours"].to_numpy(dtype=float)
        device_hours = np.where(known_run, known, devices * compute_hours)
        hours = np.where(known_run, known / devices, compute_hours)

    reason = np.select(
        [np.isnan(peak) & ~known_run,
         g["busy_power_w"].isna().to_numpy(),
         ~np.isfinite(min_devices),
         (mode == TrainingMode.DEVICES) & (given < min_devices)],
        ["no published throughput at this precision",
         "no published power figure",
         "model state does not fit even with its share of memory",
         "too few devices to hold the model state"],
        default="")

    fp = footprint(device_hours, g["busy_power_w"].to_numpy(dtype=float), Rates.from_frame(g))
    # A known run may give device-hours alone: devices and hours are then missing, not wrong.
    reason = refuse_non_finite(reason, (device_hours, fp.energy_kwh),
                               (devices, hours, fp.total_co2e_kg, fp.cloud_cost_usd,
                                fp.on_prem_cost_usd))
    feasible = reason == ""
    results = {
        "feasible": feasible,
        "infeasible_reason": reason,
        "min_devices_for_memory": min_devices,
        "devices": devices,
        "hours": hours,
        "days": hours / HOURS_PER_DAY,
        "device_hours": device_hours,
        **fp.columns(),
    }
    kept_as_is = ("feasible", "infeasible_reason", "min_devices_for_memory")
    computed = {name: values if name in kept_as_is else np.where(feasible, values, np.nan)
                for name, values in results.items()}
    return with_columns(g, computed)


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
    mode = spec.mode
    deadline_days = spec.days if spec.days else DEFAULT_DEADLINE_DAYS
    known = spec.device_hours or (spec.devices * spec.days * HOURS_PER_DAY
                                  if spec.devices and spec.days else np.nan)
    extra = {
        **training_workload(spec),
        "mode": mode,
        "mode_code": int(MODE_OF[mode]),
        "deadline_s": deadline_days * SECONDS_PER_DAY,
        "devices_given": float(spec.devices) if spec.devices else np.nan,
        "known_device_hours": known,
    }
    return with_columns(grid, extra)
