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
from planner.errors import PlannerError
from planner.model.plan import Planner, PlanResult
from planner.model.report import plan_report

HEAD = ["section", "item", "value", "unit", "basis", "note"]

INPUT_UNITS = {
    "site_region": ("region (provider:region or country:ISO)", ""),
    "site_g_per_kwh": ("grid intensity override", "g CO2e/kWh"),
    "site_pue": ("PUE", "ratio"),
    "site_elec_usd_per_kwh": ("electricity price", "USD/kWh"),
    "price_mode": ("pricing", "cloud or on_prem"),
    "price_discount_pct": ("cloud discount", "%"),
    "price_life_years": ("service life", "years"),
    "t_model": ("training model", "preset id"),
    "t_params_b": ("training parameters (custom model)", "billions"),
    "t_tokens_t": ("training tokens (custom model)", "trillions"),
    "t_precision": ("training precision", ""),
    "t_size_by": ("training sized by", "deadline or devices"),
    "t_days": ("training deadline", "days"),
    "t_devices": ("training devices", "devices"),
    "t_mfu_pct": ("model-FLOPs utilisation override", "%"),
    "i_model": ("served model", "preset id"),
    "i_params_b": ("served parameters (custom model)", "billions"),
    "i_prompt_tokens": ("prompt", "tokens per request"),
    "i_output_tokens": ("output", "tokens per request"),
    "i_batch": ("largest batch tried", "requests"),
    "i_precision": ("serving precision", ""),
    "i_rps_avg": ("average load", "requests/s"),
    "i_rps_peak": ("peak load", "requests/s"),
    "i_latency_p95_s": ("latency target (p95)", "s"),
    "i_ttft_s": ("time to first token target (p95)", "s"),
    "i_headroom_pct": ("headroom", "%"),
    "i_rtt_s": ("network round trip", "s"),
    "i_autoscaling": ("autoscaling", "true or false"),
    "lc_horizon_months": ("planning horizon", "months"),
    "lc_retrain_months": ("retrain every", "months"),
    "lc_retrain_pct": ("retraining cost", "% of the first training"),
    "lc_serving_hw": ("lifecycle serving hardware", "hardware id (blank: cheapest)"),
    "lv_quant": ("lever: quantisation", "precision or none"),
    "lv_prune": ("lever: pruning", "pattern or none"),
    "lv_distil": ("lever: distil into", "preset id or none"),
    "lv_batch": ("lever: fixed batch", "requests"),
    "lv_region": ("lever: region", "provider:region, country:ISO or none"),
    "lv_pue": ("lever: PUE", "ratio"),
    "u_draws": ("Monte Carlo draws", "draws"),
    "u_seed": ("Monte Carlo seed", ""),
}


def inputs_frame(current: Mapping[str, object], planner: Planner,
                 calibrated: bool = False) -> pd.DataFrame:
    """One row per dashboard input, with its unit and whether it is the default."""
    base = state.default_state(planner.defaults)
    rows = []
    for key, (label, unit) in INPUT_UNITS.items():
        value = current.get(key, base[key])
        rows.append({"section": "inputs", "item": label, "value": value, "unit": unit,
                     "basis": "default" if value == base[key] else "user input",
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
