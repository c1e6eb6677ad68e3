"""End to end in a real browser: ``streamlit run serve.py`` (``app.py``, its start-up work done
at server start) on localhost, driven by headless Debian Chromium through Playwright. Visits
every page, changes a widget, downloads a CSV and checks it against the planner API, and saves
a screenshot of each page.

Without Chromium or Playwright the test skips and says why; with PLANNER_REQUIRE_BROWSER=1
(CI) it fails instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from planner.dashboard import state
from planner.model.records import write_record
from tests.dashboard.conftest import ROOT
from tests.dashboard.records import record

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _unavailable(reason: str):
    if os.environ.get("PLANNER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"PLANNER_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def chromium_path() -> str:
    """Debian's Chromium (never a Playwright-downloaded browser)."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    _unavailable("Debian's chromium is not installed (apt-get install -y chromium)")
    raise AssertionError  # unreachable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, env: dict[str, str] | None = None,
                 script: str = "serve.py") -> subprocess.Popen:
    """``streamlit run serve.py`` (or ``script``) on localhost; returns once the health check
    answers (for serve.py: once its start-up work is done)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited: " + proc.stdout.read().decode()[-2000:])
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("streamlit did not answer its health check within 60 s")


def stop_server(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode(errors="replace")


def wait_idle(page, timeout_ms: int = 30_000) -> None:
    """Wait until the script run finished: a title is shown, the app says no script is
    running, the running indicator is gone and, after a page load, the whole view is drawn
    (the first run draws the headline figures only, with a marker that the second run
    removes: planner/dashboard/first_view.py)."""
    page.wait_for_selector("h1", timeout=timeout_ms)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState"
        " === 'notRunning'"
        " && !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('.stSkeleton, [data-testid=\"stSkeleton\"]')"
        " && !document.querySelector('[data-planner-first-view]')",
        timeout=timeout_ms)
    page.wait_for_timeout(400)  # let Plotly finish drawing


def screenshot(page, name: str) -> Path:
    """The whole page (Streamlit scrolls inside its main block, so grow the viewport)."""
    page.mouse.move(1, 1)  # no hover tooltip in the picture
    height = page.evaluate(
        "() => Math.max(...['[data-testid=\"stMainBlockContainer\"]', "
        "'[data-testid=\"stSidebarContent\"]'].map(s => document.querySelector(s))"
        ".filter(Boolean).map(e => e.scrollHeight)) + 120")
    page.set_viewport_size({"width": 1440, "height": int(min(max(height, 900), 7000))})
    page.wait_for_timeout(700)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})
    return path


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements-dev.txt)")
    records = tmp_path_factory.mktemp("measurements")
    write_record(record("h100train01"), records)
    write_record(record("h100infer01", mode="infer", flops=2.0e15, energy_j=4000.0,
                        minutes=5), records)
    port = _free_port()
    server = start_server(port, {"PLANNER_MEASUREMENTS_DIR": str(records)})
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, headless=True,
                                         args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1440, "height": 900},
                                          accept_downloads=True)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page, f"http://127.0.0.1:{port}", server, errors
            browser.close()
    finally:
        log = stop_server(server)
        assert "Traceback" not in log, log[-3000:]


def _download(page, button: str, tmp_path: Path) -> pd.DataFrame:
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name=button).first.click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    return pd.read_csv(target)


def _no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    assert "Traceback" not in page.inner_text("body")


def test_every_page_in_a_real_browser(browser_page, tmp_path, planner):
    page, url, server, errors = browser_page

    # Compare hardware: change the PUE in the sidebar, download the training table.
    page.goto(f"{url}/")
    wait_idle(page)
    _no_exception(page)
    # Plotly draws after the script run ends, in the browser; under load that can take
    # seconds (its bundle is 4.7 MB), so wait for the charts rather than a fixed pause.
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 2",
                           timeout=60_000)
    pue = page.get_by_label("PUE (facility energy ÷ IT energy)", exact=True)
    pue.fill("1.5")
    pue.press("Enter")
    page.get_by_text("PUE 1.5 ·").first.wait_for(timeout=30_000)
    wait_idle(page)
    _no_exception(page)
    assert "site_pue=1.5" in page.url  # the URL carries the view
    table = _download(page, "Download this table (CSV)", tmp_path)
    scenario = state.to_scenario({**state.default_state(planner.defaults), "site_pue": 1.5},
                                 planner.defaults, ("training",))
    expected = planner.plan(scenario).training.set_index("hardware_id")
    assert len(table) == len(expected)
    got = table.set_index("hardware_id")
    assert (got["pue"] == 1.5).all()
    pd.testing.assert_series_equal(got["energy_kwh"], expected.loc[got.index, "energy_kwh"],
                                   check_names=False, rtol=1e-9)
    screenshot(page, "compare-hardware")

    # The shared link restores the view in a fresh page.
    fresh = page.context.new_page()
    fresh.goto(page.url)
    wait_idle(fresh)
    restored = fresh.get_by_label("PUE (facility energy ÷ IT energy)", exact=True)
    assert restored.input_value() == "1.50"
    fresh.close()

    # Training planner: size by device count, check the metric.
    page.goto(f"{url}/training")
    wait_idle(page)
    _no_exception(page)
    page.get_by_text("device count", exact=True).click()
    wait_idle(page)
    devices = page.get_by_label("Devices", exact=True)
    devices.fill("2048")
    devices.press("Enter")
    page.locator("[data-testid='stMetricValue']", has_text="2,048").first.wait_for(
        timeout=30_000)
    wait_idle(page)
    _no_exception(page)
    row = _download(page, "Download this table (CSV)", tmp_path)
    assert len(row) >= 1
    screenshot(page, "training-planner")

    # Hardware profiles: search, download the catalogue.
    page.goto(f"{url}/profiles")
    wait_idle(page)
    _no_exception(page)
    search = page.get_by_role("textbox", name="Search devices")
    search.fill("nvidia")
    search.press("Enter")
    wait_idle(page)
    catalogue = _download(page, "Download this table (CSV)", tmp_path)
    assert len(catalogue) and catalogue["vendor"].str.contains("NVIDIA").all()
    screenshot(page, "hardware-profiles")

    # Serving planner: switch the charts to CO2e, download the fleet table.
    page.goto(f"{url}/serving")
    wait_idle(page)
    _no_exception(page)
    page.locator("[data-testid='stRadio']", has_text="Figure").get_by_text("CO2e").click()
    page.get_by_text("t CO2e per year").first.wait_for(timeout=30_000)
    wait_idle(page)
    _no_exception(page)
    fleet = _download(page, "Download this table (CSV)", tmp_path)
    assert {"fleet_devices", "annual_cost_usd", "price_basis"} <= set(fleet.columns)
    screenshot(page, "serving-planner")

    # Lifecycle: show CO2e, download the monthly curves.
    page.goto(f"{url}/lifecycle")
    wait_idle(page)
    _no_exception(page)
    # Clearing "Retrain every" means no retraining (blank is none, not 0); at AWS prices the
    # first view's yearly retraining keeps training ahead, without it serving overtakes.
    retrain = page.get_by_label("Retrain every (months)", exact=True)
    retrain.fill("")
    retrain.press("Enter")
    page.get_by_text("no retraining").first.wait_for(timeout=30_000)
    wait_idle(page)
    _no_exception(page)
    assert "lc_retrain_months=" in page.url
    page.get_by_text("break-even: month").first.wait_for(timeout=30_000)  # marked on the chart
    screenshot(page, "lifecycle")
    page.locator("[data-testid='stRadio']", has_text="Show").get_by_text("CO2e").click()
    page.get_by_text("Total CO2e over 36 months").first.wait_for(timeout=30_000)
    wait_idle(page)
    curves = _download(page, "Download the monthly curves (CSV)", tmp_path)
    assert curves["month"].max() == 36

    # Optimisation: a better PUE after the move, download the levers.
    page.goto(f"{url}/optimisation")
    wait_idle(page)
    _no_exception(page)
    pue = page.get_by_label("With PUE", exact=True)
    pue.fill("1.05")
    pue.press("Enter")
    page.wait_for_function("() => location.search.includes('lv_pue=1.05')", timeout=30_000)
    wait_idle(page)
    _no_exception(page)
    levers = _download(page, "Download this table (CSV)", tmp_path)
    assert "PUE 1.05" in " ".join(str(n) for n in levers["note"])
    screenshot(page, "optimisation")

    # Measurements: upload a record from another machine, download predicted vs measured.
    page.goto(f"{url}/measurements")
    wait_idle(page)
    _no_exception(page)
    page.get_by_text("Add records from another machine").click()
    upload = tmp_path / "other-machine.json"
    upload.write_text(record("othermach01", minutes=20).model_dump_json(), encoding="utf-8")
    page.locator("[data-testid='stFileUploader']", has_text="Record files (JSON)").locator(
        "input[type=file]").set_input_files(str(upload))
    page.get_by_text("Added other-machine.json").first.wait_for(timeout=30_000)
    wait_idle(page)
    _no_exception(page)
    predicted = _download(page, "Download this table (CSV)", tmp_path)
    assert "othermach01" in set(predicted["run_id"]) and len(predicted) == 3
    screenshot(page, "measurements")

    # Bad input: a zero PUE shows the reason, not a traceback.
    page.goto(f"{url}/")
    wait_idle(page)
    pue = page.get_by_label("PUE (facility energy ÷ IT energy)", exact=True)
    pue.fill("0")
    pue.press("Enter")
    page.locator("[data-testid='stAlertContentError']").first.wait_for(timeout=30_000)
    assert "PUE (facility energy ÷ IT energy) must be at least 1" in page.locator(
        "[data-testid='stAlertContentError']").first.inner_text()
    _no_exception(page)
    screenshot(page, "bad-input")

    assert not errors, errors
    maps = Path(f"/proc/{server.pid}/maps")
    if maps.exists():  # the real server process never loaded torch's native library
        assert "libtorch" not in maps.read_text(errors="replace")


def test_missing_browser_fails_in_ci_and_skips_elsewhere(monkeypatch):
    """Without Chromium: a failure under PLANNER_REQUIRE_BROWSER=1 (CI), else a skip."""
    import tests.dashboard.test_browser as here

    monkeypatch.setattr(here.shutil, "which", lambda name: None)
    monkeypatch.setattr(here.Path, "exists", lambda self: False)
    monkeypatch.setenv("PLANNER_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="chromium is not installed"):
        chromium_path()
    monkeypatch.delenv("PLANNER_REQUIRE_BROWSER")
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        chromium_path()
