"""A DLRM-style recommendation model (Naumov et al. 2019, arXiv:1906.00091) on random data.

Dense features go through a bottom MLP, each sparse feature looks up one embedding bag,
their pairwise dot products feed a top MLP that predicts a click (binary cross-entropy).
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
from torch import nn

from planner.profiling.workloads.base import Params, Workload


def _mlp(dims: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(dims):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class Dlrm(nn.Module):
    """Bottom MLP, embedding bags, dot-product interaction, top MLP."""

    def __init__(self, dense: int, tables: int, rows: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.bottom = _mlp([dense, hidden, dim])
        self.embeddings = nn.ModuleList(nn.EmbeddingBag(rows, dim, mode="sum")
                                        for _ in range(tables))
        n = tables + 1
        self.pairs = torch.triu_indices(n, n, offset=1)
        self.top = _mlp([dim + n * (n - 1) // 2, hidden, hidden // 2, 1])

    def forward(self, inputs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        dense, sparse = inputs  # sparse: (batch, tables, lookups per table)
        z = [self.bottom(dense)] + [e(sparse[:, i]) for i, e in enumerate(self.embeddings)]
        stacked = torch.stack(z, dim=1)
        dots = torch.bmm(stacked, stacked.transpose(1, 2))
        i, j = self.pairs.to(dots.device)
        return self.top(torch.cat([z[0], dots[:, i, j]], dim=1)).squeeze(1)


class Recsys(Workload):
    name = "recsys"
    description = "DLRM-style recommender: embedding bags, dot interactions, click prediction"
    sizes = {  # noqa: RUF012
        "small": {"dense": 13, "tables": 8, "rows": 10_000, "dim": 16, "hidden": 128,
                  "lookups": 4},
        "medium": {"dense": 13, "tables": 26, "rows": 100_000, "dim": 64, "hidden": 512,
                   "lookups": 8},
        "large": {"dense": 13, "tables": 26, "rows": 1_000_000, "dim": 128, "hidden": 1024,
                  "lookups": 16},
    }
    default_batch = {"small": 256, "medium": 2048, "large": 4096}  # noqa: RUF012

    def build(self, p: Params) -> nn.Module:
        return Dlrm(p["dense"], p["tables"], p["rows"], p["dim"], p["hidden"])

    def batch(
        self, p: Params, batch_size: int, device: torch.device, gen: torch.Generator | None
    ) -> tuple[Any, Any]:
        dense = torch.randn(batch_size, p["dense"], device=device, generator=gen)
        sparse = torch.randint(0, p["rows"], (batch_size, p["tables"], p["lookups"]),
                               device=device, generator=gen)
        clicks = torch.randint(0, 2, (batch_size,), device=device, generator=gen).float()
        return (dense, sparse), clicks

    def loss(self, output: torch.Tensor, target: Any) -> torch.Tensor:
        return nn.functional.binary_cross_entropy_with_logits(output.float(), target)
