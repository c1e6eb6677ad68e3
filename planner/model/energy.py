"""Energy: average device power, host overhead and data-centre PUE, with a kWh breakdown.

Average power per device = idle + (busy − idle) × duty cycle, where busy power is a measured
or calibrated figure or a share of the rated power (``profiles/defaults.yaml``). Host power
(CPUs, RAM, network, fans) is a share of the device power; PUE scales IT energy to facility
energy (The Green Grid, PUE: A Comprehensive Examination of the Metric, White Paper 49, 2012).
"""

from __future__ import annotations

import numpy as np

from planner.model.units import W_PER_KW


def average_power_w(idle_power_w, busy_power_w, duty):
    """Mean draw of a device busy for share ``duty`` of the time (0..1)."""
    duty = np.clip(np.asarray(duty, dtype=float), 0.0, 1.0)
    return idle_power_w + (np.asarray(busy_power_w, dtype=float) - idle_power_w) * duty


def energy_breakdown_kwh(device_power_w, device_hours, host_power_fraction, pue):
    """kWh for devices, host share, facility overhead (PUE − 1) and the total."""
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite rows are refused later
        device_kwh = np.asarray(device_power_w, dtype=float) * device_hours / W_PER_KW
        host_kwh = device_kwh * host_power_fraction
        facility_kwh = (device_kwh + host_kwh) * (np.asarray(pue, dtype=float) - 1.0)
    return {
        "device_energy_kwh": device_kwh,
        "host_energy_kwh": host_kwh,
        "facility_energy_kwh": facility_kwh,
        "energy_kwh": device_kwh + host_kwh + facility_kwh,
    }
