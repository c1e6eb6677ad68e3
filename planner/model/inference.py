"""Inference performance of one replica at a batch size: latency, throughput, energy and cost
per request, on every device, vectorised.

Language models (Kaplan et al. 2020; Pope et al. 2022, Efficiently Scaling Transformer
Inference, arXiv:2211.05102, section 2): prefill processes the prompt at about 2·N FLOPs per
token and is bound by compute; each decode step reads every weight and the KV cache once and
is bound by memory bandwidth, so a step takes max(bytes / bandwidth, FLOPs / compute).
Generic models give FLOPs and bytes per request and use the same roofline.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.model import performance
from planner.model.assumptions import attach_assumptions
from planner.model.catalogue import cloud_prices_for
from planner.model.context import PlanningData
from planner.model.footprint import Rates, footprint
from planner.model.frames import refuse_non_finite, with_columns
from planner.model.scenario import InferenceSpec, Scenario
from planner.model.site import ResolvedSite
from planner.model.training import _select
from planner.model.units import SECONDS_PER_HOUR
from planner.model.workloads import BYTES_PER_WEIGHT, preset

KV_BYTES_PER_VALUE = 2.0  # KV cache kept in 16-bit unless the precision is 8-bit or less
LLM_FLOPS_PER_PARAM_PER_TOKEN = 2.0  # Kaplan et al. 2020
# The grid columns the roofline reads besides batch, devices per replica and is_llm.
ROOFLINE_INPUTS = ("weight_bytes", "kv_bytes_per_token", "prompt_tokens", "output_tokens",
                   "prefill_flops_per_request", "decode_flops_per_token", "bytes_per_request",
                   "peak_flops_per_s", "utilisation", "memory_bandwidth_bytes_per_s",
                   "bandwidth_utilisation")


def inference_workload(spec: InferenceSpec, precision: str) -> dict[str, float]:
    """Weights, KV bytes per token and FLOPs/bytes per request of an inference workload."""
    p = preset(spec.model) if spec.model else None
    params = spec.params or (p.params if p else None)
    is_llm = spec.flops_per_request is None and (p is None or p.family == "llm")
    bpw = BYTES_PER_WEIGHT[precision]
    weight_bytes = spec.weight_bytes or (params * bpw if params else 0.0)
    kv_value_bytes = min(KV_BYTES_PER_VALUE, bpw) if bpw < 2 else KV_BYTES_PER_VALUE
    if spec.kv_bytes_per_token is not None:
        kv = spec.kv_bytes_per_token
    elif p is not None and p.kv_bytes_per_token(kv_value_bytes) is not None:
        kv = p.kv_bytes_per_token(kv_value_bytes)
    else:
        kv = 0.0
    if is_llm:
        if not params:
            raise ScenarioError("inference: a language model needs `params` or a `model` preset")
        flops_prefill = LLM_FLOPS_PER_PARAM_PER_TOKEN * params * spec.prompt_tokens
        flops_per_token = LLM_FLOPS_PER_PARAM_PER_TOKEN * params
        bytes_per_request = 0.0
    else:
        fwd = spec.flops_per_request or (p.flops_per_sample_forward if p else None)
        if not fwd:
            raise ScenarioError("inference: give `flops_per_request` for a generic model")
        flops_prefill, flops_per_token = float(fwd), 0.0
        bytes_per_request = (spec.bytes_per_request if spec.bytes_per_request is not None
                             else (p.bytes_per_sample_inference or 0.0) if p else 0.0)
    return {
        "is_llm": bool(is_llm),
        "params": float(params or 0.0),
        "weight_bytes": float(weight_bytes),
        "kv_bytes_per_token": float(kv),
        "prompt_tokens": float(spec.prompt_tokens) if is_llm else 0.0,
        "output_tokens": float(spec.output_tokens) if is_llm else 0.0,
        "prefill_flops_per_request": float(flops_prefill),
        "decode_flops_per_token": float(flops_per_token),
        "bytes_per_request": float(bytes_per_request),
    }


def evaluate_inference(grid: pd.DataFrame) -> pd.DataFrame:
    """Vectorised latency, throughput and per-request energy/carbon/cost of one replica."""
    g = grid
    f = lambda c: g[c].to_numpy(dtype=float)  # noqa: E731
    batch = f("batch_size")
    peak, bw = f("peak_flops_per_s"), f("memory_bandwidth_bytes_per_s")
    weights, kv_tok = f("weight_bytes"), f("kv_bytes_per_token")
    prompt, out_tok = f("prompt_tokens"), f("output_tokens")
    llm = g["is_llm"].to_numpy(dtype=bool)

    kv_full = batch * kv_tok * (prompt + out_tok)
    devices = performance.next_power_of_two(
        performance.min_devices_for_memory(weights + kv_full, 0.0, f("memory_bytes")))
    times = replica_times_s({**{k: f(k) for k in ROOFLINE_INPUTS}, "is_llm": llm,
                             "batch_size": batch, "devices_per_replica": devices})
    prefill_s, batch_s = times["ttft_s"], times["batch_time_s"]
    step_s = np.where(llm, times["tpot_s"], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        latency_s = batch_s + f("network_rtt_s")
        requests_per_s = batch / batch_s
        tokens_per_s = np.where(llm, batch * out_tok / batch_s, np.nan)
        busy_j_per_request = f("busy_power_w") * devices * batch_s / batch

    reason = np.select(
        [np.isnan(peak), np.isnan(bw) & llm, ~np.isfinite(devices),
         g["busy_power_w"].isna().to_numpy()],
        ["no published throughput at this precision", "no published memory bandwidth",
         "the model does not fit in memory", "no published power figure"], default="")
    # 1,000 requests of E joules each: a "power" of E watts for 1000/3600 hours, charged for
    # the replica's device-hours of those requests.
    with np.errstate(divide="ignore", invalid="ignore"):
        device_hours_per_1k = devices * batch_s / batch * 1000.0 / SECONDS_PER_HOUR
    fp = footprint(1000.0 / SECONDS_PER_HOUR, busy_j_per_request, Rates.from_frame(g),
                   charged_device_hours=device_hours_per_1k)
    per_1k_kwh, per_1k_co2e, cost_1k = fp.energy_kwh, fp.co2e_kg, fp.cost_usd
    per_1k_embodied = fp.embodied_co2e_kg
    tokens_per_request = np.where(llm, out_tok, np.nan)
    reason = refuse_non_finite(reason, (devices, latency_s, requests_per_s, busy_j_per_request,
                                        per_1k_kwh), (per_1k_co2e, per_1k_embodied, cost_1k))
    feasible = reason == ""
    results = {
        "devices_per_replica": devices,
        "ttft_s": prefill_s,
        "tpot_s": np.where(llm, step_s, np.nan),
        "batch_time_s": batch_s,
        "latency_s": latency_s,
        "requests_per_s_per_replica": requests_per_s,
        "tokens_per_s_per_replica": tokens_per_s,
        "energy_j_per_request": busy_j_per_request,
        "energy_kwh_per_1k_requests": per_1k_kwh,
        "co2e_kg_per_1k_requests": per_1k_co2e,
        "embodied_co2e_kg_per_1k_requests": per_1k_embodied,
        "cost_usd_per_1k_requests": cost_1k,
        "market_co2e_kg_per_1k_requests": fp.market_co2e_kg,
        "water_l_per_1k_requests": fp.water_l,
        "water_l_per_1m_tokens": fp.water_l / tokens_per_request * 1000.0,
        "energy_kwh_per_1m_tokens": per_1k_kwh / tokens_per_request * 1000.0,
        "co2e_kg_per_1m_tokens": per_1k_co2e / tokens_per_request * 1000.0,
        "cost_usd_per_1m_tokens": cost_1k / tokens_per_request * 1000.0,
    }
    computed = {"feasible": feasible, "infeasible_reason": reason,
                **{name: np.where(feasible, values, np.nan) for name, values in results.items()}}
    return with_columns(g, computed)


def replica_times_s(c: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Prefill (time to first token), decode-step and batch times of one replica (Pope et al.
    2022 roofline), for arrays of any broadcast shape: the plan and the Monte Carlo use it.

    ``c`` maps grid column names to arrays; ``devices_per_replica`` is taken as given.
    """
    batch, dpr = c["batch_size"], c["devices_per_replica"]
    weights, kv_tok = c["weight_bytes"], c["kv_bytes_per_token"]
    prompt, out_tok = c["prompt_tokens"], c["output_tokens"]
    args = (c["peak_flops_per_s"], c["utilisation"], c["memory_bandwidth_bytes_per_s"],
            c["bandwidth_utilisation"], dpr)
    with np.errstate(divide="ignore", invalid="ignore"):
        prefill = performance.roofline_time_s(
            batch * c["prefill_flops_per_request"], weights + batch * c["bytes_per_request"],
            *args)
        step = performance.roofline_time_s(
            batch * c["decode_flops_per_token"],
            weights + batch * kv_tok * (prompt + out_tok / 2.0), *args)
    step = np.where(c["is_llm"], step, 0.0)
    return {"ttft_s": prefill, "tpot_s": np.where(c["is_llm"], step, np.nan),
            "batch_time_s": prefill + out_tok * step}


