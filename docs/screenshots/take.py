"""Screenshots of every dashboard page at desktop (1440 px) and phone (390 px) widths.

    python docs/screenshots/take.py [--only PAGE ...] [--out DIR]

Starts ``streamlit run serve.py`` on localhost (as the browser test does), opens each page in
headless Debian Chromium through Playwright and saves the whole page as
``<page>-<width>.png`` next to this file. Look at them after any change to a figure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PAGES = {  # file stem → URL path
    "compare-hardware": "",
    "training-planner": "training",
    "serving-planner": "serving",
    "lifecycle": "lifecycle",
    "optimisation": "optimisation",
    "compare-scenarios": "scenarios",
    "measurements": "measurements",
    "hardware-profiles": "profiles",
}
WIDTHS = {"1440": 1440, "390": 390}


def full_page(page, path: Path, width: int) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport."""
    page.mouse.move(1, 1)  # no hover tooltip in the picture
    height = page.evaluate(
        "() => Math.max(...['[data-testid=\"stMainBlockContainer\"]', "
        "'[data-testid=\"stSidebarContent\"]'].map(s => document.querySelector(s))"
        ".filter(Boolean).map(e => e.scrollHeight)) + 120")
    page.set_viewport_size({"width": width, "height": int(min(max(height, 800), 9000))})
    page.wait_for_timeout(900)  # plotly redraws at the new size
    page.screenshot(path=str(path), full_page=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="page stems to take (default: all)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.dashboard.test_browser import (
        CHROMIUM_ARGS,
        _free_port,
        chromium_path,
        start_server,
        stop_server,
        wait_idle,
    )

    port = _free_port()
    server = start_server(port)
    url = f"http://127.0.0.1:{port}"
    taken = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                         args=CHROMIUM_ARGS)
            for label, width in WIDTHS.items():
                context = browser.new_context(viewport={"width": width, "height": 800},
                                              is_mobile=width < 600, has_touch=width < 600)
                page = context.new_page()
                for stem, path in PAGES.items():
                    if args.only and stem not in args.only:
                        continue
                    page.goto(f"{url}/{path}")
                    wait_idle(page, timeout_ms=90_000)
                    page.wait_for_timeout(600)
                    target = args.out / f"{stem}-{label}.png"
                    full_page(page, target, width)
                    page.set_viewport_size({"width": width, "height": 800})
                    taken.append(target)
                context.close()
            browser.close()
    finally:
        log = stop_server(server)
    if "Traceback" in log:
        print(log[-3000:])
        return 1
    for t in taken:
        print(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
