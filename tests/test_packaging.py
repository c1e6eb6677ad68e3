"""The install: requirements.txt (planner and dashboard) has no torch or CUDA packages, the
profiler's dependencies are apart, and pyproject.toml packages every folder of planner/ with
the profiles/ data and a ``planner`` command."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirements(name: str) -> list[str]:
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def test_the_light_install_has_no_torch():
    light = " ".join(_requirements("requirements.txt")).lower()
    assert "torch" not in light and "nvidia-cu" not in light
    assert "torch==2.13.0" in _requirements("requirements-profiling.txt")
    assert "-r requirements-profiling.txt" in _requirements("requirements-dev.txt")
    assert PYPROJECT["project"]["optional-dependencies"]["profiling"][0] == "torch==2.13.0"


def test_pyproject_dependencies_match_requirements_txt():
    assert PYPROJECT["project"]["dependencies"] == _requirements("requirements.txt")


def test_every_package_folder_is_packaged():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "planner").rglob("*.py") if "__pycache__" not in p.parts}
    assert folders <= listed, f"add to [tool.setuptools] packages: {folders - listed}"
    assert PYPROJECT["project"]["scripts"]["planner"] == "planner.cli:main"
    data = {".".join(("planner", *p.parent.relative_to(ROOT).parts))
            for p in (ROOT / "profiles").rglob("*.yaml")}
    assert data <= listed
