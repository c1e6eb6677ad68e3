"""Cached loaders: the planner (catalogue and defaults) once per process, plans once per
scenario. Streamlit caching lives here so page scripts stay free of it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from planner.model.grid import region_choices
from planner.model.plan import Planner, PlanResult
from planner.model.scenario import parse_scenario
from planner.model.training import MODE_CODES, evaluate_training
from planner.model.workloads import load_presets


@st.cache_resource(show_spinner=False)
def get_planner() -> Planner:
    """The hardware catalogue and default assumptions, loaded once per server process."""
    return Planner.load()


@st.cache_data(show_spinner=False)
def region_table() -> pd.DataFrame:
    """Every selectable site (cloud regions, then countries) with intensity, year, source."""
    rows = region_choices()
    frame = pd.DataFrame(rows)
    frame["key"] = [
        f"country:{r['region']}" if r["kind"] == "country" else f"{r['provider']}:{r['region']}"
        for r in rows
    ]
    return frame.set_index("key", drop=False)


@st.cache_data(show_spinner=False)
def presets() -> dict[str, dict]:
    """Model presets by id: name, family and size, for the workload pickers."""
    return {k: {"name": m.name, "family": m.family, "params": m.params}
            for k, m in load_presets().models.items()}


@st.cache_data(show_spinner=False, max_entries=256)
def plan(scenario_key: str) -> PlanResult:
    """The plan of a scenario, keyed by its JSON text (see ``state.plan_key``)."""
    return get_planner().plan(json.loads(scenario_key))


@st.cache_data(show_spinner=False, max_entries=64)
def training_sweep(scenario_key: str, devices: tuple[int, ...]) -> pd.DataFrame:
    """A training scenario evaluated at several fixed device counts, in one vectorised pass
    of the model's ``evaluate_training`` over its grid (one row per device count)."""
    planner = get_planner()
    grid = planner.training_grid(parse_scenario(json.loads(scenario_key)))
    grid = grid.loc[grid.index.repeat(len(devices))].reset_index(drop=True)
    grid["devices_given"] = np.tile(np.asarray(devices, dtype=float), len(grid) // len(devices))
    grid["mode_code"] = MODE_CODES["devices"]
    grid["mode"] = "devices"
    return evaluate_training(grid)


@st.cache_data(show_spinner=False, max_entries=64)
def uncertainty(scenario_key: str, phase: str, hardware_ids: tuple[str, ...],
                draws: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """P10/P50/P90 summary and one-at-a-time sensitivity of the given options of a plan
    (``phase`` training or serving), from the model's Monte Carlo; only these options are
    drawn, which keeps a rerun fast."""
    from planner.model.uncertainty import plan_uncertainty

    data = json.loads(scenario_key)
    spec = parse_scenario({**data, "uncertainty": {"draws": draws, "seed": seed}}).uncertainty
    result = plan(scenario_key)
    if phase == "training":
        rows = result.training[result.training["hardware_id"].isin(hardware_ids)]
        u = plan_uncertainty(spec, None, rows, None)
    else:
        rows = result.inference[result.inference["hardware_id"].isin(hardware_ids)]
        u = plan_uncertainty(spec, result.scenario.inference, None, rows)
    return u.summary, u.sensitivity
