"""The planner is what the grid builders read (``context.PlanningData``)."""

from planner.model.context import PlanningData
from planner.model.plan import Planner


def test_the_planner_is_planning_data():
    planner = Planner.load()
    assert isinstance(planner, PlanningData)
    assert not isinstance(object(), PlanningData)
