"""Warnings for absurd but valid plans: each says in one line why the plan is implausible.

A scenario can be valid (every number finite and inside its documented range) and still
describe something no one could run: a training deadline of minutes, a trillion devices, a
trillion requests a second. The plan is still computed; these warnings travel with it (CLI
stderr, a dashboard warning) so that no one takes such a figure at face value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.model.scenario import Scenario

#: Starting a multi-device job (scheduling, loading data and a checkpoint) takes minutes, which
#: the plan leaves out; below this deadline that omission dominates.
SHORTEST_DEADLINE_DAYS = 0.01
#: About three times the largest announced training fleet: Meta planned about 350,000 H100s
#: by the end of 2024 (Meta Engineering, "Building Meta's GenAI Infrastructure", 2024-03-12).
LARGEST_FLEET_DEVICES = 1e6
#: About 100 times Google Search's traffic: at least 2 trillion searches a year, about 6e4 a
#: second (Search Engine Land, "Google now handles at least 2 trillion searches per year",
#: 2016-05-24).
HIGHEST_REQUESTS_PER_S = 1e7
#: The world's population, about 8.2e9 (UN World Population Prospects 2024).
MOST_EDGE_DEVICES = 8.2e9


def _largest(frame: pd.DataFrame | None, column: str) -> float:
    if frame is None or column not in frame.columns or "feasible" not in frame.columns:
        return 0.0
    values = frame.loc[frame["feasible"].astype(bool), column].to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    return float(values.max()) if values.size else 0.0


def plausibility_warnings(scenario: Scenario, training: pd.DataFrame | None = None,
                          inference: pd.DataFrame | None = None) -> list[str]:
    """One line per reason the scenario or its plan is implausible (empty when none)."""
    out: list[str] = []
    t, i = scenario.training, scenario.inference
    if t is not None and t.days is not None and t.days < SHORTEST_DEADLINE_DAYS:
        out.append(f"training.days is {t.days:.3g} ({t.days * 86400:.3g} s): the plan leaves out "
                   "the minutes a job needs to start, so it is far too optimistic")
    if t is not None and t.devices is not None and t.devices > LARGEST_FLEET_DEVICES:
        out.append(f"training.devices is {t.devices:.3g}, above {LARGEST_FLEET_DEVICES:.0e}: "
                   "no cluster of this size exists; treat the figures as a bound, not a plan")
    if i is not None:
        rate = max(i.requests_per_s_peak or 0.0, i.requests_per_s_avg or 0.0)
        if rate > HIGHEST_REQUESTS_PER_S:
            out.append(f"inference traffic of {rate:.3g} requests/s is above "
                       f"{HIGHEST_REQUESTS_PER_S:.0e}, about 100 times a web search engine's; "
                       "check the unit (requests per second)")
        if i.edge_devices is not None and i.edge_devices > MOST_EDGE_DEVICES:
            out.append(f"inference.edge_devices is {i.edge_devices:.3g}, more than there are "
                       "people on Earth")
    if (i is not None and i.output_tokens <= 1 and inference is not None
            and "is_llm" in inference.columns and inference["is_llm"].astype(bool).any()):
        out.append("inference.output_tokens is 1 for a language model: continuous batching "
                   "counts one prompt chunk per step for each request, so a prefill-only "
                   "workload's throughput is overstated; give an encoder or classifier (e.g. "
                   "BERT) as one forward pass with flops_per_request")
    devices = _largest(training, "devices")
    if devices > LARGEST_FLEET_DEVICES and not (t is not None and t.devices):
        out.append(f"training needs up to {devices:.3g} devices, above {LARGEST_FLEET_DEVICES:.0e}"
                   ": no cluster of this size exists; give a longer deadline")
    fleet = _largest(inference, "fleet_devices")
    if fleet > LARGEST_FLEET_DEVICES:
        out.append(f"serving needs up to {fleet:.3g} devices, above {LARGEST_FLEET_DEVICES:.0e}: "
                   "no fleet of this size exists; check the traffic")
    return out
