"""Resolve a scenario's site into grid intensity, PUE and electricity price, with provenance."""

from __future__ import annotations

from dataclasses import dataclass

from planner.model.defaults import Defaults
from planner.model.grid import cloud_region_intensity, country_intensity
from planner.model.scenario import SiteSpec


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
    return ResolvedSite(g, label, year, source, pue, pue_basis, price, price_basis,
                        site.cloud_provider, site.cloud_region)
