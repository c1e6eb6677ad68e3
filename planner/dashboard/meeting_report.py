"""A report for the meeting: the current scenario's charts and tables in one self-contained
HTML file (Plotly's own ``to_html`` with plotly.js inlined once, so it opens offline), and
the full report as one CSV per section in a ZIP.

Pure: no streamlit. The tables are the full report's sections: the inputs, site and assumptions
(``reports``) and every result section in the model's report columns
(``planner.model.report``), with their provenance columns.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go

from planner.dashboard import figures, formats, reports, tables
from planner.model.boundaries import boundary_rows
from planner.model.plan import Planner, PlanResult
from planner.model.report import plan_sections

HEADLINE_COLUMNS = {  # section → (columns shown in the HTML, sort column), the first whose
    # sort column the table has: without traffic a serving plan has per-replica figures only
    "training": [(["name", "devices", "days", "energy_kwh", "total_co2e_kg", "cost_usd",
                   "flops", "predicted_mfu", "utilisation", "price_basis"], "cost_usd")],
    "inference": [(["name", "fleet_devices", "batch_size", "fleet_latency_p95_s",
                    "annual_cost_usd", "annual_energy_kwh", "annual_total_co2e_kg",
                    "fleet_cost_usd_per_1k_requests", "price_basis"], "annual_cost_usd"),
                  (["name", "devices_per_replica", "batch_size", "latency_s",
                    "cost_usd_per_1k_requests", "energy_kwh_per_1k_requests",
                    "co2e_kg_per_1k_requests", "cost_usd_per_1m_tokens", "price_basis"],
                   "cost_usd_per_1k_requests")],
}


def report_figures(result: PlanResult) -> list[tuple[str, go.Figure]]:
    """The charts of a plan, each with a heading: hardware trade-offs, the cheapest
    training run's energy and carbon, the lifecycle and the levers (where planned)."""
    out: list[tuple[str, go.Figure]] = []
    if result.training is not None and len(result.training):
        ok = result.training[result.training["feasible"].astype(bool)]
        if len(ok):
            out.append(("Training on every device", figures.training_tradeoff(ok)))
            choice = tables.default_training_choice(result.training)
            row = ok.set_index("hardware_id").loc[choice]
            out.append((f"Training on {row['name']}: energy", figures.energy_breakdown(row)))
            out.append((f"Training on {row['name']}: carbon", figures.carbon_breakdown(row)))
    if result.inference is not None and len(result.inference):
        ok = result.inference[result.inference["feasible"].astype(bool)]
        if len(ok) and "annual_cost_usd" in ok.columns:
            out.append(("Serving the traffic for a year", figures.serving_tradeoff(ok)))
        elif len(ok):
            out.append(("Serving one replica", figures.inference_tradeoff(ok)))
    if "lifecycle" in result.extras:
        summary = result.extras["lifecycle_summary"].iloc[0]
        curves = result.extras["lifecycle"]
        curves = curves[curves["hardware_id"] == summary["hardware_id"]]
        out.append(("Lifecycle: training against serving", figures.lifecycle_figure(
            curves, "cost_usd", label="cost (USD)", scale=1.0,
            break_even=summary["break_even_month_cost"])))
    if "levers" in result.extras:
        levers = result.extras["levers"]
        out.append(("Optimisation levers", figures.levers_figure(
            levers[levers["feasible"].astype(bool)])))
    return out


def _headline(result: PlanResult) -> list[tuple[str, pd.DataFrame]]:
    """Short tables for reading on paper: the main columns of each result section."""
    out = []
    for section, layouts in HEADLINE_COLUMNS.items():
        frame = getattr(result, section, None)
        if frame is None or not len(frame):
            continue
        columns, order = next(((c, o) for c, o in layouts if o in frame.columns),
                              (["name"], "name"))
        ok = frame[frame["feasible"].astype(bool)]
        shown = ok[[c for c in columns if c in ok.columns]].sort_values(order)
        out.append((f"{section.capitalize()}: every feasible device", shown))
    if "lifecycle_summary" in result.extras:
        out.append(("Lifecycle totals", result.extras["lifecycle_summary"]))
    if "levers" in result.extras:
        levers = result.extras["levers"]
        out.append(("Levers", levers[[c for c in ("lever", "setting", "annual_cost_usd",
                                                  "cost_vs_baseline", "co2e_vs_baseline",
                                                  "energy_vs_baseline", "source")
                                      if c in levers.columns]]))
    return out


