"""Fixtures for the profiler's tests: a fake NVML module, a quiet host meter, a temp output."""

from __future__ import annotations

import pytest

from .fake_nvml import FakeGpu, FakeNvml


@pytest.fixture
def fake_nvml() -> FakeNvml:
    """One fake H100 at a steady 300 W with an energy counter."""
    return FakeNvml([FakeGpu()])


@pytest.fixture
def no_counter_nvml() -> FakeNvml:
    """One fake pre-Volta GPU: no energy counter (NVMLError_NotSupported), power only."""
    return FakeNvml([FakeGpu(name="Tesla P100-PCIE-16GB", energy_counter=False,
                             power_w=lambda t: 180.0)])


@pytest.fixture(autouse=True)
def _no_codecarbon_files(tmp_path_factory, monkeypatch):
    """Run every test from an empty folder and fail if CodeCarbon left a file in it."""
    cwd = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(cwd)
    yield
    left = sorted(p.name for p in cwd.iterdir() if "emissions" in p.name
                  or "codecarbon" in p.name)
    assert not left, f"CodeCarbon wrote files: {left}"
