"""Profiling is the only package that loads torch, NVML or CodeCarbon, and only when used."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.test_imports import import_circles

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "pynvml", "codecarbon", "streamlit", "plotly")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys; {code}; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return ast.literal_eval(out.stdout.strip())


def test_record_and_calibration_modules_are_pure():
    code = ("from planner.model.records import load_records; "
            "from planner.model.calibration import calibrate, prediction_table; "
            "load_records('measurements')")
    assert _loaded_after(code) == []


def test_importing_the_profiling_api_loads_no_heavy_library():
    assert _loaded_after("import planner.profiling; import planner.profiling.cli") == []


def test_the_cli_help_does_not_load_torch():
    assert _loaded_after("from planner.cli import build_parser; build_parser()") == []


def _profiling_imports() -> dict[str, set[str]]:
    """Module -> the planner.profiling modules it imports (at top level or inside functions)."""
    pkg = ROOT / "planner" / "profiling"
    graph: dict[str, set[str]] = {}
    for path in pkg.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts[:-1]) if rel.name == "__init__" else list(rel.parts)
        name = ".".join(parts)
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for t in targets:
                if t.startswith("planner.profiling") and _exists(t) and t != name:
                    deps.add(t)
        graph[name] = deps
    return graph


def _exists(module: str) -> bool:
    base = ROOT.joinpath(*module.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def test_no_import_circle_in_the_profiler():
    graph = _profiling_imports()
    assert "planner.profiling.values" in graph and "planner.profiling.accelerators.nvml" in graph
    circles = import_circles(graph)
    assert not circles, "import circle: " + "; ".join(circles)


def test_the_value_types_import_no_other_profiling_module():
    assert _profiling_imports()["planner.profiling.values"] == set()
