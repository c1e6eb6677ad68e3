"""Bench: the training layout search over (scenario × layout) cells, vectorised vs a loop.

    python bench/training_layouts.py [--loop-rows N]

A sweep of Llama 3 70B over every data-centre device × precisions × sites × device counts is
evaluated by ``evaluate_training`` in one call: every scenario row is searched over every
candidate parallel layout at once. Prints the (scenario × layout) cells per second, and the
ratio against planning each scenario row on its own (the same function on one row at a time).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from planner.model import memo
from planner.model.plan import Planner
from planner.model.sweep import sweep_grid
from planner.model.training import evaluate_training

SITES = [{"country": c} for c in ("USA", "FRA", "DEU", "SWE")]
DEVICES = (64, 256, 1024, 4096, 16384)


def main() -> None:
    # Every call searches afresh: the site-independent memo (planner/model/memo.py) would
    # hand repeated runs of the same grid their kept layouts, timing a cache hit.
    with memo.disabled():
        _main()


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop-rows", type=int, default=60,
                        help="scenario rows timed in the per-scenario loop (the rate is per row)")
    args = parser.parse_args()
    planner = Planner.load()
    grid = sweep_grid(planner, {"training": {"model": "llama-3-70b"}},
                      precisions=("bf16", "fp8"), sites=SITES, devices=DEVICES)
    evaluate_training(grid.head(20))  # warm up
    runs = 3
    t0 = time.perf_counter()
    for _ in range(runs):
        vec = evaluate_training(grid)
    t_vec = (time.perf_counter() - t0) / runs
    cells = vec.attrs["layout_cells"]
    evaluated = vec.attrs["layout_cells_evaluated"]

    rows = np.linspace(0, len(grid) - 1, min(args.loop_rows, len(grid))).astype(int)
    t0 = time.perf_counter()
    looped = [evaluate_training(grid.iloc[[i]]) for i in rows]
    t_loop = time.perf_counter() - t0
    loop_cells = sum(f.attrs["layout_cells"] for f in looped)
    same_h = np.concatenate([f["device_hours"].to_numpy(float) for f in looped])
    want = vec["device_hours"].to_numpy(float)[rows]
    same = bool(np.allclose(same_h, want, rtol=1e-9, equal_nan=True))

    vec_rate = cells / t_vec
    loop_rate = loop_cells / t_loop
    print(f"grid: {len(grid)} scenario rows ({len(planner.profiles)} profiles, data-centre ones "
          f"searched; 2 precisions x {len(SITES)} sites x {len(DEVICES)} device counts), "
          f"{cells:,} (scenario x layout) cells")
    print(f"vectorised: {t_vec:.2f} s -> {vec_rate:,.0f} cells/s "
          f"({len(grid) / t_vec:,.0f} scenario rows/s)")
    # Extra line (not a change to the figures above): rows the search cannot tell apart
    # (the sites here) and counts a row tries twice are searched once, so fewer cells are
    # computed than the (scenario x layout) cells counted above.
    print(f"  of which evaluated after deduplication: {evaluated:,} cells "
          f"({evaluated / t_vec:,.0f} evaluated cells/s)")
    print(f"per-scenario loop: {t_loop:.2f} s for {len(rows)} rows ({loop_cells:,} cells) -> "
          f"{loop_rate:,.0f} cells/s ({len(rows) / t_loop:,.1f} scenario rows/s)")
    print(f"speed ratio (vectorised / loop, per scenario row): "
          f"{(len(grid) / t_vec) / (len(rows) / t_loop):,.0f}x; same results: {same}")


if __name__ == "__main__":
    main()
