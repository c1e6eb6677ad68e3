"""CodeCarbon's offline tracker: country checks, methods, no files and no network."""

from __future__ import annotations

import socket
import time

import pytest

from planner.errors import PlannerError
from planner.profiling.host import HostEnergyMeter, resolve_site


def test_country_and_region_are_checked():
    assert resolve_site("fra").country_iso_code == "FRA"
    assert resolve_site("USA", "California").region == "california"
    with pytest.raises(PlannerError, match="3-letter ISO"):
        resolve_site("France")
    with pytest.raises(PlannerError, match="unknown country code 'XYZ'"):
        resolve_site("XYZ")
    with pytest.raises(PlannerError, match="USA only"):
        resolve_site("FRA", "Bretagne")
    with pytest.raises(PlannerError, match="unknown US state"):
        resolve_site("USA", "Atlantis")


def test_a_window_reports_cpu_and_ram_with_their_methods(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise AssertionError("CodeCarbon tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    meter = HostEnergyMeter(resolve_site("SWE"), tracking_mode="process")
    meter.prepare()
    token = meter.begin()
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:
        pass
    e = meter.end(token)
    assert e.cpu_energy_j > 0 and e.ram_energy_j > 0
    assert e.cpu_method in ("codecarbon_rapl", "codecarbon_power_meter",
                            "codecarbon_cpu_load_estimate", "codecarbon_tdp_estimate")
    # Estimates are never labelled as measurements.
    assert e.cpu_measured == (e.cpu_method in ("codecarbon_rapl", "codecarbon_power_meter"))
    assert e.ram_method == "codecarbon_ram_estimate" and not e.ram_measured
    # Sweden's grid, from CodeCarbon's bundled data: far below the world average.
    assert 0 < e.carbon_intensity_g_per_kwh < 100
    assert e.duration_s >= 0.3
    assert list(tmp_path.iterdir()) == []


def test_bad_tracking_mode():
    with pytest.raises(PlannerError, match="tracking mode"):
        HostEnergyMeter(resolve_site("USA"), tracking_mode="cluster")
