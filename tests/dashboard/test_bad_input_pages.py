"""The bad-input matrix, dashboard side (issue 11): hostile uploads (scenarios and records) and
URL parameters. Each page stays up, says what is wrong in one line shown as text, within a
time and memory bound, and no shared file changes unless the operator allows saving."""

from __future__ import annotations

import json
import math
import re
import resource
import time

import pytest

from planner.dashboard import state
from planner.dashboard.formats import plain
from planner.model.record_store import SAVE_UPLOADS_ENV, content_name
from planner.model.records import load_records, write_record
from tests.badinput import billion_laughs, nested, snapshot
from tests.dashboard.conftest import assert_clean, make_app, open_page
from tests.dashboard.records import record

PAGE_TIME_S = 60.0
PAGE_GROWTH_BYTES = 300 * 1024 * 1024  # growth of this process's peak RSS during one case


def _maxrss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _unescaped_markdown(text: str) -> bool:
    """Whether ``text`` holds a Markdown link, image, HTML tag or autolink not escaped."""
    return bool(re.search(r"(?<!\\)\[.*(?<!\\)\]\(|(?<!\\)<[a-zA-Z/]|https?(?<!\\):(?<!\\)//",
                          text))


@pytest.fixture
def folder(tmp_path, monkeypatch):
    path = tmp_path / "measurements"
    write_record(record("h100train01"), path)
    monkeypatch.setenv("PLANNER_MEASUREMENTS_DIR", str(path))
    monkeypatch.delenv(SAVE_UPLOADS_ENV, raising=False)
    return path


GOOD = record("uploaded001", minutes=30).model_dump_json().encode()
UPLOADS = [
    ("deep-json", nested(100_000).encode(), "nested deeper"),
    ("oversized-record", b'{"schema_version": 1, "x": "' + b"a" * (1024 * 1024) + b'"}',
     "larger than the 1 MiB"),
    ("oversized-no-version", b'{"x": "' + b"a" * (1024 * 1024) + b'"}', "larger than the 1 MiB"),
    ("nan", GOOD.replace(b'"value":10.0', b'"value":NaN', 1), "not valid JSON"),
    ("markdown-in-version", b'{"schema_version": "![i](https://evil.example/i.png)"}',
     "schema_version"),
    ("not-json", b"\xff\xfe", "not UTF-8"),
]


@pytest.mark.parametrize(("data", "needle"), [c[1:] for c in UPLOADS], ids=[c[0] for c in UPLOADS])
def test_hostile_record_upload_is_refused_and_changes_nothing(folder, data, needle):
    at = open_page("measurements")
    before, rss, start = snapshot(folder), _maxrss(), time.perf_counter()
    at.file_uploader(key="rec_upload").set_value([("../../evil.json", data,
                                                   "application/json")]).run()
    assert time.perf_counter() - start < PAGE_TIME_S and _maxrss() - rss < PAGE_GROWTH_BYTES
    assert_clean(at)
    errors = [e.value for e in at.error]
    assert any(needle in e.replace("\\", "") for e in errors), errors
    assert not any(_unescaped_markdown(e) for e in errors), errors
    assert {m.label: m.value for m in at.metric}["Records"] == "1"
    assert snapshot(folder) == before


def test_upload_is_used_in_the_session_only_and_a_copy_counts_once(folder):
    at = open_page("measurements")
    before = snapshot(folder)
    copy = (folder / next(p.name for p in folder.iterdir())).read_bytes()
    at.file_uploader(key="rec_upload").set_value([
        ("good.json", GOOD, "application/json"),
        ("copy-of-the-folder-record.json", copy, "application/json")]).run()
    assert_clean(at)
    assert {m.label: m.value for m in at.metric}["Records"] == "2"  # folder's 1 + good
    assert "rec_save" not in [b.key for b in at.button]  # saving is off by default
    assert snapshot(folder) == before
    other = open_page("measurements")  # another visitor's session sees the folder only
    assert {m.label: m.value for m in other.metric}["Records"] == "1"


def test_saving_when_the_operator_allows_it_never_replaces_a_file(folder, monkeypatch):
    monkeypatch.setenv(SAVE_UPLOADS_ENV, "1")
    at = open_page("measurements")
    copy = (folder / next(p.name for p in folder.iterdir())).read_bytes()
    at.file_uploader(key="rec_upload").set_value([
        ("good.json", GOOD, "application/json"),
        ("copy.json", copy, "application/json")]).run()
    before = snapshot(folder)
    at.button(key="rec_save").click().run()
    assert_clean(at)
    after = snapshot(folder)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing replaced
    added = sorted(set(after) - set(before))
    assert [p.rsplit("/", 1)[1] for p in added] == [content_name(GOOD)]
    said = " ".join(s.value for s in at.success).replace("\\", "")
    assert content_name(GOOD) in said and "uploaded001" in said
    assert any("same run" in i.value for i in at.info)  # the copy was not saved again
    assert len(load_records(folder)[0]) == 2


