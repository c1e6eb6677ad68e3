"""Every dashboard input, declared once: its key, where it goes in the scenario file, the scale
between the widget's unit and the scenario's, its label and unit as the user sees them, and
its first-view value. Pure: no streamlit.

From these declarations ``state`` derives the scenario mapping both ways and the URL codec,
``controls`` draws the widgets, and ``help_text`` builds each widget's help from the scenario
schema's field description, its bounds (in the widget's unit) and its default (with its source
in ``profiles/defaults.yaml``). To add an input: declare it here and draw it on its page with
``controls.number``/``controls.select``/... .
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from planner.model.defaults import Defaults
from planner.model.scenario import Scenario

CUSTOM_MODEL = "custom"
NONE = "none"
AUTO = ""  # a device choice left to the planner: the cheapest for these inputs
WORLD_AVERAGE = "default"
DEFAULT_REGION = "aws:us-east-1"
DEVICE_CLASSES: tuple[str, ...] = ("GPU", "TPU", "NPU", "CPU", "Edge")
SIZE_BY = ("deadline", "devices")


@dataclass(frozen=True)
class Input:
    """One dashboard input.

    ``path`` is the scenario field (``"site.pue"``; ``None`` for view state kept only in the
    URL); the scenario holds ``value × scale``. ``default`` is the first view's value in the
    widget's unit, or ``from_defaults`` names the ``profiles/defaults.yaml`` assumption it
    comes from. ``written``: ``"always"`` puts the value in every scenario; ``"given"`` only
    when the user gave it (the model assumes the same value otherwise, with its source).
    ``absent`` is the widget value that means "not in the scenario" (``none``, a custom model);
    ``optional`` inputs may be blank (None), which also means not in the scenario. ``when``
    says, from the whole state, whether the input applies (a deadline only when sizing by one).
    ``region`` inputs write a site's provider and region, or country, under ``path``.
    """

    key: str
    label: str
    kind: str  # "float", "int", "bool", "str", "list"
    default: object = None
    path: str | None = None
    scale: float = 1.0
    unit: str = ""
    optional: bool = False
    written: str = "always"
    absent: object = None
    from_defaults: str | None = None
    when: Callable[[Mapping[str, object]], bool] | None = None
    region: bool = False
    decode: Callable[[Mapping[str, object]], object] | None = None  # derived from the file
    help: str = ""  # what the widget adds to the schema's description
    blank: str = ""  # what a blank box means (the placeholder)
    widget: Mapping[str, object] = field(default_factory=dict)  # step, format

    @property
    def section(self) -> str | None:
        """The scenario section (``training``, ``site``, ...) or None for view state."""
        return self.path.split(".")[0] if self.path else None

    @property
    def in_scenario(self) -> bool:
        """Whether the input is saved in scenario files (else only in the URL)."""
        return self.path is not None or self.decode is not None

    scenario = in_scenario


def _custom(prefix: str) -> Callable[[Mapping[str, object]], bool]:
    return lambda s: s.get(f"{prefix}_model") == CUSTOM_MODEL


def _size_by(mode: str) -> Callable[[Mapping[str, object]], bool]:
    return lambda s: s.get("t_size_by") == mode


def _decode_size_by(data: Mapping[str, object]) -> object:
    training = data.get("training")
    if not isinstance(training, Mapping):
        return None
    return "devices" if training.get("devices") is not None else "deadline"


INPUTS: tuple[Input, ...] = (
    # the scenario's name
    Input("sc_name", "Scenario name", "str", "dashboard scenario", path="name",
          help="Shown on the Compare scenarios page and in saved files."),
    # where, and how it is paid for
    Input("site_region", "Region (cloud region or country)", "str", DEFAULT_REGION,
          path="site", region=True, unit="provider:region or country:ISO",
          help="Sets the grid's carbon intensity (g CO2e per kWh, CodeCarbon's dated data) "
               "and the prices: in a cloud region, that provider's list prices (devices it "
               "does not rent are not offered there unless 'Cloud prices from' is any "
               "provider); in a country, prices in that country where the catalogue has "
               "them."),
    Input("site_g_per_kwh", "Override grid intensity (g CO2e/kWh)", "float",
          path="site.carbon_intensity_g_per_kwh", unit="g CO2e/kWh", optional=True,
          blank="from the region", widget={"step": 10.0}),
    Input("site_wue_l_per_kwh", "On-site WUE (L water per kWh of IT energy)", "float",
          path="site.wue_l_per_kwh", unit="L/kWh", optional=True,
          blank="the provider's published figure", widget={"step": 0.05, "format": "%.2f"}),
    Input("site_market_g_per_kwh", "Contractual emission factor (g CO2e/kWh)", "float",
          path="site.market_emission_factor_g_per_kwh", unit="g CO2e/kWh", optional=True,
          blank="none: no market-based figure", widget={"step": 5.0}),
    Input("site_cfe_pct", "Carbon-free energy contracted (%)", "float",
          path="site.carbon_free_energy_share", scale=0.01, unit="%", optional=True,
          blank="none: no market-based figure", widget={"step": 5.0, "format": "%.0f"}),
    Input("site_pue", "PUE (facility energy ÷ IT energy)", "float", path="site.pue",
          from_defaults="pue", written="given", unit="ratio",
          widget={"step": 0.01, "format": "%.2f"}),
    Input("site_elec_usd_per_kwh", "Electricity price (USD/kWh)", "float",
          path="site.electricity_usd_per_kwh", from_defaults="electricity_usd_per_kwh",
          written="given", unit="USD/kWh", widget={"step": 0.01, "format": "%.4f"}),
    Input("price_mode", "Pricing", "str", "cloud", path="pricing.mode",
          unit="cloud or on_prem"),
    Input("price_discount_pct", "Cloud discount (%)", "float", 0.0,
          path="pricing.cloud_discount", scale=0.01, unit="%", written="given",
          widget={"step": 5.0, "format": "%.0f"}),
    Input("price_providers", "Cloud prices from", "str", "site",
          path="pricing.cloud_providers", written="given", unit="site or any",
          help="Each price names its provider, region and date."),
    Input("price_life_years", "Service life (years)", "float",
          path="pricing.service_life_years", from_defaults="service_life_years",
          written="given", unit="years", widget={"step": 0.5, "format": "%.1f"}),
    # the training run
    Input("t_model", "Model to train", "str", "llama-3-8b", path="training.model",
          absent=CUSTOM_MODEL, unit="preset id",
          help="A preset from profiles/models.yaml (with its source), or a custom size."),
    Input("t_params_b", "Parameters (billions)", "float", 8.0, path="training.params",
          scale=1e9, unit="billions", when=_custom("t"), widget={"step": 1.0}),
    Input("t_tokens_t", "Training tokens (trillions)", "float", 15.0, path="training.tokens",
          scale=1e12, unit="trillions", when=_custom("t"), widget={"step": 0.5}),
    Input("t_precision", "Precision", "str", "bf16", path="training.precision"),
    Input("t_size_by", "Size the run by", "str", "deadline", decode=_decode_size_by,
          unit="deadline or devices",
          help="Deadline: how many devices finish in time. Device count: how long the run "
               "takes on that many devices."),
    Input("t_days", "Deadline (days)", "float", 30.0, path="training.days", unit="days",
          when=_size_by("deadline"), widget={"step": 1.0, "format": "%.1f"}),
    Input("t_devices", "Devices", "int", 1024, path="training.devices", unit="devices",
          when=_size_by("devices"), widget={"step": 64}),
    Input("t_mfu_pct", "Model-FLOPs utilisation (%)", "float", path="training.mfu",
          scale=0.01, unit="%", optional=True, blank="default per device kind",
          help="Without it: the sourced default per device kind (profiles/defaults.yaml), or "
               "a calibration from measurements.", widget={"step": 1.0}),
    # the served workload
    Input("i_model", "Model to serve", "str", "llama-3-8b", path="inference.model",
          absent=CUSTOM_MODEL, unit="preset id",
          help="A preset from profiles/models.yaml (with its source), or a custom size."),
    Input("i_params_b", "Parameters (billions)", "float", 8.0, path="inference.params",
          scale=1e9, unit="billions", when=_custom("i"), widget={"step": 1.0}),
    Input("i_prompt_tokens", "Prompt (tokens per request)", "int", 512,
          path="inference.prompt_tokens", unit="tokens per request", widget={"step": 64}),
    Input("i_output_tokens", "Output (tokens per request)", "int", 256,
          path="inference.output_tokens", unit="tokens per request", widget={"step": 64}),
    Input("i_batch", "Largest batch (requests at once)", "int", 64,
          path="inference.batch_size", unit="requests",
          help="Each device keeps the batch needing the fewest devices within the latency "
               "target.", widget={"step": 8}),
    Input("i_precision", "Serving precision", "str", "bf16", path="inference.precision"),
    Input("i_rps_avg", "Average load (requests/s)", "float", 200.0,
          path="inference.requests_per_s_avg", unit="requests/s", optional=True,
          blank="none: per-replica figures only",
          help="With the peak blank too, one replica is planned without a fleet.",
          widget={"step": 10.0}),
    Input("i_rps_peak", "Peak load (requests/s)", "float", 400.0,
          path="inference.requests_per_s_peak", unit="requests/s", optional=True,
          blank="same as the average", help="At least the average.",
          widget={"step": 10.0}),
    Input("i_latency_p95_s", "Latency target, p95 (s)", "float", 8.0,
          path="inference.latency_p95_s", unit="s", optional=True, blank="no target",
          widget={"step": 1.0}),
    Input("i_ttft_s", "Time to first token target, p95 (s)", "float",
          path="inference.ttft_s", unit="s", optional=True, blank="no target",
          widget={"step": 0.1}),
    Input("i_headroom_pct", "Headroom (%)", "float", 20.0, path="inference.headroom",
          scale=0.01, unit="%", widget={"step": 5.0, "format": "%.0f"}),
    Input("i_rtt_s", "Network round trip (s)", "float", 0.05, path="inference.network_rtt_s",
          unit="s", widget={"step": 0.01, "format": "%.3f"}),
    Input("i_autoscaling", "Autoscaling", "bool", False, path="inference.autoscaling",
          written="given", unit="true or false",
          help="Resize the fleet hour by hour to the load; otherwise the peak-sized fleet runs "
               "all year."),
    # the model's life
    Input("lc_horizon_months", "Planning horizon (months)", "int", 36,
          path="lifecycle.horizon_months", unit="months", widget={"step": 6}),
    Input("lc_retrain_months", "Retrain every (months)", "int", 12,
          path="lifecycle.retrain_every_months", unit="months", optional=True,
          blank="never (no retraining)", widget={"step": 3}),
    Input("lc_retrain_pct", "Retraining cost (% of the first)", "float", 25.0,
          path="lifecycle.retrain_fraction", scale=0.01, unit="% of the first training",
          help="100 % is a full re-run, 20 % a refresh.",
          widget={"step": 5.0, "format": "%.0f"}),
    Input("lc_serving_hw", "Serving hardware", "str", AUTO,
          path="lifecycle.serving_hardware", absent=AUTO,
          unit="hardware id (blank: cheapest)",
          help="The fleet that serves the traffic (sized on the Serving planner). Training "
               "uses the cheapest device that meets the training deadline."),
    # optimisation levers
    Input("lv_quant", "Quantise weights to", "str", "int4",
          path="levers.quantisation.precision", absent=NONE, unit="precision or none",
          help="int4 is weight-only (W4A16, GPTQ); fp8/int8 also run the maths at that "
               "precision where the device has a published peak."),
    Input("lv_prune", "Prune", "str", "2:4", path="levers.pruning.pattern", absent=NONE,
          unit="pattern or none",
          help="2:4 sparsity removes half the weights; the realised speed-up (1.5×) is below "
               "the ideal 2× (profiles/levers.yaml)."),
    Input("lv_distil", "Distil into", "str", "llama-3.2-1b",
          path="levers.distillation.student", absent=NONE, unit="preset id or none",
          help="Serve a smaller student model; distilling it is a one-off training run, paid "
               "back over the months of serving."),
    Input("lv_batch", "Fixed batch size", "int", path="levers.batch_size", unit="requests",
          optional=True, blank="as planned",
          widget={"step": 8}),
    Input("lv_region", "Move to region", "str", "country:FRA", path="levers.site",
          region=True, absent=NONE, unit="provider:region, country:ISO or none",
          help="Run the same fleet on another grid (and that provider's price)."),
    Input("lv_pue", "With PUE", "float", 1.1, path="levers.site.pue", unit="ratio",
          optional=True, blank="unchanged (the baseline's)",
          widget={"step": 0.01, "format": "%.2f"}),
    # uncertainty
    Input("u_draws", "Monte Carlo draws", "int", 2000, path="uncertainty.draws",
          unit="draws", widget={"step": 500}),
    Input("u_seed", "Monte Carlo seed", "int", 0, path="uncertainty.seed"),
    # the devices the pages show: the user's pick, or AUTO (the cheapest for these inputs)
    Input("tp_hw", "Hardware", "str", AUTO, path="selection.training_hardware", absent=AUTO,
          unit="hardware id (blank: cheapest)"),
    Input("sv_hw", "Hardware", "str", AUTO, path="selection.serving_hardware", absent=AUTO,
          unit="hardware id (blank: cheapest)"),
    Input("lv_hw", "Hardware", "str", AUTO, path="selection.levers_hardware", absent=AUTO,
          unit="hardware id (blank: cheapest)"),
    # view state: filters and choices of single pages, kept in the URL only
    Input("cmp_classes", "Device classes", "list", list(DEVICE_CLASSES)),
    Input("sv_metric", "Figure", "str", "annual_cost_usd"),
    Input("tp_metric", "Sensitivity of", "str", "total_co2e_kg"),
    Input("use_cal", "Plan with these calibrations", "bool", False),
    Input("lc_metric", "Show", "str", "cost"),
    Input("hw_classes", "Device classes", "list", list(DEVICE_CLASSES)),
    Input("hw_search", "Search devices", "str", ""),
)

BY_KEY: dict[str, Input] = {i.key: i for i in INPUTS}


def default_value(item: Input, defaults: Defaults) -> object:
    """The first view's value of an input, in the widget's unit."""
    if item.from_defaults:
        return getattr(defaults, item.from_defaults).value / item.scale
    return list(item.default) if isinstance(item.default, list) else item.default


def _model_of(annotation: object) -> type[BaseModel] | None:
    """The pydantic model inside ``X | None`` (or ``X`` itself)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


