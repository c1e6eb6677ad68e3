"""What the model's grid builders read of a planner, as a typed interface.

``planner.model.plan.Planner`` satisfies it; a function that builds a grid takes a
``PlanningData`` rather than the whole planner, so it names what it reads and imports no
planning API (which would make an import circle).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd

from planner.model.defaults import Defaults
from planner.model.hardware import HardwareProfile


@runtime_checkable
class PlanningData(Protocol):
    """The hardware profiles, their catalogue table, the default assumptions and the
    calibrations (``calibration.for_planning`` tables; None where none is used)."""

    @property
    def profiles(self) -> tuple[HardwareProfile, ...]: ...

    @property
    def catalogue(self) -> pd.DataFrame: ...

    @property
    def defaults(self) -> Defaults: ...

    @property
    def calibration(self) -> pd.DataFrame | None: ...  # training

    @property
    def inference_calibration(self) -> pd.DataFrame | None: ...
