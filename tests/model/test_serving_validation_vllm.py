"""Validation of the serving model on a continuous-batching engine (vLLM), ML.ENERGY v3.

Data: tests/model/data/published_vllm_measurements.csv (source, boundary and selection in its
header). Each case is planned as published (model preset, H100 SXM, bf16, a replica of the
published GPU count at the published concurrency, its mean response length) and compared at
the measurement's boundary: GPU energy per output token against the model's device energy.

The step's power is idle plus the compute draw and the memory draw, each for the share of the
step its units are busy (collectives counted as memory-bound), at most the rating
(``planner.model.batching.step_power_w``). One constant is fitted to these cases: the GPU
decode power share of the rating
(``decode_power_fraction`` in ``profiles/defaults.yaml``, fitted on all of them by
``planner.model.serving_calibration`` with every other constant at its default). The reported
error is therefore leave one group out: each case is predicted with that share fitted on the
cases of every *other* model and GPU count (a case's own model never enters it), all other
constants at the planner's defaults. Beside it: the planner as shipped (the share fitted on
all cases, so in-sample), the planner before this validation (decode share 0.60 and experts
touched counted as min(1, tokens·k/E): figures recorded in ``BEFORE_J_PER_TOKEN``) and a naive
baseline (the rating × the weights read at peak bandwidth once per step, shared by the
running batch).

The published runs give no prompt lengths (LM Arena conversations, multi-turn histories
included): ``PROMPT_TOKENS`` is an assumption, and the fitted constants absorb part of it.
``vllm_validation_table()`` is what the README prints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.model import serving_calibration as sc
from planner.model.fleet import fleet_inputs
from planner.model.plan import Planner
from planner.model.scenario import parse_scenario
from planner.model.serving import plan_serving

DATA = Path(__file__).parent / "data" / "published_vllm_measurements.csv"
PROMPT_TOKENS = 500.0  # assumed: not published (see the module docstring)
#: Held at the defaults while the decode share is fitted.
HELD = ("bandwidth_utilisation", "engine_overhead_s_per_step", "utilisation",
        "busy_power_fraction")
# The planner at main e52afbc on the same cases (J per output token at the published mean
# batch, PROMPT_TOKENS prompts), computed with that commit's code.
BEFORE_J_PER_TOKEN = {
    "qwen3-235b-a22b h100x8 n8": 6.37944, "qwen3-235b-a22b h100x8 n16": 5.75387,
    "qwen3-235b-a22b h100x8 n32": 2.92197, "qwen3-235b-a22b h100x8 n64": 1.5035,
    "qwen3-235b-a22b h100x8 n128": 0.79446, "qwen3-235b-a22b h100x8 n256": 0.482,
    "qwen3-30b-a3b h100x1 n8": 0.7745, "qwen3-30b-a3b h100x1 n16": 0.7178,
    "qwen3-30b-a3b h100x1 n32": 0.3681, "qwen3-30b-a3b h100x1 n64": 0.19232,
    "qwen3-30b-a3b h100x2 n8": 0.87843, "qwen3-30b-a3b h100x2 n16": 0.77081,
    "qwen3-30b-a3b h100x2 n32": 0.39514, "qwen3-30b-a3b h100x2 n64": 0.20697,
    "qwen3-30b-a3b h100x2 n128": 0.11287, "llama-3.1-70b h100x4 n8": 3.62028,
    "llama-3.1-70b h100x4 n16": 1.91118, "llama-3.1-70b h100x4 n32": 1.0617,
    "llama-3.1-70b h100x4 n64": 0.64199, "llama-3.1-70b h100x4 n128": 0.44424,
    "llama-3.1-70b h100x4 n256": 0.38774, "llama-3.1-8b h100x1 n8": 0.4271,
    "llama-3.1-8b h100x1 n16": 0.22871, "llama-3.1-8b h100x1 n32": 0.13002,
    "llama-3.1-8b h100x1 n64": 0.08036, "llama-3.1-8b h100x1 n128": 0.05556,
    "llama-3.1-8b h100x1 n256": 0.04343}


def published() -> pd.DataFrame:
    return pd.read_csv(DATA, comment="#")


def observation(planner: Planner, case, prompt_tokens: float = PROMPT_TOKENS):
    """The case planned as published, with what was measured."""
    s = parse_scenario({"inference": {
        "model": case.model, "hardware": case.hardware, "precision": case.precision,
        "batch_size": int(case.max_num_seqs), "batch_policy": "fixed",
        "tensor_parallel": int(case.gpus), "prompt_tokens": prompt_tokens,
        "output_tokens": float(case.response_tokens)}})
    c = fleet_inputs(plan_serving(planner, s, planner.resolve_site(s)))
    rated = float(planner.catalogue.set_index("hardware_id").loc[case.hardware,
                                                                 "rated_power_w"])
    return sc.Observation(c=c, concurrency=float(case.avg_batch_size),
                          s_per_token=float(case.avg_batch_size / case.output_tokens_per_s),
                          power_w=float(case.power_w), rated_w=rated, label=case.case)


def defaults_of(o: sc.Observation) -> dict[str, float]:
    """The planner's own constants for the case (its defaults, as planned)."""
    c = o.c
    return {"bandwidth_utilisation": float(c["bandwidth_utilisation"][0]),
            "engine_overhead_s_per_step": float(c["engine_overhead_s_per_step"][0]),
            "utilisation": float(c["utilisation"][0]),
            "decode_power_fraction": float(c["decode_power_w"][0]) / o.rated_w,
            "busy_power_fraction": float(c["busy_power_w"][0]) / o.rated_w}


