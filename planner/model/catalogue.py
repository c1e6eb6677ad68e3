"""The hardware catalogue: every profile as one row of a DataFrame in SI units.

The planning functions work on columns of this table, so a grid of scenarios × hardware is
one vectorised computation. Column names carry their unit; ``*_basis`` columns say where a
figure came from (``spec`` for the vendor specification, ``measured``, or ``missing``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.model.frames import object_strings
from planner.model.grid import region_country
from planner.model.hardware import PRECISIONS, HardwareProfile

GB = 1e9  # profiles use decimal gigabytes
TERA = 1e12


def _value(fig) -> float:
    return float(fig.value) if fig is not None else np.nan


def _profile_row(p: HardwareProfile) -> dict:
    row: dict = {
        "hardware_id": p.id,
        "name": p.name,
        "vendor": p.vendor,
        "kind": p.kind,
        "placement": p.placement,
        "year": p.year,
        "memory_bytes": _value(p.memory_gb) * GB,
        "memory_bandwidth_bytes_per_s": _value(p.memory_bandwidth_gb_per_s) * GB,
        "rated_power_w": _value(p.rated_power_w),
        "rated_power_basis": p.rated_power_w.basis if p.rated_power_w else "missing",
        "typical_power_w": _value(p.typical_power_w),
        "typical_power_basis": p.typical_power_w.basis if p.typical_power_w else "missing",
        "typical_power_scope": p.typical_power_w.scope if p.typical_power_w else "device",
        "idle_power_w": _value(p.idle_power_w),
        "interconnect": p.interconnect.name if p.interconnect else None,
        "interconnect_bytes_per_s": (
            _value(p.interconnect.bandwidth_gb_per_s) * GB if p.interconnect else np.nan
        ),
        "devices_per_node": float(p.devices_per_node) if p.devices_per_node else np.nan,
        "intra_node_bytes_per_s": _value(p.intra_node_bandwidth_gb_per_s) * GB,
        "inter_node_bytes_per_s_per_device": (
            _value(p.inter_node_bandwidth_gb_per_s_per_device) * GB),
        "host_power_w_per_node": _value(p.host_power_w_per_node),
        "achievable_matmul_flops_per_s": _value(p.achievable_matmul_tflops) * TERA,
        "purchase_price_usd": _value(p.purchase_price_usd),
        "purchase_price_date": p.purchase_price_usd.date if p.purchase_price_usd else None,
        "embodied_co2e_kg_per_device": _value(p.embodied_co2e_kg_per_device),
    }
    for precision in PRECISIONS:
        row[f"peak_flops_per_s_{precision}"] = _value(p.dense_tflops.get(precision)) * TERA
    cheapest = min(_on_demand(p), key=lambda c: c.usd_per_device_hour, default=None)
    row["cloud_price_usd_per_device_hour"] = (
        cheapest.usd_per_device_hour if cheapest else np.nan
    )
    row["cloud_price_where"] = (
        f"{cheapest.provider} {cheapest.region} {cheapest.instance or ''} ({cheapest.date})".strip()
        if cheapest else None
    )
    row["sources"] = "; ".join(
        f"[{key}] {s.title}" + (f" <{s.url}>" if s.url else "") + f" ({s.date})"
        for key, s in p.sources.items()
    )
    return row


def _on_demand(profile: HardwareProfile) -> list:
    """The profile's on-demand cloud prices (reserved and spot rows are for reference)."""
    return [c for c in profile.cloud_prices if c.pricing == "on_demand"]


def catalogue_frame(profiles: tuple[HardwareProfile, ...] | list[HardwareProfile]) -> pd.DataFrame:
    """One row per profile with SI-unit spec columns, indexed by position."""
    frame = object_strings(pd.DataFrame([_profile_row(p) for p in profiles]))
    if len(frame):
        frame["assumed_rated_power_w"] = assumed_rated_power_w(frame)
    return frame


def assumed_rated_power_w(frame: pd.DataFrame) -> np.ndarray:
    """A stated estimate of rated power where none is published (NaN where one is).

    With a published measured draw, rating = draw ÷ the kind's default busy share is not
    known here, so the draw itself is used (it bounds idle power sensibly). Otherwise the
    device's dense bf16 (or fp16; int8 for NPUs that publish only TOPS) peak × the median
    watts per TFLOPS of published devices of the same placement released within a year of it:
    devices of one generation share a process node and similar efficiency. Low confidence;
    marked "peer estimate" in results.
    """
    float_peak = frame["peak_flops_per_s_bf16"].fillna(frame["peak_flops_per_s_fp16"])
    int_peak = frame["peak_flops_per_s_int8"]
    rated = frame["rated_power_w"].to_numpy(float)
    year = frame["year"].astype(float).to_numpy()
    placement = frame["placement"].to_numpy()
    out = np.full(len(frame), np.nan)
    for i in np.flatnonzero(np.isnan(rated)):
        if not np.isnan(frame["typical_power_w"].iloc[i]):
            out[i] = frame["typical_power_w"].iloc[i]
            continue
        # Compare on bf16/fp16 where the device publishes it, else on int8 TOPS (edge NPUs).
        peak = (float_peak if not np.isnan(float_peak.iloc[i]) else int_peak).to_numpy(float)
        w_per_op = rated / peak
        peers = ((placement == placement[i]) & (np.abs(year - year[i]) <= 1)
                 & np.isfinite(w_per_op))
        if peers.any() and not np.isnan(peak[i]):
            out[i] = float(np.median(w_per_op[peers])) * peak[i]
    return out


