"""Session state set-up: defaults, overridden once per session by the URL's query
parameters; kept alive across pages; written back to the URL after every run."""

from __future__ import annotations

import os
import sys
import time

import streamlit as st

from planner.dashboard import loaders, state
from planner.dashboard.formats import plain

INITIALISED = "_state_initialised"
RUN_STARTED = "_run_started"
URL_WARNINGS = "_url_warnings"  # what was wrong with the link, until shown in a whole view
LAST_RUN = state.LAST_RUN
LAST_RUN_CPU = state.LAST_RUN_CPU


def choices() -> dict[str, list[str]]:
    """The allowed values of every choice field."""
    regions = list(loaders.region_table().index)
    return {**state.static_choices(list(loaders.presets())),
            "site_region": [state.WORLD_AVERAGE, *regions], "lv_region": [state.NONE, *regions]}


def init() -> None:
    """Fill the session state on a session's first run; keep it alive on later runs."""
    st.session_state[RUN_STARTED] = (time.perf_counter(), time.thread_time())
    defaults = loaders.get_planner().defaults
    base = state.default_state(defaults)
    if not st.session_state.get(INITIALISED):
        updates, errors = state.from_query(dict(st.query_params), defaults, choices())
        for key, value in {**base, **updates}.items():
            st.session_state[key] = value
        st.session_state[state.GIVEN] = sorted(updates)  # what the link gave
        st.session_state[INITIALISED] = True
        st.session_state[URL_WARNINGS] = errors
        return
    # Streamlit forgets the value of a widget that a run does not draw (a page's own widgets
    # after switching page); writing the value back keeps it (Streamlit docs, "Widget
    # behavior").
    for key in base:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
        else:
            st.session_state[key] = base[key]


def url_warnings(keep: bool) -> None:
    """Say what was wrong with the link's values: in the session's first run, and also in
    the next when ``keep`` (the first run drew only the headline figures)."""
    for message in st.session_state.get(URL_WARNINGS, ()):  # as text, never as Markdown
        st.warning(plain(message))
    if not keep:
        st.session_state.pop(URL_WARNINGS, None)


def sync_url(part: str = "view") -> None:
    """Write the state to the URL's query parameters (only values that differ from defaults).
    ``part`` names the run in the timing line (the headline figures, or the rest)."""
    defaults = loaders.get_planner().defaults
    current = {k: st.session_state.get(k) for k in state.fields(defaults)}
    current[state.GIVEN] = st.session_state.get(state.GIVEN)
    wanted = state.to_query(current, defaults)
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)
    started = st.session_state.get(RUN_STARTED)
    if started is not None:  # the run's own wall and CPU time (the script runs in one thread)
        st.session_state[LAST_RUN] = time.perf_counter() - started[0]
        st.session_state[LAST_RUN_CPU] = time.thread_time() - started[1]
        if os.environ.get("PLANNER_DASHBOARD_TIMING"):  # for bench/dashboard_speed.py
            print(f"dashboard-run part={part} wall_s={st.session_state[LAST_RUN]:.4f} "
                  f"cpu_s={st.session_state[LAST_RUN_CPU]:.4f}", file=sys.stderr, flush=True)
