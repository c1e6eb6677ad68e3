"""Zeus's window log: the CSV ``ZeusMonitor(log_file=...)`` writes, one record per window.

Format (``zeus/monitor/energy.py``, ml-energy/zeus): header
``start_time,window_name,elapsed_time,gpu0_energy,gpu1_energy,...``; one row per ended
window with its start as Unix time (s), its name, its duration (s) and each monitored GPU's
energy (J). Energy is NVML's total-energy counter on Volta or newer, power polling on older
GPUs. The log names no GPU model and no precision: they are null unless the user gives them.
A window shorter than the counter's update period logs 0 J (Zeus warns); that is kept as
not measured, never as a measured zero.
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
    number,
    unknown_machine,
    user_notes,
)
from planner.model.records import GpuResult, Record, Results, Settings, Source, quantity

FORMAT = "zeus_window_log_csv"
LEADING = ("start_time", "window_name", "elapsed_time")
METHOD = "zeus_window_log"
_GPU = re.compile(r"^gpu(\d+)_energy$")


def looks_like(header: Sequence[str]) -> bool:
    """A CSV header ZeusMonitor wrote."""
    return tuple(header[:3]) == LEADING


def parse(data: bytes, text: str, origin: str, file: str, profiles: Sequence[HardwareProfile],
          options: ImportOptions, imported_at: dt.datetime) -> list[Record]:
    """Every window of a Zeus log as a record; PlannerError naming what is wrong."""
    header, rows = csv_rows(text)
    gpus = [(int(m.group(1)), col) for col in header[3:] if (m := _GPU.match(col))]
    if not looks_like(header) or len(gpus) != len(header) - 3:
        raise PlannerError(f"{origin}: a Zeus window log has the header "
                           "start_time,window_name,elapsed_time,gpu<i>_energy,...; got "
                           f"{','.join(header)[:120]}")
    if not rows:
        raise PlannerError(f"{origin}: the Zeus log has no windows (only its header)")
    kind = "gpu"
    device_name = options.device_name
    records = []
    for line, row in enumerate(rows, start=2):
        where = f"{origin} line {line}"
        start = number(row.get("start_time"), where, "start_time")
        elapsed = number(row.get("elapsed_time"), where, "elapsed_time")
        if start is None or elapsed is None or elapsed <= 0:
            raise PlannerError(f"{where}: a window needs start_time (Unix s) and "
                               "elapsed_time > 0")
        notes = user_notes(options)
        per_gpu = []
        for index, col in gpus:
            joules = number(row.get(col), where, col)
            if joules is not None and joules < 0:
                raise PlannerError(f"{where}: field `{col}` is {row[col]!r}, a negative energy")
            energy = quantity(joules, "J", METHOD, True) if joules else None
            if joules == 0:
                notes.append(f"GPU {index}: Zeus logged 0 J (window shorter than the energy "
                             "counter's update period); kept as not measured")
            per_gpu.append(GpuResult(
                index=index, name=device_name, energy_j=energy,
                avg_power_w=None if energy is None else quantity(
                    energy.value / elapsed, "W", "derived", True, "energy / elapsed_time")))
        complete = all(g.energy_j is not None for g in per_gpu) and per_gpu
        total = sum(g.energy_j.value for g in per_gpu) if complete else None
        if per_gpu and not complete:
            notes.append("GPU energy total left out: not every GPU has a measured energy")
        notes.append("CPU and DRAM energy are not in Zeus's log; not measured here")
        gpu_energy = quantity(total, "J", METHOD, True, f"sum over {len(per_gpu)} GPU(s)")
        started = dt.datetime.fromtimestamp(start, tz=dt.UTC)
        window = row.get("window_name") or ""
        records.append(Record(
            run_id=content_id(data, f"zeus window line {line}"),
            status="complete",
            started_at=started,
            ended_at=started + dt.timedelta(seconds=elapsed),
            machine=unknown_machine(),
            settings=Settings(workload=window or None, mode=options.mode,
                              precision=options.precision, device="cuda", warmup_steps=None,
                              country_iso_code=options.country_iso_code,
                              cpu_tracking_mode=None),
            results=Results(
                wall_time_s=quantity(elapsed, "s", METHOD, True, "Zeus elapsed_time"),
                gpu_energy_j=gpu_energy,
                gpu_avg_power_w=None if gpu_energy is None else quantity(
                    gpu_energy.value / elapsed / len(per_gpu), "W", "derived", True,
                    "GPU energy / elapsed_time / GPUs (per GPU)"),
                gpus=per_gpu,
            ),
            device_name=device_name,
            hardware_id=match_device(device_name, profiles, kind),
            notes=notes,
            source=Source(tool="zeus", format=FORMAT, file=file,
                          entry=f"window {window!r} (line {line})", imported_at=imported_at),
        ))
    return records
