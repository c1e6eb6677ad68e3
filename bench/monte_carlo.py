"""Bench: the Monte Carlo of a scenario's serving and training, all draws in one pass.

    python bench/monte_carlo.py [SCENARIO.yaml] [--draws N] [--repeats R]

Plans the scenario once (default: examples/llama-8b-lifecycle.yaml), then times
``plan_uncertainty`` (every draw × option through performance, fleet sizing, the year of
service and training, plus the one-at-a-time sensitivity) and prints draws, options, seconds
and draws per second (best of R runs).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.model.plan import Planner
from planner.model.scenario import UncertaintySpec, load_scenario
from planner.model.uncertainty import plan_uncertainty

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=ROOT / "examples" /
                        "llama-8b-lifecycle.yaml", type=Path)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    base = scenario.uncertainty or UncertaintySpec()
    spec = base.model_copy(update={"draws": args.draws})
    planner = Planner.load()
    plan = planner.plan(scenario.model_copy(update={"uncertainty": None}))

    def run():
        return plan_uncertainty(spec, scenario.inference, plan.training, plan.inference)

    result = run()  # warm up (imports, data files)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
    best = min(times)
    serving = len(result.options.get("serving", []))
    training = len(result.options.get("training", []))
    print(f"scenario: {args.scenario.name}")
    print(f"draws: {args.draws:,}; options: {serving} serving + {training} training "
          f"({args.draws * (serving + training):,} draw × option evaluations)")
    median = sorted(times)[len(times) // 2]
    print(f"seconds: {best:.3f} (best of {args.repeats}; median {median:.3f})")
    print(f"draws/s: {args.draws / best:,.0f}")


if __name__ == "__main__":
    main()
