"""The ``profiles`` and ``plan`` sub-commands: export the catalogue, plan a scenario file."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from planner.errors import PlannerError
from planner.model.catalogue import export_frame
from planner.model.edge import EDGE_VS_CLOUD_PRINT_COLUMNS
from planner.model.levers import LEVER_PRINT_COLUMNS
from planner.model.lifecycle import SUMMARY_PRINT_COLUMNS as LIFECYCLE_SUMMARY_PRINT_COLUMNS
from planner.model.plan import TRAINING_REPORT_COLUMNS, Planner, PlanResult
from planner.model.scenario import load_scenario
from planner.model.serving import FLEET_PRINT_COLUMNS
from planner.model.uncertainty import SENSITIVITY_PRINT_COLUMNS
from planner.model.uncertainty import SUMMARY_PRINT_COLUMNS as UNCERTAINTY_PRINT_COLUMNS
from planner.reports import write_csv_atomic

INFERENCE_REPORT_COLUMNS = [
    "hardware_id", "name", "kind", "placement", "feasible", "infeasible_reason",
    "precision_used", "batch_size", "devices_per_replica", "ttft_s", "tpot_s", "latency_s",
    "requests_per_s_per_replica", "tokens_per_s_per_replica", "energy_j_per_request",
    "energy_kwh_per_1k_requests", "co2e_kg_per_1k_requests", "embodied_co2e_kg_per_1k_requests",
    "cost_usd_per_1k_requests", "energy_kwh_per_1m_tokens", "co2e_kg_per_1m_tokens",
    "cost_usd_per_1m_tokens", "utilisation", "utilisation_basis", "busy_power_w", "power_basis",
    "pue", "carbon_intensity_g_per_kwh", "price_usd_per_device_hour", "price_basis",
]


TRAINING_PRINT_COLUMNS = ["hardware_id", "devices", "days", "device_hours", "energy_kwh",
                          "co2e_kg", "embodied_co2e_kg", "cost_usd", "infeasible_reason"]
INFERENCE_PRINT_COLUMNS = ["hardware_id", "devices_per_replica", "latency_s",
                           "requests_per_s_per_replica", "energy_kwh_per_1k_requests",
                           "co2e_kg_per_1k_requests", "cost_usd_per_1k_requests",
                           "infeasible_reason"]
# What the terminal shows of each section; the CSV always holds every column.
PRINT_COLUMNS = {
    "training": TRAINING_PRINT_COLUMNS,
    "inference": INFERENCE_PRINT_COLUMNS,
    "edge_vs_cloud": EDGE_VS_CLOUD_PRINT_COLUMNS,
    "levers": LEVER_PRINT_COLUMNS,
    "lifecycle_summary": LIFECYCLE_SUMMARY_PRINT_COLUMNS,
    "uncertainty": UNCERTAINTY_PRINT_COLUMNS,
    "sensitivity": SENSITIVITY_PRINT_COLUMNS,
}


def register(subparsers) -> None:
    """Add ``profiles`` and ``plan`` to the CLI."""
    p = subparsers.add_parser("profiles", help="list or export the hardware catalogue")
    p.add_argument("--csv", type=Path, help="write the catalogue to this CSV file")
    p.add_argument("--dir", type=Path, default=None,
                   help="profiles folder (default profiles/hardware)")
    p.set_defaults(func=run_profiles)

    q = subparsers.add_parser("plan", help="plan a scenario file (YAML)")
    q.add_argument("scenario", type=Path, help="the scenario YAML file")
    q.add_argument("--csv", type=Path, help="write one row per hardware option to this CSV file")
    q.add_argument("--dir", type=Path, default=None,
                   help="profiles folder (default profiles/hardware)")
    q.set_defaults(func=run_plan)


def _warn_profile_errors(planner: Planner) -> None:
    for err in planner.profile_errors:
        print(f"warning: skipped a broken profile: {err}")


def run_profiles(args: argparse.Namespace) -> int:
    planner = Planner.load(args.dir)
    _warn_profile_errors(planner)
    table = export_frame(planner.catalogue)
    if args.csv:
        write_csv_atomic(table, args.csv)
        print(f"wrote {len(table)} hardware profiles to {args.csv}")
    else:
        _print_table(table[["hardware_id", "kind", "placement", "memory_gb",
                            "memory_bandwidth_gb_per_s", "dense_tflops_bf16", "rated_power_w",
                            "cloud_price_usd_per_device_hour"]], "Hardware catalogue")
    return 0


def plan_sections(result: PlanResult) -> dict[str, pd.DataFrame]:
    """The report tables of a plan, by section name, in report column order."""
    sections: dict[str, pd.DataFrame] = {}
    if result.training is not None:
        sections["training"] = result.training[TRAINING_REPORT_COLUMNS]
    if result.inference is not None:
        cols = [c for c in INFERENCE_REPORT_COLUMNS if c in result.inference.columns]
        extra = [c for c in result.inference.columns if c.startswith("fleet_")
                 or c.startswith("annual_")]
        sections["inference"] = result.inference[cols + extra]
    for name, frame in result.extras.items():
        if isinstance(frame, pd.DataFrame):
            sections[name] = frame
    return sections


def plan_report(result: PlanResult) -> pd.DataFrame:
    """All sections in one long table, with a leading ``section`` column."""
    frames = []
    for name, frame in plan_sections(result).items():
        frames.append(frame.assign(section=name)[["section", *frame.columns]])
    return pd.concat(frames, ignore_index=True, sort=False)


def run_plan(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    planner = Planner.load(args.dir)
    _warn_profile_errors(planner)
    result = planner.plan(scenario)
    site = result.site
    print(f"Scenario {scenario.name!r}: grid {site.carbon_intensity_g_per_kwh:.0f} gCO2e/kWh "
          f"({site.intensity_label}, data year {site.intensity_year}); PUE {site.pue:g}")
    for name, frame in plan_sections(result).items():
        if name == "lifecycle":
            print(f"lifecycle: {len(frame)} monthly rows (cumulative curves) in the CSV")
            continue
        columns = PRINT_COLUMNS.get(name, TRAINING_PRINT_COLUMNS)
        if name == "inference" and "fleet_devices" in frame.columns:
            columns = FLEET_PRINT_COLUMNS
        _print_table(frame[[c for c in columns if c in frame.columns]], name)
    if args.csv:
        report = plan_report(result)
        write_csv_atomic(report, args.csv)
        print(f"wrote {len(report)} rows to {args.csv}")
    if result.training is not None and not result.training["feasible"].any():
        raise PlannerError("no hardware option can run this training scenario: "
                           + "; ".join(sorted(set(result.training["infeasible_reason"]))))
    return 0


def _print_table(frame: pd.DataFrame, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in frame.columns:
        table.add_column(str(col), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[_fmt(v) for v in row])
    Console(width=200).print(table)


def _fmt(v) -> str:
    if isinstance(v, float):
        if v != v:
            return "-"
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)
