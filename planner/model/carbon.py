"""Carbon: operational (energy × grid intensity) and embodied (manufacturing, amortised).

Embodied carbon is the device's manufacturing footprint spread evenly over its service life
and charged for the hours used, as in Gupta et al. 2021 (Chasing Carbon, HPCA) and the
Green Algorithms method (Lannelongue et al. 2021, Advanced Science).
"""

from __future__ import annotations

import numpy as np

from planner.model.units import G_PER_KG, HOURS_PER_YEAR


def operational_co2e_kg(energy_kwh, carbon_intensity_g_per_kwh):
    """kg CO2e from energy and grid intensity."""
    return np.asarray(energy_kwh, dtype=float) * carbon_intensity_g_per_kwh / G_PER_KG


def embodied_co2e_kg(embodied_co2e_kg_per_device, device_hours, service_life_years):
    """The share of manufacturing CO2e charged to ``device_hours`` of use."""
    return (np.asarray(embodied_co2e_kg_per_device, dtype=float) * device_hours
            / (np.asarray(service_life_years, dtype=float) * HOURS_PER_YEAR))
