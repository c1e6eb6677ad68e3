"""Profiling: measure real training and inference runs on accelerators and CPUs, write records.

The only package of the project that imports torch, pynvml or codecarbon, and it does so
lazily: importing ``planner.profiling`` loads none of them. See ``measure.py`` for the API,
``accelerators/`` for the device backends, ``values.py`` for what a measurement holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planner.profiling.measure import Profiler, ProfilerConfig, WindowHandle
from planner.profiling.values import AcceleratorHooks, GpuWindow, Measurement

if TYPE_CHECKING:
    from planner.profiling.recording import build_record, save_record

__all__ = ["AcceleratorHooks", "GpuWindow", "Measurement", "Profiler", "ProfilerConfig",
           "WindowHandle", "build_record", "save_record"]


def __getattr__(name: str) -> Any:
    # The record builder loads the planner's calibration (pandas); only when asked for.
    if name in ("build_record", "save_record"):
        from planner.profiling import recording

        return getattr(recording, name)
    raise AttributeError(f"module 'planner.profiling' has no attribute {name!r}")
