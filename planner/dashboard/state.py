"""Dashboard state: widget keys with their defaults, and the mappings state → scenario dict,
scenario → state, and state ↔ URL query parameters. Pure: no streamlit, so tests call it.

The session state is a flat mapping of widget keys to values in the units the widgets show
(percent, billions of parameters); ``to_scenario`` converts to the scenario file's units.
A value equal to the model's default is left out of the scenario, so its provenance stays
"default" rather than "user input".
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from planner.model.defaults import Defaults
from planner.model.hardware import PRECISIONS
from planner.model.scenario import Scenario, parse_scenario_text

# Session keys where each run leaves its own wall and CPU time (bench/dashboard_speed.py).
LAST_RUN = "_last_run_s"
LAST_RUN_CPU = "_last_run_cpu_s"
CUSTOM_MODEL = "custom"
DEFAULT_REGION = "aws:us-east-1"
WORLD_AVERAGE = "default"
DEVICE_CLASSES: tuple[str, ...] = ("GPU", "TPU", "NPU", "CPU", "Edge")
SIZE_BY = ("deadline", "devices")
PRICING_MODES = ("cloud", "on_prem")
NONE = "none"
QUANTISATION = (NONE, "fp8", "int8", "int4")
PRUNING = (NONE, "2:4")
ALL_SECTIONS = ("training", "inference", "lifecycle", "levers", "uncertainty")


@dataclass(frozen=True)
class Field:
    """One piece of dashboard state: its key, type and default; ``scenario`` fields are saved
    in scenario files, the others (view state) only in the URL."""

    key: str
    kind: str  # "float", "optfloat", "int", "optint", "bool", "str", "list"
    default: object
    scenario: bool = True


def fields(defaults: Defaults) -> dict[str, Field]:
    """Every state field, by key, with defaults taken from ``profiles/defaults.yaml``."""
    items = [
        # where, and how it is paid for
        Field("site_region", "str", DEFAULT_REGION),
        Field("site_g_per_kwh", "optfloat", None),
        Field("site_pue", "float", defaults.pue.value),
        Field("site_elec_usd_per_kwh", "float", defaults.electricity_usd_per_kwh.value),
        Field("price_mode", "str", "cloud"),
        Field("price_discount_pct", "float", 0.0),
        Field("price_life_years", "float", defaults.service_life_years.value),
        # the training run
        Field("t_model", "str", "llama-3-8b"),
        Field("t_params_b", "float", 8.0),
        Field("t_tokens_t", "float", 15.0),
        Field("t_precision", "str", "bf16"),
        Field("t_size_by", "str", "deadline"),
        Field("t_days", "float", 30.0),
        Field("t_devices", "int", 1024),
        Field("t_mfu_pct", "optfloat", None),
        # the served workload
        Field("i_model", "str", "llama-3-8b"),
        Field("i_params_b", "float", 8.0),
        Field("i_prompt_tokens", "int", 512),
        Field("i_output_tokens", "int", 256),
        Field("i_batch", "int", 64),
        Field("i_precision", "str", "bf16"),
        Field("i_rps_avg", "optfloat", 200.0),
        Field("i_rps_peak", "optfloat", 400.0),
        Field("i_latency_p95_s", "optfloat", 8.0),
        Field("i_ttft_s", "optfloat", None),
        Field("i_headroom_pct", "float", 20.0),
        Field("i_rtt_s", "float", 0.05),
        Field("i_autoscaling", "bool", False),
        # the model's life
        Field("lc_horizon_months", "int", 36),
        Field("lc_retrain_months", "optint", 12),
        Field("lc_retrain_pct", "float", 25.0),
        Field("lc_serving_hw", "str", ""),
        # optimisation levers
        Field("lv_quant", "str", "int4"),
        Field("lv_prune", "str", "2:4"),
        Field("lv_distil", "str", "llama-3.2-1b"),
        Field("lv_batch", "optint", None),
        Field("lv_region", "str", "country:FRA"),
        Field("lv_pue", "optfloat", 1.1),
        # uncertainty
        Field("u_draws", "int", 2000),
        Field("u_seed", "int", 0),
        # view state: filters and selections of single pages
        Field("cmp_classes", "list", list(DEVICE_CLASSES), scenario=False),
        Field("tp_hw", "str", "", scenario=False),
        Field("sv_hw", "str", "", scenario=False),
        Field("sv_metric", "str", "annual_cost_usd", scenario=False),
        Field("tp_metric", "str", "total_co2e_kg", scenario=False),
        Field("use_cal", "bool", False, scenario=False),
        Field("lv_hw", "str", "", scenario=False),
        Field("lc_metric", "str", "cost", scenario=False),
        Field("hw_classes", "list", list(DEVICE_CLASSES), scenario=False),
        Field("hw_search", "str", "", scenario=False),
    ]
    return {f.key: f for f in items}


def default_state(defaults: Defaults) -> dict[str, object]:
    """The first view: Llama 3 8B trained in 30 days and served as a chat assistant at
    200 requests/s (400 at peak, p95 within 8 s) for 3 years, in AWS us-east-1."""
    return {k: (list(f.default) if isinstance(f.default, list) else f.default)
            for k, f in fields(defaults).items()}


def _same(a: object, b: object) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-15)
    return a == b


def region_to_site(region: str) -> dict[str, str]:
    """``aws:us-east-1`` → provider and region; ``country:FRA`` → country; ``default`` → {}."""
    if region == WORLD_AVERAGE or not region:
        return {}
    head, _, tail = region.partition(":")
    if head == "country":
        return {"country": tail}
    return {"cloud_provider": head, "cloud_region": tail}


def site_to_region(site: Mapping[str, object]) -> str:
    """The inverse of :func:`region_to_site`."""
    if site.get("cloud_provider") and site.get("cloud_region"):
        return f"{site['cloud_provider']}:{site['cloud_region']}"
    if site.get("country"):
        return f"country:{site['country']}"
    return WORLD_AVERAGE


def to_scenario(state: Mapping[str, object], defaults: Defaults,
                sections: tuple[str, ...] = ("training", "inference")) -> dict:
    """The scenario dict (the YAML file's shape) for the state, with only ``sections``."""
    base = default_state(defaults)
    s = {**base, **state}
    site: dict[str, object] = region_to_site(str(s["site_region"]))
    if s["site_g_per_kwh"] is not None:
        site["carbon_intensity_g_per_kwh"] = s["site_g_per_kwh"]
    for key, name in (("site_pue", "pue"), ("site_elec_usd_per_kwh", "electricity_usd_per_kwh")):
        if not _same(s[key], base[key]):
            site[name] = s[key]
    pricing: dict[str, object] = {"mode": s["price_mode"]}
    if not _same(s["price_discount_pct"], 0.0):
        pricing["cloud_discount"] = float(s["price_discount_pct"]) / 100.0
    if not _same(s["price_life_years"], base["price_life_years"]):
        pricing["service_life_years"] = s["price_life_years"]
    out: dict[str, object] = {"name": "dashboard scenario"}
    if "training" in sections:
        training: dict[str, object] = {"hardware": "all", "precision": s["t_precision"]}
        if s["t_model"] == CUSTOM_MODEL:
            training["params"] = _scaled(s["t_params_b"], 1e9)
            training["tokens"] = _scaled(s["t_tokens_t"], 1e12)
        else:
            training["model"] = s["t_model"]
        if s["t_size_by"] == "devices":
            training["devices"] = s["t_devices"]
        else:
            training["days"] = s["t_days"]
        if s["t_mfu_pct"] is not None:
            training["mfu"] = _scaled(s["t_mfu_pct"], 0.01)
        out["training"] = training
    if "inference" in sections:
        inference: dict[str, object] = {
            "hardware": "all", "precision": s["i_precision"],
            "prompt_tokens": s["i_prompt_tokens"], "output_tokens": s["i_output_tokens"],
            "batch_size": s["i_batch"],
        }
        if s["i_model"] == CUSTOM_MODEL:
            inference["params"] = _scaled(s["i_params_b"], 1e9)
        else:
            inference["model"] = s["i_model"]
        for key, name in (("i_rps_avg", "requests_per_s_avg"),
                          ("i_rps_peak", "requests_per_s_peak"),
                          ("i_latency_p95_s", "latency_p95_s"), ("i_ttft_s", "ttft_s")):
            if s[key] is not None:
                inference[name] = s[key]
        inference["headroom"] = _scaled(s["i_headroom_pct"], 0.01)
        inference["network_rtt_s"] = s["i_rtt_s"]
        if s["i_autoscaling"]:
            inference["autoscaling"] = True
        out["inference"] = inference
    has_traffic = s["i_rps_avg"] is not None or s["i_rps_peak"] is not None
    if "lifecycle" in sections and "inference" in sections and has_traffic:
        lifecycle: dict[str, object] = {"horizon_months": s["lc_horizon_months"],
                                        "retrain_fraction": _scaled(s["lc_retrain_pct"], 0.01)}
        if s["lc_retrain_months"] is not None:
            lifecycle["retrain_every_months"] = s["lc_retrain_months"]
        if s["lc_serving_hw"]:
            lifecycle["serving_hardware"] = s["lc_serving_hw"]
        out["lifecycle"] = lifecycle
    if "levers" in sections and "inference" in sections:
        levers: dict[str, object] = {}
        if s["lv_quant"] != NONE:
            levers["quantisation"] = {"precision": s["lv_quant"]}
        if s["lv_prune"] != NONE:
            levers["pruning"] = {"pattern": s["lv_prune"]}
        if s["lv_distil"] != NONE:
            levers["distillation"] = {"student": s["lv_distil"]}
        if s["lv_batch"] is not None:
            levers["batch_size"] = s["lv_batch"]
        lever_site: dict[str, object] = {}
        if s["lv_region"] != NONE:
            lever_site.update(region_to_site(str(s["lv_region"])))
        if s["lv_pue"] is not None:
            lever_site["pue"] = s["lv_pue"]
        if lever_site:
            levers["site"] = lever_site
        if levers:
            out["levers"] = levers
    if "uncertainty" in sections:
        out["uncertainty"] = {"draws": s["u_draws"], "seed": s["u_seed"]}
    out["site"] = site
    out["pricing"] = pricing
    return out


def _scaled(value: object, factor: float) -> object:
    """value × factor for numbers; anything else passes through for the schema to reject."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) * factor
    return value


def plan_key(scenario: Mapping[str, object]) -> str:
    """A stable text key of a scenario dict, for caching plans (JSON, which YAML also reads)."""
    return json.dumps(scenario, sort_keys=True)


def scenario_yaml(state: Mapping[str, object], defaults: Defaults) -> str:
    """The state as a scenario file that ``python -m planner plan`` also reads."""
    data = to_scenario(state, defaults, ALL_SECTIONS)
    header = ("# Scenario saved by the AI capacity planner dashboard.\n"
              "# Load it back in the dashboard's sidebar, or run: python -m planner plan FILE\n")
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def from_scenario(scenario: Scenario, defaults: Defaults) -> tuple[dict[str, object], list[str]]:
    """State values for a validated scenario, and the fields the dashboard cannot show."""
    base = default_state(defaults)
    out: dict[str, object] = {}
    ignored: list[str] = []
    site = scenario.site
    out["site_region"] = site_to_region(site.model_dump())
    out["site_g_per_kwh"] = site.carbon_intensity_g_per_kwh
    out["site_pue"] = site.pue if site.pue is not None else base["site_pue"]
    out["site_elec_usd_per_kwh"] = (site.electricity_usd_per_kwh
                                    if site.electricity_usd_per_kwh is not None
                                    else base["site_elec_usd_per_kwh"])
    out["price_mode"] = scenario.pricing.mode
    out["price_discount_pct"] = scenario.pricing.cloud_discount * 100.0
    out["price_life_years"] = (scenario.pricing.service_life_years
                               if scenario.pricing.service_life_years is not None
                               else base["price_life_years"])
    t = scenario.training
    if t is not None:
        if t.model:
            out["t_model"] = t.model
        elif t.params and t.tokens:
            out["t_model"] = CUSTOM_MODEL
            out["t_params_b"] = t.params / 1e9
            out["t_tokens_t"] = t.tokens / 1e12
        out["t_precision"] = t.precision
        if t.devices is not None:
            out["t_size_by"], out["t_devices"] = "devices", t.devices
            if t.days is not None:
                ignored.append("training.days (a known run; the dashboard sizes by devices)")
        elif t.days is not None:
            out["t_size_by"], out["t_days"] = "deadline", t.days
        out["t_mfu_pct"] = t.mfu * 100.0 if t.mfu is not None else None
        for name in ("flops_per_sample", "samples", "epochs", "total_flops", "device_hours",
                     "avg_power_w"):
            if getattr(t, name) is not None:
                ignored.append(f"training.{name}")
        if t.hardware != "all":
            ignored.append("training.hardware (the dashboard plans every device)")
    i = scenario.inference
    if i is not None:
        if i.model:
            out["i_model"] = i.model
        elif i.params:
            out["i_model"], out["i_params_b"] = CUSTOM_MODEL, i.params / 1e9
        out["i_prompt_tokens"] = int(i.prompt_tokens)
        out["i_output_tokens"] = int(i.output_tokens)
        out["i_batch"] = i.batch_size
        out["i_precision"] = i.precision
        out["i_rps_avg"] = i.requests_per_s_avg
        out["i_rps_peak"] = i.requests_per_s_peak
        out["i_latency_p95_s"] = i.latency_p95_s
        out["i_ttft_s"] = i.ttft_s
        out["i_headroom_pct"] = i.headroom * 100.0
        out["i_rtt_s"] = i.network_rtt_s
        out["i_autoscaling"] = i.autoscaling
        for name in ("flops_per_request", "bytes_per_request", "weight_bytes",
                     "kv_bytes_per_token", "tpot_s", "daily_profile", "edge_devices"):
            if getattr(i, name) is not None:
                ignored.append(f"inference.{name}")
        if i.batch_policy != "max":
            ignored.append("inference.batch_policy")
    lc = scenario.lifecycle
    if lc is not None:
        out["lc_horizon_months"] = lc.horizon_months
        out["lc_retrain_months"] = lc.retrain_every_months
        out["lc_retrain_pct"] = lc.retrain_fraction * 100.0
        out["lc_serving_hw"] = lc.serving_hardware if isinstance(lc.serving_hardware, str) \
            else ""
        for name in ("training_hardware", "training_cost_usd", "training_energy_kwh",
                     "training_co2e_kg"):
            if getattr(lc, name) is not None:
                ignored.append(f"lifecycle.{name}")
    lv = scenario.levers
    if lv is not None:
        out["lv_quant"] = lv.quantisation.precision if lv.quantisation else NONE
        out["lv_prune"] = lv.pruning.pattern if lv.pruning else NONE
        if lv.pruning and (lv.pruning.pattern != "2:4" or lv.pruning.realised_speedup):
            ignored.append("levers.pruning (only 2:4 at its default speed-up is shown)")
        out["lv_distil"] = (lv.distillation.student or NONE) if lv.distillation else NONE
        if lv.distillation and lv.distillation.student is None:
            ignored.append("levers.distillation.params_fraction")
        out["lv_batch"] = lv.batch_size
        out["lv_region"] = site_to_region(lv.site.model_dump()) if lv.site else NONE
        if out["lv_region"] == WORLD_AVERAGE:
            out["lv_region"] = NONE
        out["lv_pue"] = lv.site.pue if lv.site else None
    else:
        out.update(lv_quant=NONE, lv_prune=NONE, lv_distil=NONE, lv_batch=None,
                   lv_region=NONE, lv_pue=None)
    u = scenario.uncertainty
    if u is not None:
        out["u_draws"], out["u_seed"] = u.draws, u.seed
        if u.ranges:
            ignored.append("uncertainty.ranges")
    return out, ignored


def load_scenario_text(text: str | bytes, origin: str,
                       defaults: Defaults) -> tuple[dict[str, object], list[str]]:
    """Parse and validate an uploaded scenario file; ScenarioError says what is wrong."""
    return from_scenario(parse_scenario_text(text, origin), defaults)


def to_query(state: Mapping[str, object], defaults: Defaults) -> dict[str, str]:
    """URL query parameters for the state: every field that differs from its default."""
    out: dict[str, str] = {}
    for key, f in fields(defaults).items():
        if key not in state:
            continue
        value = state[key]
        if _same(value, f.default):
            continue
        if f.kind == "list":
            out[key] = ",".join(str(v) for v in (value or [])) or "-"
        elif value is None:
            out[key] = ""
        else:
            out[key] = str(value)
    return out


def _parse(f: Field, text: str) -> object:
    if f.kind == "list":
        return [] if text in ("", "-") else [v for v in text.split(",") if v]
    if f.kind in ("optfloat", "optint") and text.strip() == "":
        return None
    if f.kind == "bool":
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError("not true or false")
        return text.lower() in ("true", "1")
    if f.kind in ("float", "optfloat"):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return value
    if f.kind in ("int", "optint"):
        return int(float(text)) if float(text).is_integer() else int(text)
    return text


def from_query(params: Mapping[str, str], defaults: Defaults,
               choices: Mapping[str, list[str]] | None = None,
               ) -> tuple[dict[str, object], list[str]]:
    """State values from URL query parameters, and one message per parameter not understood.

    ``choices`` lists the allowed values of choice fields (regions, presets); a value outside
    them is reported and left at its default.
    """
    known = fields(defaults)
    choices = choices or {}
    out: dict[str, object] = {}
    errors: list[str] = []
    for key, text in params.items():
        f = known.get(key)
        if f is None:
            continue  # not ours (e.g. Streamlit's own parameters)
        try:
            value = _parse(f, str(text))
        except ValueError:
            errors.append(f"URL parameter {key}={text!r} is not a {f.kind.removeprefix('opt')}"
                          f"; kept the default {f.default!r}")
            continue
        allowed = choices.get(key)
        if allowed is not None:
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in allowed]
            if bad:
                errors.append(f"URL parameter {key}: {', '.join(map(str, bad))} is not one of "
                              f"the choices; kept the default {f.default!r}")
                continue
        out[key] = value
    return out, errors


def static_choices(preset_ids: list[str]) -> dict[str, list[str]]:
    """Allowed values of the choice fields that do not depend on the catalogue."""
    models = [*preset_ids, CUSTOM_MODEL]
    return {
        "lv_quant": list(QUANTISATION), "lv_prune": list(PRUNING),
        "lv_distil": [NONE, *preset_ids], "lc_metric": ["cost", "energy", "co2e"],
        "sv_metric": ["annual_cost_usd", "annual_total_co2e_kg", "annual_energy_kwh"],
        "tp_metric": ["total_co2e_kg", "cost_usd", "energy_kwh"],
        "t_model": models, "i_model": models,
        "t_precision": list(PRECISIONS), "i_precision": list(PRECISIONS),
        "t_size_by": list(SIZE_BY), "price_mode": list(PRICING_MODES),
        "cmp_classes": list(DEVICE_CLASSES), "hw_classes": list(DEVICE_CLASSES),
    }
