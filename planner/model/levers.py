"""Optimisation levers as what-ifs: quantisation, pruning, distillation, batch size, and
region and PUE, each beside the baseline, with sourced default effects
(``profiles/levers.yaml``) that a scenario can change.

Each lever is a variant of the baseline's evaluation grid (a changed inference section, site,
bytes per weight or FLOPs); every variant × hardware × batch row is then evaluated, sized and
costed in one vectorised pass by ``planner.model.serving``.

- Quantisation: bytes per weight from ``workloads.BYTES_PER_WEIGHT``; the arithmetic runs at
  the device's published peak for the new precision unless the lever is weight-only (W4A16,
  Frantar et al. 2022), where only the bytes read shrink. Memory fit is re-checked.
- Pruning: the matrix FLOPs fall by the realised speed-up (not 1/(1 − sparsity): Mishra et al.
  2021; NVIDIA 2020); 2:4 weights are stored compressed, half the values plus a 2-bit index each.
- Distillation: a smaller student serves; distilling it is a one-off training run of
  (6·N_student + 2·N_teacher)·D FLOPs (Hinton et al. 2015; Kaplan et al. 2020), priced on the
  same data-centre device at its training utilisation.
- Batch size: serve at one fixed batch. Region and PUE: another site for the same fleet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from planner.errors import ProfileError, ScenarioError
from planner.model import memo, performance
from planner.model.assumptions import select_precision
from planner.model.context import PlanningData
from planner.model.defaults import Defaults
from planner.model.footprint import Rates, footprint
from planner.model.frames import refuse_non_finite, with_columns
from planner.model.hardware import Confidence, Source
from planner.model.inference import evaluate_inference, inference_grid, inference_workload
from planner.model.paths import PROFILES_DIR
from planner.model.report import LEVER_COLUMNS
from planner.model.scenario import (
    QUANTISED_PRECISIONS,
    UNCERTAIN_NAMES,
    DistillationLever,
    InferenceSpec,
    LeversSpec,
    PruningLever,
    PruningPattern,
    QuantisationLever,
    QuantisedPrecision,
    Scenario,
    SiteSpec,
)
from planner.model.serving import evaluate_serving, resolve_traffic, serving_grid
from planner.model.site import ResolvedSite, resolve_site
from planner.model.units import SECONDS_PER_HOUR
from planner.model.workloads import BYTES_PER_WEIGHT
from planner.model.yamlio import StrictModel, load_file, validate

LEVERS_PATH = PROFILES_DIR / "levers.yaml"
LOCATION_FIELDS = ("country", "cloud_provider", "cloud_region", "carbon_intensity_g_per_kwh")
LM_TRAIN_FLOPS_PER_PARAM_PER_TOKEN = 6.0  # Kaplan et al. 2020
GENERIC_TRAIN_FLOPS_PER_FORWARD = 3.0  # forward + backward

class Cited(StrictModel):
    """A default value with its source, and optionally the published range around it."""

    value: float = Field(ge=0, allow_inf_nan=False)
    source: str
    confidence: Confidence
    low: float | None = None
    high: float | None = None
    note: str | None = None


class QuantisationDefault(StrictModel):
    """Whether a precision is weight-only by default, and what is known of its accuracy."""

    weight_only: bool
    source: str
    confidence: Confidence
    accuracy_note: str


class PruningDefault(StrictModel):
    """A sparsity pattern's realised speed-up and how its weights are stored."""

    sparsity: float | None = Field(default=None, ge=0, lt=1)
    realised_speedup: Cited
    compressed_storage: bool
    metadata_bits_per_kept_value: Cited


class DistillationDefault(StrictModel):
    """The default student size and distillation tokens, and the teacher's cost per token."""

    params_fraction: Cited
    tokens: Cited
    teacher_forward_flops_per_param_per_token: Cited


class RangeDefault(StrictModel):
    """A triangular range of factors of the baseline value, with its source."""

    low: float = Field(gt=0)
    mode: float = Field(gt=0)
    high: float = Field(gt=0)
    source: str
    confidence: Confidence
    note: str | None = None


