"""Validation of the training-time model on published runs, and the fit of its one constant.

Each case of ``data/published_training_runs.csv`` is planned the way a planner would: the
published hardware, device count, tokens, sequence length and batch; the published layout
(``training.parallelism``) where the paper gives one that can be written as such, else the
layout the model searches; default goodput for whole runs, none for steady-state throughputs
and for runs whose device-hours are a throughput times the tokens (column ``goodput``). The
error is predicted ÷ published device-hours − 1.

``kernel_efficiency`` (profiles/performance.yaml) is the only constant fitted, one value per
hardware generation (Ampere/Volta, Hopper, TPU): the value on a 0.02 grid that minimises the
squared log error over the cases listed in its ``fitted_on``. Those cases are marked
``fitted``; the headline error is over the others (``held-out``). The leave-one-out error of
every case refits its generation's constant on all other cases of that generation (on all
other cases when it is the only one).

Beside it on the same cases: the naive formula 6·N_active·D ÷ (dense peak × 0.40), and the
peer llm-analysis (``data/peer_llm_analysis.csv``, written by ``bench/peer_llm_analysis.py``).

    python tests/model/validation_cases.py     # prints the README table
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from planner.model.perf_constants import load_performance
from planner.model.plan import Planner
from planner.model.scenario import parse_scenario
from planner.model.training import evaluate_training

DATA = Path(__file__).parent / "data"
CASES_PATH = DATA / "published_training_runs.csv"
PEER_PATH = DATA / "peer_llm_analysis.csv"
KE_GRID = np.round(np.arange(0.40, 1.0001, 0.02), 2)
NAIVE_MFU = 0.40
NOMINAL_TOKENS = 1e12  # throughput cases: device-hours of this many tokens
SAME_PAPER_AS_AMPERE_FIT = "Narayanan et al. 2021, arXiv:2104.04473, Table 1"


def cases() -> pd.DataFrame:
    """The published runs, one row each."""
    return pd.read_csv(CASES_PATH, comment="#")


def _int(v) -> int | None:
    return None if pd.isna(v) else int(v)


def parallelism(text) -> dict | None:
    """``tp8 pp64 dp6 zero1 recompute=full`` as a ``training.parallelism`` block."""
    if not isinstance(text, str) or not text.strip():
        return None
    names = {"tp": "tp", "pp": "pp", "dp": "dp", "ep": "ep", "zero": "zero_stage"}
    out: dict = {}
    for word in text.split():
        if word.startswith("recompute="):
            out["recompute"] = word.split("=", 1)[1]
            continue
        key = word.rstrip("0123456789")
        out[names[key]] = int(word[len(key):])
    return out


def scenario(row) -> dict:
    """The scenario a planner would write for a published run."""
    arch = {"layers": _int(row.layers), "hidden": _int(row.hidden), "heads": _int(row.heads),
            "head_dim": _int(row.head_dim), "vocab": _int(row.vocab),
            "experts": _int(row.experts), "experts_per_token": _int(row.experts_per_token)}
    training = {
        "hardware": row.hardware, "devices": int(row.devices), "params": float(row.params),
        "tokens": float(row.tokens), "precision": row.precision,
        "sequence_tokens": int(row.sequence_tokens),
        "global_batch_tokens": float(row.global_batch_tokens),
        "attention_kernel": row.attention_kernel,
        "architecture": {k: v for k, v in arch.items() if v is not None},
    }
    if not pd.isna(row.active_params):
        training["active_params"] = float(row.active_params)
    if row.kind == "throughput":
        training["goodput"] = 1.0  # a steady-state throughput: no restarts in it
    elif not pd.isna(row.goodput):
        training["goodput"] = float(row.goodput)
    layout = parallelism(row.parallelism)
    if layout is not None:
        training["parallelism"] = layout
    return {"name": row.case, "training": training,
            "site": {"carbon_intensity_g_per_kwh": 400, "pue": 1.1}}


def model_flops(row) -> float:
    """6·N_active·D + 12·L·H·Q·T·D, as the model counts them."""
    active = row.params if pd.isna(row.active_params) else row.active_params
    per_token = 6 * active + 12 * row.layers * row.heads * row.head_dim * row.sequence_tokens
    return float(per_token * row.tokens)


def grid(planner: Planner) -> pd.DataFrame:
    """All cases as one evaluation grid (one row per case), built once."""
    frames = []
    for row in cases().itertuples():
        s = parse_scenario(scenario(row))
        frames.append(planner.training_grid(s).assign(
            case=row.case, layout_group=row.parallelism if isinstance(row.parallelism, str)
            else ""))
    return pd.concat(frames, ignore_index=True)


def evaluate(g: pd.DataFrame, constants: dict | None = None) -> pd.DataFrame:
    """``evaluate_training`` per group of cases sharing a given layout (one layout per grid:
    a scenario's ``training.parallelism`` applies to all its rows); searched cases together."""
    parts = [evaluate_training(sub, constants).set_axis(sub.index)
             for _, sub in g.groupby("layout_group", sort=False)]
    return pd.concat(parts).loc[g.index]


def published_device_hours(g: pd.DataFrame) -> np.ndarray:
    """Published device-hours; for throughput cases, those of the tokens at the published MFU."""
    c = cases().set_index("case").loc[g["case"]]
    ref = g["mfu_reference_flops_per_s"].to_numpy(float)
    at_mfu = g["total_flops"].to_numpy(float) / (ref * c["published_mfu"].to_numpy(float))
    return np.where(c["kind"].to_numpy() == "throughput", at_mfu / 3600.0,
                    c["published_device_hours"].to_numpy(float))


def naive_device_hours(g: pd.DataFrame) -> np.ndarray:
    """6·N_active·D ÷ (dense peak × 0.40): the one-line baseline."""
    c = cases().set_index("case").loc[g["case"]]
    active = c["active_params"].fillna(c["params"]).to_numpy(float)
    return 6 * active * c["tokens"].to_numpy(float) / (
        g["mfu_reference_flops_per_s"].to_numpy(float) * NAIVE_MFU) / 3600.0


def log_errors(planner: Planner, g: pd.DataFrame | None = None):
    """log(predicted/published) for every case at every kernel efficiency of the grid."""
    g = grid(planner) if g is None else g
    published = published_device_hours(g)
    base = load_performance().step_constants()
    rows = [np.log(evaluate(g, {**base, "kernel_efficiency": ke})["device_hours"]
                   .to_numpy(float) / published) for ke in KE_GRID]
    return np.array(rows), g


def generations(g: pd.DataFrame) -> np.ndarray:
    """Each case's kernel-efficiency generation."""
    constants = load_performance()
    return np.array([constants.generation(h) for h in g["hardware_id"]])


def fit_index(errors: np.ndarray, use: np.ndarray) -> int:
    """Grid index minimising the squared log error over the cases in ``use``."""
    return int(np.argmin(np.nansum(errors[:, use] ** 2, axis=1)))


def validation_table(planner: Planner | None = None) -> tuple[pd.DataFrame, dict]:
    """Per case: published, model (shipped constants), leave-one-out, naive and peer errors."""
    planner = planner or Planner.load()
    constants = load_performance()
    errors, g = log_errors(planner)
    c = cases()
    gen = generations(g)
    fitted = c["case"].isin(constants.fitted_cases()).to_numpy()
    shipped = {name: k.value for name, k in constants.kernel_efficiency.items().items()}
    refit = {}
    for name, k in constants.kernel_efficiency.items().items():
        use = c["case"].isin(k.fitted_on).to_numpy()
        if use.any():
            refit[name] = float(KE_GRID[fit_index(errors, use)])
    out = evaluate(g)
    loo = np.empty(len(c))
    for i in range(len(c)):
        others = np.ones(len(c), dtype=bool)
        others[i] = False
        same = others & (gen == gen[i])
        loo[i] = np.exp(errors[fit_index(errors, same if same.any() else others), i]) - 1
    published = published_device_hours(g)
    table = pd.DataFrame({
        "case": c["case"], "kind": c["kind"], "hardware": c["hardware"], "generation": gen,
        "devices": c["devices"], "role": np.where(fitted, "fitted", "held-out"),
        "published_device_hours": published,
        "model_device_hours": out["device_hours"].to_numpy(float),
        "predicted_mfu": out["predicted_mfu"].to_numpy(float),
        "layout": out["layout"].to_numpy(),
        "layout_basis": np.where(c["parallelism"].fillna("").str.len() > 0, "published",
                                 "searched"),
        "source": c["source"],
    })
    table["model_err"] = table["model_device_hours"] / published - 1
    table["loo_err"] = loo
    table["naive_err"] = naive_device_hours(g) / published - 1
    peer = pd.read_csv(PEER_PATH, comment="#") if PEER_PATH.exists() else None
    if peer is not None:
        table = table.merge(peer[["case", "peer_device_hours", "peer_note"]], on="case",
                            how="left")
        table["peer_err"] = table["peer_device_hours"] / table["published_device_hours"] - 1
    held = table[table["role"] == "held-out"]
    summary = {
        "kernel_efficiency_shipped": shipped,
        "kernel_efficiency_refit": refit,
        "held_out_cases": len(held),
        "held_out_median_abs_err": float(held["model_err"].abs().median()),
        "held_out_within_25pct": float((held["model_err"].abs() <= 0.25).mean()),
        "held_out_naive_median_abs_err": float(held["naive_err"].abs().median()),
        "loo_median_abs_err": float(table["loo_err"].abs().median()),
        "loo_within_25pct": float((table["loo_err"].abs() <= 0.25).mean()),
        "naive_median_abs_err": float(table["naive_err"].abs().median()),
    }
    # Megatron-LM's own weak-scaling rows come from the paper the Ampere constant is fitted
    # on: the held-out error without them, reported beside the headline.
    other = held[~held["source"].str.startswith(SAME_PAPER_AS_AMPERE_FIT)]
    summary["held_out_other_papers_cases"] = len(other)
    summary["held_out_other_papers_median_abs_err"] = float(other["model_err"].abs().median())
    summary["held_out_other_papers_within_25pct"] = float(
        (other["model_err"].abs() <= 0.25).mean())
    summary["held_out_other_papers_naive_median_abs_err"] = float(
        other["naive_err"].abs().median())
    if "peer_err" in table:
        # On the cases the peer can plan (it has no TPUs): peer, model and naive side by side.
        both = held.dropna(subset=["peer_err"])
        summary["held_out_peer_cases"] = len(both)
        summary["held_out_peer_median_abs_err"] = float(both["peer_err"].abs().median())
        summary["held_out_model_median_abs_err_on_peer_cases"] = float(
            both["model_err"].abs().median())
        summary["held_out_naive_median_abs_err_on_peer_cases"] = float(
            both["naive_err"].abs().median())
    return table, summary


def _pct(x: float) -> str:
    return "" if not np.isfinite(x) else f"{x:+.0%}"


def _hours(x: float) -> str:
    return f"{x / 1e6:.3g}M" if x >= 1e6 else f"{x / 1e3:.3g}k"


def markdown(t: pd.DataFrame, s: dict) -> str:
    """The README's table and summary line, as printed there."""
    short = {"nvidia-a100-sxm-80gb": "A100 80GB", "nvidia-a100-sxm-40gb": "A100 40GB",
             "nvidia-h100-sxm": "H100", "nvidia-h800-sxm": "H800",
             "nvidia-v100-sxm2-32gb": "V100", "google-tpu-v4": "TPU v4",
             "google-tpu-v3": "TPU v3"}
    lines = ["| Case | Kind | Role | Hardware × devices | Layout | Published device-hours "
             "| Model MFU | Model err | LOO err | Naive err | llm-analysis err |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in t.itertuples():
        given = "given" if r.layout_basis == "published" else "searched"
        lines.append(f"| {r.case} | {r.kind} | {r.role} | {short.get(r.hardware, r.hardware)} "
                     f"× {r.devices:,} | {given} | {_hours(r.published_device_hours)} "
                     f"| {r.predicted_mfu:.2f} | {_pct(r.model_err)} | {_pct(r.loo_err)} "
                     f"| {_pct(r.naive_err)} | {_pct(getattr(r, 'peer_err', np.nan))} |")
    within = round(s["held_out_within_25pct"] * s["held_out_cases"])
    n = len(t)
    loo_within = round(s["loo_within_25pct"] * n)
    lines.append("")
    lines.append(
        f"Held out ({s['held_out_cases']} cases): median |error| "
        f"{s['held_out_median_abs_err']:.1%} (naive {s['held_out_naive_median_abs_err']:.1%}), "
        f"{within} of {s['held_out_cases']} within 25%; leave-one-out over all {n}: median "
        f"{s['loo_median_abs_err']:.1%}, {loo_within} of {n} within 25%; on the "
        f"{s.get('held_out_peer_cases', 0)} held-out cases llm-analysis can plan: model "
        f"{s.get('held_out_model_median_abs_err_on_peer_cases', np.nan):.1%}, naive "
        f"{s.get('held_out_naive_median_abs_err_on_peer_cases', np.nan):.1%}, llm-analysis "
        f"{s.get('held_out_peer_median_abs_err', np.nan):.1%}. Without the "
        f"{s['held_out_cases'] - s['held_out_other_papers_cases']} rows of Megatron-LM's Table 1 "
        f"(the paper of the Ampere fit): {s['held_out_other_papers_cases']} cases, median "
        f"{s['held_out_other_papers_median_abs_err']:.1%} (naive "
        f"{s['held_out_other_papers_naive_median_abs_err']:.1%}), "
        f"{round(s['held_out_other_papers_within_25pct'] * s['held_out_other_papers_cases'])} "
        f"within 25%.")
    return "\n".join(lines)


if __name__ == "__main__":
    pd.set_option("display.width", 250)
    t, s = validation_table()
    if "--markdown" in sys.argv:
        print(markdown(t, s))
        sys.exit(0)
    cols = ["case", "role", "hardware", "devices", "published_device_hours",
            "model_device_hours", "predicted_mfu", "model_err", "loo_err", "naive_err"]
    cols += ["peer_err"] if "peer_err" in t else []
    print(t[cols].round(3).to_string(index=False))
    print(t[["case", "layout"]].to_string(index=False))
    for k, v in s.items():
        print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")
