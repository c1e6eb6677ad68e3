"""Scenario validation: one clear line naming the field and the allowed values."""

from __future__ import annotations

import math

import pytest

from planner.errors import ScenarioError
from planner.model.scenario import parse_scenario


@pytest.mark.parametrize(("data", "match"), [
    ({"training": {"params": -1, "tokens": 1e9}}, r"training\.params: .*greater than 0"),
    ({"training": {"params": math.nan, "tokens": 1e9}}, r"training\.params: .*NaN"),
    ({"training": {"hardware": "all"}}, r"give a preset"),
    ({"training": {"model": "llama-3-8b", "precision": "fp12"}},
     r"training\.precision: .*'fp32'.*'int4'.*\(got 'fp12'\)"),
    ({"training": {"model": "llama-3-8b", "mfu": 1.5}}, r"training\.mfu: .*less than or equal"),
    ({"training": {"model": "llama-3-8b"}, "site": {"pue": 0.5}}, r"site\.pue"),
    ({"training": {"model": "llama-3-8b"}, "site": {"cloud_provider": "aws"}},
     r"cloud_provider.*cloud_region.*together"),
    ({"training": {"model": "llama-3-8b", "typo": 1}}, r"training\.typo: is not a known field"),
    ({}, r"needs a `training` or an `inference` section"),
    ([], r"expected a mapping"),
])
def test_bad_scenarios(data, match):
    with pytest.raises(ScenarioError, match=match):
        parse_scenario(data, "s.yaml")


def test_modes():
    def mode(**kw):
        return parse_scenario({"training": {"model": "llama-3-8b", **kw}}).training.mode
    assert mode(devices=8) == "devices"
    assert mode(days=3) == "deadline"
    assert mode(devices=8, days=3) == "known_run"
    assert mode(device_hours=100) == "known_run"
    assert mode() == "default_deadline"
