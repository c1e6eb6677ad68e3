"""Calibration from measurement records: achieved utilisation and power per hardware profile.

``calibrate`` turns records into the table the planner accepts (``Planner.with_calibration``):
per hardware profile, precision and mode, the achieved share of dense peak FLOP/s and the
average device power while running. ``prediction_table`` asks the uncalibrated model to
predict every record (time from FLOPs over peak × default utilisation, energy from the
default busy power) and reports its error. Both reuse the planner's own precision fallback,
defaults and formulas (``assumptions.attach_assumptions``, ``performance.compute_time_s``,
``energy.average_power_w``) rather than restating them. Pure pandas/numpy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from planner.model.assumptions import PRECISION_FALLBACK, attach_assumptions
from planner.model.catalogue import catalogue_frame
from planner.model.defaults import Defaults, load_defaults
from planner.model.energy import average_power_w
from planner.model.hardware import HardwareProfile
from planner.model.performance import compute_time_s
from planner.model.records import Record
from planner.model.scenario import SiteSpec
from planner.model.site import resolve_site

#: The planner's default utilisation for each record mode (``profiles/defaults.yaml``).
UTILISATION_NAME = {"train": "training_utilisation", "infer": "prefill_utilisation"}
CALIBRATION_COLUMNS = ["hardware_id", "precision", "mode", "utilisation", "busy_power_w",
                       "n_records", "n_power_records", "source_runs"]
#: Serving-model constants from serving records (``serving_records.calibrate_serving``).
SERVING_CALIBRATION_COLUMNS = ["bandwidth_utilisation", "engine_overhead_s_per_step",
                               "decode_power_w", "n_serving_records", "serving_runs"]
NO_PROFILE = "no matching profile"


def match_profile(
    device_name: str, profiles: Iterable[HardwareProfile], kind: str | None = None
) -> HardwareProfile | None:
    """The profile whose ``match_names`` best fits ``device_name`` (longest substring wins).

    Matching is case-insensitive; ``kind`` ("gpu", "cpu", ...) restricts the candidates, so a
    CPU record never matches a GPU profile.
    """
    name = device_name.lower()
    best: tuple[int, HardwareProfile] | None = None
    for p in profiles:
        if kind is not None and p.kind != kind:
            continue
        for m in p.match_names:
            if m and m.lower() in name and (best is None or len(m) > best[0]):
                best = (len(m), p)
    return best[1] if best else None


def records_frame(records: Sequence[Record], profiles: Sequence[HardwareProfile]) -> pd.DataFrame:
    """One row per record with what calibration needs, matched to today's profiles."""
    rows = []
    for r in records:
        res, s = r.results, r.settings
        on_gpu = s.device == "cuda"
        kind = {"cuda": "gpu", "cpu": "cpu"}.get(s.device or "")
        profile = match_profile(r.device_name or "", profiles, kind=kind)
        energy = res.gpu_energy_j if on_gpu else res.cpu_energy_j
        rows.append({
            "run_id": r.run_id,
            "started_at": r.started_at,
            "status": r.status,
            "workload": s.workload or ("(imported)" if r.source else "(command)"),
            "mode": s.mode or "",
            "size": s.size or "",
            "precision": s.precision or "",
            "device": s.device or "",
            "device_name": r.device_name or "(not stated)",
            "hardware_id": profile.id if profile else None,
            "kind": profile.kind if profile else None,
            "n_devices": max(len(res.gpus), 1) if on_gpu else 1,
            "wall_time_s": res.wall_time_s.value if res.wall_time_s else np.nan,
            "flops": res.flops.value if res.flops else np.nan,
            "device_energy_j": energy.value if energy else np.nan,
            "device_energy_measured": bool(energy and energy.measured),
            "device_energy_method": energy.method if energy else "not measured",
        })
    frame = pd.DataFrame(rows, columns=[
        "run_id", "started_at", "status", "workload", "mode", "size", "precision", "device",
        "device_name", "hardware_id", "kind", "n_devices", "wall_time_s", "flops",
        "device_energy_j", "device_energy_measured", "device_energy_method"])
    # Fixed dtypes, so an empty list of records still gives a table that computes.
    return frame.astype({"n_devices": int, "wall_time_s": float, "flops": float,
                         "device_energy_j": float, "device_energy_measured": bool})


