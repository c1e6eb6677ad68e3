"""Device power of a training run that follows its utilisation, where sourced figures allow.

A chip's draw rises with the work it does: Google measured 123 / 220 / 262 W (min / mean /
max) for a TPU v3 chip (Cloud TPU documentation, TPU v3), and Patterson et al. 2021
(arXiv:2104.10350, Table 4) measured 245-310 W of system power per TPU v3 on four runs whose
throughput ran from 34.4 to 48.0 TFLOP/s per chip. For the devices listed under
``utilisation_power`` in ``profiles/performance.yaml`` the device power is

    P = idle + (typical − idle) × u / u_ref,   between idle and the rating,

where ``typical`` is the profile's measured draw, ``idle`` the published minimum, u the run's
mean model-FLOPs utilisation over its wall time (the predicted MFU × goodput, or a known
run's FLOPs ÷ (device-hours × peak)) and u_ref the utilisation at which the typical draw
holds: fitted on the case it names (marked fitted in the energy validation). The host's watts
per device stay as the node specification gives them. Elsewhere (no published idle figure, a
user's or a calibrated power, a published system power, a run of unknown utilisation) the
profile's one figure is used, as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.model.assumptions import BASIS_MEASURED
from planner.model.perf_constants import PerformanceConstants


def mean_utilisation(flops, device_hours, ref_peak) -> np.ndarray:
    """Model FLOPs ÷ (device-hours × reference peak): the mean utilisation over the wall time
    (NaN where the FLOPs are unknown or a placeholder below one FLOP per device-second)."""
    flops = np.asarray(flops, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = flops / (np.asarray(device_hours, dtype=float) * 3600.0 * np.asarray(ref_peak))
    return np.where(np.isfinite(u) & (u > 1e-6), u, np.nan)


def following_power(g: pd.DataFrame, utilisation,
                    constants: PerformanceConstants) -> dict[str, np.ndarray]:
    """Device power, host share of it and power basis per row (unchanged where not listed;
    a user's or calibrated power is not ``measured`` and stays as given)."""
    busy = g["busy_power_w"].to_numpy(dtype=float)
    fraction = g["host_power_fraction"].to_numpy(dtype=float)
    basis = g["power_basis"].to_numpy(dtype=object)
    if not constants.utilisation_power:
        return {"busy_power_w": busy, "host_power_fraction": fraction, "power_basis": basis}
    ids = g["hardware_id"].to_numpy()
    idle = np.full(len(g), np.nan)
    ref = np.full(len(g), np.nan)
    for hardware_id, figures in constants.utilisation_power.items():
        at = ids == hardware_id
        idle[at], ref[at] = figures.idle_power_w.value, figures.reference_mfu.value
    u = np.asarray(utilisation, dtype=float)
    device_scope = g["typical_power_scope"].eq("device").to_numpy()
    measured = g["power_basis"].eq(BASIS_MEASURED).to_numpy()
    use = np.isfinite(idle) & np.isfinite(u) & device_scope & measured & np.isfinite(busy)
    rated = g["rated_power_w"].to_numpy(dtype=float)
    top = np.where(np.isfinite(rated), rated, np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        power = np.clip(idle + (busy - idle) * u / ref, idle, top)
        host_w = busy * fraction
        new_fraction = host_w / power
    basis = basis.copy()
    for i in np.flatnonzero(use):
        basis[i] = (f"measured {busy[i]:.0f} W at {ref[i]:.0%} MFU, idle {idle[i]:.0f} W: "
                    f"{power[i]:.0f} W at this run's mean {u[i]:.1%}")
    return {"busy_power_w": np.where(use, power, busy),
            "host_power_fraction": np.where(use, new_fraction, fraction),
            "power_basis": basis}