@cache
def schema_field(path: str) -> FieldInfo | None:
    """The scenario schema's field at a dotted path (None for a section, e.g. ``site``)."""
    model: type[BaseModel] | None = Scenario
    parts = path.split(".")
    for i, part in enumerate(parts):
        if model is None or part not in model.model_fields:
            raise KeyError(f"{path}: not a scenario field")
        info = model.model_fields[part]
        if i == len(parts) - 1:
            inner = _model_of(info.annotation)
            return None if inner is not None else info
        model = _model_of(info.annotation)
    return None


@dataclass(frozen=True)
class Bounds:
    """The allowed range of an input in the widget's unit (None: unbounded)."""

    low: float | None = None
    low_inclusive: bool = True
    high: float | None = None
    high_inclusive: bool = True

    def problem(self, value: float) -> str | None:
        """Why ``value`` is outside the range ("must be at least 1"), or None."""
        if self.low is not None:
            if self.low_inclusive and value < self.low:
                return f"must be at least {_num(self.low)}"
            if not self.low_inclusive and value <= self.low:
                return f"must be more than {_num(self.low)}"
        if self.high is not None:
            if self.high_inclusive and value > self.high:
                return f"must be at most {_num(self.high)}"
            if not self.high_inclusive and value >= self.high:
                return f"must be below {_num(self.high)}"
        return None

    def describe(self) -> str:
        """The range in words, e.g. "0 or more", "more than 0, up to 100", "1 to 3"."""
        if self.low is None and self.high is None:
            return ""
        if self.high is None:
            return f"{_num(self.low)} or more" if self.low_inclusive \
                else f"more than {_num(self.low)}"
        if self.low is None:
            return f"up to {_num(self.high)}" if self.high_inclusive \
                else f"below {_num(self.high)}"
        low = _num(self.low) if self.low_inclusive else f"more than {_num(self.low)}"
        if self.high_inclusive:
            return f"{low} to {_num(self.high)}" if self.low_inclusive \
                else f"{low}, up to {_num(self.high)}"
        return f"{low} to below {_num(self.high)}" if self.low_inclusive \
            else f"{low}, below {_num(self.high)}"


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) >= 1e4 else f"{x:g}"


