"""CodeCarbon's ``emissions.csv``: one record per run, its energies kept exactly in joules.

The columns are those of ``codecarbon.output_methods.emissions_data.EmissionsData`` (CodeCarbon
2.x and 3.x): energies in kWh, ``emissions`` in kg CO2eq, ``duration`` in seconds and
``timestamp`` the local time the row was written (no time zone). CodeCarbon's file output
writes cumulative totals, so a run flushed several times has several rows under one
``run_id``; the last (longest) one is the run. The file never says whether CPU energy came
from RAPL or from CodeCarbon's TDP model, so CPU and RAM energy are kept as estimates
(``measured: false``); GPU energy is NVML's total-energy counter (``gpu_nvidia.py``), measured.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from planner.errors import PlannerError
from planner.model.hardware import HardwareProfile
from planner.model.imports.common import (
    ImportOptions,
    content_id,
    csv_rows,
    match_device,
    naive_as_utc,
    number,
    text_or_none,
    unknown_machine,
    user_notes,
)
from planner.model.records import Record, Results, Settings, Source, quantity
from planner.model.units import KWH_TO_J

FORMAT = "codecarbon_emissions_csv"
REQUIRED = ("timestamp", "run_id", "duration", "emissions", "energy_consumed")
METHOD = "codecarbon_emissions_csv"


def looks_like(header: Sequence[str]) -> bool:
    """A CSV header CodeCarbon wrote (its energy total and emissions columns)."""
    return "energy_consumed" in header and "emissions" in header


def _energy(row: dict[str, str], column: str, origin: str, measured: bool, what: str):
    kwh = number(row.get(column), origin, column)
    if kwh is None or kwh <= 0:
        return None  # CodeCarbon writes 0 for a device it did not track: not a measurement
    note = f"CodeCarbon {column} = {row[column]} kWh × 3.6e6 J/kWh; {what}"
    return quantity(kwh * KWH_TO_J, "J", METHOD, measured, note)


def _run_record(row: dict[str, str], n_rows: int, origin: str, file: str,
                profiles: Sequence[HardwareProfile], options: ImportOptions,
                imported_at: dt.datetime) -> Record:
    where = f"{origin} (run {row['run_id']})"
    notes = user_notes(options)
    duration = number(row["duration"], where, "duration")
    if duration is None or duration <= 0:
        raise PlannerError(f"{where}: field `duration` is {row['duration']!r}, "
                           "expected seconds > 0")
    try:
        ended = dt.datetime.fromisoformat(row["timestamp"])
    except ValueError:
        raise PlannerError(f"{where}: field `timestamp` is {row['timestamp']!r}, expected ISO "
                           "8601 (CodeCarbon writes %Y-%m-%dT%H:%M:%S)") from None
    ended = naive_as_utc(ended, notes, "CodeCarbon's timestamp (the end of the run)")
    gpu_count = number(row.get("gpu_count"), where, "gpu_count") or 0
    gpu_model = text_or_none(row.get("gpu_model"))
    cpu_model = text_or_none(row.get("cpu_model"))
    on_gpu = gpu_count > 0
    device_name = options.device_name or (gpu_model if on_gpu else cpu_model)
    kind = "gpu" if on_gpu else "cpu"

    cpu = _energy(row, "cpu_energy", where, False,
                  "RAPL or CodeCarbon's TDP model (the file does not say which)")
    gpu = _energy(row, "gpu_energy", where, True, "NVML total-energy counter via CodeCarbon")
    ram = _energy(row, "ram_energy", where, False, "CodeCarbon's RAM power model")
    total = _energy(row, "energy_consumed", where, False,
                    "CodeCarbon's total of CPU, GPU and RAM")
    if total is None:
        raise PlannerError(f"{where}: field `energy_consumed` is {row['energy_consumed']!r}, "
                           "expected a positive energy in kWh")
    emissions = number(row["emissions"], where, "emissions")
    co2e = quantity(emissions, "kg", "codecarbon_grid_intensity", False,
                    "CodeCarbon emissions: energy × the grid intensity it used")
    intensity = None
    if emissions is not None and emissions > 0:
        intensity = quantity(emissions * 1000.0 / (total.value / KWH_TO_J), "g/kWh",
                             "derived", False, "emissions / energy_consumed")

    def avg_power(e):
        return None if e is None else quantity(e.value / duration, "W", "derived", e.measured,
                                               "energy / duration")

    country = options.country_iso_code or text_or_none(row.get("country_iso_code"))
    if country and not re.fullmatch(r"[A-Z]{3}", country):
        notes.append(f"country code {country!r} is not ISO alpha-3; left out")
        country = None
    cores = number(row.get("cpu_count"), where, "cpu_count")
    for column, label in (("pue", "PUE"), ("wue", "WUE"), ("ram_total_size", "RAM GB"),
                          ("cloud_provider", "cloud provider"), ("cloud_region", "cloud region"),
                          ("water_consumed", "water litres")):
        if text_or_none(row.get(column)):
            notes.append(f"CodeCarbon {label}: {row[column]}")
    if not on_gpu:
        notes.append("GPU energy not tracked by CodeCarbon (gpu_count 0)")
    if n_rows > 1:
        notes.append(f"{n_rows} rows of this run in the file (flushes); the last, cumulative "
                     "one is used")
    tracking = text_or_none(row.get("tracking_mode"))
    version = text_or_none(row.get("codecarbon_version"))
    results = Results(
        wall_time_s=quantity(duration, "s", METHOD, True, "CodeCarbon duration"),
        cpu_energy_j=cpu, cpu_avg_power_w=avg_power(cpu),
        gpu_energy_j=gpu, gpu_avg_power_w=avg_power(gpu),
        ram_energy_j=ram, ram_avg_power_w=avg_power(ram),
        total_energy_j=total, co2e_kg=co2e, carbon_intensity_g_per_kwh=intensity,
    )
    return Record(
        run_id=row["run_id"] if re.fullmatch(r"[A-Za-z0-9_-]{6,64}", row["run_id"])
        else f"cc-{content_id(row['run_id'].encode(), 'codecarbon run')}",
        status="complete",
        started_at=ended - dt.timedelta(seconds=duration),
        ended_at=ended,
        machine=unknown_machine(
            os=text_or_none(row.get("os")),
            python_version=text_or_none(row.get("python_version")),
            cpu_model=cpu_model,
            cpu_logical_cores=int(cores) if cores and cores >= 1 else None,
            libraries={"codecarbon": version} if version else {},
        ),
        settings=Settings(
            workload=text_or_none(row.get("project_name")), mode=options.mode,
            precision=options.precision, device="cuda" if on_gpu else "cpu",
            warmup_steps=None, country_iso_code=country,
            region=text_or_none(row.get("region")),
            cpu_tracking_mode=tracking if tracking in ("process", "machine") else None,
        ),
        results=results,
        device_name=device_name,
        hardware_id=match_device(device_name, profiles, kind),
        notes=notes,
        source=Source(tool="codecarbon", tool_version=version, format=FORMAT, file=file,
                      entry=f"run_id {row['run_id']}", imported_at=imported_at),
    )


def parse(text: str, origin: str, file: str, profiles: Sequence[HardwareProfile],
          options: ImportOptions, imported_at: dt.datetime) -> list[Record]:
    """Every run of an ``emissions.csv`` text as a record; PlannerError naming what is wrong."""
    header, rows = csv_rows(text)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise PlannerError(f"{origin}: a CodeCarbon emissions.csv needs the columns "
                           f"{', '.join(REQUIRED)}; missing {', '.join(missing)}")
    if not rows:
        raise PlannerError(f"{origin}: the CodeCarbon emissions.csv has a header but no runs")
    runs: dict[str, list[dict[str, str]]] = {}
    for i, row in enumerate(rows, start=2):
        if not row.get("run_id"):
            raise PlannerError(f"{origin}: line {i} has no run_id")
        runs.setdefault(row["run_id"], []).append(row)
    records = []
    for run_rows in runs.values():
        last = max(run_rows, key=lambda r: number(r["duration"], origin, "duration") or 0.0)
        records.append(_run_record(last, len(run_rows), origin, file, profiles, options,
                                   imported_at))
    return records
