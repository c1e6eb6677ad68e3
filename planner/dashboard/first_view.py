"""A session's first view in two runs: the headline figures first, then everything else.

Streamlit's front end loads each element type's code on first use and shows a placeholder
until it is there; it reveals the elements of a run together once new placeholders stop
arriving, and Plotly's code is a 4.7 MB bundle whose evaluation blocks the page for a second
or more. A first run that sends the sidebar's inputs, the charts and the tables with the
headline metrics therefore shows the metrics only after all of that has loaded (about 4× the
load time of a trivial page in ``bench/dashboard_speed.py``).

So a browser session's first run draws the page's headline figures only, with a small
component that, once the browser has drawn them, asks for the rest: the second run (its plans
come from the cache) draws the inputs, the charts and the tables. Without a browser
(``AppTest``, which runs no JavaScript) every run draws the whole view.
"""

from __future__ import annotations

import streamlit as st

SEEN = "_first_view_seen"  # the session has had its first run
HEADLINE_ONLY = "_first_view_headline_only"  # this run draws the headline figures only
_AFTER_HEADLINE = "_first_view_after_headline"  # the next run draws the rest
LOADING = "Drawing the inputs, charts and tables…"
# Runs in the page once the component is mounted: waits (at most 5 s) until no element of
# the run is still a placeholder, then for one more frame to be painted, then asks Python
# for the rest of the view.
_JS = """
export default function (component) {
  const { setTriggerValue } = component;
  const started = performance.now();
  let done = false;
  const ready = () => !document.querySelector('[data-testid="stSkeleton"]');
  const tick = () => {
    if (done) return;
    if (ready() || performance.now() - started > 5000) {
      done = true;
      requestAnimationFrame(() => setTimeout(() => setTriggerValue("drawn", true), 0));
    } else {
      requestAnimationFrame(tick);
    }
  };
  requestAnimationFrame(tick);
  return () => { done = true; };
}
"""
# The marker lets a test wait for the whole view: it is gone once the second run is drawn.
_drawn = st.components.v2.component("planner_first_view_drawn", js=_JS,
                                    html="<span data-planner-first-view></span>",
                                    isolate_styles=False)


def _browser() -> bool:
    """A real browser session (AppTest sends no request headers and runs no JavaScript)."""
    return bool(st.context.headers.get("User-Agent"))


def begin() -> None:
    """At the start of every run: is this the headline-only first run of a browser session?
    Any later run (the component's, or one a click starts first) draws the whole view."""
    st.session_state[HEADLINE_ONLY] = not st.session_state.get(SEEN) and _browser()
    st.session_state[SEEN] = True


def headline_only() -> bool:
    """True in a browser session's first run: draw the headline figures only."""
    return bool(st.session_state.get(HEADLINE_ONLY))


def part() -> str:
    """Which part of the first view this run draws: "headline", "rest" (the run after the
    headline figures) or "view" (any other run)."""
    if headline_only():
        return "headline"
    return "rest" if st.session_state.pop(_AFTER_HEADLINE, False) else "view"


def _rest() -> None:
    """The component's trigger: its rerun is an ordinary run, which draws everything."""


def finish() -> None:
    """At the end of a headline-only run (also one that stopped early): the component
    that asks for the rest once the browser has drawn it."""
    if headline_only():
        st.session_state[_AFTER_HEADLINE] = True
        # said, so the wait is never silent; the next run replaces it with the whole view
        st.caption(LOADING)
        _drawn(key="first_view_drawn", on_drawn_change=_rest, height=0)
