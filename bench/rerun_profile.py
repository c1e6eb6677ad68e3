"""Profile: where a dashboard page's rerun after a PUE change spends its time.

    python bench/rerun_profile.py [PAGE ...] [--reruns 5] [--top 30] [--sort tottime]

Each page runs under ``streamlit.testing.v1.AppTest`` as in ``bench/dashboard_speed.py``
(the site-independent memos on, a PUE not seen before on every rerun); the script thread of
every timed rerun runs under ``cProfile`` and the summed statistics are printed per page
(PAGE: a title prefix such as ``Optimisation``; all pages when none is given).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", help="title prefixes of the pages to profile")
    parser.add_argument("--reruns", type=int, default=5)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime", help="pstats sort key")
    args = parser.parse_args()
    os.chdir(ROOT)
    from dashboard_speed import _page_paths, open_page
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    from planner.dashboard.state import LAST_RUN_CPU

    profile: list[cProfile.Profile | None] = [None]
    original = LocalScriptRunner._run_script_thread

    def profiled(self) -> None:  # the script's own thread
        if profile[0] is None:
            return original(self)
        profile[0].enable()
        try:
            return original(self)
        finally:
            profile[0].disable()

    LocalScriptRunner._run_script_thread = profiled
    pue = 1.3 + (time.time() % 1000) * 1e-5  # values no earlier run of this process planned
    for title, path in _page_paths().items():
        if args.pages and not any(title.startswith(p) for p in args.pages):
            continue
        at = open_page(title, path)
        pue += 0.001
        at.number_input(key="site_pue").set_value(round(pue, 6))
        at.run()  # the first change: from the default PUE to the user's
        prof, cpu = cProfile.Profile(), []
        for _ in range(args.reruns):
            pue += 0.001
            at.number_input(key="site_pue").set_value(round(pue, 6))
            profile[0] = prof
            at.run()
            profile[0] = None
            assert not at.exception, [e.value for e in at.exception]
            cpu.append(at.session_state[LAST_RUN_CPU])
        print(f"\n=== {title}: script CPU under the profiler, per rerun "
              f"{', '.join(f'{c * 1000:.0f}' for c in cpu)} ms; totals over {args.reruns} "
              "reruns ===")
        pstats.Stats(prof).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
