"""Fixtures for the dashboard tests: the app under AppTest, the planner, captured downloads."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from planner.model.plan import Planner

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
VIEWS = "planner/dashboard/views"
PAGES = {
    "compare": f"{VIEWS}/compare.py",
    "training": f"{VIEWS}/training.py",
    "serving": f"{VIEWS}/serving.py",
    "lifecycle": f"{VIEWS}/lifecycle.py",
    "optimisation": f"{VIEWS}/optimisation.py",
    "scenarios": f"{VIEWS}/scenarios.py",
    "measurements": f"{VIEWS}/measurements.py",
    "profiles": f"{VIEWS}/profiles.py",
}


@pytest.fixture(scope="session")
def planner() -> Planner:
    return Planner.load()


@pytest.fixture
def downloads(monkeypatch) -> dict[str, dict]:
    """Every ``st.download_button`` a run draws, by key: file name and the data (a callable's
    data is produced, as a click would)."""
    seen: dict[str, dict] = {}
    original = st.download_button

    def record(label, data, file_name=None, mime=None, key=None, **kwargs):
        seen[key] = {"label": label, "file_name": file_name, "mime": mime,
                     "data": data() if callable(data) else data}
        return original(label, data, file_name=file_name, mime=mime, key=key, **kwargs)

    monkeypatch.setattr(st, "download_button", record)
    return seen


def make_app(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at


def open_page(name: str, query: dict[str, str] | None = None) -> AppTest:
    """The app, run once, then switched to page ``name`` and run again."""
    at = make_app(query).run()
    if name != "compare":
        at.switch_page(PAGES[name]).run()
    return at


def assert_clean(at: AppTest) -> None:
    """No exception, and no traceback anywhere on the page."""
    assert not at.exception, [e.value for e in at.exception]
    for element in at.markdown:
        assert "Traceback" not in element.value


def shown_device(at: AppTest, key: str, frame) -> str | None:
    """The hardware id a page details: the pick in ``key``, or (when left to the planner) the
    device its caption names as the default for these inputs."""
    pick = at.selectbox(key=key).value
    if pick:
        return pick
    names = dict(zip(frame["name"], frame["hardware_id"], strict=True))
    for caption in at.caption:
        if "for these inputs**: " in caption.value:
            name = caption.value.split("for these inputs**: ", 1)[1].split(" (it follows")[0]
            return names.get(name)
    return None
