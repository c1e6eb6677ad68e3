"""Validation of the serving model on published inference measurements (tests/model/data).

Each case is planned as published (model, device, precision, one request at a time, its
response length) and compared at the measurement's boundary (GPU energy against the model's
device energy). The engine of these measurements (Hugging Face transformers, eager) spends
most of each step launching kernels, so two constants are fitted to it: the engine overhead
per layer per step (from the measured latency) and the decode power share (from the energy).
The constants are fitted on the cases marked ``fitted`` (Llama 2 7B and 13B chat, run pr20);
every other case (LLaMA 1 models of the same shapes, in two runs of the benchmark: pr20, an
unpublished September 2023 run, and leaderboard, the figures the leaderboard published; see
the data file's header) is predicted with them and is the held-out set whose error is
reported; each fitted case is predicted with the other fitted case's fit, beside the planner
before this change (flat 70% bandwidth, power 75% of the rating: figures computed at commit
5e60c65) and a naive baseline (the rating × the weights read at peak bandwidth for every
token). ``serving_validation_table()`` is what the README prints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.model import batching
from planner.model.plan import Planner
from planner.model.scenario import parse_scenario
from planner.model.serving import fleet_inputs, plan_serving

DATA = Path(__file__).parent / "data" / "published_inference_measurements.csv"
# The planner before this change on the same cases (python: plan_inference at 5e60c65 with
# params, KV bytes per token, batch 1, 200 prompt tokens and the response length).
BEFORE_J = {"llama-2-7b-chat b1": 1214.35, "llama-2-13b-chat b1": 2109.35}


def published() -> pd.DataFrame:
    return pd.read_csv(DATA, comment="#")


def _row(planner: Planner, case) -> dict[str, np.ndarray]:
    s = parse_scenario({"inference": {
        "model": case.model, "hardware": case.hardware, "precision": case.precision,
        "batch_size": int(case.batch), "batch_policy": "fixed", "tensor_parallel": 1,
        "prompt_tokens": float(case.prompt_tokens_assumed),
        "output_tokens": float(case.response_tokens)}})
    return fleet_inputs(plan_serving(planner, s, planner.resolve_site(s)))


def predict(c, overhead_s_per_layer: float, decode_power_fraction: float, rated_w: float):
    """(latency s, device energy J per response) with the two engine constants."""
    c = dict(c, engine_overhead_s_per_step=overhead_s_per_layer * c["layers"],
             decode_power_w=np.asarray(rated_w * decode_power_fraction))
    n = np.asarray(c["replica_concurrency"], float)
    t = batching.times_at(c, n)["slot_s"]
    energy = c["devices_per_replica"] * batching.step_power_w(c, n) * t / n
    return float(t[0]), float(energy[0])


def fit(cases: list[tuple[dict, float, float, float]]) -> tuple[float, float]:
    """Overhead per layer and decode power share minimising the squared relative errors of
    latency then energy over ``cases`` (c, latency, energy, rated W): both are linear in
    their constant, so each is a one-dimensional least squares."""
    def lat(c, o):
        return predict(c, o, 0.6, 1.0)[0]
    # latency = a + b·o per case; least squares on relative error
    a = np.array([lat(c, 0.0) for c, *_ in cases])
    b = np.array([lat(c, 1e-3) for c, *_ in cases]) - a
    y = np.array([m for _, m, _, _ in cases])
    o = float(np.sum(b / y * (y - a) / y) / np.sum((b / y) ** 2)) * 1e-3
    e0 = np.array([predict(c, o, 0.0, r)[1] for c, _, _, r in cases])
    e1 = np.array([predict(c, o, 1.0, r)[1] for c, _, _, r in cases]) - e0
    ye = np.array([m for _, _, m, _ in cases])
    f = float(np.sum(e1 / ye * (ye - e0) / ye) / np.sum((e1 / ye) ** 2))
    return o, f


def serving_validation_table(planner: Planner | None = None) -> pd.DataFrame:
    """Per case: published vs predicted (held out), before this change and naive baseline."""
    planner = planner or Planner.load()
    data = published()
    rated = planner.catalogue.set_index("hardware_id")["rated_power_w"]
    rows = [(case, _row(planner, case)) for case in data.itertuples()]
    prepared = [(c, float(case.latency_s), float(case.energy_j_per_response),
                 float(rated[case.hardware])) for case, c in rows]
    fitted = data["fitted"].astype(bool).to_numpy()
    out = []
    for i, (case, c) in enumerate(rows):
        on = [j for j in range(len(rows)) if fitted[j] and j != i]
        o, f = fit([prepared[j] for j in on])
        latency, energy = predict(c, o, f, prepared[i][3])
        naive_s = float(c["weight_bytes"][0] / c["memory_bandwidth_bytes_per_s"][0]) * float(
            case.response_tokens)
        out.append({
            "case": case.case, "source": case.source, "run": case.run,
            "boundary": case.boundary,
            "role": "fitted" if fitted[i] else "held-out",
            "fitted_on": ", ".join(data["case"].iloc[on]),
            "overhead_ms_per_layer": o * 1e3, "decode_power_fraction": f,
            "published_latency_s": case.latency_s, "model_latency_s": latency,
            "published_energy_j": case.energy_j_per_response, "model_energy_j": energy,
            "before_energy_j": BEFORE_J.get(case.case, np.nan),
            "naive_energy_j": prepared[i][3] * naive_s,
            "published_j_per_token": case.energy_j_per_response / case.response_tokens,
            "model_j_per_token": energy / case.response_tokens,
        })
    t = pd.DataFrame(out)
    for name in ("model", "before", "naive"):
        t[f"{name}_energy_err"] = t[f"{name}_energy_j"] / t["published_energy_j"] - 1
    t["model_latency_err"] = t["model_latency_s"] / t["published_latency_s"] - 1
    return t


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return serving_validation_table()


def test_every_case_is_predicted_held_out(table):
    assert len(table) == len(published()) >= 10
    for row in table.itertuples():
        assert row.case not in row.fitted_on.split(", ")
    assert (table["role"] == "held-out").sum() >= 8


def held_out_summary(table: pd.DataFrame, run: str | None = None) -> dict[str, float]:
    """Median and worst |energy error| and the count within 35% over the held-out cases (of
    one run, or all)."""
    held = table[(table["role"] == "held-out") & ((table["run"] == run) if run else True)]
    err = held["model_energy_err"].abs()
    return {"n": len(held), "median": float(err.median()), "worst": float(err.max()),
            "within_35": int((err <= 0.35).sum())}


def test_held_out_energy_median_meets_the_target(table):
    """Issue 10 target: within 20% median and 35% worst on cases not used for fitting (the
    fitted cases, each predicted from the other, are left out). The median is met on every
    run and on all together, and every case beats the naive baseline."""
    held = table[table["role"] == "held-out"]
    assert (held["model_energy_err"].abs() < held["naive_energy_err"].abs()).all()
    for run in (None, "pr20", "leaderboard"):
        assert held_out_summary(table, run)["median"] <= 0.20, run


def test_both_targets_are_met_on_the_figures_the_leaderboard_published(table):
    s = held_out_summary(table, "leaderboard")
    assert s["n"] >= 10
    assert s["median"] <= 0.20 and s["worst"] <= 0.35


def test_the_pr20_misses_are_runs_that_disagree_with_the_published_run_of_the_same_model(table):
    """The worst-case target is missed on run pr20 only, by Koala 7B/13B and Alpaca 7B (README).
    The cause is not in any input of the plan (all fp16, the same engine and template family);
    what the data show is that the leaderboard's own run of each of those checkpoints drew at
    least 1.5x less energy per token, where the two runs agree within 25% on every case the
    model predicts within 35%."""
    pub = table.set_index("case")
    pr20 = table[(table["run"] == "pr20") & (table["role"] == "held-out")]
    ratio = {}
    for row in pr20.itertuples():
        other = f"{row.case} leaderboard"
        ratio[row.case] = row.published_j_per_token / pub.loc[other, "published_j_per_token"]
    missed = pr20[pr20["model_energy_err"].abs() > 0.35]["case"]
    assert len(missed) >= 1
    assert all(ratio[c] >= 1.5 for c in missed)
    kept = pr20[pr20["model_energy_err"].abs() <= 0.35]["case"]
    assert all(abs(ratio[c] - 1) <= 0.25 for c in kept)


def test_the_fitted_constants_are_physical(table):
    assert (table["overhead_ms_per_layer"] > 0).all()
    assert ((table["decode_power_fraction"] > 0.2) & (table["decode_power_fraction"] < 1.0)).all()


def test_the_change_beats_the_before_figures_on_these_cases(table):
    """On the cases whose before figures were recorded (the two Llama 2 cases)."""
    known = table[table["before_energy_j"].notna()]
    assert len(known) >= 2
    assert (known["model_energy_err"].abs() < known["before_energy_err"].abs()).all()
