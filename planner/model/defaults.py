"""Default assumptions (``profiles/defaults.yaml``): each value with its source and confidence."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator

from planner.errors import ProfileError
from planner.model.hardware import Confidence, Source
from planner.model.paths import PROFILES_DIR
from planner.model.yamlio import StrictModel, load_file

DEFAULTS_PATH = PROFILES_DIR / "defaults.yaml"


class Assumption(StrictModel):
    """One default value, where it came from and how sure we are of it."""

    value: float = Field(ge=0, allow_inf_nan=False)
    source: str
    confidence: Confidence
    note: str | None = None


class PerKind(StrictModel):
    """An assumption that differs by device kind."""

    gpu: Assumption
    tpu: Assumption
    npu: Assumption
    cpu: Assumption

    def for_kind(self, kind: str) -> Assumption:
        return getattr(self, kind)


class EdgeDefaults(StrictModel):
    """Assumptions for devices in users' hands (placement: edge)."""

    embodied_co2e_kg_per_device: Assumption
    service_life_years: Assumption
    idle_power_w: Assumption


class Defaults(StrictModel):
    """Every default assumption of the model."""

    training_utilisation: PerKind
    prefill_utilisation: PerKind
    memory_bandwidth_utilisation: PerKind
    busy_power_fraction: PerKind
    decode_power_fraction: PerKind
    engine_overhead_s_per_step: PerKind
    idle_power_fraction: PerKind
    host_power_fraction: PerKind
    embodied_co2e_kg_per_device: PerKind
    edge: EdgeDefaults
    service_life_years: Assumption
    pue: Assumption
    carbon_intensity_g_per_kwh: Assumption
    electricity_usd_per_kwh: Assumption
    devices_per_node: Assumption
    kv_memory_fraction: Assumption
    prefill_chunk_tokens: Assumption
    collective_latency_s: Assumption
    host_load_fraction: Assumption
    sources: dict[str, Source]

    @model_validator(mode="after")
    def _sources_exist(self) -> Defaults:
        for name, assumption in self.assumptions().items():
            if assumption.source not in self.sources:
                raise ValueError(f"{name} cites unknown source {assumption.source!r}")
        return self

    def assumptions(self) -> dict[str, Assumption]:
        """Every assumption, flattened to ``name`` or ``name.kind`` keys."""
        out: dict[str, Assumption] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, Assumption):
                out[name] = value
            elif isinstance(value, PerKind | EdgeDefaults):
                for sub in type(value).model_fields:
                    out[f"{name}.{sub}"] = getattr(value, sub)
        return out

    def per_kind(self, name: str, kinds) -> list[float]:
        """Values of per-kind assumption ``name`` for a sequence of kinds (vector helper)."""
        table: PerKind = getattr(self, name)
        return [table.for_kind(k).value for k in kinds]

    def cite(self, assumption: Assumption) -> str:
        """A short citation: the source title and date."""
        src = self.sources[assumption.source]
        return f"{src.title} ({src.date})"


def load_defaults(path: Path | str | None = None) -> Defaults:
    """Load and validate the defaults file; ProfileError names the file and the field."""
    target = Path(path) if path is not None else DEFAULTS_PATH
    return _load_cached(str(target), target.stat().st_mtime_ns if target.exists() else 0)


@lru_cache(maxsize=4)
def _load_cached(path: str, _mtime_ns: int) -> Defaults:
    return load_file(Defaults, path, "defaults", ProfileError)
