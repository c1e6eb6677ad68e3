"""The blind check of the training-time model: published runs chosen before any was planned.

``data/training_runs_blind4.csv`` holds published runs picked by the mechanical rules of
``data/training_run_candidates.md`` ("Fourth list"), written down and committed before any of
them was planned, by a helper that did not plan them. They are planned here exactly as
``validation_cases.py`` plans its cases (same scenario, same published device-hours, same
naive baseline), with the shipped constants: nothing is fitted on them, and the model was not
changed after they were first planned (README, "The time model on published runs").

    python tests/model/validation_blind.py              # per case, then the summaries
    python tests/model/validation_blind.py --markdown   # the README's tables
    python tests/model/validation_blind.py --list 5     # the fifth list (training_runs_blind5.csv)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from planner.model.perf_constants import load_performance
from planner.model.plan import Planner
from tests.model import validation_cases as vc

BLIND_PATH = vc.DATA / "training_runs_blind4.csv"
BLIND5_PATH = vc.DATA / "training_runs_blind5.csv"
BLIND6_PATH = vc.DATA / "training_runs_blind6.csv"
LISTS = {"4": BLIND_PATH, "5": BLIND5_PATH, "6": BLIND6_PATH}
# torchtitan's own H100 runs used Grand Teton hosts of H100 SXM 96GB HBM2e at a 500 W limit
# (the CSV's header), planned as the 700 W H100 SXM profile: reported apart.
CAPPED_H100_REPORTS = ("torchtitan2404", "torchtitan2408", "torchtitan2412", "torchtitan2506")


def blind_table(planner: Planner | None = None, path: Path = BLIND_PATH) -> pd.DataFrame:
    """Per blind case: published and model device-hours, MFU, layout, model and naive error
    (``path``: the list, the fourth by default; ``BLIND5_PATH`` the fifth)."""
    planner = planner or Planner.load()
    saved = vc.CASES_PATH
    vc.CASES_PATH = path
    try:
        c = vc.cases()
        g = vc.grid(planner)
        out = vc.evaluate(g)
        published = vc.published_device_hours(g)
        naive = vc.naive_device_hours(g)
    finally:
        vc.CASES_PATH = saved
    constants = load_performance()
    gen = np.array([constants.generation(h) for h in g["hardware_id"]])
    table = pd.DataFrame({
        "case": c["case"].to_numpy(), "report": c["run_report"].to_numpy(),
        "hardware": c["hardware"].to_numpy(), "generation": gen,
        "devices": c["devices"].to_numpy(), "precision": c["precision"].to_numpy(),
        "layout_basis": np.where(c["parallelism"].fillna("").str.len() > 0, "given",
                                 "searched"),
        "published_device_hours": published,
        "model_device_hours": out["device_hours"].to_numpy(float),
        "predicted_mfu": out["predicted_mfu"].to_numpy(float),
        "layout": out["layout"].to_numpy(),
        "feasible": out["feasible"].to_numpy(bool),
    })
    table["model_err"] = table["model_device_hours"] / published - 1
    table["naive_err"] = naive / published - 1
    capped = table["report"].isin(CAPPED_H100_REPORTS) & (table["hardware"] == "nvidia-h100-sxm")
    # Generations without a fitted constant (``other``, 0.66) by vendor.
    vendor = table["hardware"].str.split("-").str[0]
    other = vendor.map({"amd": "amd (unfitted)", "nvidia": "blackwell (unfitted)",
                        "intel": "gaudi (unfitted)", "aws": "trainium (unfitted)"}).fillna(
                            "other (unfitted)").to_numpy()
    table["group"] = np.where(capped, "hopper (torchtitan's 500 W H100)",
                              np.where(gen == "other", other, gen))
    table["fitted_configuration"] = fitted_configuration(table["case"])
    return table


def fitted_configuration(case: pd.Series) -> np.ndarray:
    """Rows that repeat a fitted validation case's run with another software release (the
    case id without its report key is a fitted case's): not independent of that fit."""
    fitted = {c.split("-", 1)[1] for c in load_performance().fitted_cases() if "-" in c}
    return case.str.split("-", n=1).str[1].isin(fitted).to_numpy()


