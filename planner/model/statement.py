"""A footprint statement of a plan: compute, hardware, devices, duration and location; energy
by boundary (device, host, facility); operational CO2e location- and market-based; embodied
(manufacturing, scope 3) CO2e; water; and the Software Carbon Intensity per functional unit.
Every figure carries its unit, boundary and provenance (``build_statement``), and the same
content renders as Markdown (``statement_markdown``) and JSON (``statement_json``).

SCI follows ISO/IEC 21031:2024 (the Green Software Foundation's SCI specification):
SCI = ((E · I) + M) per R, with E the energy [kWh], I the location-based grid intensity
[g CO2e/kWh] (the specification takes it location-based: contractual instruments are not
counted), M the embodied emissions of the hardware's share used [g CO2e] and R the functional
unit: here 1,000 requests and one million output tokens of the serving fleet's year. The
planner's I is the grid's annual average; the specification prefers a marginal intensity
where one is known, so the statement says so.

The option reported for each phase is the one the lifecycle picks (``lifecycle.py``): the
lifecycle's own choice if it names one, else the cheapest feasible (by energy where no
option has a cost).
"""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd

from planner.errors import PlannerError
from planner.model.boundaries import boundary_of
from planner.model.result import PlanResult

SCI_METHOD = ("ISO/IEC 21031:2024 Software Carbon Intensity: SCI = ((E · I) + M) per R; "
              "E energy of the fleet's year, I the grid's location-based average intensity "
              "(the standard prefers a marginal figure where known), M the embodied CO2e of "
              "the hardware share used, R the functional unit")


