"""A transformer's description and its training FLOPs: dense and mixture-of-experts.

FLOPs per trained token = 6·N_active + 12·L·H·Q·T (Chowdhery et al. 2022, PaLM,
arXiv:2204.02311, Appendix B): six FLOPs per active parameter (forward 2, backward 4; Kaplan
et al. 2020, arXiv:2001.08361, section 2.1) plus the attention scores and values, which grow
with the sequence length T. A mixture-of-experts model computes with the parameters active
per token and stores all of them (Jiang et al. 2024, Mixtral, arXiv:2401.04088).

Where only a parameter count is known, the shape is estimated from N ≈ 12·L·h² (Kaplan et al.
2020, eq. 2.1) at GPT-3's aspect ratio h = 128·L (Brown et al. 2020, arXiv:2005.14165,
Table 2.1: 12,288 = 128 × 96); such an architecture is labelled ``estimated``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.errors import ScenarioError

GPT3_HIDDEN_PER_LAYER = 128.0  # Brown et al. 2020, Table 2.1 (175B: d_model 12,288, 96 layers)
HEAD_DIM = 128  # the common head size of GPT-3 175B and Llama 3 (Dubey et al. 2024, Table 3)


@dataclass(frozen=True)
class Architecture:
    """The shape of a decoder-only transformer: what layouts, memory and FLOPs depend on."""

    params: float  # all parameters (weights, optimizer state and gradients scale with these)
    active_params: float  # parameters used per token (compute scales with these)
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn_hidden: int
    vocab: int
    sequence_tokens: int
    experts: int = 1  # routed experts per MoE layer (1: dense)
    experts_per_token: int = 1
    shared_experts: int = 0
    basis: str = "given"  # "given" or "estimated" (shape from the parameter count)

    @property
    def is_moe(self) -> bool:
        return self.experts > 1

    @property
    def expert_params(self) -> float:
        """Parameters in routed experts (sharded by expert parallelism); 0 for dense."""
        if not self.is_moe:
            return 0.0
        routed_active = self.active_params_routed
        return routed_active * self.experts / max(self.experts_per_token, 1)

    @property
    def active_params_routed(self) -> float:
        """Active parameters that sit in routed experts: the active minus the dense share."""
        if not self.is_moe:
            return 0.0
        # params = dense + E·e and active = dense + k·e, so e = (params − active) / (E − k).
        per_expert = (self.params - self.active_params) / max(self.experts
                                                              - self.experts_per_token, 1)
        return per_expert * self.experts_per_token

    def flops_per_token(self) -> float:
        """Model FLOPs per trained token: 6·N_active + 12·L·H·Q·T (PaLM, Appendix B)."""
        return training_flops_per_token(self.active_params, self.layers, self.heads,
                                        self.head_dim, self.sequence_tokens)


def training_flops_per_token(active_params, layers, heads, head_dim, sequence_tokens):
    """6·N + 12·L·H·Q·T FLOPs per token (PaLM, Appendix B); arrays broadcast."""
    return (6.0 * np.asarray(active_params, dtype=float)
            + 12.0 * np.asarray(layers, dtype=float) * heads * head_dim * sequence_tokens)


def attention_flops_per_token(layers, heads, head_dim, sequence_tokens):
    """The attention term alone: 12·L·H·Q·T (forward 4·L·H·Q·T: scores and values)."""
    return 12.0 * np.asarray(layers, dtype=float) * heads * head_dim * sequence_tokens


def dense_params(layers: int, hidden: int, heads: int, kv_heads: int, head_dim: int,
                 ffn_hidden: int, vocab: int, *, gated: bool = True, tied: bool = False) -> float:
    """Parameter count of a Llama-style decoder: attention, (gated) MLP, embeddings."""
    attention = hidden * head_dim * (2 * heads + 2 * kv_heads)
    mlp = (3 if gated else 2) * hidden * ffn_hidden
    embeddings = vocab * hidden * (1 if tied else 2)
    return float(layers * (attention + mlp) + embeddings)


def estimated_shape(params: float) -> tuple[int, int]:
    """(layers, hidden) of a dense model of ``params`` parameters at GPT-3's aspect ratio.

    Layers are rounded to a multiple of 4 and the hidden size to 8 heads of 128 (above 1,024)
    so that tensor and pipeline parallelism have divisors to work with, as real models do.
    """
    layers = (params / (12.0 * GPT3_HIDDEN_PER_LAYER ** 2)) ** (1.0 / 3.0)
    layers = max(1, round(layers / 4.0) * 4) if layers >= 4 else max(1, round(layers))
    width = np.sqrt(params / (12.0 * layers))
    step = 8 * HEAD_DIM if width >= 8 * HEAD_DIM else HEAD_DIM
    hidden = max(HEAD_DIM, round(width / step) * step)
    return layers, hidden


def estimate(params: float, active_params: float | None, sequence_tokens: int,
             vocab: int = 50_257) -> Architecture:
    """An architecture estimated from the (active) parameter count; labelled ``estimated``.

    The vocabulary defaults to GPT-2/GPT-3's 50,257 tokens (Brown et al. 2020, section 2.1).
    """
    active = active_params or params
    layers, hidden = estimated_shape(active)
    heads = hidden // HEAD_DIM
    return Architecture(params=params, active_params=active, layers=layers, hidden=hidden,
                        heads=heads, kv_heads=heads, head_dim=HEAD_DIM, ffn_hidden=4 * hidden,
                        vocab=vocab, sequence_tokens=sequence_tokens, basis="estimated")


def build(*, params: float | None, active_params: float | None, sequence_tokens: int,
          layers: int | None = None, hidden: int | None = None, heads: int | None = None,
          kv_heads: int | None = None, head_dim: int | None = None,
          ffn_hidden: int | None = None, vocab: int | None = None, experts: int | None = None,
          experts_per_token: int | None = None, shared_experts: int | None = None,
          moe_ffn_hidden: int | None = None, origin: str = "training") -> Architecture:
    """An Architecture from whatever is known; ScenarioError names a missing or bad field."""
    if params is not None and active_params is not None and active_params > params * (1 + 1e-9):
        raise ScenarioError(f"{origin}.active_params: must not exceed params (all parameters); "
                            f"got {active_params:g} > {params:g}")
    experts = experts or 1
    k = experts_per_token or (2 if experts > 1 else 1)
    if experts > 1 and not 1 <= k <= experts:
        raise ScenarioError(f"{origin}.architecture.experts_per_token: must be between 1 and "
                            f"experts ({experts}); got {k}")
    if layers is None or hidden is None:
        if params is None:
            raise ScenarioError(f"{origin}: give params (or a preset) to size the model")
        arch = estimate(params, active_params, sequence_tokens, vocab or 50_257)
        if experts > 1:
            arch = Architecture(**{**arch.__dict__, "experts": experts, "experts_per_token": k,
                                   "shared_experts": shared_experts or 0})
        return arch
    heads = heads or max(1, hidden // HEAD_DIM)
    head_dim = head_dim or hidden // heads
    kv_heads = kv_heads or heads
    ffn_hidden = ffn_hidden or 4 * hidden
    vocab = vocab or 50_257
    if params is None:
        dense = dense_params(layers, hidden, heads, kv_heads, head_dim, ffn_hidden, vocab)
        if experts > 1:
            expert_ffn = moe_ffn_hidden or ffn_hidden
            per_expert = 3 * hidden * expert_ffn * layers
            mlp = 3 * hidden * ffn_hidden * layers
            params = dense - mlp + per_expert * (experts + (shared_experts or 0))
            active_params = active_params or (dense - mlp
                                              + per_expert * (k + (shared_experts or 0)))
        else:
            params = dense
    active = active_params if active_params is not None else params
    if active > params * (1 + 1e-9):
        raise ScenarioError(f"{origin}.active_params: must not exceed params (all parameters); "
                            f"got {active:g} > {params:g}")
    return Architecture(params=float(params), active_params=float(active), layers=layers,
                        hidden=hidden, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
                        ffn_hidden=ffn_hidden, vocab=vocab, sequence_tokens=sequence_tokens,
                        experts=experts, experts_per_token=k,
                        shared_experts=shared_experts or 0)
