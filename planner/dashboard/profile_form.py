"""A custom device from a form: the values become a hardware profile YAML that the planner's
own loader validates (``parse_profile``), so a downloaded file drops into profiles/hardware."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import yaml

from planner.errors import ProfileError
from planner.model.hardware import HardwareProfile, parse_profile

PEAK_PRECISIONS = ("fp32", "bf16", "fp16", "fp8", "int8", "int4")


def slug(text: str) -> str:
    """A profile id from a name: lower case, digits and hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _positive(values: Mapping[str, object], key: str, label: str, required: bool) -> float | None:
    value = values.get(key)
    if value is None or value == "":
        if required:
            raise ProfileError(f"custom device: {label} is required")
        return None
    number = float(value)  # type: ignore[arg-type]
    if number <= 0:
        raise ProfileError(f"custom device: {label} must be more than 0 (got {number:g})")
    return number


def profile_dict(values: Mapping[str, object]) -> dict:
    """The profile mapping for form ``values``; ProfileError for a missing or non-positive
    figure. Every figure cites the one source the form names."""
    name = str(values.get("name") or "").strip()
    if not name:
        raise ProfileError("custom device: a name is required")
    source_title = str(values.get("source_title") or "").strip()
    if len(source_title) < 3:
        raise ProfileError("custom device: name the source of the figures (a datasheet, a "
                           "measurement) in at least 3 characters")
    src = "src"
    fig = lambda v: {"value": v, "source": src}  # noqa: E731
    data: dict = {
        "id": str(values.get("id") or "").strip() or slug(name),
        "name": name,
        "vendor": str(values.get("vendor") or "").strip() or "unknown",
        "kind": values.get("kind", "gpu"),
        "placement": values.get("placement", "datacenter"),
    }
    year = values.get("year")
    if year:
        data["year"] = int(year)  # type: ignore[arg-type]
    memory = _positive(values, "memory_gb", "memory (GB)", required=True)
    data["memory_gb"] = fig(memory)
    bandwidth = _positive(values, "memory_bandwidth_gb_per_s", "memory bandwidth (GB/s)",
                          required=False)
    if bandwidth is not None:
        data["memory_bandwidth_gb_per_s"] = fig(bandwidth)
    peaks = {}
    for p in PEAK_PRECISIONS:
        v = _positive(values, f"tflops_{p}", f"dense {p} peak (TFLOPS)", required=False)
        if v is not None:
            peaks[p] = fig(v)
    if not peaks:
        raise ProfileError("custom device: give at least one dense peak (TFLOPS or TOPS)")
    data["dense_tflops"] = peaks
    power = _positive(values, "rated_power_w", "rated power (W)", required=True)
    data["rated_power_w"] = {**fig(power), "basis": values.get("power_basis", "tdp")}
    price = _positive(values, "cloud_usd_per_hour", "cloud price (USD per device-hour)",
                      required=False)
    if price is not None:
        data["cloud_prices"] = [{
            "provider": str(values.get("cloud_provider") or "other"),
            "region": str(values.get("cloud_region") or "any"),
            "usd_per_device_hour": price, "date": _date(values.get("source_date")),
            "source": src}]
    purchase = _positive(values, "purchase_usd", "purchase price (USD)", required=False)
    if purchase is not None:
        data["purchase_price_usd"] = {**fig(purchase), "date": _date(values.get("source_date"))}
    embodied = _positive(values, "embodied_co2e_kg_per_device", "embodied carbon (kg CO2e)",
                         required=False)
    if embodied is not None:
        data["embodied_co2e_kg_per_device"] = fig(embodied)
    data["notes"] = "Added with the dashboard's custom-device form."
    source = {"title": source_title, "date": _date(values.get("source_date"))}
    if values.get("source_url"):
        source["url"] = str(values["source_url"])
    data["sources"] = {src: source}
    return data


def _date(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value) if value else dt.date.today().isoformat()


def build_profile(values: Mapping[str, object]) -> tuple[HardwareProfile, str]:
    """Validate form ``values`` as a profile; give the profile and its YAML file text."""
    data = profile_dict(values)
    text = ("# Custom hardware profile from the AI capacity planner dashboard.\n"
            f"# Save as profiles/hardware/{data['id']}.yaml (the id must match the name).\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return parse_profile(text, f"custom device {data['id']!r}"), text
