"""Resolve a scenario's site into grid intensity, PUE and electricity price, with provenance."""

from __future__ import annotations

from dataclasses import dataclass

from planner.model.defaults import Defaults
from planner.model.grid import (
    cloud_region_intensity,
    country_code,
    country_intensity,
    region_country,
)
from planner.model.scenario import SiteSpec
from planner.model.water import resolve_water


@dataclass(frozen=True)
class ResolvedSite:
    """The numbers a site contributes, each with where it came from."""

    carbon_intensity_g_per_kwh: float
    intensity_label: str
    intensity_year: str
    intensity_source: str
    pue: float
    pue_basis: str
    electricity_usd_per_kwh: float
    electricity_basis: str
    cloud_provider: str | None
    cloud_region: str | None
    wue_l_per_kwh: float
    wue_basis: str
    water_offsite_l_per_kwh: float
    water_offsite_basis: str
    market_intensity_g_per_kwh: float  # NaN: no contractual factor given (no market figure)
    market_basis: str
    country: str | None = None  # ISO 3166 alpha-3: the given country, or the cloud region's


def resolve_site(site: SiteSpec, defaults: Defaults) -> ResolvedSite:
    """Apply the user's values first, then the grid data, then the stated defaults."""
    if site.carbon_intensity_g_per_kwh is not None:
        g, label, year, source = (site.carbon_intensity_g_per_kwh, "given by the user", "-",
                                  "user input")
    elif site.cloud_provider and site.cloud_region:
        r = cloud_region_intensity(site.cloud_provider, site.cloud_region)
        g, label, year, source = r.g_per_kwh, r.label, r.year, r.source
    elif site.country:
        r = country_intensity(site.country)
        g, label, year, source = r.g_per_kwh, r.label, r.year, r.source
    else:
        a = defaults.carbon_intensity_g_per_kwh
        g, label, year, source = a.value, "world average (default)", "2023", defaults.cite(a)
    pue = site.pue if site.pue is not None else defaults.pue.value
    pue_basis = "user input" if site.pue is not None else f"default: {defaults.cite(defaults.pue)}"
    price = site.electricity_usd_per_kwh
    price_basis = "user input"
    if price is None:
        price = defaults.electricity_usd_per_kwh.value
        price_basis = f"default: {defaults.cite(defaults.electricity_usd_per_kwh)}"
    water = resolve_water(country=site.country, cloud_provider=site.cloud_provider,
                          cloud_region=site.cloud_region, wue_l_per_kwh=site.wue_l_per_kwh,
                          water_offsite_l_per_kwh=site.water_offsite_l_per_kwh)
    market, market_basis = market_intensity(site, g)
    if site.cloud_provider and site.cloud_region:
        country = region_country(site.cloud_provider, site.cloud_region)
    else:
        country = country_code(site.country) if site.country else None
    return ResolvedSite(g, label, year, source, pue, pue_basis, price, price_basis,
                        site.cloud_provider, site.cloud_region, water.wue_l_per_kwh,
                        water.wue_basis, water.water_offsite_l_per_kwh,
                        water.water_offsite_basis, market, market_basis, country)


def market_intensity(site: SiteSpec, location_g_per_kwh: float) -> tuple[float, str]:
    """Market-based intensity (GHG Protocol Scope 2 Guidance, 2015) where the user gives one.

    A contractual emission factor applies to all electricity. A carbon-free-energy share
    covers that share at 0 g/kWh and leaves the rest at the grid average; the Guidance asks for
    the residual mix there, which is not bundled, so the grid average stands in for it (stated
    in the basis). Neither given: NaN, no market-based figure.
    """
    if site.market_emission_factor_g_per_kwh is not None:
        return (float(site.market_emission_factor_g_per_kwh),
                "user input: contractual emission factor")
    if site.carbon_free_energy_share is not None:
        share = float(site.carbon_free_energy_share)
        return ((1.0 - share) * location_g_per_kwh,
                f"user input: {share:.0%} carbon-free energy, the rest at the grid average "
                "(standing in for the residual mix)")
    return float("nan"), "not given (no contractual emission factor or carbon-free share)"