class LeverDefaults(StrictModel):
    """The contents of ``profiles/levers.yaml``."""

    quantisation: dict[QuantisedPrecision, QuantisationDefault]
    pruning: dict[PruningPattern, PruningDefault]
    distillation: DistillationDefault
    uncertainty: dict[str, RangeDefault]
    sources: dict[str, Source]

    @model_validator(mode="after")
    def _complete(self) -> LeverDefaults:
        cited = [q.source for q in self.quantisation.values()]
        cited += [c.source for p in self.pruning.values()
                  for c in (p.realised_speedup, p.metadata_bits_per_kept_value)]
        d = self.distillation
        cited += [d.params_fraction.source, d.tokens.source,
                  d.teacher_forward_flops_per_param_per_token.source]
        cited += [r.source for r in self.uncertainty.values()]
        missing = sorted({c for c in cited if c not in self.sources})
        if missing:
            raise ValueError(f"cites sources not listed under `sources`: {', '.join(missing)}")
        absent = [n for n in UNCERTAIN_NAMES if n not in self.uncertainty]
        if absent:
            raise ValueError(f"uncertainty: missing ranges for {', '.join(absent)}")
        return self

    def cite(self, key: str) -> str:
        """A short citation: the source title and date."""
        s = self.sources[key]
        return f"{s.title} ({s.date})"


def load_lever_defaults(path: Path | str | None = None) -> LeverDefaults:
    """Load and validate ``profiles/levers.yaml``; ProfileError names the file and the field."""
    target = Path(path) if path is not None else LEVERS_PATH
    return _load_cached(str(target), target.stat().st_mtime_ns if target.exists() else 0)


@lru_cache(maxsize=4)
def _load_cached(path: str, _mtime_ns: int) -> LeverDefaults:
    return load_file(LeverDefaults, path, "levers", ProfileError)


@dataclass(frozen=True)
class Variant:
    """One what-if: the inference section and site it runs with, and its grid overrides."""

    lever: str
    setting: str
    spec: InferenceSpec
    site: ResolvedSite
    weight_bytes: float | None = None  # replaces the workload's weight bytes
    flops_scale: float = 1.0  # multiplies the prefill and decode FLOPs
    distil_flops: float = 0.0  # one-off FLOPs of distilling the student
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


def _weight_bytes(spec: InferenceSpec) -> float:
    return inference_workload(spec, spec.precision)["weight_bytes"]


def quantisations_below(precision: str) -> list[str]:
    """The quantised precisions with fewer bytes per weight than ``precision``: the only ones
    the quantisation lever accepts for a model served at it."""
    base = BYTES_PER_WEIGHT.get(precision, float("inf"))
    return [p for p in QUANTISED_PRECISIONS if BYTES_PER_WEIGHT[p] < base]


def quantise(v: Variant, lever: QuantisationLever, d: LeverDefaults) -> Variant:
    """The variant served at ``lever.precision`` (weight-only or weights and arithmetic)."""
    base = v.spec.precision
    allowed = quantisations_below(base)
    if lever.precision not in allowed:
        raise ScenarioError(
            f"levers.quantisation.precision: {lever.precision} does not reduce the bytes per "
            f"weight of the baseline precision {base}; allowed: {', '.join(allowed) or 'none'}")
    default = d.quantisation[lever.precision]
    weight_only = default.weight_only if lever.weight_only is None else lever.weight_only
    ratio = BYTES_PER_WEIGHT[lever.precision] / BYTES_PER_WEIGHT[base]
    weights = (v.weight_bytes if v.weight_bytes is not None else _weight_bytes(v.spec)) * ratio
    spec = v.spec if weight_only else v.spec.model_copy(update={"precision": lever.precision})
    mode = "weight-only" if weight_only else "weights and arithmetic"
    return Variant(v.lever, f"{lever.precision} ({mode})", spec, v.site, weights, v.flops_scale,
                   v.distil_flops, d.cite(default.source),
                   (*v.notes, default.accuracy_note))


