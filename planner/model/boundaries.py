"""Reporting boundaries: which part of the system and which GHG Protocol scope each figure of
the report covers. ``boundary_rows`` lists them per column for the CSV's ``boundaries``
section; ``boundary_legend`` says the same in one line for the terminal and the dashboard.

Scopes as the GHG Protocol defines them: purchased electricity is scope 2, reported both
location-based (the grid average) and market-based (the contractual instruments the buyer
holds) (Scope 2 Guidance, 2015); the devices' manufacturing is upstream scope 3 (Corporate
Value Chain Standard, 2011: category 2, capital goods, for an owner; category 1, purchased
services, for a cloud tenant), here amortised over the service life and charged for the
hours used. Energy is split at the device, the host (CPU, memory, network share) and the
facility overhead (PUE − 1: cooling, power conversion; The Green Grid WP#49, 2012).
"""

from __future__ import annotations

import pandas as pd

from planner.model.site import ResolvedSite

BOUNDARY_COLUMNS = ["of_section", "column", "boundary", "ghg_scope", "method"]

# (substring of the column name, boundary, scope, method); the first match wins.
_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("market_total_co2e", "operational electricity (market-based) + device manufacturing",
     "scope 2 market-based + scope 3", "market_co2e + embodied_co2e"),
    ("market_co2e", "operational electricity, market-based", "scope 2 market-based",
     "all energy × the contractual factor (or the non-carbon-free share × grid average)"),
    ("embodied_co2e", "device manufacturing, amortised over the service life",
     "scope 3 (manufacturing)", "embodied kg per device × hours used / service life"),
    ("total_co2e", "operational electricity (location-based) + device manufacturing",
     "scope 2 location-based + scope 3", "co2e + embodied_co2e"),
    ("co2e", "operational electricity, location-based (grid average)",
     "scope 2 location-based", "all energy × grid carbon intensity"),
    ("energy_j_per_request", "devices (accelerators or CPUs planned), busy", "energy: device",
     "busy power × devices × batch time / batch"),
    ("device_energy", "devices (accelerators or CPUs planned)", "energy: device",
     "device power × device-hours"),
    ("host_energy", "host share (CPU, memory, network of the servers)", "energy: host",
     "device energy × host power fraction"),
    ("facility_energy", "facility overhead (cooling, power conversion)", "energy: facility",
     "IT energy × (PUE − 1)"),
    ("energy", "device + host + facility", "energy: device + host + facility",
     "IT energy × PUE"),
    ("water_onsite", "on-site water: data-centre cooling", "water: on-site",
     "IT energy × WUE"),
    ("water_offsite", "off-site water: electricity generation", "water: off-site",
     "all energy × the grid's litres per kWh"),
    ("water", "on-site + off-site water consumption", "water: on-site + off-site",
     "water_onsite + water_offsite"),
)
_NOT_FIGURES = ("_vs_", "_basis", "intensity", "_kg_per_device", "_share", "break_even",
                "per_kwh")


#: Sections whose plain ``co2e`` columns are operational (location-based) + manufacturing.
TOTAL_CO2E_SECTIONS = ("levers", "lifecycle", "lifecycle_summary")


def boundary_of(column: str, section: str = "") -> tuple[str, str, str] | None:
    """(boundary, scope, method) of a report column, or None if it is no footprint figure."""
    if any(part in column for part in _NOT_FIGURES):
        return None
    if (section in TOTAL_CO2E_SECTIONS and "co2e" in column
            and not any(k in column for k in ("market", "embodied"))):
        column = "total_co2e"
    for key, boundary, scope, method in _RULES:
        if key in column:
            return boundary, scope, method
    return None


def boundary_rows(sections: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per footprint column of every section: its boundary, scope and method."""
    rows = [{"of_section": name, "column": col, "boundary": b[0], "ghg_scope": b[1],
             "method": b[2]}
            for name, frame in sections.items() for col in frame.columns
            if (b := boundary_of(col, name)) is not None]
    return pd.DataFrame(rows, columns=BOUNDARY_COLUMNS)


def boundary_legend(site: ResolvedSite) -> str:
    """The boundaries of a plan's figures in one line, with the site's water and market bases."""
    market = (f"market_co2e_kg scope 2 market-based at {site.market_intensity_g_per_kwh:.0f} "
              f"g/kWh ({site.market_basis})" if site.market_intensity_g_per_kwh == (
                  site.market_intensity_g_per_kwh) else
              "no market-based figure (give site.market_emission_factor_g_per_kwh or "
              "site.carbon_free_energy_share)")
    return (f"Boundaries: co2e_kg is operational scope 2 location-based; {market}; "
            "embodied_co2e_kg is manufacturing (scope 3); energy is device + host + facility; "
            f"water_l is on-site (WUE {site.wue_l_per_kwh:g} L/kWh) + off-site (grid "
            f"{site.water_offsite_l_per_kwh:.2f} L/kWh).")
