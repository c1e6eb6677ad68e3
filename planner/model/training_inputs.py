"""What a training plan needs beside the hardware catalogue: the workload, the layout asked
for, and per-device figures (precision peaks, network, host power) with their basis.

The workload follows ``planner.model.architecture`` (6·N_active·D plus PaLM's attention
term). Host power per device is the node's non-accelerator power (its rating less the
devices' ratings, from DGX/HGX datasheets in the profiles) at the same busy share as the
devices; a published system power per device already includes it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.model import architecture
from planner.model.defaults import Defaults
from planner.model.parallelism import RECOMPUTE
from planner.model.perf_constants import PerformanceConstants
from planner.model.scenario import TrainingSpec
from planner.model.workloads import (
    CHECKPOINT_ACTIVATION_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER,
    TRAINING_STATE_BYTES_PER_PARAM,
    generic_training_flops,
    preset,
)

DEFAULT_SEQUENCE_TOKENS = 4096
TRAINING_PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8")
# Bytes per second in one direction of a link printed as bidirectional.
BIDIRECTIONAL = 2.0
GB = 1e9


def _architecture(spec: TrainingSpec, p, params, seq) -> architecture.Architecture:
    a = spec.architecture

    def get(name):
        if a is not None and getattr(a, name) is not None:
            return getattr(a, name)
        return getattr(p, name, None) if p is not None else None

    return architecture.build(
        params=params, active_params=spec.active_params or (p.active_params if p else None),
        sequence_tokens=seq, layers=get("layers"), hidden=get("hidden"), heads=get("heads"),
        kv_heads=get("kv_heads"), head_dim=get("head_dim"), ffn_hidden=get("ffn_hidden"),
        vocab=get("vocab"), experts=get("experts"), experts_per_token=get("experts_per_token"),
        shared_experts=get("shared_experts"), moe_ffn_hidden=get("moe_ffn_hidden"))


def training_workload(spec: TrainingSpec, constants: PerformanceConstants) -> dict:
    """Model FLOPs, the architecture and the batch of a run (NaN where not known)."""
    p = preset(spec.model) if spec.model else None
    params = spec.params or (p.params if p else None)
    tokens = spec.tokens or (p.tokens if p else None)
    seq = spec.sequence_tokens or (p.train_sequence_tokens or p.context_tokens if p else None)
    seq = int(seq or DEFAULT_SEQUENCE_TOKENS)
    lm = p is None or p.family == "llm"
    out: dict = {"has_architecture": False, "architecture_basis": "", "tokens": np.nan,
                 "sequence_tokens": float(seq), "active_params": np.nan, "expert_params": 0.0,
                 "layers": np.nan, "hidden": np.nan, "heads": np.nan, "vocab": np.nan,
                 "experts": 1.0, "experts_per_token": 1.0, "attention_flops_per_token": 0.0,
                 "routed_nodes_per_token": np.nan}
    flops = spec.total_flops
    if params and lm and not (spec.flops_per_sample or (p and p.flops_per_sample_forward
                                                        and not spec.tokens)):
        if tokens is None and spec.mode != "known_run" and not flops:
            raise ScenarioError(f"training.tokens: give the training tokens (the preset "
                                f"{spec.model} publishes none)" if p else
                                "training.tokens: give the training tokens")
        arch = _architecture(spec, p, params, seq)
        out.update(has_architecture=True, architecture_basis=arch.basis,
                   active_params=arch.active_params, expert_params=arch.expert_params,
                   layers=float(arch.layers), hidden=float(arch.hidden),
                   heads=float(arch.heads), vocab=float(arch.vocab),
                   experts=float(arch.experts), experts_per_token=float(arch.experts_per_token),
                   attention_flops_per_token=float(architecture.attention_flops_per_token(
                       arch.layers, arch.heads, arch.head_dim, seq)))
        if tokens is not None:
            out["tokens"] = float(tokens)
            flops = flops or float(tokens * arch.flops_per_token())
        params = arch.params
        out["head_dim"] = float(arch.head_dim)
        a = spec.architecture
        nodes = (a.routed_nodes_per_token if a is not None else None) or (
            p.routed_nodes_per_token if p is not None else None)
        out["routed_nodes_per_token"] = float(nodes) if nodes and arch.is_moe else np.nan
    elif not flops:
        fps = spec.flops_per_sample or (p.flops_per_sample_forward if p else None)
        samples = spec.samples or (p.samples if p else None)
        epochs = spec.epochs or (p.epochs if p else None) or 1.0
        if fps and samples:
            flops = generic_training_flops(fps, samples, epochs)
        elif spec.mode != "known_run":
            raise ScenarioError("training: cannot size the run; give params and tokens, or "
                                "flops_per_sample and samples")
    activation = 0.0
    if p is not None and p.layers and p.hidden:
        activation = (CHECKPOINT_ACTIVATION_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER
                      * seq * p.hidden * p.layers)
    out.update({
        "total_flops": float(flops) if flops else np.nan,
        "params": float(params) if params else np.nan,
        "state_bytes": float(params or 0.0) * TRAINING_STATE_BYTES_PER_PARAM,
        "activation_bytes_per_device": float(activation),
        "global_batch_tokens": float(spec.global_batch_tokens
                                     or constants.global_batch_tokens.value),
        "goodput": float(spec.goodput or constants.goodput.value),
        "goodput_basis": "user" if spec.goodput else "default",
        "attention_unfused": 1.0 if spec.attention_kernel == "unfused" else 0.0,
    })
    out.update(given_layout(spec, out, constants.tensor_parallel_overlap.value))
    return out


def given_layout(spec: TrainingSpec, w: dict, tp_overlap: float) -> dict:
    """The user's parallel layout as grid columns (NaN: searched); bad layouts refused.
    ``tp_overlap``: the share of tensor-parallel traffic hidden where the scenario does not
    say (``tensor_parallel_overlap``, profiles/performance.yaml).

    Fields left out are searched (a paper that publishes only its tensor parallelism and
    recomputation plans with those fixed); a given dp fixes tp and pp too (1 where not given),
    since the devices are then tp × pp × dp.
    """
    par = spec.parallelism
    if par is None:
        return {**{f"given_{k}": np.nan for k in ("tp", "pp", "dp", "ep", "zero", "rc",
                                                    "stage_layers", "v")},
                "given_dualpipe": 0.0, "given_hierarchical": 0.0,
                "given_tp_overlap": tp_overlap}
    if not w["has_architecture"]:
        raise ScenarioError("training.parallelism: needs a transformer (a preset with an "
                            "architecture, or params and tokens)")
    tp, pp, ep = par.tp, par.pp, par.ep
    if par.dp is not None:
        tp, pp = tp or 1, pp or 1
    layers, heads, experts = int(w["layers"]), int(w["heads"]), int(w["experts"])
    busiest = uneven_split(par, pp, layers)
    if pp is not None and layers % pp and busiest is None:
        raise ScenarioError(f"training.parallelism.pp: {pp} pipeline stages do not divide the "
                            f"{layers} layers; allowed: a divisor of {layers}, or an uneven "
                            "split given with first_stage_layers / last_stage_layers")
    if tp is not None and heads % tp:
        raise ScenarioError(f"training.parallelism.tp: {tp} does not divide the {heads} "
                            f"attention heads; allowed: a divisor of {heads}")
    if ep is not None and (experts % ep or (ep > 1 and experts == 1)):
        raise ScenarioError(f"training.parallelism.ep: {ep} expert-parallel ranks do not divide "
                            f"the {experts} experts; allowed: a divisor of {experts}")
    if par.schedule == "dualpipe" and (pp is None or pp < 2 or pp % 2):
        raise ScenarioError("training.parallelism.schedule: dualpipe needs an even pp of 2 or "
                            f"more stages (DeepSeek-V3, section 3.2.1); got pp {pp}")
    v = par.virtual_stages
    if v is not None and v > 1 and (pp is None or pp < 2 or pp * v > layers
                                     or par.schedule == "dualpipe"):
        raise ScenarioError(f"training.parallelism.virtual_stages: {v} chunks per stage need a "
                            "given pp of 2 or more with pp × virtual_stages at most the "
                            f"{layers} layers, and the 1F1B schedule")
    if spec.devices is not None and tp is not None and tp > spec.devices:
        raise ScenarioError(f"training.parallelism.tp: {tp} is more than the {spec.devices} "
                            "devices")
    if par.dp is not None:
        if ep is not None and par.dp % ep:
            raise ScenarioError(f"training.parallelism.ep: {ep} does not divide dp {par.dp}")
        if spec.devices is not None and tp * pp * par.dp > spec.devices:
            raise ScenarioError(f"training.parallelism: tp × pp × dp = {tp * pp * par.dp} is "
                                f"more than the {spec.devices} devices")

    def col(v):
        return float(v) if v is not None else np.nan

    return {"given_tp": col(tp), "given_pp": col(pp), "given_dp": col(par.dp),
            "given_ep": col(ep if ep is not None or experts > 1 else 1),
            "given_zero": col(par.zero_stage),
            "given_rc": col(RECOMPUTE.index(par.recompute) if par.recompute else None),
            "given_stage_layers": col(busiest), "given_v": col(par.virtual_stages),
            "given_dualpipe": 1.0 if par.schedule == "dualpipe" else 0.0,
            "given_hierarchical": 1.0 if par.dispatcher == "hierarchical" else 0.0,
            "given_tp_overlap": (tp_overlap if par.tp_comm_overlap is None
                                 else float(par.tp_comm_overlap))}


def uneven_split(par, pp: int | None, layers: int) -> int | None:
    """Layers of the busiest stage of a split given with ``first_stage_layers`` /
    ``last_stage_layers`` (the other stages share the rest evenly), None where none is given;
    a split that cannot exist is refused, naming the field."""
    first, last = par.first_stage_layers, par.last_stage_layers
    if first is None and last is None:
        return None
    field = "first_stage_layers" if first is not None else "last_stage_layers"
    if pp is None or pp < 2:
        raise ScenarioError(f"training.parallelism.{field}: needs pp of 2 or more stages")
    ends = [n for n in (first, last) if n is not None]
    rest, middle = layers - sum(ends), pp - len(ends)
    if rest < middle or (middle == 0 and rest != 0) or (middle > 0 and rest % middle):
        raise ScenarioError(
            f"training.parallelism.{field}: {' + '.join(map(str, ends))} layers on the end "
            f"stages leave {rest} of the {layers} layers for the other {middle} stages; allowed: "
            "a split whose other stages share the rest evenly, at least one layer each")
    return max(*ends, rest // middle if middle else 0)


def supported_precisions(row: pd.Series) -> list[str]:
    return [p for p in TRAINING_PRECISIONS if not np.isnan(row[f"peak_flops_per_s_{p}"])]


def precision_columns(rows: pd.DataFrame, precision: str, explicit: bool) -> dict:
    """Exact peaks at the training precision (never a silent substitute), and the MFU basis.

    FP8 runs the linear layers at the FP8 peak and attention at bf16; MFU is reported against
    the bf16 peak. A device without the precision is refused: a ScenarioError when the user
    named the devices and none has it, otherwise an infeasible row saying what it supports.
    """
    if precision not in TRAINING_PRECISIONS:
        raise ScenarioError(f"training.precision: {precision} training is not modelled; "
                            f"allowed: {', '.join(TRAINING_PRECISIONS)}")
    peak = rows[f"peak_flops_per_s_{precision}"].to_numpy(dtype=float)
    half = "bf16" if precision == "fp8" else precision
    ref = rows[f"peak_flops_per_s_{half}"].to_numpy(dtype=float)
    if precision == "fp8":
        ref = np.where(np.isnan(ref), rows["peak_flops_per_s_fp16"].to_numpy(float), ref)
    missing = np.isnan(peak) | np.isnan(ref)
    reasons = [f"{h} does not support {precision} training (supports "
               f"{', '.join(supported_precisions(r)) or 'no training precision'})" if m else ""
               for h, r, m in zip(rows["hardware_id"], (r for _, r in rows.iterrows()),
                                  missing, strict=True)]
    if explicit and missing.all():
        raise ScenarioError(f"training.precision: {reasons[0]}" if len(reasons) == 1 else
                            "training.precision: " + "; ".join(reasons))
    return {"peak_flops_per_s": peak, "mfu_reference_flops_per_s": ref,
            "precision_used": np.where(missing, "", precision),
            "precision_reason": reasons,
            "throughput_basis": np.where(missing, "missing", "spec")}


def network_columns(rows: pd.DataFrame, defaults: Defaults,
                    constants: PerformanceConstants) -> dict:
    """Scale-up domain, one-direction intra/inter-node bandwidth and matmul efficiency."""
    kind = rows["kind"].to_numpy()
    tpu = kind == "tpu"
    intra = rows["intra_node_bytes_per_s"].to_numpy(dtype=float)
    printed = rows["interconnect_bytes_per_s"].to_numpy(dtype=float) / BIDIRECTIONAL
    intra = np.where(np.isnan(intra), printed, intra)
    inter = rows["inter_node_bytes_per_s_per_device"].to_numpy(dtype=float)
    # TPU chips of a slice all sit on the ICI torus: one scale-up domain, no separate network.
    inter = np.where(tpu & np.isnan(inter), intra, inter)
    host = rows["devices_per_node"].fillna(defaults.devices_per_node.value).to_numpy(float)
    node = np.where(tpu, np.inf, host)
    basis = np.where(np.isnan(intra) | np.isnan(inter), "default", "spec")
    intra = np.where(np.isnan(intra), constants.intra_node_bandwidth_gb_per_s.value * GB, intra)
    inter = np.where(np.isnan(inter),
                     constants.inter_node_bandwidth_gb_per_s_per_device.value * GB, inter)
    mamf = rows["achievable_matmul_flops_per_s"].to_numpy(dtype=float)
    bf16 = rows["peak_flops_per_s_bf16"].fillna(rows["peak_flops_per_s_fp16"]).to_numpy(float)
    default_eff = np.array([getattr(constants.matmul_efficiency, k).value for k in kind])
    with np.errstate(invalid="ignore", divide="ignore"):
        measured = mamf / bf16
    eff = np.where(np.isfinite(measured), measured, default_eff)
    generation = [constants.generation(h) for h in rows["hardware_id"]]
    return {"intra_bw_bytes_per_s": intra, "inter_bw_bytes_per_s": inter,
            "scale_up_devices": node, "devices_per_host": host, "network_basis": basis,
            "matmul_efficiency": eff,
            "kernel_efficiency": constants.kernel_efficiency_of(rows["hardware_id"]),
            "kernel_generation": generation,
            # DeepGEMM's FP8 GEMM rates were measured on a Hopper GPU (the H800): expert
            # GEMMs of FP8 runs on Hopper use them (planner.model.step_time).
            "fp8_gemm_measured": np.array([g == "hopper" for g in generation], dtype=float),
            "matmul_efficiency_basis": np.where(np.isfinite(measured), "measured (MAMF)",
                                                "default")}


def host_columns(grid: pd.DataFrame, defaults: Defaults, user_power: bool) -> dict:
    """Host power per device from the node's specification, and each energy's boundary."""
    node = grid["devices_per_node"].to_numpy(dtype=float)
    host_node = grid["host_power_w_per_node"].to_numpy(dtype=float)
    busy = grid["busy_power_w"].to_numpy(dtype=float)
    # the host's draw under load as a share of its rating: one sourced figure (BNL's DGX H100
    # measurements, defaults.host_load_fraction), as the serving plan uses
    with np.errstate(invalid="ignore", divide="ignore"):
        per_device = host_node * defaults.host_load_fraction.value / node
        spec_fraction = per_device / busy
    current = grid["host_power_fraction"].to_numpy(dtype=float)
    from_node = np.isfinite(spec_fraction) & (current > 0)
    fraction = np.where(from_node, spec_fraction, current)
    system = grid["typical_power_scope"].eq("system").to_numpy() & (current == 0)
    pue = grid["pue"].to_numpy(dtype=float)
    host_text = np.where(
        user_power, "host included in the given power per device",
        np.where(system, "host included in the published system power per device",
                 np.where(from_node, "host from the node specification × load share",
                          np.where(current > 0, "host as a default share of device power",
                                   "no host (edge device)"))))
    boundary = [f"facility (PUE {p:g}) = node × PUE; node = device + {h}"
                for p, h in zip(pue, host_text, strict=True)]
    return {"host_power_fraction": fraction, "energy_boundary": boundary,
            "host_power_w_per_device": np.where(np.isfinite(busy), busy * fraction, np.nan)}
