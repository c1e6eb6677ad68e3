"""Import rules between the project's own packages, read from the source with ast: the model
imports no dashboard, profiling or CLI module; the dashboard imports no CLI; the profiler
imports no dashboard; no import circle among planner modules; no source file over 500 lines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 500
CLI = ("planner.cli", "planner.cli_plan", "planner.profiling.cli")
RULES = {  # importer prefix -> prefixes it must not import
    "planner.model": ("planner.dashboard", "planner.profiling", *CLI),
    "planner.dashboard": CLI,
    "planner.profiling": ("planner.dashboard",),
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts[:-1]) if rel.name == "__init__" else list(rel.parts)
    return ".".join(parts)


def _exists(module: str) -> bool:
    base = ROOT.joinpath(*module.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _resolve(node: ast.ImportFrom, importer: str, is_package: bool) -> str | None:
    if node.level == 0:
        return node.module
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def import_graph() -> dict[str, set[str]]:
    """planner module -> the planner modules it imports, at top level or inside functions
    (``from planner.model import carbon`` counts as ``planner.model.carbon``)."""
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "planner").rglob("*.py"):
        name = _module_name(path)
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                module = _resolve(node, name, path.name == "__init__.py")
                if not module:
                    continue
                targets = [f"{module}.{a.name}" for a in node.names]
                targets = [t for t in targets if _exists(t)] or [module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            deps |= {t for t in targets if t.startswith("planner") and _exists(t) and t != name}
        graph[name] = deps
    return graph


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_graph_sees_the_project():
    graph = import_graph()
    assert "planner.model.carbon" in graph["planner.model.footprint"]
    assert "planner.model.report" in graph["planner.dashboard.tables"]


def test_layers_import_only_downwards():
    bad = []
    for module, deps in import_graph().items():
        for importer, banned in RULES.items():
            if _within(module, importer) and module not in CLI:
                bad += [f"{module} imports {d}" for d in deps
                        if any(_within(d, b) for b in banned)]
    assert not bad, bad


def import_circles(graph: dict[str, set[str]]) -> list[str]:
    """Every import circle in ``graph``, as ``a -> b -> a`` (depth-first search)."""
    state: dict[str, int] = {}
    circles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            # A package's __init__ re-exporting its own submodules is not a circle.
            if node.startswith(dep + ".") or dep.startswith(node + "."):
                continue
            if state.get(dep) == 1:
                circles.append(" -> ".join([*path, node, dep]))
            elif dep not in state:
                visit(dep, [*path, node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    return circles


def test_no_import_circle_in_planner():
    circles = import_circles(import_graph())
    assert not circles, circles


def test_no_source_file_over_500_lines():
    files = [ROOT / "app.py", *(ROOT / "planner").rglob("*.py"), *(ROOT / "bench").rglob("*.py"),
             *(ROOT / "tests").rglob("*.py")]
    long = {str(p.relative_to(ROOT)): n for p in files
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long
