"""Attach to each hardware row the figures a plan needs, each with its provenance.

Order of preference for every figure: the user's own value, a calibration from measurement
records, the vendor specification (or a published measurement), then a stated default from
``profiles/defaults.yaml``. The ``*_basis`` columns say which one was used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.model.defaults import Defaults
from planner.model.frames import with_columns
from planner.model.site import ResolvedSite

# When the requested precision has no published peak, the nearest one that does is used.
PRECISION_FALLBACK = {
    "fp32": ["fp32", "tf32"],
    "tf32": ["tf32", "fp32"],
    "bf16": ["bf16", "fp16"],
    "fp16": ["fp16", "bf16"],
    "fp8": ["fp8", "int8", "bf16", "fp16"],
    "int8": ["int8", "fp8", "bf16", "fp16"],
    "int4": ["int4", "int8", "fp8"],
}

BASIS_USER = "user"
BASIS_CALIBRATED = "calibrated"
BASIS_SPEC = "spec"
BASIS_MEASURED = "measured (published)"
BASIS_DEFAULT = "default"
BASIS_MISSING = "missing"


def select_precision(frame: pd.DataFrame, precision: str) -> tuple[np.ndarray, np.ndarray]:
    """Peak FLOP/s and the precision actually used, per row (NaN / '' where none is published)."""
    peak = np.full(len(frame), np.nan)
    used = np.full(len(frame), "", dtype=object)
    for candidate in PRECISION_FALLBACK[precision]:
        col = frame[f"peak_flops_per_s_{candidate}"].to_numpy(dtype=float)
        take = np.isnan(peak) & ~np.isnan(col)
        peak[take] = col[take]
        used[take] = candidate
    return peak, used


class _NewColumns:
    """Columns computed for a frame, joined to it once at the end.

    Inserting ~25 columns one at a time into a DataFrame costs more than all the arithmetic
    here (each insert re-lays the block manager), so reads fall through to the frame and
    writes collect in a dict until ``joined()``.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.new: dict[str, object] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, name: str) -> pd.Series:
        if name in self.new:
            return pd.Series(np.broadcast_to(self.new[name], len(self.frame)),
                             index=self.frame.index, name=name)
        return self.frame[name]

    def __setitem__(self, name: str, values: object) -> None:
        self.new[name] = values

    def joined(self) -> pd.DataFrame:
        return with_columns(self.frame, self.new)


def _per_kind(defaults: Defaults, name: str, kinds: np.ndarray) -> np.ndarray:
    return np.array(defaults.per_kind(name, kinds), dtype=float)


# The fields of a resolved site that ``site_columns`` turns into grid columns.
SITE_FIELDS = ("pue", "carbon_intensity_g_per_kwh", "market_intensity_g_per_kwh",
               "market_basis", "wue_l_per_kwh", "wue_basis", "water_offsite_l_per_kwh",
               "water_offsite_basis", "electricity_usd_per_kwh")


def site_columns(edge: np.ndarray, site: ResolvedSite) -> dict[str, object]:
    """The grid columns that come from the site's ``SITE_FIELDS`` (PUE, grid intensity,
    water, electricity price), per row (``edge``: a user's device). The one place they are
    made: ``attach_assumptions`` and the site-independent grid memo (``memo.site_grid``)."""
    return {
        "pue": np.where(edge, 1.0, site.pue),
        "carbon_intensity_g_per_kwh": site.carbon_intensity_g_per_kwh,
        "market_carbon_intensity_g_per_kwh": site.market_intensity_g_per_kwh,
        "market_basis": site.market_basis,
        # A user's device has no facility: no cooling water on site (as its PUE is 1).
        "wue_l_per_kwh": np.where(edge, 0.0, site.wue_l_per_kwh),
        "wue_basis": np.where(edge, "edge device: no facility", site.wue_basis),
        "water_offsite_l_per_kwh": site.water_offsite_l_per_kwh,
        "water_offsite_basis": site.water_offsite_basis,
        "electricity_usd_per_kwh": site.electricity_usd_per_kwh,
    }