PROVIDER_NAMES = {"aws": "AWS", "gcp": "Google Cloud", "azure": "Azure"}


def _where(c, note: str = "") -> str:
    text = f"{c.provider} {c.region} {c.instance or ''}".strip() + f" ({c.date})"
    return f"{text}; {note}" if note else text


def _cheapest(prices: list):
    return min(prices, key=lambda c: c.usd_per_device_hour)


def cloud_price_for(profile: HardwareProfile, provider: str | None, region: str | None,
                    country: str | None = None,
                    any_provider: bool = False) -> tuple[float, str] | None:
    """The on-demand price that applies at a site, as (USD per device-hour, where it applies
    and why), NaN with the reason where none does; None for a profile without prices.

    With a cloud region: that provider's price there, else in the same country, else in
    another of its regions (each said); a device the provider does not rent is "not offered"
    (NaN), or with ``any_provider`` priced by its own provider in the site's country, else in
    another region. With a country: a price in that country, else the cheapest anywhere (said).
    Without either: the cheapest anywhere. Every price names its provider, region and date.
    """
    prices = _on_demand(profile)
    if not prices:
        return None

    def local(cs: list) -> list:
        return [c for c in cs if country and region_country(c.provider, c.region) == country]

    if provider:
        name = PROVIDER_NAMES.get(provider, provider)
        same = [c for c in prices if c.provider == provider]
        exact = [c for c in same if c.region == region]
        if exact:
            return _cheapest(exact).usd_per_device_hour, _where(_cheapest(exact))
        for found, how in ((local(same), "in the same country"), (same, "in another region")):
            if found:
                c = _cheapest(found)
                return c.usd_per_device_hour, _where(
                    c, f"no {name} {region} price in the profile; {name}'s price {how}")
        if not any_provider:
            return np.nan, (f"not offered by {name} (the profile has no {name} price; "
                            "pricing.cloud_providers: any prices it at its own provider)")
        for found, how in ((local(prices), "in the same country"), (prices, "in another region")):
            if found:
                c = _cheapest(found)
                return c.usd_per_device_hour, _where(
                    c, f"not offered by {name}; its own provider's price {how}")
    if country:
        near = local(prices)
        if near:
            return _cheapest(near).usd_per_device_hour, _where(_cheapest(near))
        c = _cheapest(prices)
        return c.usd_per_device_hour, _where(c, f"no price in {country} in the profile")
    c = _cheapest(prices)
    return c.usd_per_device_hour, _where(c)


def cloud_prices_for(profiles, provider: str | None, region: str | None,
                     country: str | None = None,
                     any_provider: bool = False) -> dict[str, tuple[float, str]]:
    """Hardware id → (USD per device-hour, where the price applies) for a site's cloud; NaN
    with the reason for a device the site's provider does not offer."""
    prices = {}
    for p in profiles:
        found = cloud_price_for(p, provider, region, country, any_provider)
        if found is not None:
            prices[p.id] = found
    return prices


# Columns of `python -m planner profiles --csv`, human units for people reading the CSV.
EXPORT_COLUMNS = {
    "hardware_id": "hardware_id",
    "name": "name",
    "vendor": "vendor",
    "kind": "kind",
    "placement": "placement",
    "year": "year",
    "memory_gb": ("memory_bytes", 1 / GB),
    "memory_bandwidth_gb_per_s": ("memory_bandwidth_bytes_per_s", 1 / GB),
    **{f"dense_tflops_{p}": (f"peak_flops_per_s_{p}", 1 / TERA) for p in PRECISIONS},
    "rated_power_w": "rated_power_w",
    "rated_power_basis": "rated_power_basis",
    "typical_power_w": "typical_power_w",
    "typical_power_basis": "typical_power_basis",
    "interconnect": "interconnect",
    "interconnect_gb_per_s": ("interconnect_bytes_per_s", 1 / GB),
    "devices_per_node": "devices_per_node",
    "cloud_price_usd_per_device_hour": "cloud_price_usd_per_device_hour",
    "cloud_price_where": "cloud_price_where",
    "purchase_price_usd": "purchase_price_usd",
    "embodied_co2e_kg_per_device": "embodied_co2e_kg_per_device",
    "sources": "sources",
}


def export_frame(catalogue: pd.DataFrame) -> pd.DataFrame:
    """The catalogue in the human units of the profile files, for CSV export."""
    out = {}
    for name, spec in EXPORT_COLUMNS.items():
        if isinstance(spec, tuple):
            column, factor = spec
            out[name] = catalogue[column] * factor
        else:
            out[name] = catalogue[spec]
    return pd.DataFrame(out)
