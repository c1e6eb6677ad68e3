"""Cached loaders: the planner (catalogue and defaults) once per process, plans once per
scenario. Streamlit caching lives here so page scripts stay free of it."""

from __future__ import annotations

import functools
import io
import json
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from planner.dashboard.state import plan_key
from planner.model.grid import region_choices
from planner.model.plan import Planner, PlanResult
from planner.model.scenario import parse_scenario
from planner.model.workloads import load_presets

MEASUREMENTS = Path(__file__).resolve().parents[2] / "measurements"


def measurements_dir() -> Path:
    """The records folder: ``measurements/``, or ``$PLANNER_MEASUREMENTS_DIR`` (tests)."""
    return Path(os.environ.get("PLANNER_MEASUREMENTS_DIR") or MEASUREMENTS)


@st.cache_resource(show_spinner=False)
def get_planner() -> Planner:
    """The hardware catalogue and default assumptions, loaded once per server process."""
    return Planner.load()


def _fresh(value):
    """A kept result as a caller may change it without changing the kept one: each table a
    shallow copy (pandas copies on write what a caller then writes; the scenario and site are
    frozen). ``st.cache_data`` pickled every result in and out instead: 2-8 ms a plan, up to
    ~25 ms of a rerun on a page that reads several."""
    if isinstance(value, pd.DataFrame):
        return value.copy(deep=False)
    if isinstance(value, PlanResult):
        return PlanResult(value.scenario, value.site, _fresh(value.training),
                          _fresh(value.inference),
                          {k: _fresh(v) for k, v in value.extras.items()})
    if isinstance(value, tuple):
        return tuple(_fresh(v) for v in value)
    return value


def kept(function):
    """``function`` cached per process like ``st.cache_data`` (same keys and bounds), with
    the result kept as an object (``st.cache_resource``) and handed out through ``_fresh``."""
    @functools.wraps(function)
    def fresh(*args, **kwargs):
        return _fresh(function(*args, **kwargs))

    fresh.clear = function.clear
    return fresh


@kept
@st.cache_resource(show_spinner=False)
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
def calibrated_planner(calibration_key: str) -> Planner:
    """The planner with the training and the inference calibration of a calibration table
    (as JSON); the planner keys calibration by hardware and precision, so each mode apart."""
    from planner.model.calibration import for_planning

    table = pd.read_json(io.StringIO(calibration_key), orient="split")
    return get_planner().with_calibration(for_planning(table, "train"),
                                          for_planning(table, "infer"))


def planner_for(calibration_key: str = "") -> Planner:
    """The plain planner, or the calibrated one for a calibration table's JSON text."""
    return calibrated_planner(calibration_key) if calibration_key else get_planner()


@kept
@st.cache_resource(show_spinner=False, max_entries=256)
def plan(scenario_key: str, calibration_key: str = "") -> PlanResult:
    """``Planner.plan`` of a scenario, keyed by its JSON text (see ``state.plan_key``).

    A scenario with training and serving is planned phase by phase through this cache, so
    a page that needs both phases reuses the plans of each. With a calibration
    (``calibration_key``: the calibration table as JSON) training uses the training
    calibration and serving the inference one.
    """
    return planner_for(calibration_key).plan(
        json.loads(scenario_key), phase_plan=lambda part: plan(plan_key(part), calibration_key))


@kept
@st.cache_resource(show_spinner=False, max_entries=64)
def levers(scenario_key: str, calibration_key: str = "") -> pd.DataFrame:
    """The levers table of a serving scenario with levers: what ``Planner.plan`` puts in
    ``extras["levers"]``, without planning the scenario's own serving table as well (the
    Optimisation page has the baseline plan already; that table was a third of the cost)."""
    from planner.model.levers import plan_levers

    planner = planner_for(calibration_key)
    scenario = parse_scenario(json.loads(scenario_key))
    return plan_levers(planner, scenario, planner.resolve_site(scenario))


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


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def calibration_tables(signature: str, uploads: tuple[tuple[str, str], ...]
                       ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """For the folder's records plus this session's uploads: one row per record, the
    calibration table and the predicted-versus-measured table."""
    from planner.model.calibration import calibrate, prediction_table, records_frame
    from planner.model.records import parse_record, unique_records

    records, _ = folder_records(signature)
    # An upload of a run the folder holds (or the same upload twice) counts once.
    records, _ = unique_records([(r.run_id, r) for r in records]
                                + [(name, parse_record(text, name)) for name, text in uploads])
    profiles = get_planner().profiles
    if not records:  # prediction_table needs at least one record
        from planner.model.calibration import CALIBRATION_COLUMNS

        return (records_frame([], profiles), pd.DataFrame(columns=CALIBRATION_COLUMNS),
                pd.DataFrame())
    return (records_frame(records, profiles), calibrate(records, profiles),
            prediction_table(records, profiles))


@kept
@st.cache_resource(show_spinner=False, max_entries=64)
def training_sweep(scenario_key: str, devices: tuple[int, ...],
                   calibration_key: str = "") -> pd.DataFrame:
    """A training scenario evaluated at several fixed device counts, in one vectorised pass
    (``sweep.sweep_training``; one row per hardware × device count)."""
    from planner.model.sweep import sweep_training

    scenario = parse_scenario(json.loads(scenario_key))
    return sweep_training(planner_for(calibration_key), scenario,
                          precisions=(scenario.training.precision,), devices=devices)


@kept
@st.cache_resource(show_spinner=False, max_entries=64)
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
