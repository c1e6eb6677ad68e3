"""The assumptions line of a plan row: every figure that was not the user's own, with its
basis, and "unknown" (never "nan" or "None") where a figure is missing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.model.plan import Planner
from planner.model.report import describe_assumptions

SCENARIO = {"training": {"model": "llama-3-8b", "days": 30, "hardware": "all"},
            "site": {"country": "FRA", "pue": 1.25}}


def test_each_row_names_its_figures_and_the_site():
    planner = Planner.load()
    result = planner.plan(SCENARIO)
    row = result.training[result.training["feasible"]].iloc[0]
    site = result.site
    assert row["assumptions"] == (
        f"utilisation {round(row['utilisation'], 3)} ({row['utilisation_basis']}); goodput "
        f"{round(row['goodput'], 3)} ({row['goodput_basis']}); power "
        f"{round(row['busy_power_w'], 1)} W ({row['power_basis']}); embodied "
        f"{row['embodied_co2e_kg_per_device']} kg ({row['embodied_basis']}); life "
        f"{row['service_life_years']} y; price: {row['price_basis']}; grid "
        f"{site.carbon_intensity_g_per_kwh:.0f} g/kWh ({site.intensity_label}, "
        f"{site.intensity_year}; {site.intensity_source}); PUE 1.25 ({site.pue_basis})")


def test_a_missing_figure_reads_unknown():
    planner = Planner.load()
    result = planner.plan(SCENARIO)
    frame = result.training.head(3).copy()
    frame["busy_power_w"] = [np.nan, 700.0, 700.04]
    frame["power_basis"] = pd.Series([None, "nan", "spec"], index=frame.index, dtype=object)
    text = describe_assumptions(frame, result.site)
    assert "power unknown W (unknown)" in text.iloc[0]
    assert "power 700.0 W (unknown)" in text.iloc[1]
    assert "power 700.0 W (spec)" in text.iloc[2]
    assert not text.str.contains("nan|None").any()
