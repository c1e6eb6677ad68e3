"""Analytical serving latencies against a SimPy simulation of the same sized fleet.

For each scenario the planner sizes the fleet (``planner.model.fleet``); the simulation
(``planner.model.simulation``) then serves Poisson arrivals at the scenario's peak rate with
the same replicas, step model and token lengths. Printed: p50/p95 end-to-end latency and
TTFT of both and the relative error of the analytical p95 (target: within 15%).

    python bench/serving_simulation.py [--requests 4000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere, as the others

from planner.model import fleet
from planner.model.plan import Planner
from planner.model.scenario import parse_scenario
from planner.model.serving import fleet_inputs, plan_serving, variability_factor
from planner.model.simulation import poisson_requests, simulate

SITE = {"cloud_provider": "aws", "cloud_region": "us-east-1"}
# light: far below capacity (a strict TTFT target sizes the fleet); near-saturated: no
# latency target and 5% headroom; long prompts: 4k-token prompts, short answers.
SCENARIOS = {
    "light": {"model": "llama-3-8b", "hardware": "nvidia-h100-sxm", "batch_size": 64,
              "requests_per_s_peak": 4, "ttft_s": 0.5, "prompt_tokens": 512,
              "output_tokens": 256, "service_time_cv": 0.0},
    "near-saturated": {"model": "llama-3-8b", "hardware": "nvidia-h100-sxm", "batch_size": 64,
                       "batch_policy": "fixed", "requests_per_s_peak": 40, "headroom": 0.05,
                       "prompt_tokens": 512, "output_tokens": 256, "service_time_cv": 0.0},
    "long prompts": {"model": "llama-3-8b", "hardware": "nvidia-h100-sxm", "batch_size": 32,
                     "batch_policy": "fixed", "requests_per_s_peak": 6, "headroom": 0.2,
                     "prompt_tokens": 4096, "output_tokens": 128, "service_time_cv": 0.0},
    "70B on TP": {"model": "llama-3-70b", "hardware": "nvidia-h100-sxm", "batch_size": 64,
                  "batch_policy": "fixed", "requests_per_s_peak": 8, "headroom": 0.2,
                  "prompt_tokens": 512, "output_tokens": 256, "service_time_cv": 0.0},
}


def compare(planner: Planner, name: str, inference: dict, requests: int, seed: int) -> dict:
    """One scenario: the sized fleet's analytical figures beside the simulated ones."""
    scenario = parse_scenario({"inference": inference, "site": SITE})
    row = plan_serving(planner, scenario, planner.resolve_site(scenario)).iloc[[0]]
    if not bool(row["feasible"].iloc[0]):
        raise SystemExit(f"{name}: {row['infeasible_reason'].iloc[0]}")
    c = fleet_inputs(row)
    units = float(row["fleet_replicas"].iloc[0])
    lam = float(row["fleet_peak_requests_per_s"].iloc[0])
    fig = fleet.figures(c, fleet.service_lines(c), units, lam,
                        variability_factor(scenario.inference))
    one = {k: (float(v[0]) if hasattr(v, "__len__") else v) for k, v in c.items()}
    reqs = poisson_requests(lam, requests, inference["prompt_tokens"],
                            inference["output_tokens"], seed)
    t0 = time.perf_counter()
    sim = simulate(one, int(units), reqs, network_rtt_s=float(one["network_rtt_s"]))
    wall = time.perf_counter() - t0
    out = {"scenario": name, "layout": row["layout"].iloc[0], "replicas": units,
           "max_concurrency": one["replica_concurrency"], "rate_per_s": lam,
           "mean_active_model": float(fig["mean_active"][0]),
           "mean_active_sim": sim["mean_active_per_replica"]}
    for m in ("latency_p50", "latency_p95", "ttft_p50", "ttft_p95"):
        model, simulated = float(fig[f"{m}_s"][0]), sim[f"{m}_s"]
        out[f"{m}_model_s"], out[f"{m}_sim_s"] = model, simulated
        if m.endswith("p95"):
            out[f"{m}_error"] = model / simulated - 1.0
    out["sim_wall_s"] = wall
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    planner = Planner.load()
    rows = [compare(planner, n, s, args.requests, args.seed) for n, s in SCENARIOS.items()]
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 30,
                           "display.float_format", "{:.4g}".format):
        print(table.to_string(index=False))
    worst = table[["latency_p95_error", "ttft_p95_error"]].abs().max().max()
    print(f"worst |analytical p95 / simulated p95 - 1| = {worst:.1%} (target 15%)")
    return 0 if worst <= 0.15 else 1


if __name__ == "__main__":
    sys.exit(main())
