"""The transformer shape and the parallel layout a training scenario may give
(``training.architecture``, ``training.parallelism``; part of ``planner.model.scenario``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from planner.model.yamlio import StrictModel


class ArchitectureSpec(StrictModel):
    """A transformer's shape; unknown fields come from the preset or stated estimates."""

    layers: int | None = Field(default=None, ge=1, le=1000, description="Transformer layers")
    hidden: int | None = Field(default=None, ge=1, le=1_000_000, description="Model width")
    heads: int | None = Field(default=None, ge=1, le=10_000, description="Attention heads")
    kv_heads: int | None = Field(default=None, ge=1, le=10_000, description="Key/value heads")
    head_dim: int | None = Field(default=None, ge=1, le=10_000)
    ffn_hidden: int | None = Field(default=None, ge=1, le=10_000_000, description="FFN width")
    vocab: int | None = Field(default=None, ge=1, le=100_000_000, description="Vocabulary")
    experts: int | None = Field(default=None, ge=1, le=100_000,
                                description="Routed experts per MoE layer (1: dense)")
    experts_per_token: int | None = Field(default=None, ge=1, le=100_000)
    shared_experts: int | None = Field(default=None, ge=0, le=100_000)
    moe_ffn_hidden: int | None = Field(default=None, ge=1, le=10_000_000)
    routed_nodes_per_token: int | None = Field(
        default=None, ge=1, le=100_000, description="Nodes a token's routed experts may span "
        "(node-limited routing: DeepSeek-V3's M = 4); default: one per routed expert")


class ParallelismSpec(StrictModel):
    """A given parallel layout instead of the search."""

    tp: int | None = Field(default=None, ge=1, le=1024, description="Tensor-parallel ranks "
                           "(inside a node)")
    pp: int | None = Field(default=None, ge=1, le=1024, description="Pipeline stages (a divisor "
                           "of the layers, or uneven with first/last_stage_layers)")
    first_stage_layers: int | None = Field(
        default=None, ge=1, le=10_000, description="Layers on the first pipeline stage (the "
        "other stages share the rest evenly; Megatron-LM's --decoder-first-pipeline-num-layers)")
    last_stage_layers: int | None = Field(
        default=None, ge=1, le=10_000, description="Layers on the last pipeline stage")
    virtual_stages: int | None = Field(
        default=None, ge=1, le=128, description="Model chunks per pipeline stage: the "
        "interleaved 1F1B schedule divides the bubble by it (Narayanan et al. 2021, section "
        "2.2; Megatron-LM's --num-virtual-stages-per-pipeline-rank, NeMo's VP); 1: plain 1F1B")
    dp: int | None = Field(default=None, ge=1, le=10_000_000, description="Data-parallel ranks")
    ep: int | None = Field(default=None, ge=1, le=100_000, description="Expert-parallel ranks "
                           "(a divisor of the experts and of dp)")
    zero_stage: int | None = Field(default=None, ge=0, le=3, description="ZeRO stage 0-3")
    recompute: Literal["none", "selective", "full"] | None = Field(
        default=None, description="Activation recomputation")
    schedule: Literal["1f1b", "dualpipe"] | None = Field(
        default=None, description="Pipeline schedule: 1F1B (default) or DeepSeek-V3's "
        "DualPipe (no bubble, two copies of the weights)")
    tp_comm_overlap: bool | None = Field(
        default=None, description="Whether the tensor-parallel collectives run under the "
        "GEMMs that feed them (Transformer Engine's userbuffers, Megatron-Core's "
        "--tp-comm-overlap, PyTorch Async TP): hidden up to the compute time. Default: "
        "profiles/performance.yaml's tensor_parallel_overlap (on: today's stacks); off for "
        "stacks without it (Megatron-LM before 2023)")
    dispatcher: Literal["all_to_all", "hierarchical"] | None = Field(
        default=None, description="Expert token dispatch across nodes: all_to_all (NCCL, "
        "default: one copy per expert) or hierarchical (DeepEP / HybridEP: once per node "
        "holding the token's experts, then NVLink)")
