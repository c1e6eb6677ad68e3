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
KE_GRID = np.round(np.arange(0.30, 1.0001, 0.02), 2)
FP8_GRID = np.round(np.arange(0.50, 1.6001, 0.02), 2)
NAIVE_MFU = 0.40
NOMINAL_TOKENS = 1e12  # throughput cases: device-hours of this many tokens


def cases() -> pd.DataFrame:
    """The published runs, one row each."""
    return pd.read_csv(CASES_PATH, comment="#")


def _int(v) -> int | None:
    return None if pd.isna(v) else int(v)


def parallelism(text) -> dict | None:
    """``tp8 pp64 dp6 zero1 recompute=full`` (``first5 last5``: an uneven split's end stages;
    ``vp6``: interleaved chunks per stage; ``tp_overlap=off``: the tensor-parallel collectives
    not overlapped) as a ``training.parallelism`` block."""
    if not isinstance(text, str) or not text.strip():
        return None
    names = {"tp": "tp", "pp": "pp", "vp": "virtual_stages", "dp": "dp", "ep": "ep",
             "zero": "zero_stage",
             "first": "first_stage_layers", "last": "last_stage_layers"}
    out: dict = {}
    for word in text.split():
        if word.startswith("tp_overlap="):
            out["tp_comm_overlap"] = word.split("=", 1)[1] == "on"
            continue
        if word.startswith(("recompute=", "schedule=", "dispatcher=")):
            key, value = word.split("=", 1)
            out[key] = value
            continue
        key = word.rstrip("0123456789")
        out[names[key]] = int(word[len(key):])
    return out