def _with_defaults(frame: pd.DataFrame, profiles: Sequence[HardwareProfile],
                   defaults: Defaults) -> pd.DataFrame:
    """Add the uncalibrated planner's peak, utilisation and busy power to each matched row."""
    out = frame.assign(peak_flops_per_s=np.nan, precision_used="", default_utilisation=np.nan,
                       default_busy_power_w=np.nan, idle_power_w=np.nan)
    cat = catalogue_frame(list(profiles))
    if cat.empty:
        return out
    cat = cat.set_index("hardware_id", drop=False)
    site = resolve_site(SiteSpec(), defaults)  # site figures do not enter time or device power
    for (hw, precision, mode), idx in out.groupby(
            ["hardware_id", "precision", "mode"], dropna=True).groups.items():
        if precision not in PRECISION_FALLBACK or mode not in UTILISATION_NAME:
            continue
        row = attach_assumptions(
            cat.loc[[hw]].reset_index(drop=True), defaults=defaults, site=site,
            precision=precision, utilisation_name=UTILISATION_NAME[mode], user_utilisation=None,
            user_power_w=None, cloud_discount=0.0, pricing_mode="cloud",
            service_life_years=None,
        ).iloc[0]
        out.loc[idx, "peak_flops_per_s"] = row["peak_flops_per_s"]
        out.loc[idx, "precision_used"] = row["precision_used"]
        out.loc[idx, "default_utilisation"] = row["utilisation"]
        out.loc[idx, "default_busy_power_w"] = row["busy_power_w"]
        out.loc[idx, "idle_power_w"] = row["idle_power_w"]
    return out


def calibrate(
    records: Sequence[Record],
    profiles: Sequence[HardwareProfile],
    defaults: Defaults | None = None,
) -> pd.DataFrame:
    """Per (hardware_id, precision, mode): achieved utilisation and busy power from records.

    Utilisation is FLOP-weighted: total FLOPs over total (wall time × devices × dense peak).
    Busy power is total measured device energy over total device-seconds; records whose device
    energy is an estimate (CodeCarbon's TDP model on a CPU without RAPL) give no power.
    Complete records with a matching profile and a known precision and mode take part: those
    with a FLOP count give utilisation, those with measured device energy give power (an
    imported Zeus window with no FLOP count calibrates power only; its utilisation is NaN).
    Serving records (an imported vLLM benchmark with its model preset) add the serving
    model's decode bandwidth efficiency, engine overhead and decode power to their
    inference row (``SERVING_CALIBRATION_COLUMNS``, ``planner.model.serving_records``).
    """
    from planner.model.serving_records import calibrate_serving  # it plans; plan imports us

    defaults = defaults or load_defaults()
    table = _calibrate_compute(records, profiles, defaults)
    serving = calibrate_serving(records, profiles, defaults)
    if serving.empty:
        return table.assign(**{c: pd.Series(dtype=float if c != "serving_runs" else object)
                               for c in SERVING_CALIBRATION_COLUMNS})
    key = ["hardware_id", "precision", "mode"]
    out = table.merge(serving, on=key, how="outer")
    out["n_records"] = out["n_records"].fillna(0).astype(int) + np.where(
        out["source_runs"].isna(), out["n_serving_records"].fillna(0), 0).astype(int)
    out["n_power_records"] = out["n_power_records"].fillna(0).astype(int)
    out["source_runs"] = out["source_runs"].fillna(out["serving_runs"])
    return out[CALIBRATION_COLUMNS + SERVING_CALIBRATION_COLUMNS].reset_index(drop=True)


