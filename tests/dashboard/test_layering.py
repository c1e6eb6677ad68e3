"""The dashboard never loads torch, and only the dashboard imports streamlit."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from tests.dashboard.conftest import APP, PAGES, ROOT


def _imports(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_dashboard_imports_streamlit():
    outside = [p for p in (ROOT / "planner").rglob("*.py")
               if "dashboard" not in p.parts and "streamlit" in _imports(p)]
    assert not outside
    dashboard = [APP, *(ROOT / "planner" / "dashboard").rglob("*.py")]
    assert not [p for p in dashboard if "torch" in _imports(p)]


def test_dashboard_process_never_loads_torch():
    """Every page runs in a fresh interpreter; torch must not be in sys.modules after."""
    code = f"""
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(APP)!r}, default_timeout=120).run()
failures = [e.value for e in at.exception]
for page in {list(PAGES.values())!r}:
    at.switch_page(page).run()
    failures += [e.value for e in at.exception]
heavy = sorted(m for m in ("torch", "pynvml", "codecarbon") if m in sys.modules)
print(json.dumps({{"heavy": heavy, "failures": failures}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"heavy": [], "failures": []}