def group_of(case) -> str:
    """Model and GPU count: the unit left out together."""
    return f"{case.model} x{int(case.gpus)}"


def fit_decode_share(observations: list[sc.Observation]) -> sc.Fit:
    """The decode power share fitted on ``observations``, the other constants at defaults."""
    start = defaults_of(observations[0])
    return sc.fit(observations, start, {k: start[k] for k in HELD})


def vllm_validation_table(planner: Planner | None = None,
                          prompt_tokens: float = PROMPT_TOKENS) -> pd.DataFrame:
    """Per case: published against the planner with the decode share fitted on the other
    groups (held out), as shipped, before this validation, and the naive baseline."""
    planner = planner or Planner.load()
    data = published()
    obs = [observation(planner, case, prompt_tokens) for case in data.itertuples()]
    groups = [group_of(case) for case in data.itertuples()]
    fits = {g: fit_decode_share([o for o, h in zip(obs, groups, strict=True) if h != g])
            for g in dict.fromkeys(groups)}
    rows = []
    for case, o, g in zip(data.itertuples(), obs, groups, strict=True):
        held = sc.predict(o, fits[g].constants)
        shipped = sc.predict(o, defaults_of(o))
        c = o.c
        naive_s = float(c["weight_bytes"][0] / (c["memory_bandwidth_bytes_per_s"][0]
                                                 * c["devices_per_replica"][0]))
        rows.append({
            "case": case.case, "group": g, "boundary": case.boundary, "gpus": int(case.gpus),
            "published_parallel": case.published_parallel,
            "concurrency": float(case.avg_batch_size),
            "fitted_on": ", ".join(sorted(set(groups) - {g})),
            "decode_power_fraction": fits[g].constants["decode_power_fraction"],
            "published_s_per_token": o.s_per_token, "model_s_per_token": held["s_per_token"],
            "published_power_w": o.power_w, "model_power_w": held["power_w"],
            "published_j_per_token": float(case.energy_j_per_token),
            "model_j_per_token": held["device_energy_j_per_token"],
            "shipped_j_per_token": shipped["device_energy_j_per_token"],
            "before_j_per_token": BEFORE_J_PER_TOKEN.get(case.case, np.nan),
            "naive_j_per_token": o.rated_w * c["devices_per_replica"][0] * naive_s
            / o.concurrency,
        })
    t = pd.DataFrame(rows)
    for name in ("model", "shipped", "before", "naive"):
        t[f"{name}_err"] = t[f"{name}_j_per_token"] / t["published_j_per_token"] - 1
    t["time_err"] = t["model_s_per_token"] / t["published_s_per_token"] - 1
    t["power_err"] = t["model_power_w"] / t["published_power_w"] - 1
    return t


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return vllm_validation_table()


def test_every_case_is_held_out_of_its_own_calibration(table):
    assert len(table) == len(published()) >= 20
    for row in table.itertuples():
        assert row.group not in row.fitted_on.split(", ")
    assert table["group"].nunique() >= 4


def test_calibration_fits_the_runs_it_is_given():
    """Fitted on one group alone, the constants reproduce that group's time and power."""
    planner = Planner.load()
    data = published()
    own = [observation(planner, c) for c in data.itertuples() if group_of(c) == "llama-3-8b x1"]
    result = sc.fit(own, defaults_of(own[0]))
    assert set(result.fitted) == {*sc.TIME_BOUNDS, *sc.POWER_BOUNDS}
    for o in own:
        p = sc.predict(o, result.constants)
        assert abs(p["s_per_token"] / o.s_per_token - 1) < 0.1
        assert abs(p["power_w"] / o.power_w - 1) < 0.12
    k = result.constants
    assert 0.3 <= k["bandwidth_utilisation"] <= 1.0 and k["engine_overhead_s_per_step"] < 0.02
    assert k["decode_power_fraction"] <= k["busy_power_fraction"] + 0.05


def test_the_shipped_decode_share_is_the_fit_on_all_cases(table):
    planner = Planner.load()
    obs = [observation(planner, c) for c in published().itertuples()]
    fitted = fit_decode_share(obs).constants["decode_power_fraction"]
    shipped = planner.defaults.decode_power_fraction.gpu.value
    assert abs(fitted - shipped) < 0.01
    assert table["decode_power_fraction"].between(0.6, 0.95).all()


def test_held_out_beats_before_and_naive(table):
    err = table["model_err"].abs()
    for name in ("before", "naive"):
        assert err.median() < table[f"{name}_err"].abs().median()
        assert err.max() < table[f"{name}_err"].abs().max()


def test_held_out_energy_meets_the_target(table):
    """Issue 10: within 20% median and 35% worst held out (each group predicted with the
    decode share fitted on the others)."""
    err = table["model_err"].abs()
    assert err.median() <= 0.20
    assert err.max() <= 0.35
