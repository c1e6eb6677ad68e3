"""The ``profiles`` and ``plan`` sub-commands: export the catalogue, plan a scenario file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from planner.atomic import write_csv_atomic, write_text_atomic
from planner.errors import PlannerError
from planner.model.boundaries import boundary_legend
from planner.model.catalogue import export_frame
from planner.model.plan import Planner
from planner.model.plausibility import plausibility_warnings
from planner.model.report import plan_report, plan_sections, print_columns
from planner.model.scenario import load_scenario
from planner.model.statement import build_statement, statement_json, statement_markdown


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
    q.add_argument("--statement", type=Path, default=None, metavar="OUT",
                   help="write a footprint statement to OUT.md and OUT.json")
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


def run_plan(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    planner = Planner.load(args.dir)
    _warn_profile_errors(planner)
    result = planner.plan(scenario)
    site = result.site
    for warning in plausibility_warnings(scenario, result.training, result.inference):
        print(f"warning: implausible plan: {warning}", file=sys.stderr)
    print(f"Scenario {scenario.name!r}: grid {site.carbon_intensity_g_per_kwh:.0f} gCO2e/kWh "
          f"({site.intensity_label}, data year {site.intensity_year}); PUE {site.pue:g}")
    print(boundary_legend(site))
    for name, frame in plan_sections(result).items():
        columns = print_columns(name, frame)
        if columns is None:
            print(f"{name}: {len(frame)} monthly rows (cumulative curves) in the CSV")
            continue
        _print_table(frame[columns], name)
    if args.csv:
        report = plan_report(result)
        write_csv_atomic(report, args.csv)
        print(f"wrote {len(report)} rows to {args.csv}")
    if args.statement:
        base = args.statement.with_suffix("") if args.statement.suffix.lower() in (
            ".md", ".json") else args.statement
        statement = build_statement(result)
        md = write_text_atomic(statement_markdown(statement), base.with_name(base.name + ".md"))
        js = write_text_atomic(statement_json(statement), base.with_name(base.name + ".json"))
        print(f"wrote the footprint statement to {md} and {js}")
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
