"""Hardware profiles: the schema of one device's data file and the loader for a folder of them.

One YAML file per device lives in ``profiles/hardware/``. Every figure carries the key of a
source listed in the same file's ``sources`` map, so a reader can check each number. Unknown
figures stay ``null``; the model then uses a stated default (see ``planner.model.defaults``).
The shape follows cli99/llm-analysis (one data file per device, loaded into a frozen object).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, field_validator, model_validator

from planner.errors import ProfileError
from planner.model.paths import PROFILES_DIR
from planner.model.yamlio import StrictModel, excerpt, parse_text, read_file, validate

DeviceKind = Literal["gpu", "tpu", "npu", "cpu"]
Placement = Literal["datacenter", "edge"]
Precision = Literal["fp32", "tf32", "bf16", "fp16", "fp8", "int8", "int4"]
PowerBasis = Literal["tdp", "tbp", "max", "typical", "measured"]
Confidence = Literal["high", "medium", "low"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
POWER_BASES: tuple[str, ...] = get_args(PowerBasis)

DEFAULT_PROFILE_DIR = PROFILES_DIR / "hardware"


def _date_text(v: object) -> object:
    """YAML reads 2024-06-01 as a date and 2023 as an int; keep dates as text."""
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v


class Source(StrictModel):
    """Where figures came from: a document, its address and the date it was read or published."""

    title: str = Field(min_length=3)
    url: str | None = None
    date: str = Field(description="Publication or retrieval date, YYYY or YYYY-MM or YYYY-MM-DD")

    @field_validator("date", mode="before")
    @classmethod
    def _date_text(cls, v: object) -> object:
        return _date_text(v)


class Figure(StrictModel):
    """One published number with the key of its source and an optional caveat."""

    value: float = Field(ge=0, allow_inf_nan=False)
    source: str = Field(min_length=1, description="A key of the file's `sources` map")
    note: str | None = None


class PowerFigure(Figure):
    """A power figure and what it is: a rating (TDP/TBP/max) or a typical or measured draw."""

    basis: PowerBasis
    scope: Literal["device", "system"] = Field(
        default="device",
        description="`system`: a per-device share of whole-system power (host CPUs, memory, "
        "fans included), as Patterson et al. 2021 report; `device`: the accelerator alone.",
    )


class CloudPrice(StrictModel):
    """An on-demand cloud price for one device, with provider, region, instance and date."""

    provider: str
    region: str
    instance: str | None = None
    pricing: Literal["on_demand", "reserved", "spot"] = Field(
        default="on_demand", description="Only on-demand prices are used by default; "
        "reserved and spot prices are listed for reference (the discount knob models them)")
    usd_per_device_hour: float = Field(gt=0, allow_inf_nan=False)
    date: str
    source: str
    note: str | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _date_text(cls, v: object) -> object:
        return _date_text(v)


class PurchasePrice(Figure):
    """A purchase price in USD per device, with the date the price applied."""

    date: str

    @field_validator("date", mode="before")
    @classmethod
    def _date_text(cls, v: object) -> object:
        return _date_text(v)


class Interconnect(StrictModel):
    """The device's scale-up link: its name and bandwidth per device (bidirectional)."""

    name: str
    bandwidth_gb_per_s: Figure | None = None


#: Figures that must be positive, and the largest value accepted (README, "Limits on input
#: files"): far above any device of 2025 (B200: 192 GB, 8 TB/s, 9 PFLOPS fp4, 1 kW), so only a
#: typo or a hostile file is refused.
POSITIVE_RANGES: dict[str, float] = {
    "memory_gb": 1e5, "memory_bandwidth_gb_per_s": 1e6, "dense_tflops": 1e6,
    "rated_power_w": 1e5, "typical_power_w": 1e5,
}


