"""Time and device counts from peak throughput, utilisation, memory and bandwidth.

All functions take numpy arrays (or scalars) and broadcast, so a grid of scenarios is one
call. Time per step is the larger of compute time (FLOPs over peak × utilisation) and memory
time (bytes over bandwidth × achieved share): the roofline model (Williams et al. 2009,
Roofline: an insightful visual performance model, CACM 52(4)).
"""

from __future__ import annotations

import numpy as np

# Share of device memory a framework can use for model state; the rest is runtime, allocator
# fragmentation and workspace. Assumption, stated in results.
USABLE_MEMORY_FRACTION = 0.9


def compute_time_s(flops, peak_flops_per_s, utilisation, devices=1.0):
    """Seconds to do ``flops`` on ``devices`` devices at ``utilisation`` of dense peak."""
    return np.asarray(flops, dtype=float) / (
        np.asarray(devices, dtype=float) * peak_flops_per_s * utilisation
    )


def devices_for_deadline(flops, peak_flops_per_s, utilisation, deadline_s):
    """Fewest whole devices that finish ``flops`` within ``deadline_s``."""
    return np.ceil(np.asarray(flops, dtype=float) / (peak_flops_per_s * utilisation * deadline_s))


def min_devices_for_memory(state_bytes, per_device_bytes, memory_bytes,
                           usable_fraction=USABLE_MEMORY_FRACTION):
    """Fewest devices that hold ``state_bytes`` sharded (ZeRO-3/FSDP style) plus
    ``per_device_bytes`` that every device needs for itself. NaN memory → 1 (unknown, unchecked);
    a device too small even for its own share → inf (cannot fit)."""
    room = np.asarray(memory_bytes, dtype=float) * usable_fraction - per_device_bytes
    with np.errstate(divide="ignore", invalid="ignore"):
        n = np.where(room > 0, np.ceil(np.asarray(state_bytes, dtype=float) / room), np.inf)
    return np.where(np.isnan(memory_bytes), 1.0, np.maximum(n, 1.0))


def roofline_time_s(flops, bytes_moved, peak_flops_per_s, utilisation,
                    bandwidth_bytes_per_s, bandwidth_utilisation, devices=1.0):
    """max(compute time, memory time) for work split evenly across ``devices``."""
    devices = np.asarray(devices, dtype=float)
    t_compute = np.asarray(flops, dtype=float) / (devices * peak_flops_per_s * utilisation)
    t_memory = np.asarray(bytes_moved, dtype=float) / (
        devices * bandwidth_bytes_per_s * bandwidth_utilisation
    )
    return np.maximum(t_compute, t_memory)


def next_power_of_two(n):
    """Round device counts up to 1, 2, 4, 8, ... (tensor-parallel groups come in powers of 2)."""
    n = np.maximum(np.asarray(n, dtype=float), 1.0)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(n), 2.0 ** np.ceil(np.log2(n)), n)
