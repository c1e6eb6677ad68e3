"""The custom-device form: values → a profile file the planner's loader accepts."""

from __future__ import annotations

import pytest

from planner.dashboard import profile_form
from planner.errors import ProfileError
from planner.model.hardware import load_profiles
from planner.model.plan import Planner

VALUES = {"name": "Acme X1 Accelerator", "vendor": "Acme", "year": 2025, "kind": "npu",
          "placement": "datacenter", "memory_gb": 96.0, "memory_bandwidth_gb_per_s": 2000.0,
          "tflops_bf16": 400.0, "tflops_int8": 800.0, "rated_power_w": 350.0,
          "power_basis": "tdp", "cloud_usd_per_hour": 2.5, "cloud_provider": "aws",
          "cloud_region": "us-east-1", "purchase_usd": None, "embodied_co2e_kg_per_device": None,
          "source_title": "Acme X1 datasheet rev 2", "source_url": "https://acme.example/x1",
          "source_date": "2025-06"}


def test_valid_form_gives_a_loadable_profile(tmp_path, planner):
    profile, text = profile_form.build_profile(VALUES)
    assert profile.id == "acme-x1-accelerator"
    assert profile.tflops("bf16") == 400.0
    (tmp_path / f"{profile.id}.yaml").write_text(text, encoding="utf-8")
    report = load_profiles(tmp_path)
    assert not report.errors and report.profiles[0] == profile
    # and the planner can plan on it
    custom = Planner.load(tmp_path)
    # On a fixed device count: a 30-day deadline is out of its reach (400 TFLOPS, no published
    # interconnect, and a 4M-token batch caps data parallelism at 512 replicas).
    plan = custom.plan_training({"training": {"model": "llama-3-8b", "devices": 1024}})
    assert plan["feasible"].all() and plan["cost_usd"].iloc[0] > 0


@pytest.mark.parametrize("change, needle", [
    ({"memory_gb": 0.0}, "memory"),
    ({"rated_power_w": -5.0}, "rated power"),
    ({"rated_power_w": None}, "rated power"),
    ({"tflops_bf16": None, "tflops_int8": None}, "at least one dense peak"),
    ({"tflops_bf16": -1.0}, "bf16"),
    ({"name": " "}, "name"),
    ({"source_title": ""}, "source"),
    ({"cloud_usd_per_hour": 0.0}, "cloud price"),
])
def test_bad_form_values_say_why(change, needle):
    with pytest.raises(ProfileError, match=needle):
        profile_form.build_profile({**VALUES, **change})
