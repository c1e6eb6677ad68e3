"""Levers: each moves the results the way physics says, by the size of a worked example,
and a lever outside its range gets a message naming the field and the range."""

from __future__ import annotations

import pytest

from planner.errors import ScenarioError
from planner.model.levers import load_lever_defaults, plan_levers
from planner.model.plan import Planner
from planner.model.scenario import parse_scenario

H100 = "nvidia-h100-sxm"
SITE = {"cloud_provider": "aws", "cloud_region": "us-east-1", "carbon_intensity_g_per_kwh": 400,
        "pue": 1.2}
W_BF16 = 8.03e9 * 2  # Llama 3 8B weights in bf16, bytes
KV_BF16 = 131_072.0  # 2 × 32 layers × 8 KV heads × 128 × 2 bytes per token
BW = 3.35e12 * 0.7  # H100 bandwidth at the default 70% achieved
MID_TOKENS = 512 + 256 / 2  # KV read per decode step, at mid-generation


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner.load()


def _levers(planner, levers, inference=None, site=None):
    scenario = parse_scenario({
        # no engine overhead per step, so the roofline's share of each lever shows alone
        "inference": {"model": "llama-3-8b", "hardware": H100, "batch_size": 1,
                      "batch_policy": "fixed", "engine_overhead_s_per_step": 0.0,
                      **(inference or {})},
        "site": site or SITE, "levers": {"combined": False, **levers}})
    table = plan_levers(planner, scenario)
    return table.set_index("lever")


def test_int8_halves_the_bytes_and_doubles_the_arithmetic(planner):
    """W8A8: decode at batch 1 is memory-bound, so TPOT falls with the bytes read:
    (8.03 GB + 65,536 B·640) / (16.06 GB + 131,072 B·640); prefill runs at the int8 peak
    (1,979 vs 989 TOPS/TFLOPS) and takes half as long."""
    t = _levers(planner, {"quantisation": {"precision": "int8"}})
    base, q = t.loc["baseline"], t.loc["quantisation"]
    ratio = (W_BF16 / 2 + KV_BF16 / 2 * MID_TOKENS) / (W_BF16 + KV_BF16 * MID_TOKENS)
    assert q["tpot_s"] / base["tpot_s"] == pytest.approx(ratio, rel=1e-9)
    # the prompt's chunk step is compute-bound: it runs at the int8 peak (its attention
    # FLOPs are not quantised, hence 1e-3 rather than exact)
    assert q["prefill_s"] / base["prefill_s"] == pytest.approx(989 / 1979, rel=1e-3)
    assert q["precision_used"] == "int8"
    for col in ("latency_vs_baseline", "energy_vs_baseline", "co2e_vs_baseline",
                "cost_vs_baseline"):
        assert q[col] < 1.0
    assert "SmoothQuant" in q["source"]


def test_int4_weight_only_quarters_the_weights_but_keeps_bf16_arithmetic(planner):
    t = _levers(planner, {"quantisation": {"precision": "int4"}})
    base, q = t.loc["baseline"], t.loc["quantisation"]
    ratio = (W_BF16 / 4 + KV_BF16 * MID_TOKENS) / (W_BF16 + KV_BF16 * MID_TOKENS)
    assert q["tpot_s"] / base["tpot_s"] == pytest.approx(ratio, rel=1e-9)
    assert q["prefill_s"] == pytest.approx(base["prefill_s"], rel=1e-9)  # compute-bound, bf16
    assert q["precision_used"] == "bf16" and "weight-only" in q["setting"]


