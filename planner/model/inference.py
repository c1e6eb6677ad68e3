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
from planner.model import batching, parallel, performance
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
# The grid columns a replica's step model reads (``batching``, ``parallel``), besides is_llm.
STEP_INPUTS = ("batch_size", "weight_bytes", "expert_weight_bytes", "active_params", "experts",
               "experts_per_token", "layers", "hidden", "kv_bytes_per_token", "prompt_tokens",
               "output_tokens", "prefill_flops_per_request", "decode_flops_per_token",
               "bytes_per_request", "peak_flops_per_s", "utilisation",
               "memory_bandwidth_bytes_per_s", "bandwidth_utilisation", "memory_bytes",
               "kv_memory_fraction", "prefill_chunk_tokens", "engine_overhead_s_per_step",
               "collective_latency_s", "intra_node_bytes_per_s",
               "inter_node_bytes_per_s_per_device", "devices_per_node", "tensor_parallel",
               "busy_power_w", "decode_power_w", "idle_power_w", "power_limit_w",
               "host_power_w_per_device",
               "host_power_fraction", "pue", "network_rtt_s")
# Columns the layout adds (the Monte Carlo reads them back as given).
LAYOUT_COLUMNS = ("tensor_parallel", "pipeline_parallel", "devices_per_replica",
                  "replica_concurrency")


def _moe(spec: InferenceSpec, p, params: float | None) -> tuple[float, float, float]:
    """(active params, experts, experts per token); a dense model is (params, 1, 1)."""
    active = spec.active_params or (p.active_params if p else None) or params or 0.0
    experts = float(spec.experts or (p.experts if p else None) or 1)
    per_token = spec.experts_per_token or (p.experts_per_token if p else None)
    if experts > 1 and per_token is None:
        raise ScenarioError("inference.experts_per_token: give how many experts each token "
                            "uses (1 to experts) for a mixture-of-experts model")
    return float(active), experts, float(per_token or 1)


def inference_workload(spec: InferenceSpec, precision: str) -> dict[str, float]:
    """Weights, KV bytes per token and FLOPs/bytes per request of an inference workload.

    A mixture-of-experts model stores all parameters and computes with the active ones; its
    routed experts hold (params − active) · E / (E − k) of the parameters (E experts, k per
    token; the rest is shared by every token).
    """
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
    active, experts, per_token = _moe(spec, p, params)
    expert_share = 0.0
    if experts > 1 and params:
        expert_share = min((params - active) * experts / (experts - per_token) / params, 1.0) \
            if experts > per_token else 0.0
    if params and p is not None and p.layers and p.hidden:
        layers, hidden = float(p.layers), float(p.hidden)
    else:
        layers, hidden = parallel.estimated_shape(params) if params else (1.0, 0.0)
    if is_llm:
        if not params:
            raise ScenarioError("inference: a language model needs `params` or a `model` preset")
        flops_prefill = LLM_FLOPS_PER_PARAM_PER_TOKEN * active * spec.prompt_tokens
        flops_per_token = LLM_FLOPS_PER_PARAM_PER_TOKEN * active
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
        "active_params": float(active),
        "experts": experts,
        "experts_per_token": per_token,
        "weight_bytes": float(weight_bytes),
        "expert_weight_bytes": float(weight_bytes) * expert_share,
        "layers": float(layers),
        "hidden": float(hidden),
        "kv_bytes_per_token": float(kv),
        "prompt_tokens": float(spec.prompt_tokens) if is_llm else 0.0,
        "output_tokens": float(spec.output_tokens) if is_llm else 0.0,
        "prefill_flops_per_request": float(flops_prefill),
        "decode_flops_per_token": float(flops_per_token),
        "bytes_per_request": float(bytes_per_request),
    }


def _columns(g: pd.DataFrame, names) -> dict[str, np.ndarray]:
    return {k: g[k].to_numpy(dtype=float) for k in names}


