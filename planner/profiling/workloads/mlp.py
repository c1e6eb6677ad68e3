"""A multi-layer perceptron classifying random feature vectors."""

from __future__ import annotations

import itertools
from typing import Any

import torch
from torch import nn

from planner.profiling.workloads.base import Params, Workload


class Mlp(Workload):
    name = "mlp"
    description = "MLP: Linear+ReLU layers, cross-entropy over random features"
    sizes = {  # noqa: RUF012 - class-level constant tables
        "small": {"in_features": 256, "hidden": 512, "layers": 3, "classes": 10},
        "medium": {"in_features": 1024, "hidden": 4096, "layers": 4, "classes": 1000},
        "large": {"in_features": 4096, "hidden": 16384, "layers": 6, "classes": 1000},
    }
    default_batch = {"small": 64, "medium": 256, "large": 512}  # noqa: RUF012

    def build(self, p: Params) -> nn.Module:
        dims = [p["in_features"]] + [p["hidden"]] * p["layers"]
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(dims):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(dims[-1], p["classes"]))
        return nn.Sequential(*layers)

    def batch(
        self, p: Params, batch_size: int, device: torch.device, gen: torch.Generator | None
    ) -> tuple[Any, Any]:
        x = torch.randn(batch_size, p["in_features"], device=device, generator=gen)
        y = torch.randint(0, p["classes"], (batch_size,), device=device, generator=gen)
        return x, y

    def loss(self, output: torch.Tensor, target: Any) -> torch.Tensor:
        return nn.functional.cross_entropy(output.float(), target)
