"""A browser session's first view comes in two runs: the headline figures alone, then (when
the browser has drawn them) the inputs, charts and tables. The figures are the same in both;
without a browser (AppTest) every run draws the whole view."""

from __future__ import annotations

import pytest

from planner.dashboard import first_view
from tests.dashboard.conftest import assert_clean, make_app


def _metrics(at) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


def test_without_a_browser_every_run_draws_the_whole_view():
    at = make_app().run()
    assert_clean(at)
    assert len(at.get("plotly_chart")) == 2 and len(at.dataframe) == 2
    assert at.sidebar.number_input  # the inputs
    assert not at.get("bidi_component")  # no component asking for the rest


@pytest.fixture
def browser_session(monkeypatch):
    monkeypatch.setattr(first_view, "_browser", lambda: True)


def test_first_run_draws_the_headline_figures_then_the_rest(browser_session):
    whole = _metrics(make_app().run())  # the whole view in one run, as without a browser

    at = make_app().run()
    assert_clean(at)
    assert _metrics(at) == whole and len(whole) == 6  # training 3, serving 3, same figures
    assert not at.get("plotly_chart") and not at.dataframe
    assert not at.sidebar.number_input  # the inputs come with the second run
    assert len(at.get("bidi_component")) == 1  # the component that asks for the rest
    assert [c.value for c in at.caption if c.value == first_view.LOADING]  # the wait is said

    at.run()  # what the component's trigger starts once the browser has drawn the headline
    assert_clean(at)
    assert _metrics(at) == whole
    assert len(at.get("plotly_chart")) == 2
    assert at.sidebar.number_input
    assert not at.get("bidi_component")
    assert not [c.value for c in at.caption if c.value == first_view.LOADING]
    at.run()  # and every later run is an ordinary one
    assert len(at.get("plotly_chart")) == 2


def test_a_bad_link_value_is_said_in_the_whole_view_too(browser_session):
    at = make_app({"site_pue": "banana"}).run()
    first = [w.value for w in at.warning if "site_pue" in w.value]
    assert first
    at.run()
    assert [w.value for w in at.warning if "site_pue" in w.value] == first
    at.run()  # said once the whole view was drawn, not on every run
    assert not [w.value for w in at.warning if "site_pue" in w.value]
