"""Dependencies point one way: the model imports no UI or hardware library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"streamlit", "plotly", "torch", "pynvml", "codecarbon"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_model_source_imports_nothing_forbidden():
    bad = {str(p.relative_to(ROOT)): _imports(p) & FORBIDDEN
           for p in (ROOT / "planner" / "model").rglob("*.py")}
    assert not {k: v for k, v in bad.items() if v}


def test_planning_loads_no_heavy_library():
    code = ("import sys; from planner.model.plan import Planner; "
            "p = Planner.load(); p.plan({'training': {'model': 'llama-3-8b'}, "
            "'inference': {'model': 'llama-3-8b'}, 'site': {'country': 'FRA'}}); "
            f"print(sorted(m for m in {sorted(FORBIDDEN)!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"
