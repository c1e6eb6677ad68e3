"""Work done once when the server starts (``serve.py``), so that the first visitor of a fresh
server does not wait for it: the dashboard's imports (pandas, SciPy, pydantic, Plotly and the
planner, about 1.1 s of CPU on the bench machine), the hardware catalogue and defaults, and the
plans of the default first view (Compare hardware's training and serving tables, which its
headline figures come from), a one-off check Streamlit makes on its first element and
Plotly's on its first figure.
Everything lands in the same process-wide caches that the sessions use (``loaders``), under
the keys a session with the default inputs asks for.
"""

from __future__ import annotations

import time

from streamlit import delta_generator


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

    # Streamlit's first element in a process checks once whether it runs in a REPL:
    # delta_generator._maybe_print_use_warning → env_util.is_repl → inspect.stack(), which
    # looks up the source of every frame through all ~1,600 loaded modules (0.3–0.9 s of the
    # first visitor's first run on the bench machine). Done here, it says nothing (the
    # server's runtime exists) and later elements skip it.
    check = getattr(delta_generator, "_maybe_print_use_warning", None)
    if check is not None:  # a private helper: if a later Streamlit drops it, nothing to do
        check()
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
    # Plotly builds its validators on the first figure of a process (about 0.5 s here), the
    # first chart of the first visitor's second run otherwise.
    import plotly.graph_objects as go

    go.Figure(go.Scatter(x=[0.0], y=[0.0], mode="markers+text", text=["x"]),
              layout={"xaxis": {"type": "log"}}).to_plotly_json()
    t4 = time.perf_counter()
    return {"imports_s": t1 - t0, "catalogue_s": t2 - t1, "plans_s": t3 - t2,
            "first_chart_s": t4 - t3}
