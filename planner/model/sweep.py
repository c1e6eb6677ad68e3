"""Sweeps: every hardware × precision × site × utilisation × device count, in one vectorised pass.

The grid is built by positional repeats (a cross join) and evaluated by ``evaluate_training``
once, rather than planning each combination in a Python loop (``bench/grid_vs_loop.py``
measures both).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from planner.model import memo
from planner.model.frames import with_columns
from planner.model.plan import Planner
from planner.model.scenario import Scenario, parse_scenario
from planner.model.site import resolve_site
from planner.model.training import TrainingMode, evaluate_training, training_grid


def sweep_grid(planner: Planner, scenario: Scenario | dict, *,
               precisions: Sequence[str] = ("bf16",),
               sites: Sequence[dict] = ({},),
               mfus: Sequence[float | None] = (None,),
               devices: Sequence[int | None] = (None,)) -> pd.DataFrame:
    """The evaluation grid of a training sweep (one row per combination)."""
    base = scenario if isinstance(scenario, Scenario) else parse_scenario(scenario)
    frames, labels = [], []
    for precision in precisions:
        for site_override in sites:
            if precision == base.training.precision and not site_override:
                s = base  # the scenario as given: nothing to re-validate
            else:
                data = base.model_dump(exclude_none=True)
                data["training"]["precision"] = precision
                data["site"] = {**data.get("site", {}), **site_override}
                s = parse_scenario(data)
            site = resolve_site(s.site, planner.defaults)
            g = memo.training_grid(training_grid, s, planner.profiles, planner.catalogue,
                                   planner.defaults, site, planner.calibration)  # kept per site
            frames.append(g)
            labels.append(np.full(len(g), site.intensity_label, dtype=object))
    grid = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    pairs = np.array([(m, d) for m in mfus for d in devices], dtype=float).reshape(-1, 2)
    # Every grid row once per (MFU, devices) pair, in that order: a cross join by position.
    n = len(grid)
    rows = np.repeat(np.arange(n), len(pairs))
    grid = grid.iloc[rows].reset_index(drop=True)
    mfu, dev = np.tile(pairs[:, 0], n), np.tile(pairs[:, 1], n)
    has_mfu, has_dev = ~np.isnan(mfu), ~np.isnan(dev)
    return with_columns(grid, {
        "site": np.concatenate(labels)[rows],
        "mfu_override": mfu,
        "devices_override": dev,
        "utilisation": np.where(has_mfu, mfu, grid["utilisation"].to_numpy(float)),
        "utilisation_basis": np.where(has_mfu, "user", grid["utilisation_basis"].to_numpy()),
        "devices_given": np.where(has_dev, dev, grid["devices_given"].to_numpy(float)),
        "mode_code": np.where(has_dev, int(TrainingMode.DEVICES), grid["mode_code"].to_numpy()),
        "mode": np.where(has_dev, "devices", grid["mode"].to_numpy()),
    })


def sweep_training(planner: Planner, scenario: Scenario | dict, **axes) -> pd.DataFrame:
    """Evaluate a training sweep; ``axes`` as for ``sweep_grid``."""
    return evaluate_training(sweep_grid(planner, scenario, **axes))