def _generic_times_s(c: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A generic model's batch of ``batch_size`` requests as one roofline step."""
    batch = c["batch_size"]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = performance.roofline_time_s(
            batch * c["prefill_flops_per_request"], c["weight_bytes"]
            + batch * c["bytes_per_request"], c["peak_flops_per_s"], c["utilisation"],
            c["memory_bandwidth_bytes_per_s"], c["bandwidth_utilisation"],
            c["devices_per_replica"])
    return {"ttft_s": t, "tpot_s": np.full(np.shape(t), np.nan), "batch_time_s": t}


def replica_times_s(c: Mapping[str, np.ndarray], lines=None) -> dict[str, np.ndarray]:
    """TTFT, TPOT and slot time of one replica at its full concurrency, for arrays of any
    broadcast shape: the plan and the Monte Carlo use it. A language model's replica runs
    continuous batching (``batching.times_at`` at ``replica_concurrency``); a generic model's
    serves ``batch_size`` requests per roofline step. The layout is taken as given.
    ``lines``: ``batching.step_lines(c)`` where already computed."""
    llm = np.asarray(c["is_llm"], dtype=bool)
    generic = _generic_times_s(c)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = batching.times_at(c, np.maximum(c["replica_concurrency"], 1.0), lines=lines)
    return {"ttft_s": np.where(llm, t["ttft_s"], generic["ttft_s"]),
            "prefill_s": np.where(llm, t["prefill_s"], generic["ttft_s"]),
            "tpot_s": np.where(llm, t["tpot_s"], np.nan),
            "batch_time_s": np.where(llm, t["slot_s"], generic["batch_time_s"])}


def host_power_w(c: Mapping[str, np.ndarray], device_power_w):
    """Host power per device [W]: the node's host rating × load share ÷ devices per node
    where the profile gives it, else the default share of the device's own draw."""
    per_device = np.asarray(c["host_power_w_per_device"], float)
    return np.where(np.isnan(per_device), c["host_power_fraction"] * device_power_w,
                    per_device)


def _layout(c: dict, llm: np.ndarray) -> dict[str, np.ndarray]:
    """Layout of language-model rows (``parallel.choose_layout``); a generic model takes the
    fewest power-of-two devices whose memory holds its weights."""
    lay = parallel.choose_layout(c, batching.concurrency_cap)
    generic = performance.next_power_of_two(performance.min_devices_for_memory(
        c["weight_bytes"] + c["batch_size"] * c["bytes_per_request"], 0.0, c["memory_bytes"]))
    return {
        "tensor_parallel": np.where(llm, lay["tensor_parallel"], generic),
        "pipeline_parallel": np.where(llm, lay["pipeline_parallel"], 1.0),
        "devices_per_replica": np.where(llm, lay["devices_per_replica"], generic),
        "replica_concurrency": np.where(llm, lay["replica_concurrency"], c["batch_size"]),
    }


def _numbers(values, fmt: str) -> np.ndarray:
    return np.array([format(v, fmt) if np.isfinite(v) else "?" for v in values], dtype=object)


def _reasons(g: pd.DataFrame, c: dict, lay: dict, llm: np.ndarray) -> np.ndarray:
    """Why each row cannot serve ('' where it can), one line each."""
    fits = np.isfinite(lay["devices_per_replica"])
    # the widest replica inside a node: the whole node where a scale-up link is published
    widest = np.where(np.isnan(c["tensor_parallel"]),
                      np.where(np.isnan(c["intra_node_bytes_per_s"]), 1.0,
                               c["devices_per_node"]), c["tensor_parallel"])
    devices = np.where(fits, lay["devices_per_replica"], widest)
    room = devices * c["memory_bytes"] * c["kv_memory_fraction"]
    no_room = llm & ~(lay["replica_concurrency"] >= 1) & (fits | (c["weight_bytes"] < room))
    context = c["prompt_tokens"] + c["output_tokens"]
    free = room - c["weight_bytes"]
    no_kv = np.full(len(no_room), "", dtype=object)  # written for the rows it applies to
    i = np.flatnonzero(no_room)
    if i.size:
        at = lambda v: np.broadcast_to(v, no_room.shape)[i]  # noqa: E731
        no_kv[i] = ("no room for the KV cache: the weights leave "
                    + _numbers(at(free / 1e9), ",.1f") + " GB on " + _numbers(at(devices), ".0f")
                    + " device(s) and one sequence of " + _numbers(at(context), ",.0f")
                    + " tokens needs "
                    + _numbers(at(context * c["kv_bytes_per_token"] / 1e9), ",.2f")
                    + " GB; shorten prompt_tokens/output_tokens or set inference.tensor_parallel")
    no_link = llm & (lay["tensor_parallel"] > 1) & np.isnan(c["intra_node_bytes_per_s"])
    no_net = llm & (lay["pipeline_parallel"] > 1) & np.isnan(
        c["inter_node_bytes_per_s_per_device"])
    return np.select(
        [np.isnan(c["peak_flops_per_s"]), np.isnan(c["memory_bandwidth_bytes_per_s"]) & llm,
         ~fits & ~llm, no_room, ~fits, no_link, no_net, g["busy_power_w"].isna().to_numpy()],
        ["no published throughput at this precision", "no published memory bandwidth",
         "the model does not fit in memory", no_kv,
         "the model does not fit in memory at this tensor-parallel size",
         "no published intra-node bandwidth for a tensor-parallel replica",
         "the model needs more than one node and no inter-node bandwidth is published",
         "no published power figure"], default="")


def replica_physics(grid: pd.DataFrame) -> dict:
    """The site-independent part of ``evaluate_inference``: layout, concurrency, step times,
    power, joules per request and communication of one replica (reads no site or price
    column, so ``serving_memo`` keeps it across a site change)."""
    g = grid
    c = _columns(g, STEP_INPUTS)
    llm = g["is_llm"].to_numpy(dtype=bool)
    c["is_llm"] = llm
    lay = _layout(c, llm)
    c.update(lay)
    reason = _reasons(g, c, lay, llm)
    feasible = reason == ""
    cap = np.where(feasible, lay["replica_concurrency"], 1.0)
    c["replica_concurrency"] = cap
    devices = lay["devices_per_replica"]
    times = replica_times_s(c)
    slot_s, out_tok = times["batch_time_s"], c["output_tokens"]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        power = np.where(llm, batching.step_power_w(c, cap), c["busy_power_w"])
        requests_per_s = cap / slot_s
        device_j = devices * power * slot_s / cap
        host_j = devices * host_power_w(c, power) * slot_s / cap
        comm = parallel.communication_parts_s(c, cap * (1.0 + c["prompt_tokens"] / out_tok))
        device_hours_per_1k = devices * slot_s / cap * 1000.0 / SECONDS_PER_HOUR
    return {"lay": lay, "reason": reason, "times": times, "llm": llm, "out_tok": out_tok,
            "power": power, "requests_per_s": requests_per_s, "device_j": device_j,
            "host_j": host_j, "comm": comm, "device_hours_per_1k": device_hours_per_1k,
            "network_rtt_s": c["network_rtt_s"], "experts": c["experts"]}


def request_footprint(grid: pd.DataFrame, p: Mapping) -> tuple[dict[str, np.ndarray],
                                                                 np.ndarray]:
    """The site-dependent part of ``evaluate_inference`` from its ``replica_physics`` ``p``:
    per-request energy, carbon, water and cost (not yet masked to the feasible rows), and
    the rows' reasons with a non-finite result refused."""
    device_j, host_j, llm = p["device_j"], p["host_j"], p["llm"]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # 1,000 requests of E joules each: a "power" of E watts for 1000/3600 hours, charged
        # for the replica's device-hours of those requests; the host share is its joules.
        rates = Rates.from_frame(grid).with_values(host_power_fraction=host_j / device_j)
        fp = footprint(1000.0 / SECONDS_PER_HOUR, device_j, rates,
                       charged_device_hours=p["device_hours_per_1k"])
        per_token = np.where(llm, p["out_tok"], np.nan)
        pue = grid["pue"].to_numpy(dtype=float)
        cols = {
            "energy_j_per_request": (device_j + host_j) * pue,
            "energy_j_per_output_token": (device_j + host_j) * pue / per_token,
            "energy_kwh_per_1k_requests": fp.energy_kwh,
            "co2e_kg_per_1k_requests": fp.co2e_kg,
            "embodied_co2e_kg_per_1k_requests": fp.embodied_co2e_kg,
            "cost_usd_per_1k_requests": fp.cost_usd,
            "market_co2e_kg_per_1k_requests": fp.market_co2e_kg,
            "water_l_per_1k_requests": fp.water_l,
            "water_l_per_1m_tokens": fp.water_l / per_token * 1000.0,
            "energy_kwh_per_1m_tokens": fp.energy_kwh / per_token * 1000.0,
            "co2e_kg_per_1m_tokens": fp.co2e_kg / per_token * 1000.0,
            "cost_usd_per_1m_tokens": fp.cost_usd / per_token * 1000.0,
        }
    reason = refuse_non_finite(
        p["reason"], (p["lay"]["devices_per_replica"], p["times"]["batch_time_s"],
                      p["requests_per_s"], device_j, fp.energy_kwh),
        (fp.co2e_kg, fp.embodied_co2e_kg, fp.cost_usd))
    return cols, reason


def inference_frame(grid: pd.DataFrame, p: Mapping, fp: Mapping[str, np.ndarray],
                    reason: np.ndarray) -> pd.DataFrame:
    """``grid`` with ``evaluate_inference``'s columns, from its two parts."""
    lay, times, llm, comm = p["lay"], p["times"], p["llm"], p["comm"]
    slot_s, out_tok, device_j = times["batch_time_s"], p["out_tok"], p["device_j"]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        comm_s = sum(comm.values())
        per_token = np.where(llm, out_tok, np.nan)
        results = {
            **lay,
            "ttft_s": times["ttft_s"],
            "prefill_s": times["prefill_s"],
            "tpot_s": times["tpot_s"],
            "batch_time_s": slot_s,
            "latency_s": slot_s + p["network_rtt_s"],
            "requests_per_s_per_replica": p["requests_per_s"],
            "tokens_per_s_per_replica": np.where(llm, p["requests_per_s"] * out_tok, np.nan),
            "device_power_w": p["power"],
            "device_energy_j_per_request": device_j,
            "energy_j_per_request": fp["energy_j_per_request"],
            "device_energy_j_per_output_token": device_j / per_token,
            "energy_j_per_output_token": fp["energy_j_per_output_token"],
            "communication_s_per_step": np.where(llm, comm_s, 0.0),
            "tensor_parallel_s_per_step": np.where(llm, comm["tensor_parallel_s"], 0.0),
            "expert_parallel_s_per_step": np.where(llm, comm["expert_parallel_s"], 0.0),
            "pipeline_parallel_s_per_step": np.where(llm, comm["pipeline_parallel_s"], 0.0),
            "communication_share": np.where(llm, comm_s / times["tpot_s"], 0.0),
            **{name: fp[name] for name in FOOTPRINT_RESULTS[2:]},
        }
    feasible = reason == ""
    computed = {"feasible": feasible, "infeasible_reason": reason,
                "layout": np.where(feasible, parallel.layout_text(
                    lay["tensor_parallel"], lay["pipeline_parallel"], p["experts"]), "-"),
                **{name: np.where(feasible, values, np.nan) for name, values in results.items()}}
    return with_columns(grid, computed)


# ``request_footprint``'s columns, in their order (the first two sit among the physics).
FOOTPRINT_RESULTS = ("energy_j_per_request", "energy_j_per_output_token",
                     "energy_kwh_per_1k_requests", "co2e_kg_per_1k_requests",
                     "embodied_co2e_kg_per_1k_requests", "cost_usd_per_1k_requests",
                     "market_co2e_kg_per_1k_requests", "water_l_per_1k_requests",
                     "water_l_per_1m_tokens", "energy_kwh_per_1m_tokens",
                     "co2e_kg_per_1m_tokens", "cost_usd_per_1m_tokens")


def evaluate_inference(grid: pd.DataFrame) -> pd.DataFrame:
    """Vectorised layout, latency, throughput, communication and per-request energy, carbon
    and cost of one replica at its full concurrency (the KV cache's or the engine's limit)."""
    p = replica_physics(grid)
    return inference_frame(grid, p, *request_footprint(grid, p))


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
        utilisation_name="prefill_utilisation", user_utilisation=spec.prefill_utilisation,
        user_power_w=None,
        cloud_discount=scenario.pricing.cloud_discount, pricing_mode=scenario.pricing.mode,
        service_life_years=scenario.pricing.service_life_years,
        calibration=planner.inference_calibration, cloud_prices=prices)
    extra = {**inference_workload(spec, spec.precision),
             **serving_assumptions(grid, planner.defaults, spec,
                                   planner.inference_calibration),
             "batch_size": float(spec.batch_size),
             "network_rtt_s": np.where(grid["placement"] == "edge", 0.0, spec.network_rtt_s)}
    return with_columns(grid, extra)