def _table_html(frame: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return formats.sig(v) if v == v else ""
        return html.escape(str(v))
    return frame.to_html(index=False, border=0, classes="t", escape=False,
                         formatters={c: cell for c in frame.columns})


STYLE = """body{font-family:Inter,Segoe UI,Helvetica,Arial,sans-serif;margin:1.5rem auto;
max-width:1100px;padding:0 1rem;color:#222}h1{font-size:1.7rem}h2{margin-top:2rem;
border-bottom:1px solid #ccc}table.t{border-collapse:collapse;font-size:.85rem;display:block;
overflow-x:auto}table.t td,table.t th{padding:.25rem .5rem;border-bottom:1px solid #eee;
text-align:right}table.t td:first-child,table.t th:first-child{text-align:left}
.note{color:#555;font-size:.9rem}"""


def file_stem(name: str) -> str:
    """A file name from a scenario name: lower case, dashes, 60 characters at most."""
    stem = "".join(c if c.isalnum() else "-" for c in name.lower().strip())
    stem = "-".join(part for part in stem.split("-") if part)[:60]
    return stem or "scenario"


def _title(name: str) -> str:
    return f"AI capacity plan: {name.strip()}" if name.strip() else "AI capacity plan"


def _head(title: str) -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>")


def error_html(sections: dict[str, pd.DataFrame], name: str = "") -> str:
    """The report of a scenario that cannot be planned: the reason and the inputs."""
    parts = [_head(_title(name))]
    for section, frame in sections.items():
        parts.append(f"<h2>{html.escape(section.capitalize())}</h2>{_table_html(frame)}")
    return "\n".join(parts) + "</body></html>"


def report_html(result: PlanResult, sections: dict[str, pd.DataFrame], name: str = "") -> str:
    """One HTML page with every chart (interactive, plotly.js inlined once: no network
    needed to open it) and the tables of the plan, then the inputs and assumptions."""
    title = _title(name)
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [_head(title),
             f"<p class='note'>Made by the AI capacity planner on {made}. Every figure names "
             "its source in the tables below (basis columns); hover a point for its "
             "provenance.</p>"]
    first = True
    for heading, fig in report_figures(result):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=first,
                                 config={"displaylogo": False, "responsive": True},
                                 default_width="100%"))
        first = False
    for heading, frame in _headline(result):
        parts.append(f"<h2>{html.escape(heading)}</h2>{_table_html(frame)}")
    if "not planned" in sections:
        parts.insert(2, "<p class='note'><b>Not planned:</b> "
                     f"{html.escape(str(sections['not planned']['reason'].iloc[0]))}</p>")
    for name in ("inputs", "site", "assumptions"):
        if name in sections:
            frame = sections[name].drop(columns="section")
            parts.append(f"<h2>{html.escape(name.capitalize())}</h2>{_table_html(frame)}")
    parts.append("<p class='note'>The full report, every column of every section, is in "
                 "the ZIP of CSV files beside this page.</p></body></html>")
    return "\n".join(parts)


def report_sections(current: Mapping[str, object], planner: Planner,
                    result: PlanResult | None, calibrated: bool = False,
                    error: str = "") -> dict[str, pd.DataFrame]:
    """The full report by section: the inputs, the site and the default assumptions (as in
    ``reports.full_report``) and every section of the plan in the model's report columns
    (``planner.model.report.plan_sections``); without a plan, an ``error`` section, and with
    a plan made without a section that failed, a ``not planned`` section saying why."""
    out = {"inputs": reports.inputs_frame(current, planner, calibrated)}
    if result is None:
        out["error"] = pd.DataFrame({"scenario": ["cannot be planned"], "reason": [error]})
        return out
    if error:  # planned without the section that failed
        out["not planned"] = pd.DataFrame({"reason": [error]})
    out["site"] = reports.site_frame(result)
    out["assumptions"] = reports.assumptions_frame(planner)
    plan = {name: frame.reset_index(drop=True) for name, frame in plan_sections(result).items()}
    return {**out, **plan, "boundaries": boundary_rows(plan)}


def report_zip(sections: dict[str, pd.DataFrame]) -> bytes:
    """One CSV per section (``01-inputs.csv``, ``02-site.csv`` …) in a ZIP archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i, (name, frame) in enumerate(sections.items(), start=1):
            safe = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "section"
            archive.writestr(f"{i:02d}-{safe}.csv", frame.to_csv(index=False))
    return buffer.getvalue()
