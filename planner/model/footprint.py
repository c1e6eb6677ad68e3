"""The footprint of device-hours: energy (device, host, facility), CO2e (operational,
embodied) and cost (cloud, on-premises, the chosen one), for arrays of any broadcast shape.

Every phase calls ``footprint``: a training run, a year of serving, a lever's one-off
distillation, every Monte Carlo draw and the per-request figures of one replica. A new
quantity (water, market-based CO2e, ...) is one more field of ``Rates`` and ``Footprint``
and one more line here.

Boundaries: ``co2e_kg`` is operational scope 2 location-based (grid average);
``market_co2e_kg`` scope 2 market-based (a contractual factor or carbon-free share the user
gives; NaN otherwise; GHG Protocol Scope 2 Guidance, 2015); ``embodied_co2e_kg`` manufacturing,
scope 3; water on site (WUE × IT energy) and off site (generation), ``water.py``.

Formulas: energy ``energy.energy_breakdown_kwh`` (host share, then PUE: The Green Grid, White
Paper 49, 2012); operational CO2e ``carbon.operational_co2e_kg``; embodied CO2e amortised over
the service life and charged for the hours used (Gupta et al. 2021, Chasing Carbon, HPCA;
Lannelongue et al. 2021, Green Algorithms); cost ``cost.cloud_cost_usd`` and
``cost.on_prem_cost_usd`` (straight-line amortisation plus electricity).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

from planner.model import carbon, cost, energy, water
from planner.model.frames import float_columns

# The grid columns ``Rates.from_frame`` reads (every planning grid carries them).
RATE_COLUMNS = ("host_power_fraction", "pue", "carbon_intensity_g_per_kwh",
                "embodied_co2e_kg_per_device", "service_life_years", "price_usd_per_device_hour",
                "cloud_discount", "purchase_price_usd", "electricity_usd_per_kwh",
                "market_carbon_intensity_g_per_kwh", "wue_l_per_kwh", "water_offsite_l_per_kwh")


@dataclass(frozen=True)
class Rates:
    """What turns device-hours into a footprint at one site and price (arrays or scalars)."""

    host_power_fraction: np.ndarray  # host draw as a share of the device draw [1]
    pue: np.ndarray  # facility energy / IT energy [1]
    carbon_intensity_g_per_kwh: np.ndarray  # grid intensity [g CO2e/kWh]
    embodied_co2e_kg_per_device: np.ndarray  # manufacturing footprint [kg CO2e]
    service_life_years: np.ndarray  # amortisation period [years]
    price_usd_per_device_hour: np.ndarray  # cloud on-demand price [USD/h]
    cloud_discount: np.ndarray  # reserved or spot discount [1]
    purchase_price_usd: np.ndarray  # purchase price per device [USD]
    electricity_usd_per_kwh: np.ndarray  # on-premises electricity [USD/kWh]
    on_prem: np.ndarray  # bool: the chosen cost is the on-premises one
    # Not given: NaN, so the figures they make are missing, never a silent zero.
    market_carbon_intensity_g_per_kwh: np.ndarray = np.nan  # contractual [g CO2e/kWh]
    wue_l_per_kwh: np.ndarray = np.nan  # on-site water per kWh of IT energy [L/kWh]
    water_offsite_l_per_kwh: np.ndarray = np.nan  # water consumed generating a kWh [L/kWh]

    @classmethod
    def from_columns(cls, c: Mapping[str, np.ndarray]) -> Rates:
        """From arrays named as the grid's columns (``on_prem`` a bool array)."""
        return cls(
            host_power_fraction=c["host_power_fraction"], pue=c["pue"],
            carbon_intensity_g_per_kwh=c["carbon_intensity_g_per_kwh"],
            embodied_co2e_kg_per_device=c["embodied_co2e_kg_per_device"],
            service_life_years=c["service_life_years"],
            price_usd_per_device_hour=c["price_usd_per_device_hour"],
            cloud_discount=c["cloud_discount"], purchase_price_usd=c["purchase_price_usd"],
            electricity_usd_per_kwh=c["electricity_usd_per_kwh"], on_prem=c["on_prem"],
            market_carbon_intensity_g_per_kwh=c["market_carbon_intensity_g_per_kwh"],
            wue_l_per_kwh=c["wue_l_per_kwh"],
            water_offsite_l_per_kwh=c["water_offsite_l_per_kwh"])

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Rates:
        """From a planning grid's columns, one value per row."""
        c = float_columns(frame, RATE_COLUMNS)
        c["on_prem"] = (frame["pricing_mode"] == "on_prem").to_numpy()
        return cls.from_columns(c)

    def with_values(self, **changes) -> Rates:
        """The same rates with some fields replaced (e.g. a Monte Carlo draw's factors)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Footprint:
    """Energy, CO2e and cost of some device-hours; field names are the report's columns."""

    device_energy_kwh: np.ndarray
    host_energy_kwh: np.ndarray
    facility_energy_kwh: np.ndarray
    energy_kwh: np.ndarray
    co2e_kg: np.ndarray  # operational, scope 2 location-based (grid average)
    embodied_co2e_kg: np.ndarray  # manufacturing, scope 3, amortised
    total_co2e_kg: np.ndarray  # location-based operational + embodied
    market_co2e_kg: np.ndarray  # operational, scope 2 market-based; NaN: no factor given
    market_total_co2e_kg: np.ndarray  # market-based operational + embodied
    water_onsite_l: np.ndarray  # data-centre cooling: WUE × IT energy
    water_offsite_l: np.ndarray  # electricity generation: grid L/kWh × all energy
    water_l: np.ndarray
    cloud_cost_usd: np.ndarray
    on_prem_cost_usd: np.ndarray
    cost_usd: np.ndarray  # the chosen pricing mode's

    def columns(self) -> dict[str, np.ndarray]:
        """Every field by name, in report order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def footprint(device_hours, power_w, rates: Rates, *, charged_device_hours=None,
              embodied_device_hours=None, owned_device_hours=None) -> Footprint:
    """The footprint of devices drawing ``power_w`` [W] for ``device_hours`` [h].

    The hours charged for rent, manufacturing CO2e and purchase are ``device_hours`` unless
    ``charged_device_hours`` says otherwise (per-request figures: energy as J per request
    over 1000/3600 h, charged for the replica's device-hours); ``embodied_device_hours``
    (a user's device: only while it serves) and ``owned_device_hours`` (an owned fleet: all
    year at its peak size) override those two alone.
    """
    charged = device_hours if charged_device_hours is None else charged_device_hours
    embodied_h = charged if embodied_device_hours is None else embodied_device_hours
    owned = charged if owned_device_hours is None else owned_device_hours
    rented = charged
    parts = energy.energy_breakdown_kwh(power_w, device_hours, rates.host_power_fraction,
                                        rates.pue)
    co2e = carbon.operational_co2e_kg(parts["energy_kwh"], rates.carbon_intensity_g_per_kwh)
    embodied = carbon.embodied_co2e_kg(rates.embodied_co2e_kg_per_device, embodied_h,
                                       rates.service_life_years)
    cloud = cost.cloud_cost_usd(rates.price_usd_per_device_hour, rented, rates.cloud_discount)
    on_prem = cost.on_prem_cost_usd(rates.purchase_price_usd, owned, rates.service_life_years,
                                    parts["energy_kwh"], rates.electricity_usd_per_kwh)
    market = carbon.operational_co2e_kg(parts["energy_kwh"],
                                        rates.market_carbon_intensity_g_per_kwh)
    onsite = water.onsite_water_l(parts["device_energy_kwh"] + parts["host_energy_kwh"],
                                  rates.wue_l_per_kwh)
    offsite = water.offsite_water_l(parts["energy_kwh"], rates.water_offsite_l_per_kwh)
    return Footprint(**parts, co2e_kg=co2e, embodied_co2e_kg=embodied,
                     total_co2e_kg=co2e + embodied, market_co2e_kg=market,
                     market_total_co2e_kg=market + embodied, water_onsite_l=onsite,
                     water_offsite_l=offsite, water_l=onsite + offsite, cloud_cost_usd=cloud,
                     on_prem_cost_usd=on_prem, cost_usd=np.where(rates.on_prem, on_prem, cloud))