def prune(v: Variant, lever: PruningLever, d: LeverDefaults) -> Variant:
    """The variant with ``lever.sparsity`` of the weights removed, at the realised speed-up."""
    default = d.pruning[lever.pattern]
    sparsity = default.sparsity if lever.pattern == "2:4" else lever.sparsity
    speedup = (lever.realised_speedup if lever.realised_speedup is not None
               else default.realised_speedup.value)
    weights = v.weight_bytes if v.weight_bytes is not None else _weight_bytes(v.spec)
    if default.compressed_storage:
        # Kept values plus their index bits, relative to the dense weights.
        bits = BYTES_PER_WEIGHT[v.spec.precision] * 8.0
        if v.weight_bytes is not None:
            bits = v.weight_bytes * 8.0 / max(inference_workload(v.spec, v.spec.precision)
                                               ["params"], 1.0)
        weights *= (1.0 - sparsity) * (1.0 + default.metadata_bits_per_kept_value.value / bits)
    note = (f"{sparsity:.0%} of weights removed, realised speed-up {speedup:g}× "
            f"(ideal {1 / (1 - sparsity):.2g}×); accuracy needs retraining or SparseGPT-style "
            "pruning")
    return Variant(v.lever, f"{lever.pattern}, sparsity {sparsity:g}", v.spec, v.site, weights,
                   v.flops_scale / speedup, v.distil_flops,
                   d.cite(default.realised_speedup.source), (*v.notes, note))


def distil(v: Variant, lever: DistillationLever, d: LeverDefaults) -> Variant:
    """The variant serving a student model, with the one-off FLOPs of distilling it."""
    teacher = inference_workload(v.spec, v.spec.precision)
    tokens = lever.tokens if lever.tokens is not None else d.distillation.tokens.value
    teacher_flops_per_param = d.distillation.teacher_forward_flops_per_param_per_token.value
    clear = {"model": None, "params": None, "weight_bytes": None, "kv_bytes_per_token": None,
             "flops_per_request": None, "bytes_per_request": None}
    if lever.student is not None:
        spec = v.spec.model_copy(update={**clear, "model": lever.student})
        setting = f"student {lever.student}"
    else:
        f = (lever.params_fraction if lever.params_fraction is not None
             else d.distillation.params_fraction.value)
        update = {**clear, "params": teacher["params"] * f if teacher["params"] else None}
        if teacher["is_llm"]:
            update["kv_bytes_per_token"] = teacher["kv_bytes_per_token"] * f
        else:
            update["flops_per_request"] = teacher["prefill_flops_per_request"] * f
            update["bytes_per_request"] = teacher["bytes_per_request"] * f
        spec = v.spec.model_copy(update=update)
        setting = f"student at {f:g} × the parameters"
    student = inference_workload(spec, spec.precision)
    if student["is_llm"] and teacher["is_llm"]:
        flops = (LM_TRAIN_FLOPS_PER_PARAM_PER_TOKEN * student["params"]
                 + teacher_flops_per_param * teacher["params"]) * tokens
    else:  # ``tokens`` counts samples: a training step of the student, a teacher forward
        flops = (GENERIC_TRAIN_FLOPS_PER_FORWARD * student["prefill_flops_per_request"]
                 + teacher["prefill_flops_per_request"]) * tokens
    if student["params"] and teacher["params"] and student["params"] >= teacher["params"]:
        raise ScenarioError(f"levers.distillation.student: {lever.student} is not smaller than "
                            "the served model; choose a smaller preset or params_fraction < 1")
    note = (f"distilled on {tokens:.3g} tokens; "
            f"{d.distillation.params_fraction.note or ''}").strip()
    return Variant(v.lever, setting, spec, v.site, None, v.flops_scale, v.distil_flops + flops,
                   d.cite(d.distillation.tokens.source), (*v.notes, note))


def rebatch(v: Variant, batch_size: int) -> Variant:
    """The variant served at one fixed batch size."""
    spec = v.spec.model_copy(update={"batch_size": batch_size, "batch_policy": "fixed"})
    return Variant(v.lever, f"batch {batch_size}", spec, v.site, v.weight_bytes, v.flops_scale,
                   v.distil_flops, v.source, v.notes)


