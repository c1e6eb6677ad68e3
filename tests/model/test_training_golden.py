"""Training answers stay as recorded (``tests/model/training_golden.py``): speed work on the
layout and deadline searches must not move a single figure (rtol 1e-9)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from planner.model.plan import Planner
from tests.model import training_golden

RECORD = json.loads(training_golden.GOLDEN.read_text())
HINT = ("training answers moved; if that is intended (physics, constants, profiles), "
        "re-record with `python -m tests.model.training_golden` and say so in the commit")


@pytest.fixture(scope="module")
def today() -> dict[str, dict[str, list]]:
    return training_golden.outputs(Planner.load(), RECORD["scenarios"], RECORD["grids"])


def test_every_training_example_is_recorded():
    assert set(training_golden.example_cases()) <= set(RECORD["scenarios"])


@pytest.mark.parametrize("case", sorted(RECORD["outputs"]))
def test_training_answers_as_recorded(case, today):
    want, got = RECORD["outputs"][case], today[case]
    assert set(got) == set(want), f"{case}: columns differ"
    for name, expected in want.items():
        if (expected and isinstance(expected[0], str)) or name in training_golden.FLAGS:
            assert got[name] == expected, f"{case}.{name}: {HINT}"
            continue
        e = np.array([np.nan if v is None else v for v in expected], dtype=float)
        g = np.array([np.nan if v is None else v for v in got[name]], dtype=float)
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=0, equal_nan=True,
                                   err_msg=f"{case}.{name}: {HINT}")
