"""Profiling: measure real training and inference runs with NVML and CodeCarbon.

The only package of the project that imports torch, pynvml or codecarbon, and it does so
lazily: importing ``planner.profiling`` loads none of them. See ``measure.py`` for the API.
"""

from planner.profiling.measure import (
    AcceleratorHooks,
    Measurement,
    Profiler,
    ProfilerConfig,
    WindowHandle,
)

__all__ = ["AcceleratorHooks", "Measurement", "Profiler", "ProfilerConfig", "WindowHandle"]
