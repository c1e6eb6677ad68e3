"""The reference workloads, by name: an MLP, a ResNet-style CNN, a transformer LM, a recommender."""

from __future__ import annotations

from planner.errors import PlannerError
from planner.profiling.options import SIZES, WORKLOADS
from planner.profiling.workloads.base import Workload
from planner.profiling.workloads.cnn import Cnn
from planner.profiling.workloads.mlp import Mlp
from planner.profiling.workloads.recsys import Recsys
from planner.profiling.workloads.transformer import Transformer

# The names live with the CLI's option checks, which must not import torch.
WORKLOAD_NAMES: tuple[str, ...] = WORKLOADS


def get_workload(name: str) -> Workload:
    """The workload called ``name``; PlannerError listing the known ones otherwise."""
    table: dict[str, type[Workload]] = {
        "mlp": Mlp, "cnn": Cnn, "transformer": Transformer, "recsys": Recsys
    }
    if name not in table:
        raise PlannerError(f"unknown workload {name!r}; choose one of {', '.join(WORKLOAD_NAMES)}")
    return table[name]()


__all__ = ["SIZES", "WORKLOAD_NAMES", "Workload", "get_workload"]