def inference_grid(planner: PlanningData, scenario: Scenario, site: ResolvedSite,
                   spec: InferenceSpec | None = None) -> pd.DataFrame:
    """One row per chosen device for the scenario's inference section (or ``spec``)."""
    spec = spec or scenario.inference
    if spec is None:
        raise ScenarioError("the scenario has no `inference` section")
    chosen = _select(list(planner.profiles), spec.hardware, training=False)
    position = {h: i for i, h in enumerate(planner.catalogue["hardware_id"])}
    rows = planner.catalogue.iloc[[position[p.id] for p in chosen]].reset_index(drop=True)
    prices = cloud_prices_for(chosen, site.cloud_provider, site.cloud_region, site.country,
                              scenario.pricing.cloud_providers == "any")
    grid = attach_assumptions(
        rows, defaults=planner.defaults, site=site, precision=spec.precision,
        utilisation_name="prefill_utilisation", user_utilisation=None, user_power_w=None,
        cloud_discount=scenario.pricing.cloud_discount, pricing_mode=scenario.pricing.mode,
        service_life_years=scenario.pricing.service_life_years,
        calibration=planner.inference_calibration, cloud_prices=prices)
    extra = {**inference_workload(spec, spec.precision),
             "batch_size": float(spec.batch_size),
             "network_rtt_s": np.where(grid["placement"] == "edge", 0.0, spec.network_rtt_s)}
    return with_columns(grid, extra)


def plan_inference(planner: PlanningData, scenario: Scenario, site: ResolvedSite) -> pd.DataFrame:
    """Per-request performance and footprint of the scenario's inference on every device."""
    return evaluate_inference(inference_grid(planner, scenario, site))
