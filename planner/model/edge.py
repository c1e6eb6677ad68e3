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
    # each output column is the table's column of the same or another name (one take)
    names = {"hardware_id": "hardware_id", "name": "name", "kind": "kind",
             "placement": "placement", "feasible": "feasible",
             "infeasible_reason": "infeasible_reason", "devices": "fleet_devices",
             "batch_size": "batch_size", "network_rtt_s": "network_rtt_s",
             "latency_s": "fleet_latency_p95_s", "ttft_s": "fleet_ttft_p95_s",
             "energy_j_per_request": "energy_j_per_request", "energy_kwh": "annual_energy_kwh",
             "co2e_kg": "annual_co2e_kg", "embodied_co2e_kg": "annual_embodied_co2e_kg",
             "total_co2e_kg": "annual_total_co2e_kg", "cost_usd": "annual_cost_usd",
             "energy_kwh_per_1k_requests": "fleet_energy_kwh_per_1k_requests",
             "total_co2e_kg_per_1k_requests": "fleet_total_co2e_kg_per_1k_requests",
             "cost_usd_per_1k_requests": "fleet_cost_usd_per_1k_requests",
             "pue": "pue", "cost_basis": "annual_cost_basis"}
    out = inference[list(names.values())].set_axis(list(names), axis=1)
    total = out["total_co2e_kg"].to_numpy(dtype=float)
    dc = np.flatnonzero((placement != "edge").to_numpy(dtype=bool)
                        & out["feasible"].to_numpy(dtype=bool) & ~np.isnan(total))
    ratios = {}
    if not dc.size:
        best_id = "none meets the target"
        for col in ("energy", "co2e", "cost"):
            ratios[f"{col}_vs_best_datacenter"] = np.nan
    else:
        best = dc[np.argmin(total[dc])]  # the first of the lowest (as idxmin)
        best_id = out["hardware_id"].iloc[best]
        with np.errstate(divide="ignore", invalid="ignore"):
            for col, column in (("energy", "energy_kwh"), ("co2e", "total_co2e_kg"),
                                ("cost", "cost_usd")):
                values = out[column].to_numpy(dtype=float)
                ratios[f"{col}_vs_best_datacenter"] = values / values[best]
    out["best_datacenter_id"] = best_id
    for name, values in ratios.items():
        out[name] = values
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