def relocate(v: Variant, scenario: Scenario, site: SiteSpec, defaults: Defaults) -> Variant:
    """The variant at another site: the lever's location replaces the scenario's; PUE and
    electricity price override one by one."""
    base = scenario.site.model_dump(exclude_none=True)
    new = site.model_dump(exclude_none=True)
    if any(k in new for k in LOCATION_FIELDS):
        base = {k: x for k, x in base.items() if k not in LOCATION_FIELDS}
    merged = validate(SiteSpec, {**base, **new}, "levers.site", ScenarioError)
    resolved = resolve_site(merged, defaults)
    where = ", ".join(f"{k} {x}" for k, x in new.items())
    return Variant(v.lever, where, v.spec, resolved, v.weight_bytes, v.flops_scale,
                   v.distil_flops, v.source,
                   (*v.notes, f"grid {resolved.carbon_intensity_g_per_kwh:.0f} g/kWh "
                    f"({resolved.intensity_label}); PUE {resolved.pue:g}"))


def lever_variants(planner: PlanningData, scenario: Scenario, site: ResolvedSite,
                   defaults: LeverDefaults | None = None) -> list[Variant]:
    """The baseline, then one variant per lever given, then all of them together."""
    levers: LeversSpec | None = scenario.levers
    if levers is None or scenario.inference is None:
        raise ScenarioError("levers: need a `levers` and an `inference` section")
    d = defaults or load_lever_defaults()
    base = Variant("baseline", "as planned", scenario.inference, site)
    out = [base]
    steps = []
    if levers.distillation is not None:
        steps.append(("distillation", lambda v: distil(v, levers.distillation, d)))
    if levers.quantisation is not None:
        steps.append(("quantisation", lambda v: quantise(v, levers.quantisation, d)))
    if levers.pruning is not None:
        steps.append(("pruning", lambda v: prune(v, levers.pruning, d)))
    if levers.batch_size is not None:
        steps.append(("batch_size", lambda v: rebatch(v, levers.batch_size)))
    if levers.site is not None:
        steps.append(("site", lambda v: relocate(v, scenario, levers.site, planner.defaults)))
    for name, step in steps:
        v = step(base)
        out.append(Variant(name, v.setting, v.spec, v.site, v.weight_bytes, v.flops_scale,
                           v.distil_flops, v.source, v.notes))
    if levers.combined and len(steps) > 1:
        v = base
        settings = []
        for _, step in steps:
            v = step(v)
            settings.append(v.setting)
        out.append(Variant("combined", "; ".join(settings), v.spec, v.site, v.weight_bytes,
                           v.flops_scale, v.distil_flops, "see the single levers", v.notes))
    return out


def variant_grid(planner: PlanningData, scenario: Scenario, v: Variant,
                 with_traffic: bool) -> pd.DataFrame:
    """The evaluation grid of one variant, with its overrides applied."""
    build = serving_grid if with_traffic else inference_grid
    g = memo.site_grid(build, planner, scenario, v.site, v.spec)  # kept per site-free inputs
    overrides = {} if v.weight_bytes is None else {"weight_bytes": v.weight_bytes}
    return with_columns(g, {
        **overrides,
        "prefill_flops_per_request": g["prefill_flops_per_request"].to_numpy() * v.flops_scale,
        "decode_flops_per_token": g["decode_flops_per_token"].to_numpy() * v.flops_scale,
        "lever": v.lever,
        "setting": v.setting,
        "source": v.source,
        "note": "; ".join(v.notes),
        "distil_flops": v.distil_flops,
    })


