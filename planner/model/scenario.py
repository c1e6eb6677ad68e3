"""The scenario file: what to plan (training, inference), where (site) and how it is paid for.

A scenario is YAML (see README, "Scenario format"). Validation errors become one line naming
the field and the allowed values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

from annotated_types import Len
from pydantic import Field, StringConstraints, field_validator, model_validator

from planner.errors import ScenarioError
from planner.model.hardware import PRECISIONS, Precision
from planner.model.training_spec import ArchitectureSpec, ParallelismSpec
from planner.model.yamlio import StrictModel, parse_text, read_file, validate

QuantisedPrecision = Literal["fp8", "int8", "int4"]
QUANTISED_PRECISIONS: tuple[str, ...] = get_args(QuantisedPrecision)
PruningPattern = Literal["2:4", "unstructured"]

#: An id (preset, hardware, country, region): a short word, so no message can quote a long one.
Word = Annotated[str, StringConstraints(min_length=1, max_length=80)]
HardwareSelection = Word | Annotated[list[Word], Len(max_length=500)]


class TrainingSpec(StrictModel):
    """A training run: a preset or a size, the hardware, and devices, deadline or a known run."""

    model: Word | None = Field(default=None, description="A preset id from profiles/models.yaml")
    params: float | None = Field(default=None, gt=0, le=1e15,
                                 description="Parameters N, all of them (weights, gradients and "
                                 "optimizer state follow these)")
    active_params: float | None = Field(
        default=None, gt=0, le=1e15, description="Parameters used per token (mixture-of-"
        "experts); compute follows these")
    tokens: float | None = Field(default=None, gt=0, le=1e18, description="Training tokens D; "
                                 "compute is 6·N_active·D plus attention (PaLM, Appendix B)")
    architecture: ArchitectureSpec | None = None
    parallelism: ParallelismSpec | None = None
    goodput: float | None = Field(
        default=None, description="Share of wall time that trains, in (0, 1]; default in "
        "profiles/performance.yaml")
    global_batch_tokens: float | None = Field(default=None, gt=0, le=1e12,
                                              description="Tokens per optimizer step")
    flops_per_sample: float | None = Field(
        default=None, gt=0, le=1e21, description="Forward FLOPs per sample (generic model)"
    )
    samples: float | None = Field(default=None, gt=0, le=1e18)
    epochs: float | None = Field(default=None, gt=0, le=1e6)
    total_flops: float | None = Field(default=None, gt=0, le=1e35,
                                       description="Override all of the above")
    hardware: HardwareSelection = "all"
    attention_kernel: Literal["fused", "unfused"] = Field(
        default="fused", description="fused: FlashAttention-style kernels (no score matrix in "
        "memory, causal blocks skipped; Dao et al. 2022); unfused: the scores written to and "
        "read from memory, as training software did before mid-2022")
    precision: Precision = Field(default="bf16", description="Number format of the matrix "
                                 "maths; a device without it is refused (fp8: linear layers at "
                                 "the fp8 peak, attention at bf16)")
    mfu: float | None = Field(default=None, gt=0, le=1, description="Model-FLOPs utilisation: "
                              "the share of dense peak the run achieves (replaces the "
                              "prediction)")
    devices: int | None = Field(default=None, ge=1, le=10**15, description="Accelerators in the "
                                "run; enough to hold the model state")
    days: float | None = Field(default=None, gt=0, le=36_500,
                               description="Deadline, or duration of a known run")
    device_hours: float | None = Field(default=None, gt=0, le=1e15,
                                        description="Known run: device-hours")
    sequence_tokens: int | None = Field(
        default=None, ge=1, le=10**9,
        description="Training sequence length (default: the preset's, else 4096)")
    avg_power_w: float | None = Field(
        default=None, gt=0, le=1e6,
        description="Measured average power per device, host share included (system power ÷ "
        "devices); replaces the power model and its host overhead"
    )

    @field_validator("goodput")
    @classmethod
    def _goodput_range(cls, v: float | None) -> float | None:
        if v is not None and not 0 < v <= 1:
            raise ValueError(f"must be in (0, 1] (the share of wall time that trains); got {v:g}")
        return v

    @model_validator(mode="after")
    def _has_size(self) -> TrainingSpec:
        lm = self.params is not None and self.tokens is not None
        generic = None not in (self.flops_per_sample, self.samples)
        if not (self.model or lm or generic or self.total_flops
                or self.mode == "known_run"):
            raise ValueError(
                "give a preset (`model`), or `params` and `tokens`, or `flops_per_sample` and "
                "`samples` (and `epochs`), or `total_flops`; a known run (`devices` and `days`, "
                "or `device_hours`) needs none"
            )
        if (self.params is not None and self.active_params is not None
                and self.active_params > self.params):
            raise ValueError(f"active_params ({self.active_params:g}) must not exceed params "
                             f"({self.params:g}), the count of all parameters")
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


class InferenceSpec(StrictModel):
    """An inference workload: request shape, batch, hardware, and (optionally) traffic."""

    model: Word | None = Field(default=None, description="A preset id from profiles/models.yaml")
    params: float | None = Field(default=None, gt=0, le=1e15,
                                 description="The served model's parameter count")
    prompt_tokens: float = Field(default=512, ge=0, le=1e9, description="Input tokens per request")
    output_tokens: float = Field(default=256, ge=1, le=1e9,
                                 description="Generated tokens per request")
    flops_per_request: float | None = Field(default=None, gt=0, le=1e24,
                                             description="Generic model")
    bytes_per_request: float | None = Field(default=None, ge=0, le=1e18,
                                             description="Generic model")
    weight_bytes: float | None = Field(default=None, gt=0, le=1e18)
    kv_bytes_per_token: float | None = Field(default=None, ge=0, le=1e12)
    hardware: HardwareSelection = "all"
    precision: Precision = Field(default="bf16", description="Weights and maths at this "
                                 "precision (int8/int4 = quantised)")
    batch_size: int = Field(default=8, ge=1, le=1_000_000, description="The largest batch: with "
                            "batch_policy max, batches 1, 2, 4, … up to it are tried")
    requests_per_s_peak: float | None = Field(default=None, gt=0, le=1e15, description="Peak "
                                              "requests per second; the fleet is sized for it")
    requests_per_s_avg: float | None = Field(default=None, gt=0, le=1e15, description="Mean "
                                             "requests per second over the day")
    daily_profile: list[float] | None = Field(
        default=None, description="24 relative hourly loads; scaled so the mean is the average"
    )
    latency_p95_s: float | None = Field(default=None, gt=0, le=1e6, description="95th-percentile "
                                        "latency target: queueing + prefill + generation + "
                                        "network round trip")
    ttft_s: float | None = Field(default=None, gt=0, le=1e6,
                                 description="Time to first token target")
    tpot_s: float | None = Field(default=None, gt=0, le=1e6,
                                 description="Time per output token target")
    headroom: float = Field(default=0.2, ge=0, lt=1,
                            description="Share of capacity kept spare at the peak")
    network_rtt_s: float = Field(default=0.0, ge=0, le=3600,
                                 description="Round trip added to latency")
    edge_devices: int | None = Field(default=None, ge=1, le=10**12)
    devices: int | None = Field(
        default=None, ge=1, le=10**9, description="A known data-centre system: serve the "
        "traffic on this many devices instead of sizing a fleet (e.g. a published server's "
        "card count); a whole number of replicas")
    host_power_w_per_device: float | None = Field(
        default=None, ge=0, le=1e5, description="Host draw per device at the wall [W] (the "
        "server's CPUs, memory, fans and power-supply losses, ÷ its devices); replaces the "
        "node rating or the default host share")
    batch_policy: Literal["max", "fixed"] = Field(
        default="max", description="`max`: try batches 1, 2, 4, ... up to batch_size and keep "
        "the one needing the fewest devices; `fixed`: serve at batch_size only")
    autoscaling: bool = Field(
        default=False, description="Resize the data-centre fleet hour by hour to the daily "
        "profile (else the peak-sized fleet runs all year)")
    service_time_cv: float = Field(
        default=1.0, ge=0, le=4, description="Coefficient of variation of service time: 1 is "
        "M/M/c; 0 is deterministic service (Allen-Cunneen approximation)")
    prefill_utilisation: float | None = Field(
        default=None, gt=0, le=1, description="Share of dense peak FLOP/s achieved by "
        "compute-bound work (prefill); default per device kind in profiles/defaults.yaml")
    bandwidth_utilisation: float | None = Field(
        default=None, gt=0, le=1, description="Share of peak memory bandwidth achieved by "
        "decode; default per device kind")
    engine_overhead_s_per_step: float | None = Field(
        default=None, ge=0, le=1, description="Engine time per step that is neither compute "
        "nor memory traffic (scheduling, sampling, launches)")
    tensor_parallel: int | None = Field(
        default=None, ge=1, le=64, description="Devices per replica inside a node (default: "
        "every size 1, 2, 4, 8 that fits is tried)")
    prefill_chunk_tokens: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Token budget per step for chunked "
        "prefill")
    active_params: float | None = Field(
        default=None, gt=0, description="Mixture-of-experts: parameters used per token")
    experts: int | None = Field(default=None, ge=1, le=4096)
    experts_per_token: int | None = Field(default=None, ge=1, le=4096)

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
        if (self.experts is not None and self.experts_per_token is not None
                and self.experts_per_token > self.experts):
            raise ValueError(f"experts_per_token ({self.experts_per_token}) exceeds experts "
                             f"({self.experts})")
        if (self.params is not None and self.active_params is not None
                and self.active_params > self.params):
            raise ValueError(f"active_params ({self.active_params:g}) exceeds params "
                             f"({self.params:g}); params counts all experts")
        if (self.requests_per_s_peak is not None and self.requests_per_s_avg is not None
                and self.requests_per_s_peak < self.requests_per_s_avg):
            raise ValueError(f"requests_per_s_peak ({self.requests_per_s_peak:g}) is below "
                             f"requests_per_s_avg ({self.requests_per_s_avg:g}); the peak must "
                             "be at least the average")
        return self

    @property
    def has_traffic(self) -> bool:
        """Whether a request rate is given, so a fleet can be sized."""
        return self.requests_per_s_peak is not None or self.requests_per_s_avg is not None


class SiteSpec(StrictModel):
    """Where the work runs: a country or cloud region, or an explicit intensity; PUE; prices."""

    country: Word | None = Field(default=None, description="ISO 3166 code, e.g. USA, FRA")
    cloud_provider: Literal["aws", "gcp", "azure"] | None = None
    cloud_region: Word | None = None
    carbon_intensity_g_per_kwh: float | None = Field(
        default=None, ge=0, le=5000, description="Your own grid intensity (e.g. a renewable "
        "power purchase agreement) instead of the region's")
    pue: float | None = Field(default=None, ge=1, le=3, description="Power usage effectiveness, "
                              "facility energy ÷ IT energy: 1.0 means no cooling or power "
                              "overhead")
    electricity_usd_per_kwh: float | None = Field(
        default=None, ge=0, le=100, description="What is paid per kWh: on-premises plans and "
        "edge devices pay it for all their energy (a cloud price already includes power)")
    wue_l_per_kwh: float | None = Field(
        default=None, ge=0, le=20, description="On-site water usage effectiveness [L/kWh of IT "
        "energy]; default: the provider's published figure or profiles/water.yaml")
    water_offsite_l_per_kwh: float | None = Field(
        default=None, ge=0, le=100, description="Water consumed generating each kWh [L/kWh]; "
        "default: the grid's generation mix (profiles/water.yaml)")
    market_emission_factor_g_per_kwh: float | None = Field(
        default=None, ge=0, le=5000, description="Contractual emission factor of the "
        "electricity bought (PPA, supplier-specific, certificates): market-based CO2e")
    carbon_free_energy_share: float | None = Field(
        default=None, ge=0, le=1, description="Share of the electricity covered by carbon-free "
        "contracts; the rest at the grid average (market-based CO2e)")

    @model_validator(mode="after")
    def _region_pair(self) -> SiteSpec:
        if (self.cloud_provider is None) != (self.cloud_region is None):
            raise ValueError("give `cloud_provider` and `cloud_region` together")
        if (self.market_emission_factor_g_per_kwh is not None
                and self.carbon_free_energy_share is not None):
            raise ValueError("give `market_emission_factor_g_per_kwh` or "
                             "`carbon_free_energy_share`, not both")
        return self


class PricingSpec(StrictModel):
    """How devices are paid for: cloud on demand (with a discount) or bought (on-premises)."""

    mode: Literal["cloud", "on_prem"] = Field(
        default="cloud", description="cloud: on-demand list price per device-hour (includes "
        "power and hosting); on_prem: purchase price spread over the service life, plus "
        "electricity")
    cloud_discount: float = Field(default=0.0, ge=0, lt=1, description="Reserved-instance, "
                                  "savings-plan or spot discount off the list price")
    service_life_years: float | None = Field(
        default=None, gt=0, le=15, description="Years a device is used before replacement: "
        "spreads its purchase price and its embodied carbon over its life")
    cloud_providers: Literal["site", "any"] = Field(
        default="site", description="With a cloud region as the site: `site` prices only what "
        "its provider rents (other devices are not offered there); `any` prices each other "
        "device at its own provider, in the site's country where the catalogue has a price")


class QuantisationLever(StrictModel):
    """Serve with fewer bytes per weight (and, unless weight-only, a faster precision)."""

    precision: QuantisedPrecision
    weight_only: bool | None = Field(
        default=None, description="Weights quantised, arithmetic in the baseline precision "
        "(W4A16 style); default from profiles/levers.yaml (int4: yes, fp8/int8: no)")


class PruningLever(StrictModel):
    """Remove a share of the weights; the realised speed-up is usually below the ideal."""

    pattern: PruningPattern = "2:4"
    sparsity: float | None = Field(default=None, ge=0, le=0.95,
                                   description="Share of weights removed; 2:4 is always 0.5")
    realised_speedup: float | None = Field(
        default=None, ge=1, le=20, description="Speed-up of the matrix arithmetic actually "
        "achieved; default from profiles/levers.yaml")

    @model_validator(mode="after")
    def _consistent(self) -> PruningLever:
        if self.pattern == "2:4" and self.sparsity not in (None, 0.5):
            raise ValueError("sparsity: the 2:4 pattern removes exactly 0.5 of the weights "
                             f"(got {self.sparsity:g}); use pattern: unstructured for others")
        sparsity = 0.5 if self.pattern == "2:4" else self.sparsity
        if self.realised_speedup is not None and sparsity is not None:
            ideal = 1.0 / (1.0 - sparsity)
            if self.realised_speedup > ideal + 1e-9:
                raise ValueError(f"realised_speedup: must be between 1 and {ideal:.3g} (the "
                                 f"ideal for sparsity {sparsity:g}); got "
                                 f"{self.realised_speedup:g}")
        if self.pattern == "unstructured" and self.sparsity is None:
            raise ValueError("sparsity: give the share of weights removed (0 to 0.95) for "
                             "unstructured pruning")
        return self


class DistillationLever(StrictModel):
    """Serve a smaller student model, paying once to distil it from the served model."""

    student: Word | None = Field(default=None, description="A preset id for the student")
    params_fraction: float | None = Field(
        default=None, gt=0, lt=1, description="Student size as a share of the teacher's")
    tokens: float | None = Field(default=None, gt=0, le=1e18,
                                  description="Distillation tokens D")

    @model_validator(mode="after")
    def _one_size(self) -> DistillationLever:
        if self.student is not None and self.params_fraction is not None:
            raise ValueError("give `student` or `params_fraction`, not both")
        return self


class LeversSpec(StrictModel):
    """Optimisation what-ifs, each compared with the baseline inference plan."""

    quantisation: QuantisationLever | None = None
    pruning: PruningLever | None = None
    distillation: DistillationLever | None = None
    batch_size: int | None = Field(default=None, ge=1, le=4096,
                                   description="Serve at this fixed batch size")
    site: SiteSpec | None = Field(default=None, description="Another region, grid or PUE: the "
                                  "same fleet on another grid (and that provider's price)")
    combined: bool = Field(default=True, description="Also apply every lever together")

    @model_validator(mode="after")
    def _something(self) -> LeversSpec:
        if not any((self.quantisation, self.pruning, self.distillation, self.batch_size,
                    self.site)):
            raise ValueError("give at least one lever: quantisation, pruning, distillation, "
                             "batch_size or site")
        return self


class LifecycleSpec(StrictModel):
    """Training, retraining every K months and serving over a horizon, month by month."""

    horizon_months: int = Field(default=36, ge=1, le=240, description="How long the model is "
                                "trained, retrained and served")
    retrain_every_months: int | None = Field(default=None, ge=1, le=240,
                                             description="A retraining every this many months")
    retrain_fraction: float = Field(default=1.0, gt=0, le=2,
                                    description="Each retraining's cost, energy and carbon as a "
                                    "share of the first training (1 is a full re-run)")
    training_hardware: Word | None = Field(
        default=None, description="Training option to use (default: the cheapest feasible)")
    serving_hardware: HardwareSelection | None = Field(
        default=None, description="Serving option(s) (default: the cheapest meeting the target)")
    training_cost_usd: float | None = Field(default=None, ge=0, le=1e15)
    training_energy_kwh: float | None = Field(default=None, ge=0, le=1e15)
    training_co2e_kg: float | None = Field(default=None, ge=0, le=1e15)


# (in the order they are drawn: a name added at the end leaves the earlier draws as they were)
UncertainName = Literal["utilisation", "power", "pue", "price", "carbon_intensity", "traffic",
                        "training_time"]
UNCERTAIN_NAMES: tuple[str, ...] = get_args(UncertainName)


class UncertaintyRange(StrictModel):
    """A triangular range as factors of the baseline value: low ≤ mode ≤ high."""

    low: float = Field(gt=0, le=100)
    mode: float = Field(default=1.0, gt=0, le=100)
    high: float = Field(gt=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> UncertaintyRange:
        if not self.low <= self.mode <= self.high:
            raise ValueError(f"need low ≤ mode ≤ high (got {self.low:g}, {self.mode:g}, "
                             f"{self.high:g})")
        return self


class UncertaintySpec(StrictModel):
    """Monte Carlo over the key assumptions: draws, seed and ranges (defaults in levers.yaml)."""

    draws: int = Field(default=10_000, ge=100, le=1_000_000, description="Monte Carlo draws "
                       "of the uncertain assumptions (ranges in profiles/levers.yaml)")
    seed: int = Field(default=0, ge=0, le=2**32 - 1,
                      description="Seed of the random draws (same seed, same figures)")
    ranges: dict[UncertainName, UncertaintyRange] = Field(default_factory=dict)


class SelectionSpec(StrictModel):
    """The devices a person picked to look at (the dashboard's Training, Serving and
    Optimisation pages); absent means "the cheapest for these inputs". Plans still cover every
    device in ``hardware``; the command line ignores this section."""

    training_hardware: Word | None = Field(default=None,
                                           description="Device shown on the Training planner")
    serving_hardware: Word | None = Field(default=None,
                                          description="Device shown on the Serving planner")
    levers_hardware: Word | None = Field(default=None,
                                         description="Fleet the Optimisation levers act on")


class Scenario(StrictModel):
    """A whole scenario file."""

    name: str = Field(default="scenario", max_length=200, description="A name for this scenario")
    training: TrainingSpec | None = None
    inference: InferenceSpec | None = None
    site: SiteSpec = SiteSpec()
    pricing: PricingSpec = PricingSpec()
    lifecycle: LifecycleSpec | None = None
    levers: LeversSpec | None = None
    uncertainty: UncertaintySpec | None = None
    selection: SelectionSpec | None = None

    @model_validator(mode="after")
    def _something(self) -> Scenario:
        if self.training is None and self.inference is None:
            raise ValueError("a scenario needs a `training` or an `inference` section")
        if self.levers is not None and self.inference is None:
            raise ValueError("levers: need an `inference` section to act on")
        if self.lifecycle is not None:
            if self.inference is None or not self.inference.has_traffic:
                raise ValueError("lifecycle: needs an `inference` section with traffic "
                                 "(requests_per_s_avg or requests_per_s_peak)")
            known = (self.lifecycle.training_cost_usd, self.lifecycle.training_energy_kwh,
                     self.lifecycle.training_co2e_kg)
            if self.training is None and None in known:
                raise ValueError("lifecycle: needs a `training` section, or training_cost_usd, "
                                 "training_energy_kwh and training_co2e_kg")
        return self


def parse_scenario(data: object, origin: str = "scenario") -> Scenario:
    """Validate a scenario mapping; ScenarioError names the field and the allowed values."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{origin}: expected a mapping with `training` and/or `inference`")
    return validate(Scenario, data, origin, ScenarioError)


def parse_scenario_text(text: str | bytes, origin: str = "scenario") -> Scenario:
    """Parse and validate scenario YAML text (a file's or an upload's) within the scenario
    limits (``yamlio.LIMITS``); one-line errors."""
    return parse_scenario(parse_text(text, "scenario", origin, ScenarioError), origin)


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario YAML file."""
    return parse_scenario(read_file(path, "scenario", ScenarioError), str(path))


ALLOWED_PRECISIONS = ", ".join(PRECISIONS)
