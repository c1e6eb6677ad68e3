"""The planning API: load the catalogue once, then plan scenarios against it.

>>> from planner.model.plan import Planner
>>> from planner.model.report import plan_sections
>>> planner = Planner.load()
>>> result = planner.plan(scenario)          # a Scenario, or a dict in the YAML's shape
>>> plan_sections(result)["training"]        # one row per hardware option, report columns

``Planner.plan`` composes the phases: training and serving (with its levers and edge
comparison) each on their own, then the sections built on both (lifecycle, uncertainty).
The command line and the dashboard both call it; the dashboard passes a cached
``phase_plan`` so a page needing both phases reuses the plans of each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planner.model import memo
from planner.model.catalogue import catalogue_frame
from planner.model.defaults import Defaults, load_defaults
from planner.model.hardware import HardwareProfile, load_profiles
from planner.model.report import describe_assumptions
from planner.model.result import PlanResult
from planner.model.scenario import Scenario, parse_scenario
from planner.model.site import ResolvedSite, resolve_site
from planner.model.training import evaluate_training, training_grid

__all__ = ["PhasePlan", "PlanResult", "Planner", "phase_parts"]

# Sections computed from the training and the serving plan together.
BOTH_PHASES = ("lifecycle", "uncertainty")
PhasePlan = Callable[[Scenario | dict], PlanResult]


def phase_parts(scenario: Scenario | dict) -> tuple[Scenario | dict, Scenario | dict]:
    """A two-phase scenario as its training part (site and pricing kept) and its serving part
    (inference, levers and the rest), of the same type as given."""
    if isinstance(scenario, Scenario):
        cleared = dict.fromkeys(BOTH_PHASES)
        return (scenario.model_copy(update={**cleared, "inference": None, "levers": None}),
                scenario.model_copy(update={**cleared, "training": None}))
    common = {k: v for k, v in scenario.items()
              if k not in ("training", "inference", "levers", *BOTH_PHASES)}
    return ({**common, "training": scenario["training"]},
            {k: v for k, v in scenario.items() if k not in ("training", *BOTH_PHASES)})


@dataclass(frozen=True)
class Planner:
    """The hardware catalogue and defaults, loaded once; plans are pure functions of them.

    ``calibration`` (training) and ``inference_calibration`` are tables from
    ``calibration.for_planning``: measured utilisation and power by hardware and precision.
    """

    profiles: tuple[HardwareProfile, ...]
    catalogue: pd.DataFrame
    defaults: Defaults
    profile_errors: tuple[str, ...] = ()
    calibration: pd.DataFrame | None = None
    inference_calibration: pd.DataFrame | None = None

    @classmethod
    def load(cls, profiles_dir: Path | str | None = None, defaults_path: Path | str | None = None,
             calibration: pd.DataFrame | None = None) -> Planner:
        report = load_profiles(profiles_dir)
        return cls(report.profiles, catalogue_frame(report.profiles),
                   load_defaults(defaults_path), report.errors, calibration, calibration)

    def with_calibration(self, calibration: pd.DataFrame | None,
                         inference: pd.DataFrame | None = None) -> Planner:
        """The same planner using calibrated utilisation and power where records exist:
        ``calibration`` for both phases, or for training alone when ``inference`` is given."""
        return Planner(self.profiles, self.catalogue, self.defaults, self.profile_errors,
                       calibration, calibration if inference is None else inference)

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
        grid, digest = memo.training_grid_and_digest(training_grid, scenario, self.profiles,
                                                     self.catalogue, self.defaults, site,
                                                     self.calibration)
        out = evaluate_training(grid, digest=digest)
        out["assumptions"] = describe_assumptions(out, site)
        return out

    def plan(self, scenario: Scenario | dict, phase_plan: PhasePlan | None = None
             ) -> PlanResult:
        """Every section of a scenario. With training and serving, each phase is planned on
        its own by ``phase_plan`` (default: this planner; the dashboard passes its cache),
        then lifecycle and uncertainty on both."""
        parsed = scenario if isinstance(scenario, Scenario) else parse_scenario(scenario)
        if parsed.training is None or parsed.inference is None:
            return self._plan_phase(parsed)
        phase_plan = phase_plan or self._plan_phase
        training_part, serving_part = phase_parts(scenario)
        training = phase_plan(training_part)
        serving = phase_plan(serving_part)
        extras = dict(serving.extras)
        extras.update(both_phases(parsed, training.training, serving.inference))
        return PlanResult(parsed, serving.site, training.training, serving.inference, extras)

    def _plan_phase(self, scenario: Scenario | dict) -> PlanResult:
        """A scenario's sections, each planned directly."""
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
        extras.update(both_phases(scenario, training, inference))
        return PlanResult(scenario, site, training, inference, extras)


def both_phases(scenario: Scenario, training: pd.DataFrame | None,
                inference: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """The sections built on the training and the serving plan together, in report order."""
    out: dict[str, pd.DataFrame] = {}
    if scenario.lifecycle is not None:
        from planner.model.lifecycle import plan_lifecycle

        out["lifecycle"], out["lifecycle_summary"] = plan_lifecycle(
            scenario.lifecycle, training, inference)
    if scenario.uncertainty is not None:
        from planner.model.uncertainty import plan_uncertainty

        u = plan_uncertainty(scenario.uncertainty, scenario.inference, training, inference)
        out["uncertainty"], out["sensitivity"] = u.summary, u.sensitivity
    return out
