"""Water: on-site (data-centre cooling, WUE × IT energy) and off-site (the water consumed
generating the electricity, the grid's litres per kWh × all energy drawn).

WUE (water usage effectiveness, The Green Grid WP#35, 2011) is the site's water over its IT
energy [L/kWh]; providers' fleet averages and a sourced default are in ``profiles/water.yaml``.
The grid's water intensity is the generation-weighted mean of per-source consumption factors
(Macknick et al. 2012, Environ. Res. Lett. 7 045802) over the per-source generation in
CodeCarbon's bundled ``global_energy_mix.json``, read without importing CodeCarbon (as the
grid intensity is, ``grid.py``). Consumption (evaporated), not withdrawal, is counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from planner.errors import ScenarioError
from planner.model.grid import cloud_region_country, codecarbon_version, country_code, energy_mix
from planner.model.yamlio import read_file

WATER_PATH = Path(__file__).resolve().parents[2] / "profiles" / "water.yaml"
L_PER_GAL = 3.785411784  # US gallon (NIST Handbook 44)
GAL_PER_MWH_TO_L_PER_KWH = L_PER_GAL / 1000.0


@dataclass(frozen=True)
class SiteWater:
    """A site's on-site WUE and off-site water intensity, each with where it came from."""

    wue_l_per_kwh: float
    wue_basis: str
    water_offsite_l_per_kwh: float
    water_offsite_basis: str


@lru_cache(maxsize=1)
def water_data() -> dict:
    """``profiles/water.yaml``, parsed once."""
    return read_file(WATER_PATH, "defaults", ScenarioError)


def _cite(key: str) -> str:
    src = water_data()["sources"][key]
    return f"{src['title']} ({src['date']})"


def source_factors_l_per_kwh() -> dict[str, float]:
    """Litres consumed per kWh generated, per CodeCarbon generation column."""
    return {col: float(f["value"]) * GAL_PER_MWH_TO_L_PER_KWH
            for col, f in water_data()["generation_water_gal_per_mwh"].items()}


def mix_water_l_per_kwh(mix_row: dict) -> float:
    """Generation-weighted litres per kWh of one mix (TWh per source, CodeCarbon's columns)."""
    factors = source_factors_l_per_kwh()
    twh = np.array([float(mix_row.get(col) or 0.0) for col in factors])
    total = twh.sum()
    if not total > 0:
        return float("nan")
    return float(twh @ np.array(list(factors.values())) / total)


@lru_cache(maxsize=1)
def _world_row() -> dict:
    """The sum of every country's generation (TWh per source), once: ~16 ms a call, and each
    plan of a site without a country resolves it (the returned dict is only read)."""
    rows = energy_mix().values()
    return {col: sum(float(r.get(col) or 0.0) for r in rows) for col in source_factors_l_per_kwh()}


def grid_water(country: str | None) -> tuple[float, str]:
    """(L/kWh, basis) of a country's generation mix, or of the world's when None."""
    cc = f"CodeCarbon {codecarbon_version()} global_energy_mix.json (Ember / Our World in Data)"
    if country is None:
        value = mix_water_l_per_kwh(_world_row())
        return value, (f"world generation mix (sum of the {len(energy_mix())} countries in {cc}) "
                       f"× {_cite('macknick-2012')}")
    iso = country_code(country)
    row = energy_mix().get(iso)
    if row is None:
        raise ScenarioError(f"site.country: unknown country code {country!r} for the water "
                            "intensity of its grid; use an ISO 3166 code such as USA, FRA")
    return mix_water_l_per_kwh(row), (f"{row['country_name']} generation mix {row.get('year')} "
                                      f"({cc}) × {_cite('macknick-2012')}")


def provider_wue(provider: str | None) -> tuple[float, str]:
    """(WUE L/kWh, basis): the provider's published fleet average, else the sourced default."""
    table = water_data()["wue_l_per_kwh"]
    entry = table["providers"].get(provider or "")
    if entry is not None:
        return float(entry["value"]), (f"{provider} fleet average {entry['year']}: "
                                       f"{_cite(entry['source'])}")
    d = table["default"]
    why = (f"{provider} publishes no WUE; " if provider else "")
    return float(d["value"]), f"default: {why}{d['note']}: {_cite(d['source'])}"


def resolve_water(*, country: str | None, cloud_provider: str | None, cloud_region: str | None,
                  wue_l_per_kwh: float | None,
                  water_offsite_l_per_kwh: float | None) -> SiteWater:
    """The user's values first, then the provider's report and the grid's mix, then defaults."""
    if wue_l_per_kwh is not None:
        wue, wue_basis = float(wue_l_per_kwh), "user input"
    else:
        wue, wue_basis = provider_wue(cloud_provider)
    if water_offsite_l_per_kwh is not None:
        off, off_basis = float(water_offsite_l_per_kwh), "user input"
    else:
        where = country
        if cloud_provider and cloud_region:
            where = cloud_region_country(cloud_provider, cloud_region) or country
        off, off_basis = grid_water(where)
    return SiteWater(wue, wue_basis, off, off_basis)


def onsite_water_l(it_energy_kwh, wue_l_per_kwh):
    """On-site water [L]: IT energy (devices + host) [kWh] × WUE [L/kWh] (Green Grid WP#35)."""
    return np.asarray(it_energy_kwh, dtype=float) * wue_l_per_kwh


def offsite_water_l(energy_kwh, water_offsite_l_per_kwh):
    """Off-site water [L]: all energy drawn from the grid [kWh] × its water intensity [L/kWh]."""
    return np.asarray(energy_kwh, dtype=float) * water_offsite_l_per_kwh