def _clean(x: float) -> float:
    return float(f"{x:.12g}")  # 1 / 0.01 is 100.00000000000001


@cache
def bounds(key: str) -> Bounds:
    """The schema's bounds of an input's scenario field, divided by its scale."""
    item = BY_KEY[key]
    info = schema_field(item.path) if item.path and not item.region else None
    low = high = None
    low_inc = high_inc = True
    for m in info.metadata if info is not None else ():
        if isinstance(m, at.Ge):
            low, low_inc = _clean(float(m.ge) / item.scale), True
        elif isinstance(m, at.Gt):
            low, low_inc = _clean(float(m.gt) / item.scale), False
        elif isinstance(m, at.Le):
            high, high_inc = _clean(float(m.le) / item.scale), True
        elif isinstance(m, at.Lt):
            high, high_inc = _clean(float(m.lt) / item.scale), False
    return Bounds(low, low_inc, high, high_inc)


def schema_default(item: Input) -> object:
    """The value the model uses when the field is absent, in the widget's unit (None: none)."""
    info = schema_field(item.path) if item.path and not item.region else None
    if info is None or info.default is PydanticUndefined or info.default is None:
        return None
    value = info.default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _clean(value / item.scale)
    return value


def description(item: Input) -> str:
    """The scenario schema's description of the input's field ("" if none)."""
    if not item.path:
        return ""
    if item.region:
        return ""
    info = schema_field(item.path)
    return (info.description or "") if info is not None else ""