def attach_assumptions(
    frame: pd.DataFrame,
    *,
    defaults: Defaults,
    site: ResolvedSite,
    precision: str,
    utilisation_name: str,
    user_utilisation: float | None,
    user_power_w: float | None,
    cloud_discount: float,
    pricing_mode: str,
    service_life_years: float | None,
    calibration: pd.DataFrame | None = None,
    cloud_prices: dict[str, tuple[float, str]] | None = None,
) -> pd.DataFrame:
    """Return ``frame`` with peak, utilisation, power, carbon, price and life columns added.

    ``cloud_prices`` maps hardware id to (USD per device-hour, where) for the scenario's
    provider and region; otherwise the catalogue's cheapest listed price is used.
    """
    out = _NewColumns(frame)
    kinds = out["kind"].to_numpy()
    edge = (out["placement"] == "edge").to_numpy()
    n = len(out)

    peak, used = select_precision(out, precision)
    out["precision_used"] = used
    out["peak_flops_per_s"] = peak
    out["throughput_basis"] = np.where(np.isnan(peak), BASIS_MISSING, BASIS_SPEC)

    # Calibration rows keyed by (hardware_id, precision).
    cal_util = np.full(n, np.nan)
    cal_power = np.full(n, np.nan)
    if calibration is not None and len(calibration):
        keyed = calibration.set_index(["hardware_id", "precision"])
        for i, key in enumerate(zip(out["hardware_id"], used, strict=True)):
            if key in keyed.index:
                row = keyed.loc[key]
                row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
                cal_util[i] = float(row.get("utilisation", np.nan))
                cal_power[i] = float(row.get("busy_power_w", np.nan))

    default_util = _per_kind(defaults, utilisation_name, kinds)
    if user_utilisation is not None:
        out["utilisation"] = np.full(n, float(user_utilisation))
        out["utilisation_basis"] = BASIS_USER
    else:
        has_cal = ~np.isnan(cal_util)
        out["utilisation"] = np.where(has_cal, cal_util, default_util)
        out["utilisation_basis"] = np.where(has_cal, BASIS_CALIBRATED, BASIS_DEFAULT)
    out["bandwidth_utilisation"] = _per_kind(defaults, "memory_bandwidth_utilisation", kinds)

    # Where no rating is published the catalogue carries a stated estimate (see catalogue.py).
    rated = out["rated_power_w"].fillna(out["assumed_rated_power_w"]).to_numpy(dtype=float)
    rated_basis = np.where(out["rated_power_w"].isna(), "peer estimate", "spec")
    typical = out["typical_power_w"].to_numpy(dtype=float)
    typical_measured = (out["typical_power_basis"] == "measured").to_numpy() & ~np.isnan(typical)
    spec_busy = rated * _per_kind(defaults, "busy_power_fraction", kinds)
    if user_power_w is not None:
        busy = np.full(n, float(user_power_w))
        power_basis = np.full(n, BASIS_USER, dtype=object)
    else:
        has_cal = ~np.isnan(cal_power)
        busy = np.where(has_cal, cal_power, np.where(typical_measured, typical, spec_busy))
        power_basis = np.where(
            has_cal, BASIS_CALIBRATED,
            np.where(typical_measured, BASIS_MEASURED,
                     np.where(np.isnan(rated), BASIS_MISSING,
                              np.where(rated_basis == "peer estimate",
                                       "default: peer-estimated rating × busy share",
                                       "spec × default busy share"))))
    out["busy_power_w"] = busy
    out["power_basis"] = power_basis
    idle_published = out["idle_power_w"].to_numpy(dtype=float)
    idle_default = np.where(edge, defaults.edge.idle_power_w.value,
                            rated * _per_kind(defaults, "idle_power_fraction", kinds))
    out["idle_power_w"] = np.where(np.isnan(idle_published), idle_default, idle_published)
    # A user's measured power is system power per device (host share included, as Patterson
    # et al. 2021 report it), so no host share is added on top of it.
    system_scope = typical_measured & (out["typical_power_scope"] == "system").to_numpy()
    uses_system = (user_power_w is not None) | (system_scope & np.isnan(cal_power))
    no_host = edge | uses_system
    out["host_power_fraction"] = np.where(no_host, 0.0,
                                          _per_kind(defaults, "host_power_fraction", kinds))
    for name, values in site_columns(edge, site).items():
        out[name] = values

    embodied = out["embodied_co2e_kg_per_device"].to_numpy(dtype=float)
    embodied_default = np.where(edge, defaults.edge.embodied_co2e_kg_per_device.value,
                                _per_kind(defaults, "embodied_co2e_kg_per_device", kinds))
    out["embodied_basis"] = np.where(np.isnan(embodied), BASIS_DEFAULT, BASIS_SPEC)
    out["embodied_co2e_kg_per_device"] = np.where(np.isnan(embodied), embodied_default, embodied)
    life = service_life_years if service_life_years is not None else np.where(
        edge, defaults.edge.service_life_years.value, defaults.service_life_years.value)
    out["service_life_years"] = life

    if cloud_prices is not None:
        price = np.array([cloud_prices.get(h, (np.nan, ""))[0] for h in out["hardware_id"]])
        where = [cloud_prices.get(h, (np.nan, ""))[1] for h in out["hardware_id"]]
    else:
        price = out["cloud_price_usd_per_device_hour"].to_numpy(dtype=float)
        where = out["cloud_price_where"].tolist()
    out["price_usd_per_device_hour"] = price
    out["cloud_discount"] = cloud_discount
    out["pricing_mode"] = pricing_mode
    on_prem = pricing_mode == "on_prem"
    purchase = out["purchase_price_usd"].to_numpy(dtype=float)
    if on_prem:
        out["price_basis"] = np.where(np.isnan(purchase), BASIS_MISSING,
                                      "purchase price " + out["purchase_price_date"].astype(str))
    else:
        out["price_basis"] = [
            f"cloud list price, {w}" if w and not np.isnan(p) else (w or BASIS_MISSING)
            for p, w in zip(price, where, strict=True)
        ]
    return out.joined()
