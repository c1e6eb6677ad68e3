"""The reference workloads, by name: an MLP, a ResNet-style CNN, a transformer LM, a recommender."""

from __future__ import annotations

from planner.errors import PlannerError
from planner.profiling.workloads.base import Workload
from planner.profiling.workloads.cnn import Cnn
from planner.profiling.workloads.mlp import Mlp
from planner.profiling.workloads.recsys import Recsys
from planner.profiling.workloads.transformer import Transformer

WORKLOAD_NAMES: tuple[str, ...] = ("mlp", "cnn", "transformer", "recsys")
SIZES: tuple[str, ...] = ("small", "medium", "large")


def get_workload(name: str) -> Workload:
    """The workload called ``name``; PlannerError listing the known ones otherwise."""
    table: dict[str, type[Workload]] = {
        "mlp": Mlp, "cnn": Cnn, "transformer": Transformer, "recsys": Recsys
    }
    if name not in table:
        raise PlannerError(f"unknown workload {name!r}; choose one of {', '.join(WORKLOAD_NAMES)}")
    return table[name]()


__all__ = ["SIZES", "WORKLOAD_NAMES", "Workload", "get_workload"]