def test_2_4_pruning_realises_1_5x_not_2x(planner):
    """Prefill at batch 1 is compute-bound, so it speeds up by the realised 1.5× (not the
    ideal 2×); decode reads the compressed weights: half the values + a 2-bit index each
    = 0.5 × (1 + 2/16) = 0.5625 of the bf16 bytes."""
    t = _levers(planner, {"pruning": {"pattern": "2:4"}})
    base, p = t.loc["baseline"], t.loc["pruning"]
    # the weights' FLOPs speed up 1.5×; the prompt's attention FLOPs are not pruned
    assert p["prefill_s"] / base["prefill_s"] == pytest.approx(1 / 1.5, rel=0.05)
    assert p["prefill_s"] / base["prefill_s"] > 1 / 1.5
    ratio = (W_BF16 * 0.5625 + KV_BF16 * MID_TOKENS) / (W_BF16 + KV_BF16 * MID_TOKENS)
    assert p["tpot_s"] / base["tpot_s"] == pytest.approx(ratio, rel=1e-9)
    assert p["energy_vs_baseline"] < 1 and p["cost_vs_baseline"] < 1


def test_unstructured_pruning_on_dense_hardware_changes_nothing_by_default(planner):
    t = _levers(planner, {"pruning": {"pattern": "unstructured", "sparsity": 0.7}})
    assert t.loc["pruning", "latency_vs_baseline"] == pytest.approx(1.0)
    t = _levers(planner, {"pruning": {"pattern": "unstructured", "sparsity": 0.7,
                                      "realised_speedup": 2.0}})
    ratio = t.loc["pruning", "prefill_s"] / t.loc["baseline", "prefill_s"]
    assert ratio == pytest.approx(0.5, rel=0.05) and ratio > 0.5  # attention is not pruned


def test_distillation_one_off_cost_is_a_training_run_of_the_student(planner):
    """Llama 3 8B → Llama 3.2 1B on 94e9 tokens: (6·1.24e9 + 2·8.03e9)·9.4e10 = 2.209e21
    FLOPs at 35% of 989 TFLOP/s = 1,773 H100-hours; 525 W, host +30%, PUE 1.2; $6.88/h."""
    t = _levers(planner, {"distillation": {"student": "llama-3.2-1b"}})
    d = t.loc["distillation"]
    flops = (6 * 1.24e9 + 2 * 8.03e9) * 9.4e10
    hours = flops / (989e12 * 0.35) / 3600
    assert hours == pytest.approx(1773, rel=1e-3)
    assert d["one_off_cost_usd"] == pytest.approx(hours * 6.88, rel=1e-9)
    assert d["one_off_energy_kwh"] == pytest.approx(525 * hours * 1.3 * 1.2 / 1000, rel=1e-9)
    assert d["latency_vs_baseline"] < 0.3 and d["energy_vs_baseline"] < 0.3
    assert t.loc["baseline", "one_off_cost_usd"] == 0


def test_distillation_pays_back_in_months_with_traffic(planner):
    t = _levers(planner, {"distillation": {"params_fraction": 0.5, "tokens": 1e10}},
                inference={"batch_size": 64, "batch_policy": "max", "requests_per_s_avg": 50})
    base, d = t.loc["baseline"], t.loc["distillation"]
    saving = base["annual_cost_usd"] - d["annual_cost_usd"]
    assert saving > 0
    assert d["payback_months"] == pytest.approx(d["one_off_cost_usd"] / saving * 12, rel=1e-9)


def test_a_bigger_batch_costs_less_per_request_and_waits_longer(planner):
    t = _levers(planner, {"batch_size": 32})
    b = t.loc["batch_size"]
    assert b["batch_size"] == 32
    assert b["energy_vs_baseline"] < 1 and b["cost_vs_baseline"] < 1
    assert b["latency_vs_baseline"] > 1


def test_pue_scales_energy_and_the_grid_scales_operational_carbon(planner):
    t = _levers(planner, {"site": {"pue": 1.5}})
    assert t.loc["site", "energy_vs_baseline"] == pytest.approx(1.5 / 1.2, rel=1e-9)
    assert t.loc["site", "cost_vs_baseline"] == pytest.approx(1.0)
    t = _levers(planner, {"site": {"carbon_intensity_g_per_kwh": 100}},
                inference={"requests_per_s_avg": 2, "batch_size": 8})
    base, s = t.loc["baseline"], t.loc["site"]
    assert s["energy_kwh_per_1k_requests"] == pytest.approx(base["energy_kwh_per_1k_requests"])
    assert s["co2e_vs_baseline"] < 1
    assert s["annual_total_co2e_kg"] < base["annual_total_co2e_kg"]


