"""A ResNet-style CNN (basic residual blocks, He et al. 2016) on random images.

Written in torch directly: torchvision has no CPU build in this project's environment.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from planner.profiling.workloads.base import Params, Workload


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.short: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.short = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.short(x))


class ResNet(nn.Module):
    """Stem, four stages of basic blocks (widths w, 2w, 4w, 8w), pooling and a classifier."""

    def __init__(self, width: int, blocks: list[int], classes: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        stages: list[nn.Module] = []
        c = width
        for i, n in enumerate(blocks):
            c_out = width * 2**i
            for j in range(n):
                stages.append(BasicBlock(c, c_out, 2 if (j == 0 and i > 0) else 1))
                c = c_out
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


class Cnn(Workload):
    name = "cnn"
    description = "ResNet-style CNN: basic residual blocks, cross-entropy over random images"
    sizes = {  # noqa: RUF012
        "small": {"width": 16, "blocks": 1, "image": 32, "classes": 10},
        "medium": {"width": 64, "blocks": 2, "image": 64, "classes": 100},  # ResNet-18 layout
        "large": {"width": 64, "blocks": 2, "image": 224, "classes": 1000},
    }
    default_batch = {"small": 32, "medium": 64, "large": 64}  # noqa: RUF012

    def build(self, p: Params) -> nn.Module:
        return ResNet(p["width"], [p["blocks"]] * 4, p["classes"])

    def batch(
        self, p: Params, batch_size: int, device: torch.device, gen: torch.Generator | None
    ) -> tuple[Any, Any]:
        x = torch.randn(batch_size, 3, p["image"], p["image"], device=device, generator=gen)
        y = torch.randint(0, p["classes"], (batch_size,), device=device, generator=gen)
        return x, y

    def loss(self, output: torch.Tensor, target: Any) -> torch.Tensor:
        return nn.functional.cross_entropy(output.float(), target)
