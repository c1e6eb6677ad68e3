"""Cached loaders: the planner (catalogue and defaults) once per process, plans once per
scenario. Streamlit caching lives here so page scripts stay free of it."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from planner.dashboard.state import plan_key
from planner.model.grid import region_choices
from planner.model.plan import Planner, PlanResult
from planner.model.scenario import parse_scenario
from planner.model.training import MODE_CODES, evaluate_training
from planner.model.workloads import load_presets

MEASUREMENTS = Path(__file__).resolve().parents[2] / "measurements"


def measurements_dir() -> Path:
    """The records folder: ``measurements/``, or ``$PLANNER_MEASUREMENTS_DIR`` (tests)."""
    return Path(os.environ.get("PLANNER_MEASUREMENTS_DIR") or MEASUREMENTS)


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


@st.cache_resource(show_spinner=False, max_entries=16)
def calibrated_planners(calibration_key: str) -> tuple[Planner, Planner]:
    """The planner with the training calibration and with the inference calibration (the
    planner keys calibration by hardware and precision alone, so each mode gets its own)."""
    from planner.model.calibration import for_planning

    table = pd.read_json(io.StringIO(calibration_key), orient="split")
    base = get_planner()
    return (base.with_calibration(for_planning(table, "train")),
            base.with_calibration(for_planning(table, "infer")))


BOTH_PHASES = ("lifecycle", "uncertainty")  # sections built on training and serving together


@st.cache_data(show_spinner=False, max_entries=256)
def plan(scenario_key: str, calibration_key: str = "") -> PlanResult:
    """The plan of a scenario, keyed by its JSON text (see ``state.plan_key``).

    A scenario with training and serving is put together from the cached plans of its
    training part and its serving part (what ``Planner.plan`` computes, in the same order),
    then the lifecycle and uncertainty on both with the model's own functions; so a page that
    needs both phases costs no second plan. With a calibration (``calibration_key``: the
    calibration table as JSON) training uses the training calibration and serving the
    inference one.
    """
    data = json.loads(scenario_key)
    train, infer = (calibrated_planners(calibration_key) if calibration_key
                    else (get_planner(), get_planner()))
    if not data.get("inference"):
        return train.plan(data)
    if not data.get("training"):
        return infer.plan(data)
    scenario = parse_scenario(data)  # validates every section first
    common = {k: v for k, v in data.items() if k not in ("training", "inference", *BOTH_PHASES,
                                                          "levers")}
    training = plan(plan_key({**common, "training": data["training"]}), calibration_key)
    serving = plan(plan_key({k: v for k, v in data.items()
                              if k not in ("training", *BOTH_PHASES)}), calibration_key)
    extras = dict(serving.extras)
    if scenario.lifecycle is not None:
        from planner.model.lifecycle import plan_lifecycle

        extras["lifecycle"], extras["lifecycle_summary"] = plan_lifecycle(
            scenario.lifecycle, training.training, serving.inference)
    if scenario.uncertainty is not None:
        from planner.model.uncertainty import plan_uncertainty

        u = plan_uncertainty(scenario.uncertainty, scenario.inference, training.training,
                             serving.inference)
        extras["uncertainty"], extras["sensitivity"] = u.summary, u.sensitivity
    return PlanResult(scenario, serving.site, training.training, serving.inference, extras)


def records_signature() -> str:
    """The records folder with the names, sizes and modification times of its files: a cache
    key that changes when a record is added, removed or rewritten."""
    folder = measurements_dir()
    if not folder.is_dir():
        return str(folder)
    return str(folder) + "|" + ";".join(
        f"{e.name}:{e.stat().st_size}:{e.stat().st_mtime_ns}"
        for e in sorted(os.scandir(folder), key=lambda e: e.name) if e.name.endswith(".json"))


@st.cache_data(show_spinner=False, max_entries=8)
def folder_records(signature: str) -> tuple[list, list[str]]:
    """The records in the records folder and one message per broken file (keyed by
    ``records_signature``, which starts with the folder)."""
    from planner.model.records import load_records

    folder = Path(signature.split("|", 1)[0])
    if not folder.is_dir():
        return [], []  # no records yet is not an error
    return load_records(folder)


@st.cache_data(show_spinner=False, max_entries=16)
def calibration_tables(signature: str, uploads: tuple[tuple[str, str], ...]
                       ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """For the folder's records plus this session's uploads: one row per record, the
    calibration table and the predicted-versus-measured table."""
    from planner.model.calibration import calibrate, prediction_table, records_frame
    from planner.model.records import parse_record

    records, _ = folder_records(signature)
    records = list(records) + [parse_record(text, name) for name, text in uploads]
    profiles = get_planner().profiles
    if not records:  # prediction_table needs at least one record
        from planner.model.calibration import CALIBRATION_COLUMNS

        return (records_frame([], profiles), pd.DataFrame(columns=CALIBRATION_COLUMNS),
                pd.DataFrame())
    return (records_frame(records, profiles), calibrate(records, profiles),
            prediction_table(records, profiles))


@st.cache_data(show_spinner=False, max_entries=64)
def training_sweep(scenario_key: str, devices: tuple[int, ...],
                   calibration_key: str = "") -> pd.DataFrame:
    """A training scenario evaluated at several fixed device counts, in one vectorised pass
    of the model's ``evaluate_training`` over its grid (one row per device count)."""
    planner = calibrated_planners(calibration_key)[0] if calibration_key else get_planner()
    grid = planner.training_grid(parse_scenario(json.loads(scenario_key)))
    grid = grid.loc[grid.index.repeat(len(devices))].reset_index(drop=True)
    grid["devices_given"] = np.tile(np.asarray(devices, dtype=float), len(grid) // len(devices))
    grid["mode_code"] = MODE_CODES["devices"]
    grid["mode"] = "devices"
    return evaluate_training(grid)


@st.cache_data(show_spinner=False, max_entries=64)
def uncertainty(scenario_key: str, phase: str, hardware_ids: tuple[str, ...],
                draws: int, seed: int, calibration_key: str = "",
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """P10/P50/P90 summary and one-at-a-time sensitivity of the given options of a plan
    (``phase`` training or serving), from the model's Monte Carlo; only these options are
    drawn, which keeps a rerun fast."""
    from planner.model.uncertainty import plan_uncertainty

    data = json.loads(scenario_key)
    spec = parse_scenario({**data, "uncertainty": {"draws": draws, "seed": seed}}).uncertainty
    result = plan(scenario_key, calibration_key)
    if phase == "training":
        rows = result.training[result.training["hardware_id"].isin(hardware_ids)]
        u = plan_uncertainty(spec, None, rows, None)
    else:
        rows = result.inference[result.inference["hardware_id"].isin(hardware_ids)]
        u = plan_uncertainty(spec, result.scenario.inference, None, rows)
    return u.summary, u.sensitivity