def test_combined_applies_every_lever(planner):
    scenario = parse_scenario({
        "inference": {"model": "llama-3-8b", "hardware": H100, "batch_size": 8},
        "site": SITE, "levers": {"quantisation": {"precision": "int8"},
                                 "pruning": {"pattern": "2:4"}}})
    t = plan_levers(planner, scenario).set_index("lever")
    assert list(t.index) == ["baseline", "quantisation", "pruning", "combined"]
    assert t.loc["combined", "latency_s"] < min(t.loc["quantisation", "latency_s"],
                                                t.loc["pruning", "latency_s"])


@pytest.mark.parametrize(("levers", "match"), [
    ({"pruning": {"pattern": "2:4", "sparsity": 0.6}}, r"levers\.pruning.*exactly 0\.5"),
    ({"pruning": {"pattern": "2:4", "realised_speedup": 2.5}},
     r"levers\.pruning.*realised_speedup: must be between 1 and 2"),
    ({"pruning": {"pattern": "unstructured", "sparsity": 0.99}},
     r"levers\.pruning\.sparsity.*0\.95"),
    ({"pruning": {"pattern": "unstructured"}}, r"levers\.pruning.*give the share"),
    ({"quantisation": {"precision": "int2"}}, r"levers\.quantisation\.precision"),
    ({"distillation": {"params_fraction": 1.5}}, r"levers\.distillation\.params_fraction"),
    ({"batch_size": 0}, r"levers\.batch_size"),
    ({"site": {"pue": 5}}, r"levers\.site\.pue"),
    ({}, "give at least one lever"),
])
def test_a_lever_outside_its_range_names_the_field(levers, match):
    with pytest.raises(ScenarioError, match=match):
        parse_scenario({"inference": {"model": "llama-3-8b"}, "levers": levers})


def test_quantising_to_the_same_precision_is_refused(planner):
    with pytest.raises(ScenarioError, match=r"levers\.quantisation\.precision: int8 does not "
                                            r"reduce.*allowed: int4"):
        _levers(planner, {"quantisation": {"precision": "int8"}}, inference={"precision": "int8"})


def test_levers_need_an_inference_section():
    with pytest.raises(ScenarioError, match="levers: need an `inference` section"):
        parse_scenario({"training": {"model": "llama-3-8b"}, "levers": {"batch_size": 4}})


def test_every_default_effect_is_sourced():
    d = load_lever_defaults()
    assert d.pruning["2:4"].realised_speedup.value == 1.5
    assert 1 < d.pruning["2:4"].realised_speedup.low < d.pruning["2:4"].realised_speedup.high < 2
    assert d.distillation.params_fraction.value == 0.6
    for q in d.quantisation.values():
        assert q.source in d.sources


@pytest.mark.parametrize("with_traffic", [True, False])
def test_the_variants_grid_is_the_variant_grids_one_after_another(planner, with_traffic):
    """``variants_grid`` (one join of the overrides) is ``pd.concat`` of ``variant_grid``
    per variant: values, dtypes and column order."""
    import pandas as pd

    from planner.model.levers import lever_variants, variant_grid, variants_grid

    traffic = {"requests_per_s_avg": 50, "latency_p95_s": 8} if with_traffic else {}
    scenario = parse_scenario({
        "inference": {"model": "llama-3-8b", "hardware": [H100, "nvidia-a100-sxm-40gb"],
                      **traffic},
        "site": SITE, "levers": {"distillation": {"student": "llama-3.2-1b"},
                                 "quantisation": {"precision": "int4"}, "batch_size": 16,
                                 "site": {"country": "FRA", "pue": 1.1}}})
    variants = lever_variants(planner, scenario, planner.resolve_site(scenario))
    assert any(v.weight_bytes is not None for v in variants)  # an overridden column too
    expected = pd.concat([variant_grid(planner, scenario, v, with_traffic) for v in variants],
                         ignore_index=True)
    pd.testing.assert_frame_equal(variants_grid(planner, scenario, variants, with_traffic),
                                  expected, check_exact=True)
