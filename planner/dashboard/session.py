"""Session state set-up: defaults, overridden once per session by the URL's query
parameters; kept alive across pages; written back to the URL after every run."""

from __future__ import annotations

import streamlit as st

from planner.dashboard import loaders, state

INITIALISED = "_state_initialised"


def choices() -> dict[str, list[str]]:
    """The allowed values of every choice field."""
    regions = list(loaders.region_table().index)
    return {**state.static_choices(list(loaders.presets())),
            "site_region": [state.WORLD_AVERAGE, *regions], "lv_region": [state.NONE, *regions]}


def init() -> None:
    """Fill the session state on a session's first run; keep it alive on later runs."""
    defaults = loaders.get_planner().defaults
    base = state.default_state(defaults)
    if not st.session_state.get(INITIALISED):
        updates, errors = state.from_query(dict(st.query_params), defaults, choices())
        for key, value in {**base, **updates}.items():
            st.session_state[key] = value
        st.session_state[INITIALISED] = True
        for message in errors:
            st.warning(message)
        return
    # Streamlit forgets the value of a widget that a run does not draw (a page's own widgets
    # after switching page); writing the value back keeps it (Streamlit docs, "Widget
    # behavior").
    for key in base:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
        else:
            st.session_state[key] = base[key]


def sync_url() -> None:
    """Write the state to the URL's query parameters (only values that differ from defaults)."""
    defaults = loaders.get_planner().defaults
    current = {k: st.session_state.get(k) for k in state.fields(defaults)}
    wanted = state.to_query(current, defaults)
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)
