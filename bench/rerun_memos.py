"""Bench: each dashboard page's rerun after a PUE change, with the site-independent memos
(``planner/model/memo.py``) and without, interleaved in one process.

    python bench/rerun_memos.py [--reruns 7]

Every page runs under ``streamlit.testing.v1.AppTest`` as in ``bench/dashboard_speed.py``;
each rerun sets the sidebar PUE to a value not seen before, so the plan cache misses and every
PUE-dependent figure is recomputed, alternately with the memos on and off
(``memo.disabled()``). Prints the script's CPU time (its own thread, ``time.thread_time``)
medians and their ratio: on a shared machine the ratio is the figure to compare, and CPU time
rather than wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def bench(reruns: int) -> dict[str, dict[str, float]]:
    from dashboard_speed import _page_paths, open_page

    from planner.dashboard.state import LAST_RUN_CPU
    from planner.model import memo

    out = {}
    pue = 1.2 + (time.time() % 1000) * 1e-5  # values no earlier run of this process planned
    for title, path in _page_paths().items():
        at = open_page(title, path)
        cpu: dict[str, list[float]] = {"on": [], "off": []}
        for i in range(reruns + 1):
            for mode in ("on", "off"):
                pue += 0.001
                at.number_input(key="site_pue").set_value(round(pue, 6))
                with memo.disabled() if mode == "off" else nullcontext():
                    at.run()
                assert not at.exception, [e.value for e in at.exception]
                if i:  # the first change turns the PUE from the default to the user's
                    cpu[mode].append(at.session_state[LAST_RUN_CPU])
        out[title] = {m: statistics.median(v) for m, v in cpu.items()}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=7, help="reruns timed per page and mode")
    args = parser.parse_args()
    os.chdir(ROOT)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Machine: {os.cpu_count()} CPUs, load average {load:.2f} at the start.")
    print(f"Rerun after a PUE change, script CPU median of {args.reruns} reruns per page, "
          "memos on and off interleaved:")
    print(f"  {'page':20s} {'memos on':>9s} {'memos off':>10s} {'on/off':>7s}")
    for title, r in bench(args.reruns).items():
        print(f"  {title:20s} {r['on'] * 1000:7.0f}ms {r['off'] * 1000:8.0f}ms "
              f"{r['on'] / r['off']:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
