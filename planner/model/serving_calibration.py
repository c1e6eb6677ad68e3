"""Engine constants of the serving step model fitted to observed serving runs.

An observed run is a replica planned as it ran (``planner.model.fleet.fleet_inputs`` of the
plan at the run's model, device, precision, tensor-parallel size, concurrency and token
lengths) with what was measured: the time per output token of one sequence (the running
concurrency over the output tokens per second: Little's law on the steady state) and, where
measured, the devices' mean power. ``fit_time`` finds the decode bandwidth efficiency, the
engine overhead per step and the compute efficiency of the step model
(``planner.model.batching``) that minimise the squared log errors of the time per token;
``fit_power`` then finds the draw of memory-bound and of compute-bound steps as shares of the
device's rating that minimise the squared log errors of the power. Each constant can be held
at a given value (``fixed``), so one run fits one constant and several runs at different
concurrencies fit several. Used by the serving validation (fitted cases named there) and by
calibration from measurement records (``planner.model.serving_records``). Pure numpy/scipy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from planner.model import batching

#: Bounds of each constant: efficiencies in (0, 1], overhead in seconds per step.
TIME_BOUNDS = {"bandwidth_utilisation": (0.05, 1.0), "engine_overhead_s_per_step": (0.0, 0.05),
               "utilisation": (0.05, 1.0)}
POWER_BOUNDS = {"decode_power_fraction": (0.05, 1.0), "busy_power_fraction": (0.05, 1.0)}


@dataclass(frozen=True)
class Observation:
    """One observed serving run: the planned replica ``c`` (one row), the running
    concurrency, the measured seconds per output token of one sequence, the measured mean
    power of the replica's devices together [W] (NaN where not measured) and the device's
    rating [W]."""

    c: Mapping[str, np.ndarray]
    concurrency: float
    s_per_token: float
    power_w: float = float("nan")
    rated_w: float = float("nan")
    label: str = ""


@dataclass
class Fit:
    """Fitted constants (and those held), with the observations they were fitted on."""

    constants: dict[str, float]
    fitted: tuple[str, ...]
    on: list[str] = field(default_factory=list)


def with_constants(c: Mapping[str, np.ndarray], rated_w: float,
                   constants: Mapping[str, float]) -> dict[str, np.ndarray]:
    """The replica's inputs with the time constants and, where given, the power shares of the
    rating replaced."""
    out = dict(c)
    for name in TIME_BOUNDS:
        if name in constants:
            out[name] = np.asarray([float(constants[name])])
    if "decode_power_fraction" in constants:
        out["decode_power_w"] = np.asarray([rated_w * constants["decode_power_fraction"]])
    if "busy_power_fraction" in constants:
        out["busy_power_w"] = np.asarray([rated_w * constants["busy_power_fraction"]])
    return out


def predict(o: Observation, constants: Mapping[str, float]) -> dict[str, float]:
    """Seconds per output token of one sequence, the replica's device power [W] and the
    device energy per output token [J] at the observation's concurrency."""
    c = with_constants(o.c, o.rated_w, constants)
    n = np.asarray([float(o.concurrency)])
    t = batching.times_at(c, n)
    per_token = float((t["slot_s"] / np.asarray(c["output_tokens"], float))[0])
    power = float((np.asarray(c["devices_per_replica"], float)
                   * batching.step_power_w(c, n))[0])
    return {"s_per_token": per_token, "power_w": power,
            "device_energy_j_per_token": power * per_token / float(o.concurrency),
            "tpot_s": float(t["tpot_s"][0])}


def _solve(names: Sequence[str], bounds: Mapping[str, tuple[float, float]], start,
           residuals) -> dict[str, float]:
    lo = np.array([bounds[n][0] for n in names])
    hi = np.array([bounds[n][1] for n in names])
    x0 = np.clip(np.asarray(start, float), lo + 1e-9, hi - 1e-9)
    r = least_squares(lambda x: residuals(dict(zip(names, x, strict=True))), x0,
                      bounds=(lo, hi), x_scale="jac")
    return dict(zip(names, (float(v) for v in r.x), strict=True))


def fit_time(observations: Sequence[Observation], start: Mapping[str, float],
             fixed: Mapping[str, float] | None = None) -> dict[str, float]:
    """The time constants not in ``fixed`` that minimise the squared log errors of the
    seconds per output token over ``observations``; ``start`` gives every constant's
    starting value (the planner's defaults)."""
    fixed = dict(fixed or {})
    names = [n for n in TIME_BOUNDS if n not in fixed]
    if not names:
        return fixed

    def res(x):
        k = {**fixed, **x}
        return [np.log(predict(o, k)["s_per_token"] / o.s_per_token) for o in observations]

    return {**fixed, **_solve(names, TIME_BOUNDS, [start[n] for n in names], res)}


def fit_power(observations: Sequence[Observation], time_constants: Mapping[str, float],
              start: Mapping[str, float],
              fixed: Mapping[str, float] | None = None) -> dict[str, float]:
    """The power shares not in ``fixed`` that minimise the squared log errors of the
    measured power over the observations that measured it (time constants held)."""
    fixed = dict(fixed or {})
    measured = [o for o in observations if np.isfinite(o.power_w) and o.power_w > 0]
    names = [n for n in POWER_BOUNDS if n not in fixed]
    if not names or not measured:
        return fixed

    def res(x):
        k = {**time_constants, **fixed, **x}
        return [np.log(predict(o, k)["power_w"] / o.power_w) for o in measured]

    return {**fixed, **_solve(names, POWER_BOUNDS, [start[n] for n in names], res)}


def fit(observations: Sequence[Observation], start: Mapping[str, float],
        fixed: Mapping[str, float] | None = None) -> Fit:
    """Time constants, then power shares, fitted on ``observations``."""
    fixed = dict(fixed or {})
    t = fit_time(observations, start, {k: v for k, v in fixed.items() if k in TIME_BOUNDS})
    p = fit_power(observations, t, start,
                  {k: v for k, v in fixed.items() if k in POWER_BOUNDS})
    fitted = tuple(n for n in (*TIME_BOUNDS, *POWER_BOUNDS) if n not in fixed
                   and (n in TIME_BOUNDS or any(np.isfinite(o.power_w) for o in observations)))
    return Fit({**t, **p}, fitted, [o.label for o in observations])
