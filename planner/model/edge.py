"""Edge versus cloud: the same traffic served by NPUs in users' own devices or by a
data-centre fleet, side by side.

An edge fleet is N user devices (``inference.edge_devices``), each answering its own user's
requests at batch 1 with no network round trip, no data-centre PUE and no host share
(``assumptions.attach_assumptions``); it is charged the busy-time share of each device's
embodied carbon and purchase price, since the device exists for its owner anyway. The data
centre adds ``inference.network_rtt_s`` to every request's latency. Both are sized and costed
by ``planner.model.serving``; this module lines them up and compares each with the best
data-centre option.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.errors import ScenarioError
from planner.model.context import PlanningData
from planner.model.report import EDGE_VS_CLOUD_COLUMNS
from planner.model.scenario import Scenario, parse_scenario
from planner.model.site import resolve_site


def compare_edge_cloud(inference: pd.DataFrame | None) -> pd.DataFrame | None:
    """Edge and data-centre fleets for the same traffic, one row each, with ratios to the
    data-centre option of lowest annual CO2e (operational + embodied). None unless the plan
    has traffic and both kinds of placement."""
    if inference is None or "annual_energy_kwh" not in inference:
        return None
    placement = inference["placement"]
    if not ((placement == "edge").any() and (placement != "edge").any()):
        return None
    t = inference
    out = pd.DataFrame({
        "hardware_id": t["hardware_id"], "name": t["name"], "kind": t["kind"],
        "placement": placement, "feasible": t["feasible"],
        "infeasible_reason": t["infeasible_reason"], "devices": t["fleet_devices"],
        "batch_size": t["batch_size"], "network_rtt_s": t["network_rtt_s"],
        "latency_s": t["fleet_latency_p95_s"], "ttft_s": t["fleet_ttft_p95_s"],
        "energy_j_per_request": t["energy_j_per_request"],
        "energy_kwh": t["annual_energy_kwh"], "co2e_kg": t["annual_co2e_kg"],
        "embodied_co2e_kg": t["annual_embodied_co2e_kg"],
        "total_co2e_kg": t["annual_total_co2e_kg"], "cost_usd": t["annual_cost_usd"],
        "energy_kwh_per_1k_requests": t["fleet_energy_kwh_per_1k_requests"],
        "total_co2e_kg_per_1k_requests": t["fleet_total_co2e_kg_per_1k_requests"],
        "cost_usd_per_1k_requests": t["fleet_cost_usd_per_1k_requests"],
        "pue": t["pue"], "cost_basis": t["annual_cost_basis"],
    })
    dc = out[(out["placement"] != "edge") & out["feasible"] & out["total_co2e_kg"].notna()]
    if dc.empty:
        out["best_datacenter_id"] = "none meets the target"
        for col in ("energy", "co2e", "cost"):
            out[f"{col}_vs_best_datacenter"] = np.nan
        return out[EDGE_VS_CLOUD_COLUMNS].reset_index(drop=True)
    best = dc.loc[dc["total_co2e_kg"].idxmin()]
    out["best_datacenter_id"] = best["hardware_id"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["energy_vs_best_datacenter"] = out["energy_kwh"] / best["energy_kwh"]
        out["co2e_vs_best_datacenter"] = out["total_co2e_kg"] / best["total_co2e_kg"]
        out["cost_vs_best_datacenter"] = out["cost_usd"] / best["cost_usd"]
    return out[EDGE_VS_CLOUD_COLUMNS].reset_index(drop=True)


def edge_vs_cloud(planner: PlanningData, scenario: Scenario | dict) -> pd.DataFrame:
    """Plan a scenario's inference and return the edge-versus-cloud comparison.

    ScenarioError where the scenario has no traffic or its hardware is not both kinds.
    """
    from planner.model.serving import plan_serving

    scenario = scenario if isinstance(scenario, Scenario) else parse_scenario(scenario)
    if scenario.inference is None or not scenario.inference.has_traffic:
        raise ScenarioError("inference: edge versus cloud needs traffic "
                            "(requests_per_s_avg or requests_per_s_peak)")
    table = plan_serving(planner, scenario, resolve_site(scenario.site, planner.defaults))
    result = compare_edge_cloud(table)
    if result is None:
        raise ScenarioError("inference.hardware: choose at least one edge device (placement: "
                            "edge) and one data-centre device to compare")
    return result