def help_text(key: str, defaults: Defaults) -> str:
    """A widget's help: the schema's description, what the page adds, the range in the
    widget's unit, what blank means, and the default with its source."""
    item = BY_KEY[key]
    parts = [p.rstrip(".") + "." for p in (description(item), item.help) if p]
    if item.kind in ("float", "int"):
        span = bounds(key).describe()
        if span:
            unit = f" {_short_unit(item)}" if item.unit and item.unit != "ratio" else ""
            parts.append(f"{span[0].upper()}{span[1:]}{unit}.")
    if item.optional and item.blank:
        parts.append(f"Blank: {item.blank}.")
    if item.from_defaults:
        a = getattr(defaults, item.from_defaults)
        note = f"; {a.note}" if a.note else ""
        parts.append(f"Default {a.value / item.scale:g} ({defaults.cite(a)}{note}).")
    return " ".join(parts)


def _short_unit(item: Input) -> str:
    return "%" if item.unit.startswith("%") else item.unit


def scenario_inputs() -> tuple[Input, ...]:
    """The inputs saved in scenario files."""
    return tuple(i for i in INPUTS if i.in_scenario)


def labels() -> dict[str, str]:
    """Scenario field path → the label the user sees, longest paths first (for messages)."""
    out = {i.path: i.label for i in INPUTS if i.path and not i.region}
    return dict(sorted(out.items(), key=lambda kv: -len(kv[0])))
