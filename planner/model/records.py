"""Measurement records: the schema of one profiling run's JSON file, its loader and its writer.

One file per run lives in ``measurements/``. Every number in ``results`` is a
:class:`Quantity` saying its unit, the method that produced it and whether it was measured on
this run or estimated; a figure that was not measured is ``null``, never a zero posing as a
measurement. The format is documented for contributors in ``measurements/README.md``.
This module is pure (pydantic only): the profiler writes records, the planner and the
dashboard read them, and neither side needs torch, NVML or CodeCarbon to do so.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from planner.atomic import write_text_atomic
from planner.errors import PlannerError
from planner.model.yamlio import StrictModel, excerpt, parse_text, read_file, validate

SCHEMA_VERSION = 1

Status = Literal["complete", "incomplete", "failed"]
Mode = Literal["train", "infer"]
Device = Literal["cpu", "cuda"]

#: Every method a quantity may name, and what it means. A contributor adding a method adds it
#: here, to ``Method`` below and to ``measurements/README.md``.
METHODS: dict[str, str] = {
    "wall_clock": "time.perf_counter around the window, after synchronising the device",
    "counter": "counted by the profiler (steps, samples, tokens, requests)",
    "flop_counter": "torch.utils.flop_counter.FlopCounterMode on one step, times the steps",
    "nvml_energy_counter": "difference of NVML nvmlDeviceGetTotalEnergyConsumption (mJ)",
    "nvml_power_polling": "NVML nvmlDeviceGetPowerUsage polled at >= 10 Hz, trapezoid-integrated",
    "nvml_polling": "other NVML readings sampled by the same poller (utilisation, memory, "
    "clocks, temperature, peak power)",
    "torch_cuda_allocator": "torch.cuda.max_memory_allocated over the window",
    "getrusage": "peak resident set size of the process (resource.getrusage ru_maxrss)",
    "codecarbon_rapl": "CodeCarbon reading the CPU's RAPL energy counters",
    "codecarbon_power_meter": "CodeCarbon reading a hardware power meter (Power Gadget, "
    "powermetrics, Windows EMI, Raspberry Pi PMIC)",
    "codecarbon_cpu_load_estimate": "CodeCarbon estimate: CPU TDP scaled by CPU load",
    "codecarbon_tdp_estimate": "CodeCarbon estimate: a constant share of the CPU TDP",
    "codecarbon_ram_estimate": "CodeCarbon estimate: RAM power model from installed memory",
    "codecarbon_grid_intensity": "energy times the grid carbon intensity of the country or "
    "region, from CodeCarbon's bundled data",
    "derived": "computed from other quantities of the same record (see the note)",
    "codecarbon_emissions_csv": "read from CodeCarbon's emissions.csv (imported); CodeCarbon "
    "chose how (RAPL, NVML or its TDP and RAM models) and the file does not say which",
    "zeus_window_log": "read from a Zeus ZeusMonitor window log (imported): NVML's total-energy "
    "counter on Volta or newer GPUs, power polling on older ones",
    "vllm_serving_benchmark": "read from the JSON result of vLLM's serving benchmark "
    "(imported): measured by its client per request",
    "file_reported": "a figure the imported file states without saying how it was obtained",
}

Method = Literal[
    "wall_clock",
    "counter",
    "flop_counter",
    "nvml_energy_counter",
    "nvml_power_polling",
    "nvml_polling",
    "torch_cuda_allocator",
    "getrusage",
    "codecarbon_rapl",
    "codecarbon_power_meter",
    "codecarbon_cpu_load_estimate",
    "codecarbon_tdp_estimate",
    "codecarbon_ram_estimate",
    "codecarbon_grid_intensity",
    "derived",
    "codecarbon_emissions_csv",
    "zeus_window_log",
    "vllm_serving_benchmark",
    "file_reported",
]

#: The tools whose output ``python -m planner import`` reads (``planner/model/imports/``).
SourceTool = Literal["codecarbon", "zeus", "vllm"]


class Quantity(StrictModel):
    """One number with its unit, how it was obtained, and whether this run measured it."""

    value: float = Field(allow_inf_nan=False)
    unit: str = Field(min_length=1)
    method: Method
    measured: bool
    note: str | None = None

    @model_validator(mode="after")
    def _no_measured_zero_energy(self) -> Quantity:
        # A measured energy of 0 J is what a missing meter looks like; refuse it (issue item 5).
        if self.unit == "J" and self.measured and self.value <= 0:
            raise ValueError("a measured energy must be positive; use null when not measured")
        return self


Q = Quantity | None


class MachineGpu(StrictModel):
    """One GPU of the machine as NVML names it."""

    index: int = Field(ge=0)
    name: str
    uuid: str | None = None
    memory_total_bytes: int | None = Field(default=None, ge=0)


class Machine(StrictModel):
    """The machine a run happened on: host, CPU, memory, GPUs, driver and library versions.

    The profiler fills every field; an imported record leaves ``null`` what its file omits.
    """

    hostname: str | None
    os: str | None
    python_version: str | None
    cpu_model: str | None
    cpu_logical_cores: int | None = Field(ge=1)
    ram_bytes: int | None = Field(default=None, ge=0)
    gpus: list[MachineGpu] = Field(default_factory=list)
    gpu_driver_version: str | None = None
    nvml_version: str | None = None
    cuda_version: str | None = None
    libraries: dict[str, str] = Field(
        default_factory=dict, description="Package name to version: torch, codecarbon, ..."
    )


class Settings(StrictModel):
    """What was run and how: a reference workload, or a user command under ``--cmd``."""

    workload: str | None = None
    mode: Mode | None = None
    size: str | None = None
    batch_size: int | None = Field(default=None, ge=1)
    precision: str | None = Field(description="null: not stated by an imported file")
    device: Device | None = Field(description="null: not stated by an imported file")
    steps: int | None = Field(default=None, ge=1, description="Measured steps requested")
    seconds: float | None = Field(default=None, gt=0, description="Measured time requested")
    warmup_steps: int | None = Field(default=0, ge=0)
    country_iso_code: str | None = Field(pattern=r"^[A-Z]{3}$")
    region: str | None = None
    cpu_tracking_mode: Literal["process", "machine"] | None = "process"
    command: str | None = None
    world_size: int = Field(default=1, ge=1)
    torch_threads: int | None = Field(default=None, ge=1, description="torch intra-op threads")
    workload_params: dict[str, int | float | str] = Field(
        default_factory=dict, description="The workload's dimensions at this size"
    )


class GpuResult(StrictModel):
    """One GPU's figures over the measured window."""

    index: int = Field(ge=0, description="NVML index on its host")
    rank: int | None = Field(default=None, ge=0)
    name: str | None
    energy_j: Q = None
    energy_polled_j: Q = Field(
        default=None, description="Power polling's integral, kept to cross-check the counter"
    )
    avg_power_w: Q = None
    peak_power_w: Q = None
    kernel_active_pct: Q = Field(
        default=None, description="NVML utilization.gpu: share of time a kernel ran, averaged"
    )
    memory_used_peak_bytes: Q = None
    memory_allocated_peak_bytes: Q = None
    sm_clock_mhz: Q = None
    memory_clock_mhz: Q = None
    temperature_max_c: Q = None
    power_samples: int = Field(default=0, ge=0)


