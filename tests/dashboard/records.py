"""Measurement records for the dashboard tests: an H100 training run with an NVML energy
counter, and a CPU run no profile matches."""

from __future__ import annotations

import datetime as dt

from planner.model.records import (
    GpuResult,
    Machine,
    Record,
    Results,
    Settings,
    quantity,
)

START = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def record(run_id: str, *, device: str = "cuda", name: str = "NVIDIA H100 80GB HBM3",
           mode: str = "train", precision: str = "bf16", flops: float = 4.0e15,
           wall_s: float = 10.0, energy_j: float = 6000.0, workload: str = "transformer",
           minutes: int = 0) -> Record:
    """One complete record; GPU energy from the NVML counter, CPU energy an estimate."""
    start = START + dt.timedelta(minutes=minutes)
    on_gpu = device == "cuda"
    energy = quantity(energy_j, "J", "nvml_energy_counter" if on_gpu
                      else "codecarbon_cpu_load_estimate", on_gpu)
    results = Results(
        wall_time_s=quantity(wall_s, "s", "wall_clock", True),
        flops=quantity(flops, "FLOP", "flop_counter", True),
        gpu_energy_j=energy if on_gpu else None, cpu_energy_j=None if on_gpu else energy,
        gpus=[GpuResult(index=0, name=name, energy_j=energy)] if on_gpu else [])
    return Record(
        run_id=run_id, status="complete", started_at=start,
        ended_at=start + dt.timedelta(seconds=wall_s),
        machine=Machine(hostname="lab", os="Linux", python_version="3.11",
                        cpu_model="Example CPU 9000 (no profile)", cpu_logical_cores=16),
        settings=Settings(workload=workload, mode=mode, precision=precision, device=device,
                          country_iso_code="USA", batch_size=8, steps=20),
        results=results, device_name=name if on_gpu else "Example CPU 9000 (no profile)")
