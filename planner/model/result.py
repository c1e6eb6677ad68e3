"""What a plan gives: the scenario, its resolved site and one table per section."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from planner.model.scenario import Scenario
from planner.model.site import ResolvedSite


@dataclass(frozen=True)
class PlanResult:
    """What a scenario gives: its site, and one table per section (None where absent).

    ``extras`` holds the other sections by name (``edge_vs_cloud``, ``levers``,
    ``lifecycle``, ``lifecycle_summary``, ``uncertainty``, ``sensitivity``) in report order.
    """

    scenario: Scenario
    site: ResolvedSite
    training: pd.DataFrame | None = None
    inference: pd.DataFrame | None = None
    extras: dict = field(default_factory=dict)
