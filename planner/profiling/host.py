"""CPU and RAM energy and CO2e of a window, from CodeCarbon's ``OfflineEmissionsTracker``.

One tracker per window, so windows may overlap. ``prepare()`` pays CodeCarbon's one-off
hardware detection (about 1.7 s on the 2-vCPU development VM, cached for the process)
before any window opens, so a window's start costs milliseconds (CodeCarbon 3.3.2,
``codecarbon/core/hardware_cache.py``).

The tracker is built so that it writes no file and opens no connection: no output method,
no HTTP endpoint, no Electricity Maps token (CodeCarbon 3.3.2 would otherwise take those
from ``.codecarbon.config`` or ``CODECARBON_*`` variables), and the multiple-runs lock off
(the lock would install its own SIGINT handler).
"""

from __future__ import annotations

import inspect
import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol

from planner.errors import PlannerError
from planner.model import grid
from planner.model.records import Method
from planner.model.units import G_PER_KG, KWH_TO_J
from planner.profiling.values import HostEnergy

#: How CodeCarbon's CPU modes map to record methods (codecarbon/core/resource_tracker.py).
_CPU_MODES: dict[str, tuple[Method, bool]] = {
    "intel_rapl": ("codecarbon_rapl", True),
    "intel_power_gadget": ("codecarbon_power_meter", True),
    "windows_emi": ("codecarbon_power_meter", True),
    "cpu_load": ("codecarbon_cpu_load_estimate", False),
    "constant": ("codecarbon_tdp_estimate", False),
}


@dataclass(frozen=True)
class Site:
    """Where the electricity comes from: ISO 3166 alpha-3 country and optional US state."""

    country_iso_code: str
    region: str | None = None


def resolve_site(country: str, region: str | None = None) -> Site:
    """Check a country code (and US state) against CodeCarbon's data; PlannerError if unknown."""
    iso = country.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", iso):
        raise PlannerError(
            f"--country {country!r}: give a 3-letter ISO 3166 code such as USA, FRA, DEU, SWE"
        )
    try:
        grid.country_intensity(iso)
        if region is not None:
            if iso != "USA":
                raise PlannerError(
                    f"--region {region!r}: regions are known for the USA only (US states); "
                    "drop --region or use --country USA"
                )
            grid.us_state_intensity(region)
    except PlannerError as exc:
        msg = str(exc).removeprefix("site.country: ")
        raise PlannerError(f"--country/--region: {msg}") from None
    return Site(iso, region.strip().lower() if region else None)


def _methods(tracker: Any) -> tuple[tuple[Method, bool] | None, tuple[Method, bool] | None]:
    """(cpu, ram) methods from the hardware objects CodeCarbon chose (private but stable)."""
    cpu = ram = None
    for hw in getattr(tracker, "_hardware", []):
        kind = type(hw).__name__
        if kind == "CPU":
            cpu = _CPU_MODES.get(getattr(hw, "_mode", ""), ("codecarbon_tdp_estimate", False))
        elif kind == "RAM":
            ram = ("codecarbon_ram_estimate", False)
        elif kind in ("AppleSiliconChip", "Raspberry"):
            part = str(getattr(hw, "chip_part", "")).upper()
            if part in ("CPU", "PROCESSOR"):
                cpu = ("codecarbon_power_meter", True)
            elif part == "RAM":
                ram = ("codecarbon_power_meter", True)
    return cpu, ram


class HostMeter(Protocol):
    """What the profiler needs of a host meter: one token per window, figures at its end."""

    def prepare(self) -> None: ...

    def begin(self) -> Any: ...

    def end(self, token: Any) -> HostEnergy | None: ...


class HostEnergyMeter:
    """Measures CPU and RAM energy of windows with CodeCarbon, offline."""

    def __init__(
        self,
        site: Site,
        tracking_mode: str = "process",
        measure_power_secs: float = 5.0,
    ) -> None:
        if tracking_mode not in ("process", "machine"):
            raise PlannerError(f"tracking mode {tracking_mode!r}: use 'process' or 'machine'")
        self.site = site
        self.tracking_mode = tracking_mode
        self.measure_power_secs = measure_power_secs

    def _tracker(self) -> Any:
        from codecarbon import OfflineEmissionsTracker
        from codecarbon.emissions_tracker import BaseEmissionsTracker

        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        kwargs: dict[str, Any] = {
            "country_iso_code": self.site.country_iso_code,
            "tracking_mode": self.tracking_mode,
            "measure_power_secs": self.measure_power_secs,
            "log_level": "error",
            "allow_multiple_runs": True,
            "emissions_endpoint": None,
            "electricitymaps_api_token": None,
            "project_name": "planner-profile",
        }
        if self.site.region:
            kwargs["region"] = self.site.region
        if "output_methods" in inspect.signature(BaseEmissionsTracker.__init__).parameters:
            kwargs["output_methods"] = []
        else:  # CodeCarbon < 3.3 has only the save_to_* flags
            kwargs.update(save_to_file=False, save_to_api=False, save_to_logger=False)
        tracker = OfflineEmissionsTracker(**kwargs)
        # A deprecated co2_signal_api_token in a config file would switch the carbon lookup
        # to the Electricity Maps web API; this profiler never goes on the network.
        if getattr(tracker, "_electricitymaps_api_token", None):
            tracker._electricitymaps_api_token = None
        return tracker

    def prepare(self) -> None:
        """Run CodeCarbon's hardware detection now, outside any measurement window."""
        self._tracker().get_detected_hardware()

    def begin(self) -> Any:
        """Start a tracker for a new window; return it as the window's token."""
        tracker = self._tracker()
        tracker.start()
        return tracker

    def end(self, token: Any) -> HostEnergy:
        """Stop the window's tracker and read what it measured."""
        tracker = token
        tracker.stop()
        data = getattr(tracker, "final_emissions_data", None)
        if data is None:
            # CodeCarbon swallows its own exceptions (@suppress); say so instead of guessing.
            return HostEnergy(None, None, None, False, None, False, None,
                              note="CodeCarbon did not report (its tracker failed to start)")
        cpu, ram = _methods(tracker)
        intensity = None
        if data.energy_consumed and data.energy_consumed > 0:
            intensity = G_PER_KG * data.emissions / data.energy_consumed  # kg/kWh → g/kWh
        else:
            intensity = grid.country_intensity(self.site.country_iso_code).g_per_kwh
        note = None
        if cpu and not data.cpu_energy > 0:
            # e.g. psutil's CPU times tick every 10 ms: a shorter window reads as no load.
            note = "CodeCarbon reported no CPU energy for this window (too short to sample)"
        return HostEnergy(
            cpu_energy_j=data.cpu_energy * KWH_TO_J if cpu and data.cpu_energy > 0 else None,
            ram_energy_j=data.ram_energy * KWH_TO_J if ram and data.ram_energy > 0 else None,
            cpu_method=cpu[0] if cpu else None,
            cpu_measured=bool(cpu and cpu[1]),
            ram_method=ram[0] if ram else None,
            ram_measured=bool(ram and ram[1]),
            carbon_intensity_g_per_kwh=intensity,
            duration_s=float(data.duration) if data.duration else None,
            note=note,
        )


class NullHostMeter:
    """No CPU and RAM measurement (``measure_host=False``): every window's host figure is None."""

    def prepare(self) -> None:
        return None

    def begin(self) -> None:
        return None

    def end(self, token: Any) -> HostEnergy | None:
        return None
