"""The null backend: a machine (or a run) with no accelerator to read.

Zeus's ``EmptyGPUs`` in this project's shape: it has no devices, so the measuring code runs
the same loops over an empty list instead of testing for a missing GPU object.
"""

from __future__ import annotations

from typing import Self

from planner.profiling.accelerators.base import AcceleratorBackend, GpuError
from planner.profiling.values import AcceleratorHooks, GpuInfo, ReadingMethods


class NullBackend(AcceleratorBackend):
    """No accelerator; ``why_unavailable`` keeps the reasons the real backends gave."""

    vendor = "none"
    library = "no accelerator library"
    methods = ReadingMethods(counter="derived", polling="derived", sensors="derived")

    def __init__(self, hooks: AcceleratorHooks | None = None,
                 reasons: tuple[str, ...] = ()) -> None:
        super().__init__([], hooks)
        self._reasons = reasons

    @classmethod
    def open(cls, hooks: AcceleratorHooks | None = None) -> Self:
        return cls(hooks)

    @property
    def why_unavailable(self) -> str | None:
        return "; ".join(self._reasons) or "no accelerator backend was asked for"

    def close(self) -> None:
        return None

    def info(self, index: int) -> GpuInfo:
        raise GpuError(f"there is no GPU index {index}: no accelerator is read")

    def supports_energy_counter(self, index: int) -> bool:
        return False

    def energy_j(self, index: int) -> float:
        raise GpuError(f"there is no GPU index {index}: no accelerator is read")

    def power_w(self, index: int) -> float | None:
        return None

    def utilisation_pct(self, index: int) -> float | None:
        return None

    def memory_used_bytes(self, index: int) -> float | None:
        return None
