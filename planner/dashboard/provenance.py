"""Where numbers come from: classify the model's ``*_basis`` columns as measured, calibrated,
spec, assumed or user input, and say so in hover text and notes under charts and tables."""

from __future__ import annotations

import functools
from collections import Counter

import pandas as pd

from planner.model.site import ResolvedSite

BASIS_COLUMNS = {
    "utilisation_basis": "utilisation",
    "throughput_basis": "peak throughput",
    "power_basis": "power",
    "price_basis": "price",
    "embodied_basis": "embodied carbon",
}


def classify(basis: object) -> str:
    """measured, calibrated, predicted, spec, spec × assumed share, assumed, user input or
    missing."""
    return _classify(str(basis or ""))


@functools.lru_cache(maxsize=4096)  # a plan's basis texts repeat across rows and reruns
def _classify(basis: str) -> str:
    text = basis.lower()
    if not text or text in ("nan", "missing") or text.startswith("not offered"):
        return "missing"
    if text.startswith("user"):
        return "user input"
    if "calibrated" in text:
        return "calibrated"
    if "measured" in text:
        return "measured"
    if text.startswith("predicted"):
        return "predicted"  # the training layout model (profiles/performance.yaml)
    if text.startswith("spec") and "default" in text:
        return "spec × assumed share"
    if "default" in text or "assum" in text or "estimate" in text:
        return "assumed"
    return "spec"


def hover_lines(frame: pd.DataFrame) -> list[str]:
    """Per row, one HTML line per figure: its basis and class, for Plotly hover text.
    (Plain Python over lists: pandas string ops cost more than the whole plan here.)"""
    columns = [(label, [str(b) for b in frame[column].tolist()])
               for column, label in BASIS_COLUMNS.items() if column in frame.columns]
    return ["<br>".join(f"{label}: {classify(values[i])} ({values[i][:70]})"
                        for label, values in columns) for i in range(len(frame))]


def basis_summary(frame: pd.DataFrame) -> list[str]:
    """One line per basis column: how many rows rest on each kind of figure."""
    lines = []
    for column, label in BASIS_COLUMNS.items():
        if column not in frame.columns or frame.empty:
            continue
        counts = Counter(classify(b) for b in frame[column].tolist())
        text = ", ".join(f"{kind} for {n}" for kind, n in counts.most_common())
        lines.append(f"**{label.capitalize()}**: {text}")
    return lines


def site_line(site: ResolvedSite) -> str:
    """The site's figures with their sources, in one line."""
    return (f"Grid {site.carbon_intensity_g_per_kwh:.0f} g CO2e/kWh — {site.intensity_label}, "
            f"data year {site.intensity_year} ({site.intensity_source}). "
            f"PUE {site.pue:g} ({site.pue_basis}). Electricity "
            f"${site.electricity_usd_per_kwh:g}/kWh ({site.electricity_basis}).")


def note(frame: pd.DataFrame, site: ResolvedSite | None = None, extra: str = "") -> str:
    """Markdown for a "where these numbers come from" note under a chart or table."""
    lines = ["**Where these numbers come from.** Every figure is a vendor specification "
             "(spec), a published or own measurement (measured), a calibration from "
             "measurement records (calibrated), a stated default (assumed), the training "
             "model's prediction from the run's layout (predicted) or your input."]
    lines += basis_summary(frame)
    if site is not None:
        lines.append(site_line(site))
    if extra:
        lines.append(extra)
    return "  \n".join(lines)


TRAINING_UNCERTAINTY_NOTE = ("P10 to P90 of a Monte Carlo over training time (fitted to "
                             "published runs), power, PUE, price and grid intensity")


def training_time_note(sensitivity: pd.DataFrame) -> str:
    """What the training time factor of the Monte Carlo is, at the range it ran with (the
    ``low_factor`` / ``high_factor`` of its rows in an uncertainty sensitivity table)."""
    mine = sensitivity[sensitivity["assumption"] == "training_time"]
    if not len(mine):
        return ""
    low, high = float(mine["low_factor"].iloc[0]), float(mine["high_factor"].iloc[0])
    return (f"Training time: the planned device-hours × {low:.2f} to × {high:.2f} (most likely "
            "× 1). The shipped range is fitted to the model's misses, P5 to P95 of published ÷ "
            "predicted device-hours over the held-out and blind published runs (README, "
            "Uncertainty): the model tends to be optimistic. A known run keeps its "
            "device-hours.")