def _calibrate_compute(records: Sequence[Record], profiles: Sequence[HardwareProfile],
                       defaults: Defaults) -> pd.DataFrame:
    """Utilisation and busy power per (hardware_id, precision, mode) (``calibrate``)."""
    f = _with_defaults(records_frame(records, profiles), profiles, defaults)
    measured = f["device_energy_measured"] & (f["device_energy_j"] > 0)
    has_flops = (f["flops"] > 0) & (f["peak_flops_per_s"] > 0)
    keep = ((f["status"] == "complete") & f["hardware_id"].notna() & (f["wall_time_s"] > 0)
            & (f["precision_used"] != "") & (has_flops | measured))
    f, measured, has_flops = f[keep], measured[keep], has_flops[keep]
    if f.empty:
        return pd.DataFrame(columns=CALIBRATION_COLUMNS)
    device_s = f["wall_time_s"] * f["n_devices"]
    f = f.assign(
        flops=np.where(has_flops, f["flops"], 0.0),
        peak_work=np.where(has_flops, device_s * f["peak_flops_per_s"], 0.0),
        energy=np.where(measured, f["device_energy_j"], 0.0),
        energy_s=np.where(measured, device_s, 0.0),
        has_power=measured,
    )
    g = f.groupby(["hardware_id", "precision_used", "mode"], as_index=False).agg(
        flops=("flops", "sum"), peak_work=("peak_work", "sum"), energy=("energy", "sum"),
        energy_s=("energy_s", "sum"), n_records=("run_id", "size"),
        n_power_records=("has_power", "sum"), source_runs=("run_id", ",".join),
    )
    g["utilisation"] = g["flops"] / g["peak_work"].where(g["peak_work"] > 0)
    g["busy_power_w"] = np.where(g["energy_s"] > 0, g["energy"] / g["energy_s"].where(
        g["energy_s"] > 0), np.nan)
    g = g.rename(columns={"precision_used": "precision"})
    g["n_power_records"] = g["n_power_records"].astype(int)
    return g[CALIBRATION_COLUMNS].reset_index(drop=True)


def for_planning(calibration: pd.DataFrame, mode: str) -> pd.DataFrame:
    """The rows of one mode, in the shape ``Planner.with_calibration`` takes.

    The planner keys calibration by (hardware_id, precision) alone, so training and
    inference calibrations are handed to it separately. The serving-model columns come along
    where serving records gave any.
    """
    rows = calibration[calibration["mode"] == mode]
    extra = [c for c in SERVING_CALIBRATION_COLUMNS[:3] if c in rows and rows[c].notna().any()]
    return rows[["hardware_id", "precision", "utilisation", "busy_power_w", *extra]].reset_index(
        drop=True)


def prediction_table(
    records: Sequence[Record],
    profiles: Sequence[HardwareProfile],
    defaults: Defaults | None = None,
) -> pd.DataFrame:
    """For every record: the uncalibrated model's predicted time and energy against measured.

    Predicted time = FLOPs / (devices × dense peak × default utilisation); predicted device
    energy = default busy power × devices × predicted time. Errors are predicted / measured − 1.
    Records that cannot be predicted stay in the table with the reason in ``note``.
    """
    defaults = defaults or load_defaults()
    f = _with_defaults(records_frame(records, profiles), profiles, defaults)
    predicted_s = compute_time_s(f["flops"], f["peak_flops_per_s"], f["default_utilisation"],
                                 f["n_devices"])
    busy = average_power_w(f["idle_power_w"], f["default_busy_power_w"], 1.0)
    predicted_j = busy * f["n_devices"] * predicted_s
    with np.errstate(divide="ignore", invalid="ignore"):
        achieved = f["flops"] / (f["wall_time_s"] * f["n_devices"] * f["peak_flops_per_s"])
        power = f["device_energy_j"] / (f["wall_time_s"] * f["n_devices"])
    note = np.select(
        [f["hardware_id"].isna(), ~(f["flops"] > 0), ~(f["peak_flops_per_s"] > 0),
         f["device_energy_j"].isna(), ~f["device_energy_measured"]],
        [NO_PROFILE, "no FLOP count (a --cmd or imported record)",
         "profile has no peak at this precision",
         "device energy not measured", "measured energy is an estimate (CodeCarbon TDP model)"],
        default="",
    )
    out = pd.DataFrame({
        "run_id": f["run_id"],
        "started_at": f["started_at"],
        "status": f["status"],
        "workload": f["workload"],
        "mode": f["mode"],
        "size": f["size"],
        "precision": f["precision"],
        "device_name": f["device_name"],
        "hardware_id": f["hardware_id"].fillna(NO_PROFILE),
        "n_devices": f["n_devices"],
        "measured_time_s": f["wall_time_s"],
        "predicted_time_s": predicted_s,
        "time_error": predicted_s / f["wall_time_s"] - 1.0,
        "measured_energy_j": f["device_energy_j"],
        "energy_method": f["device_energy_method"],
        "predicted_energy_j": predicted_j,
        "energy_error": predicted_j / f["device_energy_j"] - 1.0,
        "achieved_utilisation": achieved,
        "default_utilisation": f["default_utilisation"],
        "measured_power_w": power,
        "default_busy_power_w": f["default_busy_power_w"],
        "note": note,
    })
    return out.sort_values("started_at", kind="stable").reset_index(drop=True)