def scenario(row) -> dict:
    """The scenario a planner would write for a published run."""
    arch = {"layers": _int(row.layers), "hidden": _int(row.hidden), "heads": _int(row.heads),
            "head_dim": _int(row.head_dim), "vocab": _int(row.vocab),
            "experts": _int(row.experts), "experts_per_token": _int(row.experts_per_token),
            "routed_nodes_per_token": _int(row.routed_nodes_per_token)}
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
    """Published device-hours; for throughput cases, those of the tokens at the published
    tokens per second per device or, where only that is published, at the published MFU."""
    c = cases().set_index("case").loc[g["case"]]
    ref = g["mfu_reference_flops_per_s"].to_numpy(float)
    at_mfu = g["total_flops"].to_numpy(float) / (ref * c["published_mfu"].to_numpy(float))
    rate = c["published_tokens_per_s_per_device"].to_numpy(float)
    at_rate = c["tokens"].to_numpy(float) / rate
    throughput = np.where(np.isfinite(rate), at_rate, at_mfu)
    return np.where(c["kind"].to_numpy() == "throughput", throughput / 3600.0,
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


def fp8_rows(g: pd.DataFrame) -> np.ndarray:
    """Cases planned at FP8 (the only ones ``fp8_matmul_efficiency`` acts on)."""
    return (g["precision_used"] == "fp8").to_numpy()


def fp8_log_errors(g: pd.DataFrame, ke: dict[str, float] | None = None) -> np.ndarray:
    """log(predicted/published) of every FP8 case at every ``fp8_matmul_efficiency`` of the
    grid (NaN elsewhere), at the shipped kernel efficiencies or at ``ke`` (one per case)."""
    use = fp8_rows(g)
    sub = g[use]
    published = published_device_hours(g)[use]
    base = load_performance().step_constants()
    out = np.full((len(FP8_GRID), len(g)), np.nan)
    for j, value in enumerate(FP8_GRID):
        out[j, use] = np.log(evaluate(sub, {**base, "fp8_matmul_efficiency": value})
                             ["device_hours"].to_numpy(float) / published)
    return out


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
    fp8 = fp8_rows(g)
    fp8_errors = fp8_log_errors(g)
    fp8_fit = c["case"].isin(constants.fp8_matmul_efficiency.fitted_on).to_numpy()
    refit_fp8 = float(FP8_GRID[fit_index(fp8_errors, fp8_fit)]) if fp8_fit.any() else None
    out = evaluate(g)
    published = published_device_hours(g)
    loo = np.empty(len(c))
    for i in range(len(c)):
        others = np.ones(len(c), dtype=bool)
        others[i] = False
        same = others & (gen == gen[i])
        ke_index = fit_index(errors, same if same.any() else others)
        loo[i] = np.exp(errors[ke_index, i]) - 1
        if fp8[i]:
            # Both constants refitted without the case: its generation's kernel efficiency
            # (above) and the FP8 efficiency on the other FP8 cases; the case planned at both.
            value = FP8_GRID[fit_index(fp8_errors, others & fp8)]
            k = {**load_performance().step_constants(), "fp8_matmul_efficiency": value,
                 "kernel_efficiency": KE_GRID[ke_index]}
            one = evaluate(g.iloc[[i]], k)["device_hours"].to_numpy(float)[0]
            loo[i] = one / published[i] - 1
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
    # A held-out case from the report of a fitted case (another row of the same paper's table,
    # the same run's model card) is not independent of the fit: reported apart.
    fitted_reports = set(c.loc[fitted, "run_report"])
    table["independent"] = ~fitted & ~c["run_report"].isin(fitted_reports).to_numpy()
    summary = {
        "kernel_efficiency_shipped": shipped,
        "kernel_efficiency_refit": refit,
        "fp8_matmul_efficiency_shipped": constants.fp8_matmul_efficiency.value,
        "fp8_matmul_efficiency_refit": refit_fp8,
        "fitted_reports": sorted(fitted_reports),
        "loo_median_abs_err": float(table["loo_err"].abs().median()),
        "loo_within_25pct": float((table["loo_err"].abs() <= 0.25).mean()),
        "naive_median_abs_err": float(table["naive_err"].abs().median()),
    }
    subsets = {"held_out": held, "independent": table[table["independent"]]}
    for name, part in subsets.items():
        summary[f"{name}_cases"] = len(part)
        summary[f"{name}_median_abs_err"] = float(part["model_err"].abs().median())
        summary[f"{name}_within_25pct"] = float((part["model_err"].abs() <= 0.25).mean())
        summary[f"{name}_naive_median_abs_err"] = float(part["naive_err"].abs().median())
        if "peer_err" in table:
            # On the cases the peer can plan (it has no TPUs): peer, model and naive.
            both = part.dropna(subset=["peer_err"])
            summary[f"{name}_peer_cases"] = len(both)
            summary[f"{name}_peer_median_abs_err"] = float(both["peer_err"].abs().median())
            summary[f"{name}_model_median_abs_err_on_peer_cases"] = float(
                both["model_err"].abs().median())
            summary[f"{name}_naive_median_abs_err_on_peer_cases"] = float(
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
        role = r.role if r.role == "fitted" or r.independent else "held-out, same report"
        lines.append(f"| {r.case} | {r.kind} | {role} | {short.get(r.hardware, r.hardware)} "
                     f"× {r.devices:,} | {given} | {_hours(r.published_device_hours)} "
                     f"| {r.predicted_mfu:.2f} | {_pct(r.model_err)} | {_pct(r.loo_err)} "
                     f"| {_pct(r.naive_err)} | {_pct(getattr(r, 'peer_err', np.nan))} |")
    n = len(t)
    lines += ["", "| Cases | n | Model median \\|err\\| | Model within 25% "
              "| Naive median \\|err\\| "
              "| llm-analysis median \\|err\\| (model, naive on the same cases) |",
              "|---|---|---|---|---|---|"]
    names = {"held_out": "Held out (not fitted)",
             "independent": "Independent: held out, not from a fitted case's report"}
    for key, label in names.items():
        k = s[f"{key}_cases"]
        within = round(s[f"{key}_within_25pct"] * k)
        peer = (f"{s[f'{key}_peer_median_abs_err']:.1%} on {s[f'{key}_peer_cases']} "
                f"({s[f'{key}_model_median_abs_err_on_peer_cases']:.1%}, "
                f"{s[f'{key}_naive_median_abs_err_on_peer_cases']:.1%})"
                if f"{key}_peer_cases" in s else "")
        lines.append(f"| {label} | {k} | {s[f'{key}_median_abs_err']:.1%} | {within} of {k} "
                     f"| {s[f'{key}_naive_median_abs_err']:.1%} | {peer} |")
    lines.append(f"| Leave-one-out, all cases | {n} | {s['loo_median_abs_err']:.1%} "
                 f"| {round(s['loo_within_25pct'] * n)} of {n} | {s['naive_median_abs_err']:.1%} "
                 "| |")
    lines += ["", "Fitted reports (their other rows are not independent): "
              + ", ".join(s["fitted_reports"]) + "."]
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