class RankResult(StrictModel):
    """One process's figures under torch.distributed."""

    rank: int = Field(ge=0)
    hostname: str
    wall_time_s: Q = None
    samples: Q = None
    tokens: Q = None
    throughput_samples_per_s: Q = None
    flops: Q = None
    gpu_energy_j: Q = None
    cpu_energy_j: Q = None
    ram_energy_j: Q = None
    co2e_kg: Q = None


class LatencyStats(StrictModel):
    """Mean, median, spread and percentiles of one per-request latency, in seconds."""

    mean_s: Q = None
    median_s: Q = None
    std_s: Q = None
    percentiles_s: dict[str, Quantity] = Field(
        default_factory=dict, description="'p99' -> the 99th percentile, as the file gives them"
    )


class ServingResult(StrictModel):
    """A serving benchmark's figures: requests, tokens, throughput and latencies."""

    requests_sent: Q = None
    requests_completed: Q = None
    input_tokens: Q = None
    output_tokens: Q = None
    request_rate_per_s: Q = Field(default=None, description="Offered rate; null when unpaced")
    max_concurrency: int | None = Field(default=None, ge=1)
    requests_per_s: Q = None
    output_tokens_per_s: Q = None
    total_tokens_per_s: Q = None
    ttft: LatencyStats | None = Field(default=None, description="Time to first token")
    tpot: LatencyStats | None = Field(default=None, description="Time per output token")
    itl: LatencyStats | None = Field(default=None, description="Inter-token latency")
    e2el: LatencyStats | None = Field(default=None, description="End-to-end request latency")