def summaries(t: pd.DataFrame) -> pd.DataFrame:
    """Median |error| and share within 25%, model and naive: all, per group, per report
    (refused runs count as misses)."""
    rows = [("all", "all", t)]
    rows += [("generation", k, part) for k, part in t.groupby("group", sort=True)]
    rows += [("report", k, part) for k, part in t.groupby("report", sort=True)]
    rows.append(("fitted generations (ampere, hopper, tpu)", "all",
                 t[t["generation"].isin(["ampere", "hopper", "tpu"])]))
    if t["fitted_configuration"].any():
        rows.append(("independent of the fits (no fitted case's configuration)", "all",
                     t[~t["fitted_configuration"]]))
    out = []
    for kind, key, part in rows:
        # A run that happened but that the model refuses (no layout fits its memory) is a
        # miss: an infinite error, never left out of the median.
        err = part["model_err"].abs().fillna(np.inf)
        out.append({"by": kind, "group": key, "n": len(part),
                    "refused": int(part["model_err"].isna().sum()),
                    "model_median_abs_err": float(err.median()),
                    "model_within_25pct": int((err <= 0.25).sum()),
                    "naive_median_abs_err": float(part["naive_err"].abs().median()),
                    "per_report_median_of_medians": float(
                        part.groupby("report")["model_err"].apply(
                            lambda e: e.abs().fillna(np.inf).median()).median())})
    return pd.DataFrame(out)


def markdown(t: pd.DataFrame, s: pd.DataFrame) -> str:
    """The README's blind tables."""
    lines = ["| Case | Group | Hardware × devices | Layout | Published device-hours "
             "| Model MFU | Model err | Naive err |", "|---|---|---|---|---|---|---|---|"]
    for r in t.itertuples():
        lines.append(f"| {r.case} | {r.group} | {r.hardware} × {r.devices:,} "
                     f"| {r.layout_basis} | {vc._hours(r.published_device_hours)} "
                     f"| {r.predicted_mfu:.2f} | {vc._pct(r.model_err) or 'refused'} "
                     f"| {vc._pct(r.naive_err)} |")
    lines += ["", "| Cases | n | Refused | Model median \\|err\\| | Model within 25% "
              "| Naive median \\|err\\| |", "|---|---|---|---|---|---|"]
    for r in s.itertuples():
        label = r.group if r.by != "report" else f"report {r.group}"
        label = "all blind cases" if r.by == "all" else label
        label = r.by if r.group == "all" and r.by != "all" else label
        median = (f"{r.model_median_abs_err:.1%}" if np.isfinite(r.model_median_abs_err)
                  else "none (half refused)")
        lines.append(f"| {label} | {r.n} | {r.refused} | {median} "
                     f"| {r.model_within_25pct} of {r.n} | {r.naive_median_abs_err:.1%} |")
    return "\n".join(lines)


# The quantiles of published ÷ model device-hours that the Monte Carlo's training_time range
# is fitted to (profiles/levers.yaml: low = P5, high = P95; README, Uncertainty).
TRAINING_TIME_QUANTILES = (0.05, 0.10, 0.50, 0.90, 0.95)


def training_time_ratios(validation: pd.DataFrame, *blind: pd.DataFrame) -> pd.Series:
    """Published ÷ model device-hours, 1 / (1 + model_err), of the validation's held-out
    cases (``validation_cases.validation_table``, role held-out: the fitted ones left out)
    and of the blind lists' cases the model plans (refused ones, NaN error, left out)."""
    held = validation.loc[validation["role"] == "held-out", "model_err"]
    err = pd.concat([held, *(b["model_err"].dropna() for b in blind)], ignore_index=True)
    return 1.0 / (1.0 + err)


if __name__ == "__main__":
    pd.set_option("display.width", 250)
    pd.set_option("display.max_rows", 200)
    chosen = sys.argv[sys.argv.index("--list") + 1] if "--list" in sys.argv else "4"
    if chosen not in LISTS:
        sys.exit(f"--list: {chosen!r} is not a blind list; allowed: {', '.join(LISTS)}")
    t = blind_table(path=LISTS[chosen])
    s = summaries(t)
    if "--markdown" in sys.argv:
        print(markdown(t, s))
        sys.exit(0)
    cols = ["case", "group", "devices", "published_device_hours", "model_device_hours",
            "predicted_mfu", "model_err", "naive_err", "layout"]
    print(t[cols].round(3).to_string(index=False))
    print(s.round(3).to_string(index=False))
