"""Where the data files are: ``profiles/`` of a source checkout, or the copy a wheel installs
inside the package (``pip install .`` puts it at ``planner/profiles``)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def _profiles_dir() -> Path:
    checkout = _PACKAGE.parent / "profiles"  # <checkout>/profiles beside <checkout>/planner
    return checkout if checkout.is_dir() else _PACKAGE / "profiles"


PROFILES_DIR = _profiles_dir()
