"""Start-up work at server start (serve.py → planner/dashboard/warm.py): the first visitor of a
fresh server finds the imports done and the default first view's plans in the cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import streamlit as st
from streamlit.web.server.app_discovery import discover_asgi_app

from planner.dashboard.warm import warm_up
from planner.model.plan import Planner
from tests.dashboard.conftest import ROOT, assert_clean, make_app


def _plans_in_first_run(monkeypatch) -> int:
    calls = []
    original = Planner.plan

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Planner, "plan", counted)
    at = make_app().run()
    assert_clean(at)
    assert len(at.metric) == 6
    monkeypatch.setattr(Planner, "plan", original)
    return len(calls)


def test_after_the_warm_up_the_first_view_plans_nothing(monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()  # the plans (loaders.kept)
    assert _plans_in_first_run(monkeypatch) > 0  # a cold cache plans the default view
    st.cache_data.clear()
    st.cache_resource.clear()  # the plans (loaders.kept)
    took = warm_up()
    assert set(took) == {"imports_s", "catalogue_s", "plans_s", "first_chart_s"}
    # Compare's headline figures and tables come from the warmed plans; the rest of the view
    # (the chart's whiskers) plans nothing either.
    assert _plans_in_first_run(monkeypatch) == 0


def test_serve_py_is_the_app_with_a_start_up_hook():
    found = discover_asgi_app(Path(ROOT / "serve.py"))
    assert found.is_asgi_app and found.import_string == "serve:app"
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import json, serve; "
            "print(json.dumps([str(serve.app.script_path), "
            "sorted(m for m in ('torch', 'pynvml', 'codecarbon') if m in sys.modules)]))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    script, heavy = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(script) == ROOT / "app.py"
    assert heavy == []


def test_the_warm_up_never_loads_torch():
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import json; "
            "from planner.dashboard.warm import warm_up; warm_up(); "
            "print(json.dumps(sorted(m for m in ('torch', 'pynvml', 'codecarbon') "
            "if m in sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
