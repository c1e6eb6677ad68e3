"""What every reference workload provides: a model, a synthetic batch, a loss, an optimiser.

Batches are synthetic and made once, on the device, so the measurement covers the model's
compute and not data loading; a real input pipeline adds to what is measured here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import nn

Params = dict[str, int]


class Workload(ABC):
    """A reference model of configurable size, trained or served on synthetic data."""

    name: str
    description: str
    sizes: dict[str, Params]
    default_batch: dict[str, int]

    def params(self, size: str) -> Params:
        return dict(self.sizes[size])

    @abstractmethod
    def build(self, p: Params) -> nn.Module:
        """The model, on the current default device (``with torch.device(...)``)."""

    @abstractmethod
    def batch(
        self, p: Params, batch_size: int, device: torch.device, gen: torch.Generator | None
    ) -> tuple[Any, Any]:
        """(inputs, targets) for one step on ``device``; ``gen`` is None on the meta device."""

    def forward(self, model: nn.Module, inputs: Any) -> torch.Tensor:
        return model(inputs)

    @abstractmethod
    def loss(self, output: torch.Tensor, target: Any) -> torch.Tensor:
        """The training loss of one step."""

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def optimizer_states_per_param(self) -> int:
        """Tensors the optimiser keeps per parameter (SGD with momentum: 1; Adam: 2)."""
        return 1

    def tokens_per_sample(self, p: Params) -> int | None:
        """Tokens in one sample, for language models; None otherwise."""
        return None
