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
from planner.model.frames import column_values, frame_from_arrays, owned
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
    # the columns by position from the table's blocks, one frame built at the end (a take
    # of the columns, four inserts and a reorder cost ~4 ms on a 50-row table)
    at = dict(zip(names, inference.columns.get_indexer(list(names.values())).tolist(),
                  strict=True))
    if min(at.values()) < 0 or not inference.columns.is_unique:
        return _compare_by_name(inference, names)
    column = {name: column_values(inference, i) for name, i in at.items()}
    n = len(inference)
    total = np.asarray(column["total_co2e_kg"], dtype=float)
    dc = np.flatnonzero((placement != "edge").to_numpy(dtype=bool)
                        & np.asarray(column["feasible"], dtype=bool) & ~np.isnan(total))
    best_id, ratios = _best(column, dc, total, n)
    column["best_datacenter_id"] = pd.Series([best_id] * n).array  # text: as an insert makes
    column.update(ratios)
    arrays = [owned(column[name]) for name in EDGE_VS_CLOUD_COLUMNS]
    return frame_from_arrays(arrays, pd.Index(EDGE_VS_CLOUD_COLUMNS), pd.RangeIndex(n))


def _best(column, dc: np.ndarray, total: np.ndarray, n: int) -> tuple[str, dict]:
    """The data-centre option of lowest total CO2e (the first of the lowest, as idxmin) and
    every option's energy, CO2e and cost as ratios to it (NaN where there is none)."""
    if not dc.size:
        return "none meets the target", {f"{col}_vs_best_datacenter": np.full(n, np.nan)
                                         for col in ("energy", "co2e", "cost")}
    best = dc[np.argmin(total[dc])]
    ratios = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for col, name in (("energy", "energy_kwh"), ("co2e", "total_co2e_kg"),
                          ("cost", "cost_usd")):
            values = np.asarray(column[name], dtype=float)
            ratios[f"{col}_vs_best_datacenter"] = values / values[best]
    return column["hardware_id"][best], ratios


def _compare_by_name(inference: pd.DataFrame, names: dict) -> pd.DataFrame:
    """``compare_edge_cloud`` by column name (a table with duplicated or missing names)."""
    placement = inference["placement"]
    out = inference[list(names.values())].set_axis(list(names), axis=1)
    total = out["total_co2e_kg"].to_numpy(dtype=float)
    dc = np.flatnonzero((placement != "edge").to_numpy(dtype=bool)
                        & out["feasible"].to_numpy(dtype=bool) & ~np.isnan(total))
    best_id, ratios = _best({k: out[k].to_numpy() for k in ("hardware_id", "energy_kwh",
                                                             "total_co2e_kg", "cost_usd")},
                            dc, total, len(out))
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
