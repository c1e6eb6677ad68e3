"""Work done once when the server starts (``serve.py``), so that the first visitor of a fresh
server does not wait for it: the dashboard's imports (pandas, SciPy, pydantic, Plotly and the
planner, about 1.1 s of CPU on the bench machine), the hardware catalogue and defaults, and the
plans of the default first view (Compare hardware's training and serving tables, which its
headline figures come from). Everything lands in the same process-wide caches that the
sessions use (``loaders``), under the keys a session with the default inputs asks for.
"""

from __future__ import annotations

import time


def warm_up() -> dict[str, float]:
    """Import, load and plan the default first view; the seconds each step took."""
    t0 = time.perf_counter()
    from planner.dashboard import (  # noqa: F401  (what app.py and the first page import)
        figures,
        first_view,
        formats,
        loaders,
        session,
        sidebar,
        state,
        tables,
        ui,
    )

    t1 = time.perf_counter()
    planner = loaders.get_planner()
    loaders.region_table()
    loaders.presets()
    t2 = time.perf_counter()
    current = {**state.default_state(planner.defaults), state.GIVEN: []}
    for sections in (("training",), ("inference",)):
        key = state.plan_key(state.to_scenario(current, planner.defaults, sections))
        loaders.plan(key, "")  # as ui.plan calls it (the cache keys the arguments as passed)
    t3 = time.perf_counter()
    return {"imports_s": t1 - t0, "catalogue_s": t2 - t1, "plans_s": t3 - t2}
