"""A year of service of a sized serving fleet: device-hours, power, energy, carbon, water and
cost, split into the part that reads neither the site nor the prices (``year_physics``, kept
per site-free grid by ``serving_memo``) and the footprint at the rows' rates
(``year_footprint``). ``serving.annual_footprint`` and the Monte Carlo (``uncertainty``) use
them (``year_of_service``: both in turn).

Pure: no streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from planner.model import batching, energy, fleet
from planner.model.footprint import Rates, footprint
from planner.model.units import DAYS_PER_YEAR, HOURS_PER_YEAR, SECONDS_PER_HOUR, W_PER_KW


def year_of_service(c: Mapping[str, np.ndarray], units, units_h, hourly,
                    hours_per_column: float = 1.0, lines=None,
                    steps=None) -> dict[str, np.ndarray]:
    """Annual device-hours, energy, carbon and cost of a sized fleet (arrays of any shape; the
    hourly axis is last). ``units`` is the peak fleet, ``units_h`` the replicas in each hour.
    ``hours_per_column`` lets one column stand for several hours of the same fleet;
    ``lines`` are the rows' load curves (``fleet.service_lines(c)``) and ``steps`` their
    ``batching.step_lines(c)``, where already computed.

    Power per hour: a language-model replica with N sequences active on average
    (``batching.mean_active``) is stepping for the share 1 − e^(−N) of the hour at the power
    of its steps (``batching.average_power_w``); a generic replica draws idle + (busy − idle)
    × its duty (``energy.average_power_w``). Host power per device from the node's rating
    where the profile has it (drawn all the hours the servers run), else the default share.
    Embodied carbon: a data-centre fleet is reserved all year; a user's device is charged
    only while it serves (allocation by use time, as Green Algorithms does).
    """
    return year_footprint(c, units, year_physics(c, units_h, hourly, hours_per_column,
                                                 lines, steps))


def year_physics(c: Mapping[str, np.ndarray], units_h, hourly, hours_per_column: float = 1.0,
                 lines=None, steps=None) -> dict[str, np.ndarray]:
    """The part of ``year_of_service`` that reads neither the site nor the prices: requests,
    tokens, device-hours, busy device-hours, the mean device power and the host share
    (``serving_memo`` keeps it per site-free grid)."""
    x = {k: np.asarray(v)[..., None] if np.ndim(v) else v for k, v in c.items()}
    llm = np.asarray(x["is_llm"], dtype=bool)
    units_h = np.asarray(units_h, dtype=float)
    hourly = np.asarray(hourly, dtype=float)
    first = units_h[..., :1]
    flat_fleet = units_h.ndim == 0 or units_h.shape[-1] == 1 or bool(np.all(
        (units_h == first) | (np.isnan(units_h) & np.isnan(first))))
    units_h = np.broadcast_to(units_h, np.broadcast_shapes(np.shape(units_h), np.shape(hourly)))
    if hourly.shape[-1] > 1 and np.all(hourly == hourly[..., :1]) and flat_fleet:
        # a flat day is one column of all its hours (a row with no fleet is NaN all day)
        hours_per_column *= hourly.shape[-1]
        hourly, units_h = hourly[..., :1], units_h[..., :1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        per_replica = hourly / units_h
        cap = x["replica_concurrency"]
        curve = fleet.service_lines(c) if lines is None else lines
        active = batching.mean_active(batching.per_hour(curve), per_replica)
        active = np.where(np.isfinite(active), active, cap)
        duty_g = np.clip(per_replica * x["batch_time_s"] / x["batch_size"], 0.0, 1.0)
        busy = batching.busy_share(active, cap)
        duty = np.where(llm, busy, duty_g)
        step_h = None if steps is None else {
            k: (np.asarray(a)[..., None], np.asarray(b)[..., None]) for k, (a, b) in steps.items()}
        power_h = np.where(llm, batching.average_power_w(x, active, step_h, busy),
                           energy.average_power_w(x["idle_power_w"], x["busy_power_w"], duty_g))
    devices_h = units_h * x["devices_per_replica"]
    days = DAYS_PER_YEAR * hours_per_column
    device_hours = devices_h.sum(axis=-1) * days
    busy_hours = (devices_h * duty).sum(axis=-1) * days
    device_kwh = (devices_h * power_h).sum(axis=-1) * days / W_PER_KW
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_power = device_kwh * W_PER_KW / device_hours
        host = np.asarray(c["host_power_w_per_device"], float)
        host_share = np.where(np.isnan(host), c["host_power_fraction"], host / mean_power)
    requests = np.sum(hourly, axis=-1) * SECONDS_PER_HOUR * days
    tokens = np.where(c["is_llm"], requests * c["output_tokens"], np.nan)
    return {"requests": requests, "tokens": tokens, "device_hours": device_hours,
            "busy_hours": busy_hours, "mean_power_w": mean_power, "host_share": host_share}


def year_footprint(c: Mapping[str, np.ndarray], units,
                   physics: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``year_of_service`` from its ``year_physics``: energy, carbon, water and cost at the
    rows' site and prices."""
    edge = np.asarray(c["edge"], dtype=bool)
    device_hours, busy_hours = physics["device_hours"], physics["busy_hours"]
    mean_power, host_share = physics["mean_power_w"], physics["host_share"]
    # A data-centre fleet is owned all year at its peak size; a user's device is charged the
    # busy-time share of its embodied CO2e and of its purchase (none published: electricity).
    fp = footprint(
        device_hours, mean_power,
        Rates.from_columns({**c, "host_power_fraction": host_share,
                            "on_prem": edge | c["on_prem"],
                            "purchase_price_usd": np.where(edge,
                                                           np.nan_to_num(c["purchase_price_usd"]),
                                                           c["purchase_price_usd"])}),
        embodied_device_hours=np.where(edge, busy_hours, device_hours),
        owned_device_hours=np.where(edge, busy_hours,
                                    units * c["devices_per_replica"] * HOURS_PER_YEAR))
    return {
        "requests": physics["requests"], "tokens": physics["tokens"],
        "device_hours": device_hours,
        "busy_hours": busy_hours, **fp.columns(),
    }