class Results(StrictModel):
    """The measured numbers; totals over every rank and device where there are several."""

    wall_time_s: Q = None
    steps: Q = None
    samples: Q = None
    tokens: Q = None
    throughput_samples_per_s: Q = None
    tokens_per_s: Q = None
    latency_mean_s: Q = None
    latency_p50_s: Q = None
    latency_p95_s: Q = None
    latency_p99_s: Q = None
    flops: Q = None
    achieved_tflops: Q = None
    utilisation: Q = Field(
        default=None, description="Achieved FLOP/s over the matched profile's dense peak"
    )
    gpu_energy_j: Q = None
    gpu_avg_power_w: Q = None
    cpu_energy_j: Q = None
    cpu_avg_power_w: Q = None
    ram_energy_j: Q = None
    ram_avg_power_w: Q = None
    total_energy_j: Q = None
    co2e_kg: Q = None
    carbon_intensity_g_per_kwh: Q = None
    peak_rss_bytes: Q = None
    gpus: list[GpuResult] = Field(default_factory=list)
    ranks: list[RankResult] = Field(default_factory=list)
    serving: ServingResult | None = None


class Source(StrictModel):
    """Where an imported record came from: the tool, its file and the entry in that file."""

    tool: SourceTool
    tool_version: str | None = None
    format: str = Field(description="codecarbon_emissions_csv, zeus_window_log_csv, ...")
    file: str = Field(description="The imported file's name")
    entry: str | None = Field(default=None, description="Row, window or run inside the file")
    imported_at: dt.datetime


class Record(StrictModel):
    """One profiling run: who, where, what, and what was measured."""

    schema_version: Literal[1] = SCHEMA_VERSION
    run_id: str = Field(pattern=r"^[A-Za-z0-9_-]{6,64}$")
    status: Status
    started_at: dt.datetime
    ended_at: dt.datetime
    machine: Machine
    settings: Settings
    results: Results
    device_name: str | None = Field(
        description="The GPU or CPU name matched against profiles; null when not known"
    )
    hardware_id: str | None = Field(
        default=None, description="The profile it matched when written; null when none did"
    )
    exit_code: int | None = Field(default=None, description="The command's exit code (--cmd)")
    error: str | None = Field(default=None, description="Why a run is incomplete or failed")
    notes: list[str] = Field(default_factory=list)
    source: Source | None = Field(
        default=None, description="Set on records imported from another tool's file; "
        "null on records the profiler wrote"
    )

    @field_validator("started_at", "ended_at")
    @classmethod
    def _utc(cls, v: dt.datetime) -> dt.datetime:
        if v.tzinfo is None:
            raise ValueError("timestamps must carry a time zone (UTC, ISO 8601)")
        return v.astimezone(dt.UTC)

    @model_validator(mode="after")
    def _ordered(self) -> Record:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self

    def file_name(self) -> str:
        """``<UTC start>_<what>_<device>_<run id>.json``: sortable and unique."""
        stamp = self.started_at.strftime("%Y%m%dT%H%M%SZ")
        if self.source is not None:
            what = f"{self.source.tool}-import"
        elif self.settings.workload:
            what = f"{self.settings.workload}-{self.settings.mode}"
        else:
            what = "cmd"
        device = self.settings.device or "unknown"
        return f"{stamp}_{what}_{device}_{self.run_id[:8]}.json"