class HardwareProfile(StrictModel):
    """One device as a planner sees it. Units: GB = 1e9 bytes, TFLOPS/TOPS = 1e12 ops/s, dense."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    vendor: str
    kind: DeviceKind
    placement: Placement = "datacenter"
    year: int | None = Field(default=None, ge=1990, le=2100)
    memory_gb: Figure | None = None
    memory_bandwidth_gb_per_s: Figure | None = None
    dense_tflops: dict[Precision, Figure] = Field(
        default_factory=dict,
        description="Dense (no sparsity) peak per precision; TOPS for integer precisions.",
    )
    rated_power_w: PowerFigure | None = None
    typical_power_w: PowerFigure | None = Field(
        default=None, description="A published typical or measured average draw, if any."
    )
    idle_power_w: PowerFigure | None = None
    interconnect: Interconnect | None = None
    achievable_matmul_tflops: Figure | None = Field(
        default=None, description="Measured maximum achievable dense bf16 matmul TFLOPS "
        "(MAMF); its share of the peak sets the training model's compute efficiency.")
    devices_per_node: int | None = Field(default=None, ge=1)
    intra_node_bandwidth_gb_per_s: Figure | None = Field(
        default=None, description="Scale-up link bandwidth per device, ONE direction (half the "
        "bidirectional figure vendors print); tensor-parallel all-reduces run on it.")
    inter_node_bandwidth_gb_per_s_per_device: Figure | None = Field(
        default=None, description="Scale-out network bandwidth per device, one direction "
        "(the node's NICs ÷ devices per node); pipeline hops between nodes run on it.")
    host_power_w_per_node: PowerFigure | None = Field(
        default=None, description="Power of the server around the devices (CPUs, memory, "
        "NICs, fans, storage): the node's rating less its devices' ratings.")
    cloud_prices: list[CloudPrice] = Field(default_factory=list)
    purchase_price_usd: PurchasePrice | None = None
    embodied_co2e_kg_per_device: Figure | None = Field(
        default=None, description="Manufacturing footprint per device, where published."
    )
    match_names: list[str] = Field(
        default_factory=list,
        description="Device names as NVML or /proc/cpuinfo report them (case-insensitive "
        "substrings), so a measurement record finds its profile.",
    )
    notes: str | None = None
    sources: dict[str, Source]

    @model_validator(mode="after")
    def _in_range(self) -> HardwareProfile:
        figures = {name: getattr(self, name) for name in POSITIVE_RANGES if name != "dense_tflops"}
        figures.update({f"dense_tflops.{k}": v for k, v in self.dense_tflops.items()})
        for name, fig in figures.items():
            high = POSITIVE_RANGES[name.split(".")[0]]
            if fig is not None and not 0 < fig.value <= high:
                raise ValueError(f"{name}: must be above 0 and at most {high:g} (got "
                                 f"{fig.value:g}); a zero would make every plan infinite")
        return self

    @model_validator(mode="after")
    def _sources_exist(self) -> HardwareProfile:
        missing = sorted({f"{name} cites {key!r}" for key, name in self._cited()
                          if key not in self.sources})
        if missing:
            raise ValueError(f"sources not listed under `sources`: {'; '.join(missing)}")
        return self

    def _cited(self) -> Iterable[tuple[str, str]]:
        """(source key, field name) for every figure in the profile."""
        singles = {
            "memory_gb": self.memory_gb,
            "memory_bandwidth_gb_per_s": self.memory_bandwidth_gb_per_s,
            "rated_power_w": self.rated_power_w,
            "typical_power_w": self.typical_power_w,
            "idle_power_w": self.idle_power_w,
            "purchase_price_usd": self.purchase_price_usd,
            "embodied_co2e_kg_per_device": self.embodied_co2e_kg_per_device,
            "intra_node_bandwidth_gb_per_s": self.intra_node_bandwidth_gb_per_s,
            "inter_node_bandwidth_gb_per_s_per_device":
                self.inter_node_bandwidth_gb_per_s_per_device,
            "host_power_w_per_node": self.host_power_w_per_node,
            "achievable_matmul_tflops": self.achievable_matmul_tflops,
        }
        for name, fig in singles.items():
            if fig is not None:
                yield fig.source, name
        for precision, fig in self.dense_tflops.items():
            yield fig.source, f"dense_tflops.{precision}"
        for i, price in enumerate(self.cloud_prices):
            yield price.source, f"cloud_prices[{i}]"
        if self.interconnect and self.interconnect.bandwidth_gb_per_s:
            yield self.interconnect.bandwidth_gb_per_s.source, "interconnect.bandwidth_gb_per_s"

    def tflops(self, precision: str) -> float | None:
        """Dense peak at ``precision`` in TFLOPS (or TOPS), or None where unpublished."""
        fig = self.dense_tflops.get(precision)  # type: ignore[call-overload]
        return None if fig is None else fig.value


@dataclass(frozen=True)
class LoadReport:
    """What a folder of profiles gave: the valid profiles and one message per broken file."""

    profiles: tuple[HardwareProfile, ...]
    errors: tuple[str, ...]

    def by_id(self) -> dict[str, HardwareProfile]:
        return {p.id: p for p in self.profiles}


def parse_profile(text: str | bytes, origin: str) -> HardwareProfile:
    """Parse one profile's YAML text; raise ProfileError naming ``origin`` and the field."""
    data = parse_text(text, "profile", origin, ProfileError)
    if not isinstance(data, dict):
        raise ProfileError(f"{origin}: expected a mapping of fields, got {type(data).__name__}")
    return validate(HardwareProfile, data, origin, ProfileError)


def load_profile(path: Path) -> HardwareProfile:
    """Load one profile file; raise ProfileError naming the file and the field."""
    data = read_file(path, "profile", ProfileError)
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    profile = validate(HardwareProfile, data, str(path), ProfileError)
    if profile.id != Path(path).stem:
        raise ProfileError(f"{path}: field `id` is {excerpt(profile.id)} but the file is named "
                           f"{excerpt(Path(path).name)}; they must match")
    return profile


def load_profiles(directory: Path | str | None = None) -> LoadReport:
    """Load every ``*.yaml`` profile in ``directory``; a broken file is reported, not fatal."""
    folder = Path(directory) if directory is not None else DEFAULT_PROFILE_DIR
    if not folder.is_dir():
        raise ProfileError(f"{folder}: no such profiles folder; give one with --dir")
    profiles: list[HardwareProfile] = []
    errors: list[str] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            profile = load_profile(path)
        except ProfileError as exc:
            errors.append(str(exc))
            continue
        if profile.id in seen:
            errors.append(f"{path}: field `id` {profile.id!r} already used by {seen[profile.id]}")
            continue
        seen[profile.id] = path
        profiles.append(profile)
    return LoadReport(tuple(profiles), tuple(errors))
