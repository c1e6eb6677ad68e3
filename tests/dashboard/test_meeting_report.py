"""The report for the meeting: one self-contained HTML page, and one CSV per section in a ZIP;
and the Compare scenarios page under AppTest."""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd
import pytest

from planner.dashboard import formats, meeting_report, reports, state
from planner.model.compare import compare_plans
from tests.dashboard.conftest import assert_clean, open_page


@pytest.fixture(scope="module")
def report(planner):
    s = {**state.default_state(planner.defaults), "sc_name": "chat launch"}
    result = planner.plan(state.to_scenario(s, planner.defaults, state.ALL_SECTIONS))
    return result, meeting_report.report_sections(s, planner, result)


def test_html_is_self_contained_with_every_chart(report):
    result, sections = report
    page = meeting_report.report_html(result, sections, "chat launch")
    assert page.startswith("<!DOCTYPE html>") and "AI capacity plan: chat launch" in page
    assert not re.search(r"<script[^>]+src=", page)  # nothing fetched: plotly.js is inline
    assert not re.search(r"<link[^>]+href=", page)
    assert page.count("Plotly.newPlot(") == len(meeting_report.report_figures(result)) >= 5
    assert page.count("plotly.js v") >= 1  # the library itself, inlined
    cheapest = result.training[result.training["feasible"]]["cost_usd"].min()
    assert f"{cheapest:.0f}"[:3] in page.replace(",", "")  # the training table is there


def test_html_without_traffic_has_the_per_request_table(planner):
    # Without traffic the serving plan has per-replica figures only (no annual columns):
    # the report shows those instead of failing on a missing column.
    s = {**state.default_state(planner.defaults), "i_rps_avg": None, "i_rps_peak": None}
    result = planner.plan(state.to_scenario(s, planner.defaults, state.ALL_SECTIONS))
    assert "annual_cost_usd" not in result.inference.columns
    page = meeting_report.report_html(result, meeting_report.report_sections(s, planner, result),
                                      "no traffic")
    assert "Inference: every feasible device" in page
    cheapest = result.inference[result.inference["feasible"]]["cost_usd_per_1k_requests"].min()
    assert formats.sig(cheapest) in page


def test_zip_holds_one_csv_per_section_with_the_report_rows(report, planner):
    _, sections = report
    archive = zipfile.ZipFile(io.BytesIO(meeting_report.report_zip(sections)))
    names = archive.namelist()
    assert len(names) == len(sections) and names[0] == "01-inputs.csv"
    training = pd.read_csv(archive.open(next(n for n in names if n.endswith("-training.csv"))))
    expected = sections["training"]
    assert len(training) == len(expected)
    assert list(training.columns) == list(expected.columns)  # the model's report columns
    pd.testing.assert_series_equal(training["cost_usd"], expected["cost_usd"].astype(float),
                                   check_names=False)
    full = reports.full_report(dict(sections["inputs"].set_index("note")["value"]), planner)
    assert set(full["section"]) == set(sections)  # the same sections as the one-file report


def test_sidebar_offers_the_reports(downloads):
    at = open_page("compare")
    assert_clean(at)
    assert downloads["html_report"]["data"].startswith("<!DOCTYPE html>")
    assert downloads["html_report"]["file_name"] == "dashboard-scenario-report.html"
    zipped = zipfile.ZipFile(io.BytesIO(downloads["zip_report"]["data"]))
    assert any(n.endswith("-inference.csv") for n in zipped.namelist())


def test_compare_scenarios_page(planner):
    at = open_page("scenarios")
    assert_clean(at)
    assert at.info  # one scenario: says how to add another
    at.button(key="sc_keep").click().run()
    at.text_input(key="sc_name").set_value("int4").run()
    at.selectbox(key="i_precision").set_value("int4").run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    shown = at.dataframe[0].value.set_index("figure")
    base = {**state.default_state(planner.defaults)}
    plans = {name: planner.plan(state.to_scenario(s, planner.defaults,
                                                  ("training", "inference", "lifecycle")))
             for name, s in (("a", base), ("b", {**base, "i_precision": "int4"}))}
    expected = compare_plans(plans).set_index("figure")
    change = expected.loc["cost per year", "b vs a"]
    assert shown.loc["cost per year", "int4: change"] == f"{(change - 1) * 100:+.0f} %"
    diff = at.dataframe[1].value
    assert diff["field"].tolist() == ["inference.precision"]
