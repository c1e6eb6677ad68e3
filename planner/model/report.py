"""The report of a plan: its sections, their columns in order, the columns a terminal shows,
and the one readable ``assumptions`` line per row. The command line (``plan --csv``) and the
dashboard (tables, the full-report download) both read the plan through this module.

Units are in the column names. A new section is a new entry in ``PRINT_COLUMNS`` (and its
column list here, where the section's module builds its frame from it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.model.boundaries import boundary_rows
from planner.model.result import PlanResult
from planner.model.site import ResolvedSite

# The columns of a training plan's CSV, in order.
TRAINING_REPORT_COLUMNS = [
    "hardware_id", "name", "kind", "placement", "feasible", "infeasible_reason", "mode",
    "precision_used", "devices", "min_devices_for_memory", "hours", "days", "device_hours",
    "energy_kwh", "device_energy_kwh", "host_energy_kwh", "facility_energy_kwh",
    "co2e_kg", "embodied_co2e_kg", "total_co2e_kg", "cost_usd", "cloud_cost_usd",
    "on_prem_cost_usd", "total_flops", "flops", "peak_flops_per_s", "utilisation",
    "utilisation_basis", "predicted_mfu", "layout", "compute_share", "communication_share",
    "bubble_share", "goodput", "goodput_basis", "memory_per_device_gb", "architecture_basis",
    "throughput_basis", "busy_power_w", "power_basis", "host_power_fraction",
    "host_power_w_per_device", "energy_boundary", "pue",
    "carbon_intensity_g_per_kwh", "price_usd_per_device_hour", "price_basis",
    "embodied_co2e_kg_per_device", "embodied_basis", "service_life_years",
    *["market_co2e_kg", "market_total_co2e_kg", "water_onsite_l", "water_offsite_l", "water_l"],
    *["market_carbon_intensity_g_per_kwh", "market_basis", "wue_l_per_kwh", "wue_basis",
      "water_offsite_l_per_kwh", "water_offsite_basis"],
    "assumptions",
]

# The per-replica columns of an inference plan; with traffic every ``fleet_*`` and
# ``annual_*`` column follows (``inference_columns``).
INFERENCE_REPORT_COLUMNS = [
    "hardware_id", "name", "kind", "placement", "feasible", "infeasible_reason",
    "precision_used", "batch_size", "layout", "tensor_parallel", "pipeline_parallel",
    "devices_per_replica", "replica_concurrency", "ttft_s", "prefill_s", "tpot_s", "latency_s",
    "requests_per_s_per_replica", "tokens_per_s_per_replica", "device_power_w",
    "device_energy_j_per_request", "energy_j_per_request", "device_energy_j_per_output_token",
    "energy_j_per_output_token", "communication_s_per_step", "tensor_parallel_s_per_step",
    "expert_parallel_s_per_step", "pipeline_parallel_s_per_step", "communication_share",
    "energy_kwh_per_1k_requests", "co2e_kg_per_1k_requests", "embodied_co2e_kg_per_1k_requests",
    "cost_usd_per_1k_requests", "energy_kwh_per_1m_tokens", "co2e_kg_per_1m_tokens",
    "cost_usd_per_1m_tokens", "utilisation", "utilisation_basis", "bandwidth_utilisation",
    "bandwidth_basis", "engine_overhead_s_per_step", "busy_power_w", "decode_power_w",
    "idle_power_w", "power_basis", "host_power_w_per_device", "host_power_basis", "pue",
    "carbon_intensity_g_per_kwh", "price_usd_per_device_hour", "price_basis",
    "market_co2e_kg_per_1k_requests", "water_l_per_1k_requests", "water_l_per_1m_tokens",
    "market_carbon_intensity_g_per_kwh", "market_basis", "wue_l_per_kwh", "wue_basis",
    "water_offsite_l_per_kwh", "water_offsite_basis",
]

EDGE_VS_CLOUD_COLUMNS = [
    "hardware_id", "name", "kind", "placement", "feasible", "infeasible_reason", "devices",
    "batch_size", "network_rtt_s", "latency_s", "ttft_s", "energy_j_per_request",
    "energy_kwh", "co2e_kg", "embodied_co2e_kg", "total_co2e_kg", "cost_usd",
    "energy_kwh_per_1k_requests", "total_co2e_kg_per_1k_requests", "cost_usd_per_1k_requests",
    "pue", "best_datacenter_id", "energy_vs_best_datacenter", "co2e_vs_best_datacenter",
    "cost_vs_best_datacenter", "cost_basis",
]

LEVER_COLUMNS = [
    "lever", "setting", "hardware_id", "name", "placement", "feasible", "infeasible_reason",
    "precision_used", "batch_size", "devices", "latency_s", "ttft_s", "prefill_s", "tpot_s",
    "energy_kwh_per_1k_requests", "co2e_kg_per_1k_requests", "water_l_per_1k_requests",
    "cost_usd_per_1k_requests", "annual_energy_kwh", "annual_total_co2e_kg", "annual_water_l",
    "annual_cost_usd", "one_off_energy_kwh", "one_off_co2e_kg", "one_off_water_l",
    "one_off_cost_usd", "payback_months", "latency_vs_baseline", "energy_vs_baseline",
    "co2e_vs_baseline", "water_vs_baseline", "cost_vs_baseline", "source", "note",
]

LIFECYCLE_SUMMARY_COLUMNS = [
    "hardware_id", "training_hardware_id", "horizon_months", "retrain_every_months",
    "retrainings", "training_cost_usd", "retraining_cost_usd", "serving_cost_usd",
    "total_cost_usd", "training_energy_kwh", "retraining_energy_kwh", "serving_energy_kwh",
    "total_energy_kwh", "training_co2e_kg", "retraining_co2e_kg", "serving_co2e_kg",
    "total_co2e_kg", "serving_share_of_cost", "serving_share_of_energy",
    "serving_share_of_co2e", "break_even_month_cost", "break_even_month_energy",
    "break_even_month_co2e", "training_water_l", "retraining_water_l", "serving_water_l",
    "total_water_l", "serving_share_of_water", "break_even_month_water", "break_even_note",
]

UNCERTAINTY_COLUMNS = ["phase", "hardware_id", "metric", "baseline", "p10", "p50", "p90",
                       "mean", "draws", "draws_meeting_target_share", "note"]
SENSITIVITY_COLUMNS = ["phase", "hardware_id", "metric", "assumption", "rank", "low_factor",
                       "high_factor", "result_at_low", "result_at_high", "swing_fraction",
                       "spearman_rho", "source", "note"]

# What the terminal shows of each section; the CSV always holds every column.
TRAINING_PRINT_COLUMNS = ["hardware_id", "devices", "days", "device_hours", "predicted_mfu",
                          "layout", "energy_kwh", "co2e_kg", "market_co2e_kg",
                          "embodied_co2e_kg", "water_l", "cost_usd", "infeasible_reason"]
INFERENCE_PRINT_COLUMNS = ["hardware_id", "devices_per_replica", "latency_s",
                           "requests_per_s_per_replica", "energy_kwh_per_1k_requests",
                           "co2e_kg_per_1k_requests", "water_l_per_1k_requests",
                           "cost_usd_per_1k_requests", "infeasible_reason"]
# A sized inference table (with traffic) shows its fleet instead.
FLEET_PRINT_COLUMNS = ["hardware_id", "batch_size", "fleet_devices", "fleet_latency_p95_s",
                       "annual_energy_kwh", "annual_total_co2e_kg", "annual_water_l",
                       "annual_cost_usd",
                       "fleet_cost_usd_per_1m_tokens", "infeasible_reason"]
PRINT_COLUMNS = {
    "training": TRAINING_PRINT_COLUMNS,
    "inference": INFERENCE_PRINT_COLUMNS,
    "edge_vs_cloud": ["hardware_id", "placement", "devices", "latency_s", "energy_kwh",
                      "total_co2e_kg", "cost_usd", "co2e_vs_best_datacenter",
                      "infeasible_reason"],
    "levers": ["lever", "setting", "hardware_id", "devices", "latency_s",
               "energy_kwh_per_1k_requests", "cost_usd_per_1k_requests",
               "latency_vs_baseline", "energy_vs_baseline", "co2e_vs_baseline",
               "cost_vs_baseline", "one_off_cost_usd", "infeasible_reason"],
    "lifecycle_summary": ["hardware_id", "training_hardware_id", "training_cost_usd",
                          "retraining_cost_usd", "serving_cost_usd", "total_cost_usd",
                          "total_energy_kwh", "total_co2e_kg", "break_even_month_cost",
                          "break_even_month_co2e", "break_even_note"],
    "uncertainty": ["phase", "hardware_id", "metric", "baseline", "p10", "p50", "p90",
                    "draws_meeting_target_share"],
    "sensitivity": ["phase", "hardware_id", "metric", "assumption", "rank",
                    "swing_fraction", "spearman_rho"],
}
# Sections too long for a terminal: only their row count is printed.
SUMMARISED_SECTIONS = ("lifecycle",)


def inference_columns(inference: pd.DataFrame) -> list[str]:
    """The report columns of an inference table: per replica, then fleet and annual ones."""
    cols = [c for c in INFERENCE_REPORT_COLUMNS if c in inference.columns]
    return cols + [c for c in inference.columns if c.startswith(("fleet_", "annual_"))]


def plan_sections(result: PlanResult) -> dict[str, pd.DataFrame]:
    """The report tables of a plan, by section name, in report column order."""
    sections: dict[str, pd.DataFrame] = {}
    if result.training is not None:
        sections["training"] = result.training[TRAINING_REPORT_COLUMNS]
    if result.inference is not None:
        sections["inference"] = result.inference[inference_columns(result.inference)]
    for name, frame in result.extras.items():
        if isinstance(frame, pd.DataFrame):
            sections[name] = frame
    return sections


def plan_report(result: PlanResult) -> pd.DataFrame:
    """All sections in one long table, with a leading ``section`` column (the CSV); last, the
    ``boundaries`` section names the boundary and GHG scope of every footprint column."""
    frames = []
    sections = plan_sections(result)
    sections["boundaries"] = boundary_rows(sections)
    for name, frame in sections.items():
        frames.append(frame.assign(section=name)[["section", *frame.columns]])
    return pd.concat(frames, ignore_index=True, sort=False)


def print_columns(name: str, frame: pd.DataFrame) -> list[str] | None:
    """The columns a terminal shows of section ``name``; None for a section it summarises."""
    if name in SUMMARISED_SECTIONS:
        return None
    columns = PRINT_COLUMNS.get(name, TRAINING_PRINT_COLUMNS)
    if name == "inference" and "fleet_devices" in frame.columns:
        columns = FLEET_PRINT_COLUMNS
    return [c for c in columns if c in frame.columns]


def _cells(values: pd.Series, digits: int | None = None) -> list[str]:
    """Each value as ``astype(str)`` writes it (rounded to ``digits``), "unknown" where it is
    missing: an unknown figure must still read."""
    if digits is not None:
        return ["unknown" if v != v else str(v)
                for v in np.round(values.to_numpy(dtype=float), digits).tolist()]
    out = []
    for v in values.tolist():
        text = "unknown" if v is None or v is pd.NA or v != v else str(v)
        out.append("unknown" if text == "nan" else text)
    return out


def describe_assumptions(frame: pd.DataFrame, site: ResolvedSite) -> pd.Series:
    """One readable line per row: the figures that were not the user's own. (Written row by
    row in Python: the same text by pandas string operations took ~10 ms a training plan.)"""
    site_text = (f"grid {site.carbon_intensity_g_per_kwh:.0f} g/kWh ({site.intensity_label}, "
                 f"{site.intensity_year}; {site.intensity_source}); PUE {site.pue:g} "
                 f"({site.pue_basis})")
    n = len(frame)
    goodput = (zip(_cells(frame["goodput"], 3), _cells(frame["goodput_basis"]), strict=True)
               if "goodput" in frame.columns else [None] * n)
    rows = zip(_cells(frame["utilisation"], 3), _cells(frame["utilisation_basis"]), goodput,
               _cells(frame["busy_power_w"], 1), _cells(frame["power_basis"]),
               _cells(frame["embodied_co2e_kg_per_device"]), _cells(frame["embodied_basis"]),
               _cells(frame["service_life_years"]), _cells(frame["price_basis"]), strict=True)
    return pd.Series(
        [f"utilisation {u} ({ub}"
         + (f"); goodput {g[0]} ({g[1]}" if g is not None else "")
         + f"); power {w} W ({wb}); embodied {e} kg ({eb}); life {life} y; price: {price}; "
         + site_text
         for u, ub, g, w, wb, e, eb, life, price in rows],
        index=frame.index, dtype="str")
