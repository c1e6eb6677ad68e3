"""Property (issue 11): random scenario documents never crash the parser (a Scenario or one
ScenarioError line, nothing else), and a plan never marks a non-finite figure feasible."""

from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from planner.errors import PlannerError, ScenarioError
from planner.model.plan import Planner
from planner.model.scenario import Scenario, parse_scenario_text

HOSTILE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e-308, 1e-3, 1e12, 1e15, 1e300, 2**63]),
    st.integers(min_value=-(10**20), max_value=10**20),
)


def numbers(low: float = 1e-3, high: float = 1e6, whole: bool = False):
    """Mostly a plannable value in [low, high]; about one draw in ten hostile."""
    nice = (st.integers(min_value=max(1, int(low)), max_value=int(high)) if whole
            else st.floats(min_value=low, max_value=high))
    hostile = st.sampled_from([False] * 9 + [True])  # one_of would not weight the branches
    return hostile.flatmap(lambda h: HOSTILE if h else nice)


NUMBERS = numbers()
ANY = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=20)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
HARDWARE = st.sampled_from(["all", "nvidia-h100-sxm", "google-tpu-v5e", "amd-epyc-9654",
                            "nvidia-jetson-orin-nano-8gb"])
TRAINING = st.fixed_dictionaries({
    "model": st.sampled_from(["llama-3-8b", "gpt-3-175b", "resnet-50"])}, optional={
    "params": numbers(1e6, 1e12), "tokens": numbers(1e6, 1e13), "days": numbers(1e-3, 365),
    "devices": numbers(1, 1e5, whole=True), "mfu": numbers(0.01, 1), "avg_power_w": NUMBERS,
    "hardware": HARDWARE, "precision": st.sampled_from(["bf16", "fp8", "int4"]),
})
INFERENCE = st.fixed_dictionaries({
    "model": st.sampled_from(["llama-3-8b", "resnet-50"])}, optional={"params": NUMBERS,
    "requests_per_s_avg": NUMBERS, "requests_per_s_peak": NUMBERS,
    "batch_size": numbers(1, 512, whole=True), "latency_p95_s": numbers(1e-3, 100),
    "prompt_tokens": numbers(1, 8192, whole=True), "output_tokens": numbers(1, 4096, whole=True),
    "edge_devices": numbers(1, 1e9, whole=True), "headroom": numbers(0, 0.9),
    "hardware": HARDWARE,
    "daily_profile": st.lists(NUMBERS, min_size=24, max_size=24),
})
SITE = st.fixed_dictionaries({}, optional={
    "carbon_intensity_g_per_kwh": numbers(0, 1500), "pue": numbers(1, 3),
    "electricity_usd_per_kwh": numbers(0, 1),
    "country": st.sampled_from(["USA", "FRA", "XXX"]),
})
SCENARIOS = st.fixed_dictionaries({}, optional={"training": TRAINING, "inference": INFERENCE,
                                                "site": SITE})
DOCUMENTS = st.one_of(SCENARIOS, SCENARIOS, SCENARIOS, ANY,
                      st.fixed_dictionaries({"training": TRAINING, "junk": ANY}))
FIGURES = {"training": ("devices", "device_hours", "energy_kwh", "total_co2e_kg", "cost_usd"),
           "inference": ("latency_s", "energy_kwh_per_1k_requests", "fleet_devices",
                         "annual_energy_kwh", "annual_cost_usd", "annual_total_co2e_kg")}

REQUIRED = ("device_hours", "energy_kwh", "latency_s", "energy_kwh_per_1k_requests")


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def _text(document) -> str:
    try:
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError, OverflowError):
        return str(document)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.filter_too_much])
@given(document=DOCUMENTS)
def test_random_scenario_documents_never_crash_or_plan_non_finite_as_feasible(planner, document):
    text = _text(document)
    try:
        scenario = parse_scenario_text(text, "random.yaml")
    except ScenarioError as exc:
        assert "\n" not in str(exc) and len(str(exc)) <= 600
        event("refused by the parser")
        return
    assert isinstance(scenario, Scenario)
    try:
        result = planner.plan(scenario)
    except PlannerError as exc:  # an unknown preset, region or hardware id: one line
        assert "\n" not in str(exc)
        event("refused by the planner")
        return
    event("planned")
    for name, columns in FIGURES.items():
        frame = getattr(result, name)
        if frame is None:
            continue
        feasible = frame[frame["feasible"].astype(bool)]
        for col in columns:
            if col in feasible.columns:
                values = feasible[col].to_numpy(dtype=float)
                assert not any(math.isinf(v) for v in values), (name, col, text)
                if col in REQUIRED:
                    assert all(math.isfinite(v) for v in values), (name, col, text)