def parse_record(data: bytes | str, origin: str) -> Record:
    """Parse one record's JSON text within the record limits (``yamlio.LIMITS``); raise
    PlannerError naming ``origin`` and the field."""
    return validate_record(parse_text(data, "record", origin), origin)


def validate_record(raw: object, origin: str) -> Record:
    """Validate one parsed record; PlannerError naming ``origin`` and the field."""
    if not isinstance(raw, dict):
        raise PlannerError(f"{origin}: expected a JSON object, got {type(raw).__name__}")
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise PlannerError(
            f"{origin}: schema_version is {excerpt(version)}; this planner reads version "
            f"{SCHEMA_VERSION} (see measurements/README.md)"
        )
    return validate(Record, raw, origin)


def _identity(record: Record) -> str:
    """What makes two records the same run, whatever their run ids: every other field."""
    return record.model_dump_json(exclude={"run_id"})


def unique_records(records: list[tuple[str, Record]]) -> tuple[list[Record], list[str]]:
    """``(origin, record)`` pairs with copies dropped: a record with the run id, or the whole
    content, of an earlier one is counted once; one message per copy dropped."""
    kept: list[Record] = []
    notes: list[str] = []
    run_ids: dict[str, str] = {}
    contents: dict[str, str] = {}
    for origin, record in records:
        first = run_ids.get(record.run_id) or contents.get(_identity(record))
        if first is not None:
            notes.append(f"{origin}: the same run as {first} (run id {record.run_id}); "
                         "counted once")
            continue
        run_ids[record.run_id] = contents[_identity(record)] = origin
        kept.append(record)
    return kept, notes


def load_records(folder: Path | str) -> tuple[list[Record], list[str]]:
    """Every ``*.json`` record in ``folder``, oldest first, each run once, and one message per
    bad or copied file.

    Never raises: a missing folder, an unreadable, oversized or invalid file each become a
    message, and the other files still load.
    """
    path = Path(folder)
    if not path.is_dir():
        return [], [f"{path}: no such folder"]
    found: list[tuple[str, Record]] = []
    errors: list[str] = []
    for file in sorted(path.glob("*.json")):
        try:
            data = read_file(file, "record")
            found.append((str(file), validate_record(data, str(file))))
        except PlannerError as exc:
            errors.append(str(exc))
    records, copies = unique_records(found)
    records.sort(key=lambda r: r.started_at)
    return records, errors + copies


def check_writable(folder: Path | str) -> Path:
    """Create ``folder`` if needed and prove a file can be written there; PlannerError if not."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-", delete=True):
            pass
    except OSError as exc:
        raise PlannerError(
            f"output folder {path} is not writable ({exc.strerror or exc}); "
            "choose another with --out"
        ) from None
    return path


def write_record(record: Record, folder: Path | str) -> Path:
    """Write ``record`` into ``folder`` atomically (temp file, fsync, rename); return its path.

    A reader never sees half a record: the file appears under its final name only when whole.
    """
    path = check_writable(folder)
    target = path / record.file_name()
    text = record.model_dump_json(indent=2, exclude_none=False) + "\n"
    write_text_atomic(text, target)
    return target


def quantity(
    value: float | None,
    unit: str,
    method: Method,
    measured: bool,
    note: str | None = None,
) -> Quantity | None:
    """A Quantity, or None when ``value`` is missing or not a finite number."""
    if value is None or not math.isfinite(value):
        return None
    return Quantity(value=float(value), unit=unit, method=method, measured=measured, note=note)