def _calibrated(grid: pd.DataFrame, calibration: pd.DataFrame | None, name: str) -> np.ndarray:
    """A serving calibration column per row (keyed by hardware and precision used), NaN
    where none (``serving_records.calibrate_serving``)."""
    if calibration is None or name not in calibration or not len(calibration):
        return np.full(len(grid), np.nan)
    keyed = calibration.drop_duplicates(["hardware_id", "precision"]).set_index(
        ["hardware_id", "precision"])[name]
    keys = pd.MultiIndex.from_arrays([grid["hardware_id"], grid["precision_used"]])
    return keyed.reindex(keys).to_numpy(dtype=float)


def serving_assumptions(grid: pd.DataFrame, defaults, spec: InferenceSpec,
                        calibration: pd.DataFrame | None = None) -> dict:
    """The engine, memory, link and power figures a replica's step model needs, per row: the
    scenario's value where given, else a calibration from serving records, else the
    profile's, else the default (``*_basis`` says)."""
    kinds = grid["kind"].to_numpy()
    edge = (grid["placement"] == "edge").to_numpy()
    per_kind = lambda name: np.array(defaults.per_kind(name, kinds), dtype=float)  # noqa: E731
    busy_share = per_kind("busy_power_fraction")
    cal_bw = _calibrated(grid, calibration, "bandwidth_utilisation")
    cal_overhead = _calibrated(grid, calibration, "engine_overhead_s_per_step")
    cal_decode = _calibrated(grid, calibration, "decode_power_w")
    bw_util = (np.full(len(grid), spec.bandwidth_utilisation)
               if spec.bandwidth_utilisation is not None
               else np.where(np.isnan(cal_bw), grid["bandwidth_utilisation"].to_numpy(
                   dtype=float), cal_bw))
    bw_basis = ("user" if spec.bandwidth_utilisation is not None
                else np.where(np.isnan(cal_bw), "default", "calibrated"))
    overhead = (np.full(len(grid), spec.engine_overhead_s_per_step)
                if spec.engine_overhead_s_per_step is not None
                else np.where(np.isnan(cal_overhead), per_kind("engine_overhead_s_per_step"),
                              cal_overhead))
    decode_w = np.where(np.isnan(cal_decode), grid["busy_power_w"].to_numpy(dtype=float)
                        * per_kind("decode_power_fraction") / busy_share, cal_decode)
    node = grid["devices_per_node"].to_numpy(dtype=float)
    node = np.where(edge, 1.0, np.where(np.isnan(node), defaults.devices_per_node.value, node))
    # a scale-up figure printed bidirectional is halved where no one-way figure is given
    intra = grid["intra_node_bytes_per_s"].fillna(grid["interconnect_bytes_per_s"] / 2.0)
    host_node = grid["host_power_w_per_node"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        host = host_node * defaults.host_load_fraction.value / node
    no_host = grid["host_power_fraction"].to_numpy(dtype=float) == 0.0
    host_basis = np.where(np.isnan(host), "default share of device power",
                          "node rating less devices x load share")
    if spec.host_power_w_per_device is not None:  # the scenario's own server figure
        host = np.where(edge, host, spec.host_power_w_per_device)
        host_basis = np.where(edge, host_basis, "scenario: host power per device")
    # the draw a device cannot exceed: its rating (else the peer estimate), or a given or
    # calibrated figure above it
    rated = grid["rated_power_w"].to_numpy(dtype=float)
    if "assumed_rated_power_w" in grid:
        rated = np.where(np.isnan(rated), grid["assumed_rated_power_w"].to_numpy(dtype=float),
                         rated)
    limit = np.fmax(np.fmax(rated, grid["busy_power_w"].to_numpy(dtype=float)), decode_w)
    return {
        "power_limit_w": limit,
        "bandwidth_utilisation": bw_util,
        "bandwidth_basis": bw_basis,
        "engine_overhead_s_per_step": overhead,
        "decode_power_w": decode_w,
        "kv_memory_fraction": defaults.kv_memory_fraction.value,
        "prefill_chunk_tokens": float(spec.prefill_chunk_tokens
                                      or defaults.prefill_chunk_tokens.value),
        "collective_latency_s": defaults.collective_latency_s.value,
        "intra_node_bytes_per_s": intra.to_numpy(dtype=float),
        "devices_per_node": node,
        "host_power_w_per_device": np.where(edge | no_host, np.where(no_host, 0.0, np.nan),
                                            host),
        "host_power_basis": np.where(no_host, "none (edge, or measured system power)",
                                     host_basis),
        "tensor_parallel": float(spec.tensor_parallel) if spec.tensor_parallel else np.nan,
    }


def plan_inference(planner: PlanningData, scenario: Scenario, site: ResolvedSite) -> pd.DataFrame:
    """Per-request performance and footprint of the scenario's inference on every device."""
    return evaluate_inference(inference_grid(planner, scenario, site))
