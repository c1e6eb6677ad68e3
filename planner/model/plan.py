"""The planning API: load the catalogue once, then plan scenarios against it.

>>> from planner.model.plan import Planner
>>> planner = Planner.load()
>>> result = planner.plan(scenario)          # a Scenario, or a dict in the YAML's shape
>>> result.training[REPORT_COLUMNS]          # one row per hardware option
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from planner.model.catalogue import catalogue_frame
from planner.model.defaults import Defaults, load_defaults
from planner.model.hardware import HardwareProfile, load_profiles
from planner.model.scenario import Scenario, parse_scenario
from planner.model.site import ResolvedSite, resolve_site
from planner.model.training import evaluate_training, training_grid

# The columns of a training plan's CSV, in order. Units are in the names.
TRAINING_REPORT_COLUMNS = [
    "hardware_id", "name", "kind", "placement", "feasible", "infeasible_reason", "mode",
    "precision_used", "devices", "min_devices_for_memory", "hours", "days", "device_hours",
    "energy_kwh", "device_energy_kwh", "host_energy_kwh", "facility_energy_kwh",
    "co2e_kg", "embodied_co2e_kg", "total_co2e_kg", "cost_usd", "cloud_cost_usd",
    "on_prem_cost_usd", "total_flops", "peak_flops_per_s", "utilisation", "utilisation_basis",
    "throughput_basis", "busy_power_w", "power_basis", "host_power_fraction", "pue",
    "carbon_intensity_g_per_kwh", "price_usd_per_device_hour", "price_basis",
    "embodied_kgco2e", "embodied_basis", "service_life_years", "assumptions",
]


@dataclass(frozen=True)
class PlanResult:
    """What a scenario gives: its site, and one table per section (None where absent)."""

    scenario: Scenario
    site: ResolvedSite
    training: pd.DataFrame | None = None
    inference: pd.DataFrame | None = None
    extras: dict = field(default_factory=dict)


def describe_assumptions(frame: pd.DataFrame, site: ResolvedSite) -> pd.Series:
    """One readable line per row: the figures that were not the user's own."""
    site_text = (f"grid {site.carbon_intensity_g_per_kwh:.0f} g/kWh ({site.intensity_label}, "
                 f"{site.intensity_year}; {site.intensity_source}); PUE {site.pue:g} "
                 f"({site.pue_basis})")
    def text(column: str, digits: int | None = None) -> pd.Series:
        values = frame[column]
        if digits is not None:
            values = values.astype(float).round(digits)
        # pandas 3 keeps NaN missing through astype(str); an unknown figure must still read.
        return values.astype(str).fillna("unknown").replace("nan", "unknown")

    return (
        "utilisation " + text("utilisation", 3) + " (" + text("utilisation_basis")
        + "); power " + text("busy_power_w", 1) + " W (" + text("power_basis")
        + "); embodied " + text("embodied_kgco2e") + " kg (" + text("embodied_basis")
        + "); life " + text("service_life_years") + " y; price: " + text("price_basis")
        + "; " + site_text
    )


@dataclass(frozen=True)
class Planner:
    """The hardware catalogue and defaults, loaded once; plans are pure functions of them."""

    profiles: tuple[HardwareProfile, ...]
    catalogue: pd.DataFrame
    defaults: Defaults
    profile_errors: tuple[str, ...] = ()
    calibration: pd.DataFrame | None = None

    @classmethod
    def load(cls, profiles_dir: Path | str | None = None, defaults_path: Path | str | None = None,
             calibration: pd.DataFrame | None = None) -> Planner:
        report = load_profiles(profiles_dir)
        return cls(report.profiles, catalogue_frame(report.profiles),
                   load_defaults(defaults_path), report.errors, calibration)

    def with_calibration(self, calibration: pd.DataFrame | None) -> Planner:
        """The same planner using calibrated utilisation and power where records exist."""
        return Planner(self.profiles, self.catalogue, self.defaults, self.profile_errors,
                       calibration)

    def resolve_site(self, scenario: Scenario) -> ResolvedSite:
        return resolve_site(scenario.site, self.defaults)

    def training_grid(self, scenario: Scenario) -> pd.DataFrame:
        site = self.resolve_site(scenario)
        return training_grid(scenario, list(self.profiles), self.catalogue, self.defaults, site,
                             self.calibration)

    def plan_training(self, scenario: Scenario | dict) -> pd.DataFrame:
        """The training table of a scenario: one row per hardware option."""
        scenario = scenario if isinstance(scenario, Scenario) else parse_scenario(scenario)
        site = self.resolve_site(scenario)
        out = evaluate_training(training_grid(scenario, list(self.profiles), self.catalogue,
                                              self.defaults, site, self.calibration))
        out["assumptions"] = describe_assumptions(out, site)
        return out

    def plan(self, scenario: Scenario | dict) -> PlanResult:
        """Every section of a scenario."""
        scenario = scenario if isinstance(scenario, Scenario) else parse_scenario(scenario)
        site = self.resolve_site(scenario)
        training = self.plan_training(scenario) if scenario.training else None
        inference = None
        extras: dict = {}
        if scenario.inference is not None:
            from planner.model import edge, serving

            # Per-replica figures; with traffic also the sized fleet and its year of service.
            inference = serving.plan_serving(self, scenario, site)
            serving.check_targets(inference)
            comparison = edge.compare_edge_cloud(inference)
            if comparison is not None:
                extras["edge_vs_cloud"] = comparison
        if scenario.levers is not None:
            from planner.model.levers import plan_levers

            extras["levers"] = plan_levers(self, scenario, site)
        if scenario.lifecycle is not None:
            from planner.model.lifecycle import plan_lifecycle

            curves, summary = plan_lifecycle(scenario.lifecycle, training, inference)
            extras["lifecycle"] = curves
            extras["lifecycle_summary"] = summary
        if scenario.uncertainty is not None:
            from planner.model.uncertainty import plan_uncertainty

            u = plan_uncertainty(scenario.uncertainty, scenario.inference, training, inference)
            extras["uncertainty"] = u.summary
            extras["sensitivity"] = u.sensitivity
        return PlanResult(scenario, site, training, inference, extras)
