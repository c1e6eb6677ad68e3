"""The one footprint function: energy, CO2e and cost of device-hours, by hand."""

import numpy as np
import pytest

from planner.model.footprint import Rates, footprint


def _rates(**changes) -> Rates:
    base = dict(host_power_fraction=0.25, pue=1.2, carbon_intensity_g_per_kwh=400.0,
                embodied_co2e_kg_per_device=1752.0, service_life_years=5.0,
                price_usd_per_device_hour=2.0, cloud_discount=0.5, purchase_price_usd=43800.0,
                electricity_usd_per_kwh=0.1, on_prem=np.array([False, True]))
    return Rates(**{**base, **changes})


def test_footprint_by_hand():
    fp = footprint(np.array([100.0, 100.0]), np.array([500.0, 500.0]), _rates())
    # 500 W × 100 h = 50 kWh; host 12.5; facility (62.5) × 0.2 = 12.5; total 75 kWh.
    assert fp.device_energy_kwh == pytest.approx([50.0, 50.0])
    assert fp.host_energy_kwh == pytest.approx([12.5, 12.5])
    assert fp.facility_energy_kwh == pytest.approx([12.5, 12.5])
    assert fp.energy_kwh == pytest.approx([75.0, 75.0])
    assert fp.co2e_kg == pytest.approx([30.0, 30.0])  # 75 kWh × 0.4 kg/kWh
    # 1752 kg over 5 × 8760 h = 0.04 kg/h; × 100 h.
    assert fp.embodied_co2e_kg == pytest.approx([4.0, 4.0])
    assert fp.total_co2e_kg == pytest.approx([34.0, 34.0])
    assert fp.cloud_cost_usd == pytest.approx([100.0, 100.0])  # 2 × 100 × 0.5
    # 43,800 over 43,800 h = 1 USD/h × 100 h, plus 75 kWh × 0.1.
    assert fp.on_prem_cost_usd == pytest.approx([107.5, 107.5])
    assert fp.cost_usd == pytest.approx([100.0, 107.5])  # cloud, then on-premises
    assert list(fp.columns())[:4] == ["device_energy_kwh", "host_energy_kwh",
                                      "facility_energy_kwh", "energy_kwh"]


def test_charged_hours_apart_from_powered_hours():
    """Per-request figures: energy from J per request, cost and embodied from device-hours;
    an owned fleet pays for all its hours, a user's device carries embodied CO2e while busy."""
    fp = footprint(1000.0 / 3600.0, np.array([3600.0, 3600.0]), _rates(),
                   charged_device_hours=np.array([10.0, 10.0]),
                   owned_device_hours=np.array([10.0, 20.0]),
                   embodied_device_hours=np.array([1.0, 10.0]))
    assert fp.device_energy_kwh == pytest.approx([1.0, 1.0])  # 1000 × 3600 J
    assert fp.cloud_cost_usd == pytest.approx([10.0, 10.0])
    assert fp.on_prem_cost_usd == pytest.approx([10.0 + 0.15, 20.0 + 0.15])
    assert fp.embodied_co2e_kg == pytest.approx([0.04, 0.4])


def test_broadcasts_over_draws():
    """A (draws × options) grid of power against one row of rates."""
    power = np.array([[500.0, 500.0], [1000.0, 1000.0]])
    fp = footprint(100.0, power, _rates(on_prem=np.array([[False, True]])))
    assert fp.energy_kwh.shape == (2, 2)
    assert fp.energy_kwh[1] == pytest.approx([150.0, 150.0])
    assert fp.cost_usd[1] == pytest.approx([100.0, 115.0])
