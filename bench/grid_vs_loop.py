"""Bench: a scenario grid evaluated in one vectorised pass vs a per-scenario Python loop.

    python bench/grid_vs_loop.py [--loop-rows N]

Prints scenarios per second for both and the speed ratio, over the same grid of
hardware × precision × region × utilisation × device count.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.model import memo
from planner.model.plan import Planner
from planner.model.sweep import sweep_grid
from planner.model.training import evaluate_training

SITES = [{"country": c} for c in ("USA", "FRA", "DEU", "SWE", "IND", "CHN", "BRA", "JPN")] + [
    {"cloud_provider": "aws", "cloud_region": r} for r in ("us-east-1", "us-west-2", "eu-north-1")
] + [{"cloud_provider": "gcp", "cloud_region": r} for r in ("us-central1", "europe-west9")]


def main() -> None:
    # Every call searches afresh: the site-independent memo (planner/model/memo.py) would
    # hand repeated runs of the same grid their kept layouts, timing a cache hit.
    with memo.disabled():
        _main()


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop-rows", type=int, default=2000,
                        help="rows timed in the per-scenario loop (the rate is per row)")
    args = parser.parse_args()
    planner = Planner.load()
    grid = sweep_grid(planner, {"training": {"model": "llama-3-70b", "days": 60}},
                      precisions=("bf16", "fp8", "fp16", "fp32"), sites=SITES,
                      mfus=(0.25, 0.35, 0.45, 0.55), devices=(None, 512, 1024, 2048, 4096))
    n = len(grid)
    evaluate_training(grid.head(10))  # warm up
    runs = 5
    t0 = time.perf_counter()
    for _ in range(runs):
        vec = evaluate_training(grid)
    t_vec = (time.perf_counter() - t0) / runs

    loop_rows = min(args.loop_rows, n)
    t0 = time.perf_counter()
    looped = [evaluate_training(grid.iloc[[i]]) for i in range(loop_rows)]
    t_loop = time.perf_counter() - t0
    # Same answers both ways on the rows the loop covered.
    import pandas as pd

    same = pd.concat(looped)["energy_kwh"].to_numpy()
    ok = ((same == vec["energy_kwh"].to_numpy()[:loop_rows])
          | (pd.isna(same) & vec["energy_kwh"].isna().to_numpy()[:loop_rows])).all()
    vec_rate = n / t_vec
    loop_rate = loop_rows / t_loop
    print(f"grid: {n} scenarios ({len(planner.profiles)} devices x 4 precisions x "
          f"{len(SITES)} sites x 4 MFUs x 5 device counts)")
    print(f"vectorised: {t_vec * 1000:.1f} ms for {n} -> {vec_rate:,.0f} scenarios/s")
    # Extra line: the layout search behind it, and how much of it deduplication leaves (rows
    # differing only in site, price or a user's utilisation are searched once).
    print(f"  layout search: {vec.attrs['layout_cells']:,} (scenario x layout) cells, "
          f"{vec.attrs['layout_cells_evaluated']:,} evaluated after deduplication")
    print(f"per-scenario loop: {t_loop:.2f} s for {loop_rows} -> {loop_rate:,.0f} scenarios/s")
    print(f"speed ratio (vectorised / loop): {vec_rate / loop_rate:,.0f}x; same results: {ok}")


if __name__ == "__main__":
    main()