def variants_grid(planner: PlanningData, scenario: Scenario, variants: list[Variant],
                  with_traffic: bool) -> pd.DataFrame:
    """Every variant's ``variant_grid``, one after another (``pd.concat`` of them, index
    0..n-1), built with one join of the overrides instead of one per variant."""
    build = serving_grid if with_traffic else inference_grid
    grids = [memo.site_grid(build, planner, scenario, v.site, v.spec) for v in variants]
    if any(list(g.columns) != list(grids[0].columns) for g in grids[1:]):
        return pd.concat([variant_grid(planner, scenario, v, with_traffic) for v in variants],
                         ignore_index=True)
    grid = pd.concat(grids, ignore_index=True)
    sizes = [len(g) for g in grids]

    def per_row(values: list) -> np.ndarray:
        return np.repeat(np.array(values, dtype=object if isinstance(values[0], str)
                                  else None), sizes)

    scale = per_row([v.flops_scale for v in variants])
    weight = grid["weight_bytes"].to_numpy(dtype=float)
    override = per_row([v.weight_bytes is not None for v in variants]).astype(bool)
    weight = np.where(override, per_row([np.nan if v.weight_bytes is None else v.weight_bytes
                                         for v in variants]), weight)
    columns = {
        "prefill_flops_per_request": grid["prefill_flops_per_request"].to_numpy() * scale,
        "decode_flops_per_token": grid["decode_flops_per_token"].to_numpy() * scale,
        "lever": per_row([v.lever for v in variants]),
        "setting": per_row([v.setting for v in variants]),
        "source": per_row([v.source for v in variants]),
        "note": per_row(["; ".join(v.notes) for v in variants]),
        "distil_flops": per_row([v.distil_flops for v in variants]),
    }
    # the first variant's column order, which pd.concat keeps: an overridden column of the
    # first moves to the end (with_columns), of a later one stays where it is
    if variants[0].weight_bytes is not None:
        return with_columns(grid, {"weight_bytes": weight, **columns})
    if override.any():
        grid["weight_bytes"] = weight
    return with_columns(grid, columns)


def one_off_distillation(rows: pd.DataFrame, defaults: Defaults) -> dict[str, np.ndarray]:
    """Energy, CO2e and cost of the distillation run on each row's device (data centre only):
    device-hours = FLOPs / (bf16 peak × training utilisation), as ``training`` plans a run."""
    flops = rows["distil_flops"].to_numpy(dtype=float)
    peak, _ = select_precision(rows, "bf16")
    util = np.array(defaults.per_kind("training_utilisation", rows["kind"]), dtype=float)
    edge = (rows["placement"] == "edge").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        device_hours = performance.compute_time_s(flops, peak, util) / SECONDS_PER_HOUR
    device_hours = np.where(edge | (flops <= 0), np.where(flops > 0, np.nan, 0.0), device_hours)
    fp = footprint(device_hours, rows["busy_power_w"].to_numpy(dtype=float),
                   Rates.from_frame(rows))
    return {"one_off_energy_kwh": fp.energy_kwh, "one_off_co2e_kg": fp.total_co2e_kg,
            "one_off_water_l": fp.water_l, "one_off_cost_usd": fp.cost_usd}


def plan_levers(planner: PlanningData, scenario: Scenario, site: ResolvedSite | None = None,
                defaults: LeverDefaults | None = None) -> pd.DataFrame:
    """The levers table: one row per lever × hardware, with ratios to the baseline."""
    site = site or resolve_site(scenario.site, planner.defaults)
    variants = lever_variants(planner, scenario, site, defaults)
    spec = scenario.inference
    traffic = resolve_traffic(spec)
    grid = variants_grid(planner, scenario, variants, traffic is not None)
    if traffic is not None:
        t = evaluate_serving(grid, spec, traffic, keys=("lever", "hardware_id"))
        metrics = {
            "devices": t["fleet_devices"], "latency_s": t["fleet_latency_p95_s"],
            "energy_kwh_per_1k_requests": t["fleet_energy_kwh_per_1k_requests"],
            "co2e_kg_per_1k_requests": t["fleet_total_co2e_kg_per_1k_requests"],
            "water_l_per_1k_requests": t["fleet_water_l_per_1k_requests"],
            "cost_usd_per_1k_requests": t["fleet_cost_usd_per_1k_requests"],
            "annual_energy_kwh": t["annual_energy_kwh"],
            "annual_total_co2e_kg": t["annual_total_co2e_kg"],
            "annual_water_l": t["annual_water_l"],
            "annual_cost_usd": t["annual_cost_usd"],
        }
    else:
        t = evaluate_inference(grid)
        metrics = {
            "devices": t["devices_per_replica"], "latency_s": t["latency_s"],
            "energy_kwh_per_1k_requests": t["energy_kwh_per_1k_requests"],
            "co2e_kg_per_1k_requests": (t["co2e_kg_per_1k_requests"]
                                        + t["embodied_co2e_kg_per_1k_requests"]),
            "water_l_per_1k_requests": t["water_l_per_1k_requests"],
            "cost_usd_per_1k_requests": t["cost_usd_per_1k_requests"],
            "annual_energy_kwh": np.nan, "annual_total_co2e_kg": np.nan,
            "annual_water_l": np.nan,
            "annual_cost_usd": np.nan,
        }
    return _levers_table(t, metrics, one_off_distillation(t, planner.defaults),
                         {v.lever: i for i, v in enumerate(variants)})


