"""The constants of the training step-time model (``profiles/performance.yaml``), validated.

Each value carries its source; a fitted value lists the validation cases it was fitted on, so
the validation can mark them ``fitted`` and report error on the others.
"""

from __future__ import annotations

import fnmatch
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from planner.errors import ProfileError
from planner.model.hardware import Source
from planner.model.yamlio import StrictModel, load_file

PERFORMANCE_PATH = Path(__file__).resolve().parents[2] / "profiles" / "performance.yaml"


class Constant(StrictModel):
    """One constant with its source, confidence and (if fitted) the cases it was fitted on."""

    value: float = Field(ge=0, allow_inf_nan=False)
    source: str
    confidence: Literal["high", "medium", "low"]
    note: str | None = None
    fitted_on: list[str] = Field(default_factory=list)


class PerKindConstant(StrictModel):
    """A constant that differs by device kind."""

    gpu: Constant
    tpu: Constant
    npu: Constant
    cpu: Constant


class KernelEfficiency(StrictModel):
    """The fitted kernel efficiency of each hardware generation, and the fallback."""

    ampere: Constant
    hopper: Constant
    tpu_v3: Constant
    tpu: Constant
    other: Constant

    def items(self) -> dict[str, Constant]:
        return {name: getattr(self, name) for name in type(self).model_fields}


class UtilisationPower(StrictModel):
    """A device whose power follows utilisation: its idle draw and the utilisation at which
    its profile's typical draw holds (``planner.model.training_power``)."""

    idle_power_w: Constant
    reference_mfu: Constant


class PerformanceConstants(StrictModel):
    """Every constant of the step-time model and the training defaults it needs."""

    matmul_efficiency: PerKindConstant
    kernel_efficiency: KernelEfficiency
    generations: dict[str, list[str]]
    matrix_half_size: Constant
    fp8_matmul_efficiency: Constant
    elementwise_bytes: Constant
    tensor_parallel_overlap: Constant
    network_efficiency: Constant
    intra_node_bandwidth_gb_per_s: Constant
    inter_node_bandwidth_gb_per_s_per_device: Constant
    goodput: Constant
    global_batch_tokens: Constant
    utilisation_power: dict[str, UtilisationPower] = Field(default_factory=dict)
    sources: dict[str, Source]

    @model_validator(mode="after")
    def _sources_exist(self) -> PerformanceConstants:
        named = [(n, getattr(self, n)) for n in type(self).model_fields
                 if n not in ("sources", "generations", "utilisation_power")]
        named += [(f"utilisation_power.{h}.{k}", getattr(u, k))
                  for h, u in self.utilisation_power.items()
                  for k in ("idle_power_w", "reference_mfu")]
        for name, c in named:
            items = ([c] if isinstance(c, Constant) else list(c.items().values())
                     if isinstance(c, KernelEfficiency) else
                     [getattr(c, k) for k in ("gpu", "tpu", "npu", "cpu")])
            for item in items:
                if item.source not in self.sources:
                    raise ValueError(f"{name} cites unknown source {item.source!r}")
                if (item.source == "fitted") != bool(item.fitted_on):
                    raise ValueError(f"{name}: a fitted value lists fitted_on, and only it")
        return self

    def step_constants(self, **overrides: float) -> dict[str, float]:
        """The constants ``step_time.layout_times`` reads, optionally overridden (fitting)."""
        k = {"matrix_half_size": self.matrix_half_size.value,
             "fp8_matmul_efficiency": self.fp8_matmul_efficiency.value,
             "elementwise_bytes": self.elementwise_bytes.value,
             "network_efficiency": self.network_efficiency.value}
        k.update(overrides)
        return k

    def fitted_cases(self) -> set[str]:
        """Ids of every validation case some constant was fitted on."""
        out: set[str] = set()
        for name in type(self).model_fields:
            c = getattr(self, name)
            if isinstance(c, Constant):
                out.update(c.fitted_on)
            elif isinstance(c, KernelEfficiency):
                for item in c.items().values():
                    out.update(item.fitted_on)
        return out

    def power_fitted_cases(self) -> set[str]:
        """Runs of the energy validation some power constant was fitted on."""
        return {case for u in self.utilisation_power.values()
                for case in u.reference_mfu.fitted_on}

    def generation(self, hardware_id: str) -> str:
        """The kernel-efficiency generation of a profile id (``other`` if none matches)."""
        for name, patterns in self.generations.items():
            if any(fnmatch.fnmatchcase(hardware_id, p) for p in patterns):
                return name
        return "other"

    def kernel_efficiency_of(self, hardware_ids) -> list[float]:
        """The fitted kernel efficiency for each profile id."""
        table = self.kernel_efficiency.items()
        return [table[self.generation(h)].value for h in hardware_ids]


@lru_cache(maxsize=2)
def load_performance(path: str | None = None) -> PerformanceConstants:
    """Load and validate ``profiles/performance.yaml``; ProfileError names the field."""
    return load_file(PerformanceConstants, Path(path) if path else PERFORMANCE_PATH,
                     "defaults", ProfileError)
