"""Sweeps: every hardware × precision × site × utilisation × device count, in one vectorised pass.

The grid is built with pandas cross joins and evaluated by ``evaluate_training`` once, rather
than planning each combination in a Python loop (``bench/grid_vs_loop.py`` measures both).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

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
    frames = []
    for precision in precisions:
        for site_override in sites:
            data = base.model_dump(exclude_none=True)
            data["training"]["precision"] = precision
            data["site"] = {**data.get("site", {}), **site_override}
            s = parse_scenario(data)
            site = resolve_site(s.site, planner.defaults)
            g = training_grid(s, list(planner.profiles), planner.catalogue, planner.defaults,
                              site, planner.calibration)
            g["site"] = site.intensity_label
            frames.append(g)
    grid = pd.concat(frames, ignore_index=True)
    variants = pd.DataFrame(
        [(m, d) for m in mfus for d in devices], columns=["mfu_override", "devices_override"])
    grid = grid.merge(variants.astype(float), how="cross")
    mfu = grid["mfu_override"].to_numpy(float)
    has_mfu = ~np.isnan(mfu)
    grid["utilisation"] = np.where(has_mfu, mfu, grid["utilisation"].to_numpy(float))
    grid["utilisation_basis"] = np.where(has_mfu, "user", grid["utilisation_basis"].to_numpy())
    dev = grid["devices_override"].to_numpy(float)
    has_dev = ~np.isnan(dev)
    grid["devices_given"] = np.where(has_dev, dev, grid["devices_given"].to_numpy(float))
    grid["mode_code"] = np.where(has_dev, int(TrainingMode.DEVICES), grid["mode_code"].to_numpy())
    grid["mode"] = np.where(has_dev, "devices", grid["mode"].to_numpy())
    return grid


def sweep_training(planner: Planner, scenario: Scenario | dict, **axes) -> pd.DataFrame:
    """Evaluate a training sweep; ``axes`` as for ``sweep_grid``."""
    return evaluate_training(sweep_grid(planner, scenario, **axes))
