"""Calibration from measurement records: achieved utilisation and power per hardware profile.

Pure pandas/numpy over :mod:`planner.model.records` and :mod:`planner.model.hardware`.
"""

from __future__ import annotations

from collections.abc import Iterable

from planner.model.hardware import HardwareProfile


def match_profile(
    device_name: str, profiles: Iterable[HardwareProfile], kind: str | None = None
) -> HardwareProfile | None:
    """The profile whose ``match_names`` best fits ``device_name`` (longest substring wins).

    Matching is case-insensitive; ``kind`` ("gpu", "cpu", ...) restricts the candidates, so a
    CPU record never matches a GPU profile.
    """
    name = device_name.lower()
    best: tuple[int, HardwareProfile] | None = None
    for p in profiles:
        if kind is not None and p.kind != kind:
            continue
        for m in p.match_names:
            if m and m.lower() in name and (best is None or len(m) > best[0]):
                best = (len(m), p)
    return best[1] if best else None
