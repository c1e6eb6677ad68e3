"""The full report: one CSV with the inputs, the site and default assumptions with their
sources, and every result row with its provenance, as the command line writes them
(``planner.model.report``).

Long format with a leading ``section`` column: ``inputs``, ``site`` and ``assumptions`` rows
fill ``item``/``value``/``unit``/``basis``/``note``; result rows (``training``,
``inference`` and any other section of the plan) carry the CLI report's columns.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from planner.dashboard import state
from planner.dashboard.inputs import scenario_inputs
from planner.errors import PlannerError
from planner.model.plan import Planner, PlanResult
from planner.model.report import plan_report

HEAD = ["section", "item", "value", "unit", "basis", "note"]

# Every input saved in scenario files: its label and unit (from planner/dashboard/inputs.py).
INPUT_UNITS = {i.key: (i.label, i.unit) for i in scenario_inputs()}


def inputs_frame(current: Mapping[str, object], planner: Planner,
                 calibrated: bool = False) -> pd.DataFrame:
    """One row per dashboard input, with its unit and whether the user gave it."""
    base = state.default_state(planner.defaults)
    given = state.given_keys({**base, **current}, planner.defaults)
    rows = []
    for key, (label, unit) in INPUT_UNITS.items():
        value = current.get(key, base[key])
        rows.append({"section": "inputs", "item": label, "value": value, "unit": unit,
                     "basis": "user input" if key in given else "default",
                     "note": key})
    rows.append({"section": "inputs", "item": "calibration from measurements",
                 "value": "used" if calibrated else "not used", "unit": "",
                 "basis": "user input" if calibrated else "default",
                 "note": "Measurements page toggle"})
    return pd.DataFrame(rows, columns=HEAD)


def site_frame(result: PlanResult) -> pd.DataFrame:
    """The site's resolved figures with their sources."""
    s = result.site
    rows = [
        ("grid carbon intensity", s.carbon_intensity_g_per_kwh, "g CO2e/kWh",
         f"{s.intensity_source} (data year {s.intensity_year})", s.intensity_label),
        ("PUE", s.pue, "ratio", s.pue_basis, ""),
        ("electricity price", s.electricity_usd_per_kwh, "USD/kWh", s.electricity_basis, ""),
        ("market-based emission factor", s.market_intensity_g_per_kwh, "g CO2e/kWh",
         s.market_basis, "scope 2 market-based"),
        ("on-site WUE", s.wue_l_per_kwh, "L/kWh of IT energy", s.wue_basis, ""),
        ("grid water intensity", s.water_offsite_l_per_kwh, "L/kWh", s.water_offsite_basis,
         "off-site: electricity generation"),
    ]
    return pd.DataFrame([{"section": "site", "item": i, "value": v, "unit": u, "basis": b,
                          "note": n} for i, v, u, b, n in rows], columns=HEAD)


def assumptions_frame(planner: Planner) -> pd.DataFrame:
    """Every default assumption with its source, confidence and note."""
    d = planner.defaults
    rows = [{"section": "assumptions", "item": name, "value": a.value, "unit": "",
             "basis": f"{d.cite(a)}; confidence {a.confidence}", "note": a.note or ""}
            for name, a in d.assumptions().items()]
    return pd.DataFrame(rows, columns=HEAD)


def full_report(current: Mapping[str, object], planner: Planner,
                result: PlanResult | None = None, calibrated: bool = False) -> pd.DataFrame:
    """Inputs, site, assumptions and results in one long table (``result``: the plan of the
    inputs, when already made; ``calibrated``: whether it used measurement calibration)."""
    frames = [inputs_frame(current, planner, calibrated)]
    try:
        if result is None:
            result = planner.plan(state.to_scenario(current, planner.defaults,
                                                    state.ALL_SECTIONS))
    except PlannerError as exc:
        frames.append(pd.DataFrame([{"section": "error", "item": "scenario",
                                     "value": "", "note": str(exc)}], columns=HEAD))
        return pd.concat(frames, ignore_index=True)
    frames += [site_frame(result), assumptions_frame(planner), plan_report(result)]
    out = pd.concat(frames, ignore_index=True, sort=False)
    return out[HEAD + [c for c in out.columns if c not in HEAD]]


def full_report_csv(current: Mapping[str, object], planner: Planner) -> str:
    """The full report as CSV text."""
    return full_report(current, planner).to_csv(index=False)