def _finite(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _pick(frame: pd.DataFrame, wanted, cost: str, energy: str) -> pd.Series | None:
    ok = frame[frame["feasible"].astype(bool)]
    if isinstance(wanted, str) and wanted != "all":
        ok = ok[ok["hardware_id"] == wanted]
    if ok.empty:
        return None
    by = cost if ok[cost].notna().any() else energy
    return ok.loc[ok[by].idxmin()]


def _figure(name: str, value, unit: str, provenance: str, column: str | None = None,
            section: str = "") -> dict:
    b = boundary_of(column or name, section)
    return {"name": name, "value": _finite(value), "unit": unit,
            "boundary": b[0] if b else None, "ghg_scope": b[1] if b else None,
            "provenance": provenance}


def _training_part(row: pd.Series, site) -> dict:
    energy_basis = (f"device power {row['busy_power_w']:.0f} W ({row['power_basis']}) × "
                    f"device-hours; host share {row['host_power_fraction']:g}; PUE {site.pue:g} "
                    f"({site.pue_basis})")
    grid = f"grid {site.carbon_intensity_g_per_kwh:.0f} g/kWh: {site.intensity_source}"
    return {
        "hardware_id": row["hardware_id"], "hardware": row["name"],
        "precision": row["precision_used"],
        "figures": [
            _figure("compute", row["total_flops"], "FLOP",
                    "6·N·D for a language model, else the scenario's FLOPs (training.py)"),
            _figure("devices", row["devices"], "devices", f"mode {row['mode']}"),
            _figure("duration", row["days"], "days",
                    f"FLOPs / (devices × peak × utilisation {row['utilisation']:.3g}, "
                    f"{row['utilisation_basis']})"),
            _figure("device_hours", row["device_hours"], "h", "devices × hours"),
            _figure("device_energy", row["device_energy_kwh"], "kWh", energy_basis,
                    "device_energy_kwh"),
            _figure("host_energy", row["host_energy_kwh"], "kWh", energy_basis,
                    "host_energy_kwh"),
            _figure("facility_energy", row["facility_energy_kwh"], "kWh", energy_basis,
                    "facility_energy_kwh"),
            _figure("energy", row["energy_kwh"], "kWh", energy_basis, "energy_kwh"),
            _figure("operational_co2e_location_based", row["co2e_kg"], "kg CO2e", grid,
                    "co2e_kg"),
            _figure("operational_co2e_market_based", row["market_co2e_kg"], "kg CO2e",
                    site.market_basis, "market_co2e_kg"),
            _figure("embodied_co2e", row["embodied_co2e_kg"], "kg CO2e",
                    f"{row['embodied_co2e_kg_per_device']:.0f} kg per device "
                    f"({row['embodied_basis']}), "
                    f"{row['service_life_years']:g}-year life", "embodied_co2e_kg"),
            _figure("water_onsite", row["water_onsite_l"], "L", site.wue_basis,
                    "water_onsite_l"),
            _figure("water_offsite", row["water_offsite_l"], "L", site.water_offsite_basis,
                    "water_offsite_l"),
            _figure("water", row["water_l"], "L", "on-site + off-site", "water_l"),
        ],
        "assumptions": str(row.get("assumptions", "")),
    }


def _serving_part(row: pd.Series, site, lifecycle: pd.DataFrame | None) -> dict:
    sized = "annual_requests" in row.index and _finite(row.get("annual_requests")) is not None
    p = "annual_" if sized else ""
    unit = "per year" if sized else "per 1,000 requests (one replica at full load)"
    req_flops = row["prefill_flops_per_request"] + (
        row["decode_flops_per_token"] * row["output_tokens"] if row["is_llm"] else 0.0)
    energy_basis = (f"device power {row['busy_power_w']:.0f} W busy ({row['power_basis']}), "
                    f"idle {row['idle_power_w']:.0f} W, hour by hour; host share "
                    f"{row['host_power_fraction']:g}; PUE {row['pue']:g}")
    grid = f"grid {site.carbon_intensity_g_per_kwh:.0f} g/kWh: {site.intensity_source}"

    def col(name: str) -> str:
        return f"{p}{name}" if sized else f"{name}_per_1k_requests"

    figures = [
        _figure("compute_per_request", req_flops, "FLOP",
                "prefill FLOPs + output tokens × FLOPs per output token (inference.py)"),
        _figure("devices", row["fleet_devices"] if sized else row["devices_per_replica"],
                "devices", "fleet sized for the traffic and latency target" if sized
                else "one replica"),
    ]
    if sized:
        figures += [
            _figure("requests", row["annual_requests"], "requests per year",
                    str(row.get("fleet_traffic_basis", "scenario traffic"))),
            _figure("compute", req_flops * row["annual_requests"], "FLOP per year",
                    "compute per request × requests"),
            _figure("device_hours", row["annual_device_hours"], "h per year",
                    "fleet devices × hours rented"),
            *[_figure(f"{part}_energy", row[f"annual_{part}_energy_kwh"], "kWh per year",
                      energy_basis, f"annual_{part}_energy_kwh")
              for part in ("device", "host", "facility")],
        ]
    figures += [
        _figure("energy", row[col("energy_kwh")], f"kWh {unit}", energy_basis,
                col("energy_kwh")),
        _figure("operational_co2e_location_based", row[col("co2e_kg")], f"kg CO2e {unit}",
                grid, col("co2e_kg")),
        _figure("operational_co2e_market_based", row[col("market_co2e_kg")],
                f"kg CO2e {unit}", site.market_basis, col("market_co2e_kg")),
        _figure("embodied_co2e", row[col("embodied_co2e_kg")], f"kg CO2e {unit}",
                f"{row['embodied_co2e_kg_per_device']:.0f} kg per device "
                f"({row['embodied_basis']}), "
                f"{row['service_life_years']:g}-year life", col("embodied_co2e_kg")),
    ]
    if sized:
        figures += [
            _figure("water_onsite", row["annual_water_onsite_l"], "L per year",
                    site.wue_basis, "annual_water_onsite_l"),
            _figure("water_offsite", row["annual_water_offsite_l"], "L per year",
                    site.water_offsite_basis, "annual_water_offsite_l"),
        ]
    figures.append(_figure("water", row[col("water_l")], f"L {unit}",
                           f"on-site ({site.wue_basis}) + off-site "
                           f"({site.water_offsite_basis})", col("water_l")))
    return {"hardware_id": row["hardware_id"], "hardware": row["name"],
            "precision": row["precision_used"], "batch_size": _finite(row["batch_size"]),
            "figures": figures, "sci": _sci(row, sized, lifecycle)}


def _sci(row: pd.Series, sized: bool, lifecycle: pd.DataFrame | None) -> list[dict]:
    """SCI per 1,000 requests and per million output tokens, in g CO2e."""
    if sized:
        e, m = row["annual_energy_kwh"], row["annual_embodied_co2e_kg"] * 1000.0
        i = row["carbon_intensity_g_per_kwh"]
        per = {"1,000 requests": row["annual_requests"] / 1000.0,
               "1 million output tokens": row["annual_output_tokens"] / 1e6}
        where = "the serving fleet's year"
    else:
        e, m = row["energy_kwh_per_1k_requests"], row["embodied_co2e_kg_per_1k_requests"] * 1e3
        i = row["carbon_intensity_g_per_kwh"]
        tokens = row["output_tokens"] if row["is_llm"] else float("nan")
        # E and M are per 1,000 requests, which produce 1,000 × output tokens.
        per = {"1,000 requests": 1.0, "1 million output tokens": tokens * 1000.0 / 1e6}
        where = "one replica at full load, per 1,000 requests"
    out = []
    for r_name, r in per.items():
        value = (e * i + m) / r if _finite(r) and r > 0 else float("nan")
        out.append({"functional_unit": r_name, "value": _finite(value), "unit": "g CO2e",
                    "E_kwh": _finite(e), "I_g_per_kwh": _finite(i), "M_g": _finite(m),
                    "R": _finite(r), "scope": f"serving only: {where}", "method": SCI_METHOD})
    if sized and lifecycle is not None and not lifecycle.empty:
        life = lifecycle[lifecycle["hardware_id"] == row["hardware_id"]]
        if not life.empty:
            s = life.iloc[0]
            months = float(s["horizon_months"])
            requests = row["annual_requests"] * months / 12.0
            total_g = float(s["total_co2e_kg"]) * 1000.0
            out.append({"functional_unit": "1,000 requests", "value": _finite(
                total_g / (requests / 1000.0)), "unit": "g CO2e", "E_kwh": _finite(
                    s["total_energy_kwh"]), "I_g_per_kwh": _finite(i), "M_g": None,
                "R": _finite(requests / 1000.0),
                "scope": f"training, retraining and serving over {months:g} months "
                         "(lifecycle section), embodied included", "method": SCI_METHOD})
    return out


def build_statement(result: PlanResult) -> dict:
    """The statement of a plan as plain data (what ``statement_json`` writes)."""
    site, scenario = result.site, result.scenario
    life_spec = scenario.lifecycle
    out: dict = {
        "scenario": scenario.name,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "location": {
            "site": site.intensity_label, "grid_g_co2e_per_kwh": site.carbon_intensity_g_per_kwh,
            "grid_data_year": site.intensity_year, "grid_source": site.intensity_source,
            "pue": site.pue, "pue_basis": site.pue_basis,
            "market_g_co2e_per_kwh": _finite(site.market_intensity_g_per_kwh),
            "market_basis": site.market_basis, "wue_l_per_kwh": site.wue_l_per_kwh,
            "wue_basis": site.wue_basis,
            "water_offsite_l_per_kwh": site.water_offsite_l_per_kwh,
            "water_offsite_basis": site.water_offsite_basis,
        },
        "boundaries": {
            "operational_co2e_location_based": "scope 2, location-based: all energy × grid "
            "average (GHG Protocol Scope 2 Guidance, 2015)",
            "operational_co2e_market_based": "scope 2, market-based: the contractual factor "
            "or carbon-free share given in the scenario; empty when none is given",
            "embodied_co2e": "scope 3, manufacturing of the devices, amortised over the "
            "service life and charged for the hours used",
            "energy": "device (the planned devices), host (servers' CPU, memory, network "
            "share), facility (PUE − 1 overhead)",
            "water": "consumption: on-site = WUE × IT energy; off-site = grid litres per kWh "
            "× all energy",
        },
        "training": None, "serving": None,
        "option_choice": "the lifecycle's choice where it names one, else the cheapest "
                         "feasible option (by energy where none has a cost)",
    }
    if result.training is not None:
        row = _pick(result.training, life_spec.training_hardware if life_spec else None,
                    "cost_usd", "energy_kwh")
        out["training"] = (_training_part(row, site) if row is not None
                           else {"note": "no feasible training option"})
    if result.inference is not None:
        sized = "annual_cost_usd" in result.inference.columns
        wanted = life_spec.serving_hardware if life_spec else None
        row = _pick(result.inference, wanted, "annual_cost_usd" if sized else
                    "cost_usd_per_1k_requests",
                    "annual_energy_kwh" if sized else "energy_kwh_per_1k_requests")
        out["serving"] = (_serving_part(row, site, result.extras.get("lifecycle_summary"))
                          if row is not None else {"note": "no feasible serving option"})
    if out["training"] is None and out["serving"] is None:
        raise PlannerError("the scenario has neither training nor inference to state")
    return out


def statement_json(statement: dict) -> str:
    """The statement as JSON (NaN written as null)."""
    return json.dumps(statement, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _fmt(value, unit: str) -> str:
    if value is None:
        return "not available"
    text = f"{value:,.4g}" if abs(value) < 1e6 else f"{value:.3e}"
    return f"{text} {unit}"


def statement_markdown(statement: dict) -> str:
    """The statement as a Markdown document."""
    loc = statement["location"]
    lines = [f"# Footprint statement: {statement['scenario']}", "",
             f"Generated {statement['generated_at']} by the AI capacity planner.", "",
             "## Location", "",
             f"- Site: {loc['site']}; grid {loc['grid_g_co2e_per_kwh']:.0f} g CO2e/kWh "
             f"(data year {loc['grid_data_year']}; {loc['grid_source']})",
             f"- PUE {loc['pue']:g} ({loc['pue_basis']})",
             f"- Market-based factor: {_fmt(loc['market_g_co2e_per_kwh'], 'g CO2e/kWh')} "
             f"({loc['market_basis']})",
             f"- WUE {loc['wue_l_per_kwh']:g} L/kWh ({loc['wue_basis']})",
             f"- Grid water {loc['water_offsite_l_per_kwh']:.3g} L/kWh "
             f"({loc['water_offsite_basis']})", "", "## Boundaries", ""]
    lines += [f"- **{k.replace('_', ' ')}**: {v}" for k, v in statement["boundaries"].items()]
    lines += ["", f"Option reported per phase: {statement['option_choice']}.", ""]
    for phase in ("training", "serving"):
        part = statement[phase]
        if part is None:
            continue
        lines += [f"## {phase.title()}", ""]
        if "note" in part:
            lines += [part["note"], ""]
            continue
        lines += [f"Hardware: {part['hardware']} (`{part['hardware_id']}`), precision "
                  f"{part['precision']}.", "", "| Figure | Value | Boundary | Provenance |",
                  "|---|---|---|---|"]
        for f in part["figures"]:
            scope = f" ({f['ghg_scope']})" if f["ghg_scope"] else ""
            lines.append(f"| {f['name'].replace('_', ' ')} | {_fmt(f['value'], f['unit'])} | "
                         f"{(f['boundary'] or '-')}{scope} | {f['provenance']} |")
        lines.append("")
        if part.get("sci"):
            lines += ["### Software Carbon Intensity (ISO/IEC 21031:2024)", "",
                      "| Per | SCI | E (kWh) | I (g/kWh) | M (g) | R | Scope |",
                      "|---|---|---|---|---|---|---|"]
            for s in part["sci"]:
                lines.append(f"| {s['functional_unit']} | {_fmt(s['value'], s['unit'])} | "
                             f"{_fmt(s['E_kwh'], '')} | {_fmt(s['I_g_per_kwh'], '')} | "
                             f"{_fmt(s['M_g'], '')} | {_fmt(s['R'], '')} | {s['scope']} |")
            lines += ["", f"Method: {SCI_METHOD}.", ""]
        if part.get("assumptions"):
            lines += [f"Assumptions: {part['assumptions']}", ""]
    return "\n".join(lines)
