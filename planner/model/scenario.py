"""The scenario file: what to plan (training, inference), where (site) and how it is paid for.

A scenario is YAML (see README, "Scenario format"). Validation errors become one line naming
the field and the allowed values.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from planner.errors import ScenarioError, yaml_error_line
from planner.model.hardware import PRECISIONS, Precision

HardwareSelection = str | list[str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nan(cls, v: object) -> object:
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
            raise ValueError("must be a finite number, not NaN or infinity")
        return v


class TrainingSpec(_Strict):
    """A training run: a preset or a size, the hardware, and devices, deadline or a known run."""

    model: str | None = Field(default=None, description="A preset id from profiles/models.yaml")
    params: float | None = Field(default=None, gt=0, description="Parameters N")
    tokens: float | None = Field(default=None, gt=0, description="Training tokens D")
    flops_per_sample: float | None = Field(
        default=None, gt=0, description="Forward FLOPs per sample (generic model)"
    )
    samples: float | None = Field(default=None, gt=0)
    epochs: float | None = Field(default=None, gt=0)
    total_flops: float | None = Field(default=None, gt=0, description="Override all of the above")
    hardware: HardwareSelection = "all"
    precision: Precision = "bf16"
    mfu: float | None = Field(default=None, gt=0, le=1, description="Model-FLOPs utilisation")
    devices: int | None = Field(default=None, ge=1)
    days: float | None = Field(default=None, gt=0, description="Deadline, or duration of a known run")
    device_hours: float | None = Field(default=None, gt=0, description="Known run: device-hours")
    sequence_tokens: int = Field(default=4096, ge=1, description="Sequence length for activations")
    avg_power_w: float | None = Field(
        default=None, gt=0,
        description="Measured average power per device, host share included (system power ÷ "
        "devices); replaces the power model and its host overhead"
    )

    @model_validator(mode="after")
    def _has_size(self) -> TrainingSpec:
        lm = self.params is not None and self.tokens is not None
        generic = None not in (self.flops_per_sample, self.samples)
        if not (self.model or lm or generic or self.total_flops):
            raise ValueError(
                "give a preset (`model`), or `params` and `tokens`, or `flops_per_sample` and "
                "`samples` (and `epochs`), or `total_flops`"
            )
        return self

    @property
    def mode(self) -> Literal["known_run", "deadline", "devices", "default_deadline"]:
        """How devices and time are found: known run, deadline, fixed devices, or a default."""
        if self.device_hours is not None or (self.devices and self.days):
            return "known_run"
        if self.days is not None:
            return "deadline"
        if self.devices is not None:
            return "devices"
        return "default_deadline"


class InferenceSpec(_Strict):
    """An inference workload: request shape, batch, hardware, and (optionally) traffic."""

    model: str | None = None
    params: float | None = Field(default=None, gt=0)
    prompt_tokens: float = Field(default=512, ge=0)
    output_tokens: float = Field(default=256, ge=1)
    flops_per_request: float | None = Field(default=None, gt=0, description="Generic model")
    bytes_per_request: float | None = Field(default=None, ge=0, description="Generic model")
    weight_bytes: float | None = Field(default=None, gt=0)
    kv_bytes_per_token: float | None = Field(default=None, ge=0)
    hardware: HardwareSelection = "all"
    precision: Precision = "bf16"
    batch_size: int = Field(default=8, ge=1)
    requests_per_s_peak: float | None = Field(default=None, gt=0)
    requests_per_s_avg: float | None = Field(default=None, gt=0)
    daily_profile: list[float] | None = Field(
        default=None, description="24 relative hourly loads; scaled so the mean is the average"
    )
    latency_p95_s: float | None = Field(default=None, gt=0)
    ttft_s: float | None = Field(default=None, gt=0, description="Time to first token target")
    tpot_s: float | None = Field(default=None, gt=0, description="Time per output token target")
    headroom: float = Field(default=0.2, ge=0, lt=1, description="Spare capacity share")
    network_rtt_s: float = Field(default=0.0, ge=0, description="Round trip added to latency")
    edge_devices: int | None = Field(default=None, ge=1)

    @field_validator("daily_profile")
    @classmethod
    def _profile_shape(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (len(v) != 24 or min(v) < 0 or sum(v) <= 0):
            raise ValueError("must be 24 non-negative hourly values with a positive sum")
        return v

    @model_validator(mode="after")
    def _has_size(self) -> InferenceSpec:
        if not (self.model or self.params or self.flops_per_request):
            raise ValueError("give a preset (`model`), `params`, or `flops_per_request`")
        return self


class SiteSpec(_Strict):
    """Where the work runs: a country or cloud region, or an explicit intensity; PUE; prices."""

    country: str | None = Field(default=None, description="ISO 3166 code, e.g. USA, FRA")
    cloud_provider: Literal["aws", "gcp", "azure"] | None = None
    cloud_region: str | None = None
    carbon_intensity_g_per_kwh: float | None = Field(default=None, ge=0)
    pue: float | None = Field(default=None, ge=1, le=3)
    electricity_usd_per_kwh: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _region_pair(self) -> SiteSpec:
        if (self.cloud_provider is None) != (self.cloud_region is None):
            raise ValueError("give `cloud_provider` and `cloud_region` together")
        return self


class PricingSpec(_Strict):
    """How devices are paid for: cloud on demand (with a discount) or bought (on-premises)."""

    mode: Literal["cloud", "on_prem"] = "cloud"
    cloud_discount: float = Field(default=0.0, ge=0, lt=1, description="Reserved or spot discount")
    service_life_years: float | None = Field(default=None, gt=0, le=15)


class Scenario(_Strict):
    """A whole scenario file."""

    name: str = "scenario"
    training: TrainingSpec | None = None
    inference: InferenceSpec | None = None
    site: SiteSpec = SiteSpec()
    pricing: PricingSpec = PricingSpec()

    @model_validator(mode="after")
    def _something(self) -> Scenario:
        if self.training is None and self.inference is None:
            raise ValueError("a scenario needs a `training` or an `inference` section")
        return self


def _describe(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        where = ".".join(str(x) for x in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "literal_error":
            msg = f"{msg} (got {e.get('input')!r})"
        elif e["type"] == "extra_forbidden":
            msg = "is not a known field"
        lines.append(f"{where}: {msg}")
    return "; ".join(lines)


def parse_scenario(data: object, origin: str = "scenario") -> Scenario:
    """Validate a scenario mapping; ScenarioError names the field and the allowed values."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{origin}: expected a mapping with `training` and/or `inference`")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{origin}: {_describe(exc)}") from None


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario YAML file."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{p}: not valid YAML ({yaml_error_line(exc)})") from None
    return parse_scenario(data, str(p))


ALLOWED_PRECISIONS = ", ".join(PRECISIONS)
