"""Cost: cloud (price per device-hour, less a discount) or on-premises (amortised purchase
price plus the electricity the facility draws)."""

from __future__ import annotations

import numpy as np

from planner.model.units import HOURS_PER_YEAR


def cloud_cost_usd(price_usd_per_device_hour, device_hours, discount=0.0):
    """On-demand price × device-hours × (1 − discount); the price includes power and hosting."""
    return np.asarray(price_usd_per_device_hour, dtype=float) * device_hours * (1.0 - discount)


def on_prem_cost_usd(purchase_price_usd, device_hours, service_life_years,
                     energy_kwh, electricity_usd_per_kwh):
    """Straight-line amortisation of the purchase over the service life, plus electricity."""
    capital = (np.asarray(purchase_price_usd, dtype=float) * device_hours
               / (np.asarray(service_life_years, dtype=float) * HOURS_PER_YEAR))
    return capital + np.asarray(energy_kwh, dtype=float) * electricity_usd_per_kwh
