"""A decoder-only transformer language model (pre-norm GPT-style blocks) on random tokens.

Inference runs the forward pass over the whole sequence (a prefill), one batch per request.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from planner.profiling.workloads.base import Params, Workload


class Block(nn.Module):
    """Causal self-attention and a 4x MLP, each behind a LayerNorm and a residual."""

    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        a = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln2(x))


class TransformerLm(nn.Module):
    """Token and position embeddings, blocks, a final norm and an untied output head."""

    def __init__(self, vocab: int, d: int, layers: int, heads: int, seq: int) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(seq, d)
        self.blocks = nn.Sequential(*(Block(d, heads) for _ in range(layers)))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(idx.shape[1], device=idx.device)
        return self.head(self.ln(self.blocks(self.tok(idx) + self.pos(pos))))


class Transformer(Workload):
    name = "transformer"
    description = "Decoder-only transformer LM: next-token cross-entropy over random tokens"
    sizes = {  # noqa: RUF012
        "small": {"vocab": 2048, "d_model": 128, "layers": 2, "heads": 4, "seq_len": 64},
        "medium": {"vocab": 32000, "d_model": 512, "layers": 6, "heads": 8, "seq_len": 256},
        "large": {"vocab": 50257, "d_model": 1024, "layers": 24, "heads": 16, "seq_len": 1024},
    }
    default_batch = {"small": 8, "medium": 16, "large": 8}  # noqa: RUF012

    def build(self, p: Params) -> nn.Module:
        return TransformerLm(p["vocab"], p["d_model"], p["layers"], p["heads"], p["seq_len"])

    def batch(
        self, p: Params, batch_size: int, device: torch.device, gen: torch.Generator | None
    ) -> tuple[Any, Any]:
        shape = (batch_size, p["seq_len"] + 1)
        tokens = torch.randint(0, p["vocab"], shape, device=device, generator=gen)
        return tokens[:, :-1], tokens[:, 1:]

    def loss(self, output: torch.Tensor, target: Any) -> torch.Tensor:
        return nn.functional.cross_entropy(output.float().flatten(0, 1), target.flatten())

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.AdamW(model.parameters(), lr=3e-4)

    def optimizer_states_per_param(self) -> int:
        return 2

    def tokens_per_sample(self, p: Params) -> int | None:
        return p["seq_len"]
