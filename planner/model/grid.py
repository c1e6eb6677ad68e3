"""Grid carbon intensity from CodeCarbon's bundled, dated data files.

Countries: ``private_infra/global_energy_mix.json`` (Ember / Our World in Data, per year).
US states: ``private_infra/2023/usa_emissions.json`` (EPA eGRID2023, lbs CO2e per MWh).
GCP regions: ``cloud/impact.csv`` (Google's published per-region intensity).
AWS and Azure regions: located by ``profiles/cloud_regions.yaml``, then the country or state.

The files are read from CodeCarbon's installed package folder without importing CodeCarbon,
so the model stays free of the tracker and its start-up cost.
"""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from planner.errors import ScenarioError
from planner.model.paths import PROFILES_DIR
from planner.model.yamlio import read_file

REGIONS_PATH = PROFILES_DIR / "cloud_regions.yaml"
LBS_PER_MWH_TO_G_PER_KWH = 453.59237 / 1000.0  # 1 lb = 453.59237 g; 1 MWh = 1000 kWh


@dataclass(frozen=True)
class GridIntensity:
    """A grid carbon intensity with what it covers, its data year and its source."""

    g_per_kwh: float
    label: str
    year: str
    source: str


@lru_cache(maxsize=1)
def codecarbon_data_dir() -> Path:
    """The ``data`` folder of the installed CodeCarbon package (found, not imported)."""
    spec = importlib.util.find_spec("codecarbon")
    if spec is None or not spec.submodule_search_locations:
        raise ScenarioError(
            "CodeCarbon is not installed, so its grid data is unavailable; "
            "install it (pip install -r requirements.txt) or give site.carbon_intensity_g_per_kwh"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@lru_cache(maxsize=1)
def codecarbon_version() -> str:
    try:
        return importlib.metadata.version("codecarbon")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=1)
def _energy_mix() -> dict:
    path = codecarbon_data_dir() / "private_infra" / "global_energy_mix.json"
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _us_states() -> dict:
    path = codecarbon_data_dir() / "private_infra" / "2023" / "usa_emissions.json"
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _gcp_regions() -> dict[str, dict]:
    path = codecarbon_data_dir() / "cloud" / "impact.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {row["region"]: row for row in csv.DictReader(fh) if row["provider"] == "gcp"}


@lru_cache(maxsize=1)
def _other_regions() -> dict:
    return read_file(REGIONS_PATH, "regions", ScenarioError)


def _iso3(code: str) -> str:
    code = code.strip().upper()
    if len(code) == 2:
        try:
            import pycountry  # a CodeCarbon dependency; optional here

            match = pycountry.countries.get(alpha_2=code)
        except ImportError:
            match = None
        if match is not None:
            return match.alpha_3
    return code


def country_intensity(code: str) -> GridIntensity:
    """Intensity of a country's grid by ISO 3166 alpha-3 (or alpha-2) code."""
    mix = _energy_mix()
    iso = _iso3(code)
    if iso not in mix:
        raise ScenarioError(
            f"site.country: unknown country code {code!r}; use an ISO 3166 code such as "
            f"USA, FRA, DEU, SWE, IND (CodeCarbon has {len(mix)} countries)"
        )
    row = mix[iso]
    return GridIntensity(
        g_per_kwh=float(row["carbon_intensity"]),
        label=f"{row['country_name']} ({iso}) national grid",
        year=str(row.get("year", "unknown")),
        source=(f"CodeCarbon {codecarbon_version()} global_energy_mix.json "
                "(Ember / Our World in Data)"),
    )


def us_state_intensity(state: str) -> GridIntensity:
    """Intensity of a US state's grid from EPA eGRID via CodeCarbon."""
    data = _us_states()
    key = state.strip().lower()
    if key not in data or key.startswith("_"):
        states = sorted(k for k in data if not k.startswith("_"))
        raise ScenarioError(f"unknown US state {state!r}; known: {', '.join(states)}")
    meta = data["_source"]
    return GridIntensity(
        g_per_kwh=float(data[key]["emissions"]) * LBS_PER_MWH_TO_G_PER_KWH,
        label=f"{key.title()} (US state grid)",
        year=str(meta.get("year", "unknown")),
        source=(f"CodeCarbon {codecarbon_version()} usa_emissions.json "
                f"({meta.get('name', 'EPA eGRID')})"),
    )


