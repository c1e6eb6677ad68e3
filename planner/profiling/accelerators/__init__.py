"""Accelerator backends, one module per vendor library, and the one place they are registered.

To read another vendor's devices (AMD through amdsmi, Apple through powermetrics, ...), write
one module here with an :class:`AcceleratorBackend` subclass (see ``nvml.py``), add its class
to ``BACKENDS`` below, and add the names of its reading methods to
``planner.model.records.Method`` (the record format's vocabulary). Nothing in the measuring
code changes: it reads whichever backend starts, or the null backend where none does.
"""

from __future__ import annotations

from planner.profiling.accelerators.base import (
    AcceleratorBackend,
    BackendUnavailable,
    GpuError,
)
from planner.profiling.accelerators.null import NullBackend
from planner.profiling.accelerators.nvml import NvmlBackend
from planner.profiling.values import AcceleratorHooks

#: Tried in this order; the first whose library starts on this machine is used.
BACKENDS: tuple[type[AcceleratorBackend], ...] = (NvmlBackend,)


def open_backend(hooks: AcceleratorHooks | None = None) -> AcceleratorBackend:
    """The first registered backend that starts here, else the null backend with the reasons."""
    reasons: list[str] = []
    for backend in BACKENDS:
        try:
            return backend.open(hooks)
        except BackendUnavailable as exc:
            reasons.append(str(exc))
    return NullBackend(hooks, reasons=tuple(reasons))


__all__ = ["BACKENDS", "AcceleratorBackend", "BackendUnavailable", "GpuError", "NullBackend",
           "NvmlBackend", "open_backend"]