SCENARIO_UPLOADS = [
    ("alias-bomb", billion_laughs().encode(), "YAML aliases"),
    ("inf-grid", b"training: {model: llama-3-8b}\nsite: {carbon_intensity_g_per_kwh: .inf}",
     "finite number"),
    ("deep", ("training: " + nested(500)).encode(), "nested deeper"),
    ("oversized", b"name: x\n" + b"#" * (300 * 1024), "larger than"),
    ("link-in-value", b"training: {model: llama-3-8b, precision: '[x](https://evil.example)'}",
     "training.precision"),
]


@pytest.mark.parametrize(("data", "needle"), [c[1:] for c in SCENARIO_UPLOADS],
                         ids=[c[0] for c in SCENARIO_UPLOADS])
def test_hostile_scenario_upload_is_refused(planner, data, needle):
    at = open_page("compare")
    rss, start = _maxrss(), time.perf_counter()
    at.file_uploader(key="scenario_upload").set_value(("bad.yaml", data,
                                                       "application/x-yaml")).run()
    assert time.perf_counter() - start < PAGE_TIME_S and _maxrss() - rss < PAGE_GROWTH_BYTES
    assert_clean(at)
    errors = [e.value for e in at.error]
    assert any(needle in e.replace("\\", "") for e in errors), errors
    assert not any(_unescaped_markdown(e) for e in errors), errors
    assert at.number_input(key="site_pue").value == planner.defaults.pue.value


# URL parameters: parsed (cheap, many cases) and the landing page run (a few).
URL_VALUES = [
    ("t_days", "1e308"), ("t_days", "nan"), ("t_days", "inf"), ("t_days", "-inf"),
    ("t_devices", "1" + "0" * 400), ("t_devices", "1e300"), ("t_devices", "2.5"),
    ("site_pue", "![i](https://evil.example/i.png)"), ("t_model", "[x](https://evil.example)"),
    ("site_region", "<img src=https://evil.example/i.png>"), ("i_batch", "9" * 5000),
    ("i_rps_avg", "1e999"), ("u_seed", "0x10"), ("cmp_classes", ",".join(["GPU"] * 10_000)),
    ("i_autoscaling", "maybe"), ("t_model", "x" * 100_000),
]


@pytest.mark.parametrize(("key", "value"), URL_VALUES, ids=[f"{k}={v[:12]}" for k, v in URL_VALUES])
def test_extreme_url_parameter_is_refused_or_bounded(planner, key, value):
    from planner.dashboard import loaders, session

    start = time.perf_counter()
    choices = {**state.static_choices(list(loaders.presets())),
               "site_region": list(session.choices()["site_region"])}
    updates, errors = state.from_query({key: value}, planner.defaults, choices)
    assert time.perf_counter() - start < 5
    got = updates.get(key)
    if isinstance(got, float | int) and not isinstance(got, bool):
        assert math.isfinite(got)  # the scenario's ranges then refuse what is too large
    if key != "cmp_classes":
        assert key not in updates or got == value or isinstance(got, float | int)
    for message in errors:
        assert not _unescaped_markdown(plain(message))
        assert len(plain(message)) <= 2 * 600 + 1  # 600 characters, each escaped at most once


LANDING = [
    {"t_devices": "1" + "0" * 400},
    {"t_days": "1e-308"},
    {"site_pue": "![i](https://evil.example/i.png)", "t_model": "[x](https://evil.example)"},
    {"i_rps_avg": "1e12", "i_rps_peak": "1e12"},
]


@pytest.mark.parametrize("query", LANDING, ids=[",".join(q) for q in LANDING])
def test_landing_page_survives_extreme_url_parameters(query):
    rss, start = _maxrss(), time.perf_counter()
    at = make_app(query).run()
    assert time.perf_counter() - start < PAGE_TIME_S and _maxrss() - rss < PAGE_GROWTH_BYTES
    assert_clean(at)
    shown = [w.value for w in at.warning] + [e.value for e in at.error]
    assert not any(_unescaped_markdown(m) for m in shown), shown


def test_markdown_in_a_url_parameter_is_shown_as_text():
    at = make_app({"site_pue": "![i](https://evil.example/i.png)"}).run()
    warning = next(w.value for w in at.warning if "site_pue" in w.value)
    assert "\\!\\[i\\](https\\://evil.example/i.png)" in warning


def test_plain_escapes_what_markdown_would_render():
    text = plain("[a](https://x.example) ![b](c) <b>x</b> **y** `z` $m$ :red[r] www.e.com a@b.c")
    assert not _unescaped_markdown(text)
    assert re.search(r"(?<!\\)[`*$:@<\[]", text) is None and "www." not in text
    assert plain("requests_per_s_avg") == "requests_per_s_avg"  # inner underscores are safe
    assert json.dumps(plain("x" * 10_000)).count("x") == 600