def _levers_table(t: pd.DataFrame, metrics: dict, one_off: dict[str, np.ndarray],
                  order: dict[str, int]) -> pd.DataFrame:
    """The levers table from the evaluated variants ``t`` (one row per lever × hardware):
    ``metrics`` and the one-off distillation, the ratios to the same hardware's baseline row
    and the payback, in lever order; built as arrays and joined once (a column set at a time
    cost more than the arithmetic)."""
    n = len(t)
    values = {name: (v.to_numpy() if isinstance(v, pd.Series) else np.full(n, v))
              for name, v in metrics.items()}
    reason = refuse_non_finite(t["infeasible_reason"].to_numpy(dtype=object), (),
                               (one_off["one_off_cost_usd"], one_off["one_off_co2e_kg"]))
    distilled = t["distil_flops"].to_numpy(dtype=float) > 0
    edge = (t["placement"] == "edge").to_numpy()
    note = t["note"].to_numpy(dtype=object)
    note = np.where(distilled & edge, note + "; the one-off distillation runs in a data "
                    "centre: see the data-centre rows", note)
    # each row's baseline: the baseline row of the same hardware (NaN where none)
    first = {h: i for i, (h, lever) in enumerate(zip(t["hardware_id"].tolist(),
                                                     t["lever"].tolist(), strict=True))
             if lever == "baseline"}
    at = np.array([first.get(h, -1) for h in t["hardware_id"].tolist()], dtype=int)

    def baseline(column: np.ndarray) -> np.ndarray:
        return np.where(at >= 0, np.asarray(column, dtype=float)[at], np.nan) if n else column

    ratio_of = {"latency_vs_baseline": "latency_s", "energy_vs_baseline":
                "energy_kwh_per_1k_requests", "co2e_vs_baseline": "co2e_kg_per_1k_requests",
                "water_vs_baseline": "water_l_per_1k_requests",
                "cost_vs_baseline": "cost_usd_per_1k_requests"}
    ratios = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, col in ratio_of.items():
            ratios[name] = (np.asarray(values[col], dtype=float)
                            / baseline(values[col]))
        cost = np.asarray(values["annual_cost_usd"], dtype=float)
        saving = baseline(cost) - cost
        payback = one_off["one_off_cost_usd"] / saving * 12.0
    note = np.where(distilled & ~(saving > 0) & ~edge,
                    note + "; no annual saving to pay the distillation back", note)
    computed = pd.DataFrame({
        "feasible": t["feasible"] & (reason == ""), "infeasible_reason": reason,
        **values, **one_off, **ratios,
        "payback_months": np.where(distilled & (saving > 0), payback, np.nan), "note": note,
    }, index=t.index)
    taken = t[["lever", "setting", "hardware_id", "name", "placement", "precision_used",
               "batch_size", "ttft_s", "prefill_s", "tpot_s", "source"]]
    rank = np.array([order.get(lever, len(order)) for lever in t["lever"].tolist()])
    rows = np.argsort(rank, kind="stable")  # lever order, each lever's rows as they were
    out = pd.concat([taken, computed], axis=1)
    return out.iloc[rows][LEVER_COLUMNS].reset_index(drop=True)
