"""Workloads: what is trained or served, as FLOPs and bytes, and the sourced model presets.

Language models follow Kaplan et al. 2020 (arXiv:2001.08361, section 2.1): training costs
about 6·N·D FLOPs; generating a token costs about 2·N FLOPs. Generic models give FLOPs per
sample; training a sample costs 3× its forward pass (forward + backward at twice forward).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from planner.errors import ScenarioError
from planner.model.hardware import Source
from planner.model.paths import PROFILES_DIR
from planner.model.yamlio import StrictModel, load_file

MODELS_PATH = PROFILES_DIR / "models.yaml"

# Bytes per weight at each precision (weights stored at the compute precision).
BYTES_PER_WEIGHT: dict[str, float] = {
    "fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5,
}
# Mixed-precision Adam keeps 16 bytes per parameter: 2 (bf16 weights) + 2 (grads) + 12
# (fp32 master weights, momentum, variance). Rajbhandari et al. 2020, ZeRO, section 3.1.
TRAINING_STATE_BYTES_PER_PARAM = 16.0
# With full activation recomputation a transformer keeps 2·s·b·h bytes per layer (the layer
# inputs in 16-bit). Korthikanti et al. 2022, Reducing Activation Recomputation, section 4.
CHECKPOINT_ACTIVATION_BYTES_PER_TOKEN_PER_HIDDEN_PER_LAYER = 2.0
TRAIN_FLOPS_PER_FORWARD_FLOP = 3.0  # forward + backward (2x forward); Kaplan et al. 2020


class ModelPreset(StrictModel):
    """A well-known model: its size, architecture and training data, with a source."""

    name: str
    family: Literal["llm", "generic"]
    params: float = Field(gt=0)
    source: str
    note: str | None = None
    # language models
    tokens: float | None = Field(default=None, gt=0)
    layers: int | None = Field(default=None, gt=0)
    hidden: int | None = Field(default=None, gt=0)
    kv_heads: int | None = Field(default=None, gt=0)
    head_dim: int | None = Field(default=None, gt=0)
    context_tokens: int | None = Field(default=None, gt=0)
    # mixture-of-experts: all parameters are stored, the active ones compute per token
    active_params: float | None = Field(default=None, gt=0)
    experts: int | None = Field(default=None, ge=1)
    experts_per_token: int | None = Field(default=None, ge=1)
    heads: int | None = Field(default=None, gt=0)
    ffn_hidden: int | None = Field(default=None, gt=0)
    vocab: int | None = Field(default=None, gt=0)
    train_sequence_tokens: int | None = Field(
        default=None, gt=0, description="Pre-training sequence length, where it differs from "
        "the served context")
    shared_experts: int | None = Field(default=None, ge=0)
    moe_ffn_hidden: int | None = Field(default=None, gt=0)
    routed_nodes_per_token: int | None = Field(default=None, ge=1)
    # generic models
    flops_per_sample_forward: float | None = Field(default=None, gt=0)
    samples: float | None = Field(default=None, gt=0)
    epochs: float | None = Field(default=None, gt=0)
    bytes_per_sample_inference: float | None = Field(default=None, ge=0)
    embedding_bytes_per_sample: float | None = Field(default=None, ge=0)

    def kv_bytes_per_token(self, bytes_per_value: float = 2.0) -> float | None:
        """KV-cache bytes per token: 2 (K and V) × layers × kv_heads × head_dim × bytes."""
        if None in (self.layers, self.kv_heads, self.head_dim):
            return None
        return 2.0 * self.layers * self.kv_heads * self.head_dim * bytes_per_value


class ModelCatalogue(StrictModel):
    sources: dict[str, Source]
    models: dict[str, ModelPreset]


@lru_cache(maxsize=2)
def load_presets(path: str | None = None) -> ModelCatalogue:
    """The model presets file, validated."""
    target = Path(path) if path else MODELS_PATH
    catalogue = load_file(ModelCatalogue, target, "models", ScenarioError)
    unknown = [k for k, m in catalogue.models.items() if m.source not in catalogue.sources]
    if unknown:
        raise ScenarioError(f"{target}: models {unknown} cite sources not listed under `sources`")
    return catalogue


def preset(model_id: str) -> ModelPreset:
    """One preset by id; ScenarioError lists the allowed ids."""
    models = load_presets().models
    if model_id not in models:
        raise ScenarioError(f"unknown model preset {model_id!r}; allowed: {', '.join(models)}")
    return models[model_id]


def lm_training_flops(params: float, tokens: float) -> float:
    """6·N·D (Kaplan et al. 2020)."""
    return 6.0 * params * tokens


def generic_training_flops(flops_per_sample_forward: float, samples: float, epochs: float) -> float:
    """3 × forward FLOPs × samples × epochs."""
    return TRAIN_FLOPS_PER_FORWARD_FLOP * flops_per_sample_forward * samples * epochs