def region_country(provider: str, region: str) -> str | None:
    """The ISO 3166 alpha-3 country a cloud region is in (GCP: CodeCarbon's impact.csv; AWS
    and Azure: profiles/cloud_regions.yaml), or None where unknown."""
    provider = provider.strip().lower()
    if provider == "gcp":
        row = _gcp_regions().get(region)
        return (row.get("countryIsoCode") or None) if row else None
    entry = _other_regions()["regions"].get(provider, {}).get(region)
    return entry.get("country") if entry else None


def cloud_region_intensity(provider: str, region: str) -> GridIntensity:
    """Intensity of a cloud region: GCP's own figure, or the grid where AWS/Azure regions sit."""
    provider = provider.strip().lower()
    if provider == "gcp":
        rows = _gcp_regions()
        if region not in rows:
            raise ScenarioError(
                f"site.cloud_region: unknown GCP region {region!r}; "
                f"known: {', '.join(sorted(rows))}"
            )
        row = rows[region]
        where = ", ".join(x for x in (row.get("city"), row.get("country_name")) if x)
        return GridIntensity(
            g_per_kwh=float(row["impact"]),
            label=f"GCP {region} ({where})",
            year="as published by Google, bundled in CodeCarbon",
            source=(f"CodeCarbon {codecarbon_version()} cloud/impact.csv "
                    f"({row.get('source', 'Google')})"),
        )
    table = _other_regions()["regions"]
    if provider not in table:
        raise ScenarioError(
            f"site.cloud_provider: unknown provider {provider!r}; allowed: gcp, {', '.join(table)}"
        )
    if region not in table[provider]:
        raise ScenarioError(
            f"site.cloud_region: unknown {provider} region {region!r}; "
            f"known: {', '.join(sorted(table[provider]))}"
        )
    loc = table[provider][region]
    base = us_state_intensity(loc["us_state"]) if loc.get("us_state") else country_intensity(
        loc["country"]
    )
    return GridIntensity(
        g_per_kwh=base.g_per_kwh,
        label=f"{provider.upper()} {region} ({loc['location']}): {base.label}",
        year=base.year,
        source=base.source,
    )


def energy_mix() -> dict[str, dict]:
    """CodeCarbon's per-country generation (TWh per source, data year), by ISO alpha-3."""
    return _energy_mix()


def country_code(code: str) -> str:
    """The ISO alpha-3 code CodeCarbon's country data use (alpha-2 converted where known)."""
    return _iso3(code)


def cloud_region_country(provider: str, region: str) -> str | None:
    """The ISO alpha-3 country a cloud region sits in, or None where the data do not say."""
    provider = provider.strip().lower()
    if provider == "gcp":
        row = _gcp_regions().get(region)
        return (row.get("countryIsoCode") or None) if row else None
    loc = _other_regions()["regions"].get(provider, {}).get(region)
    return loc.get("country") if loc else None


def region_choices() -> list[dict[str, str]]:
    """Every selectable site: countries and cloud regions, with intensity, year and source."""
    out: list[dict[str, str]] = []
    for provider, regions in (("gcp", _gcp_regions()), *(_other_regions()["regions"].items())):
        for region in regions:
            g = cloud_region_intensity(provider, region)
            out.append({"kind": "cloud", "provider": provider, "region": region,
                        "label": g.label, "g_per_kwh": g.g_per_kwh, "year": g.year,
                        "source": g.source})
    for iso, row in sorted(_energy_mix().items(), key=lambda kv: kv[1]["country_name"]):
        out.append({"kind": "country", "provider": "", "region": iso,
                    "label": f"{row['country_name']} ({iso})",
                    "g_per_kwh": float(row["carbon_intensity"]), "year": str(row.get("year")),
                    "source": f"CodeCarbon {codecarbon_version()} global_energy_mix.json"})
    return out
