"""The shared inputs in the sidebar: site and prices, the training run, the served workload,
and the scenario file (save, load, full report). Every input has units and help text.

Widgets take their values from the session state that ``app.py`` initialises (defaults, or
the URL's query parameters), so none passes ``value=`` and the URL restores the view.
"""

from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from planner.dashboard import controls, loaders, meeting_report, reports, state, ui
from planner.dashboard.formats import plain
from planner.errors import PlannerError
from planner.model.catalogue import PROVIDER_NAMES as PROVIDERS
from planner.model.hardware import PRECISIONS
from planner.model.statement import build_statement, statement_json, statement_markdown

LOAD_MESSAGE = "_scenario_load_message"


def region_labels(regions: pd.DataFrame) -> dict[str, str]:
    """Each region's label with its intensity, for the picker (made once per table: ~300
    regions, 1-3 ms a run)."""
    return dict(_region_labels(tuple(regions.index.tolist()), tuple(regions["label"].tolist()),
                               tuple(regions["g_per_kwh"].tolist())))


@functools.lru_cache(maxsize=4)
def _region_labels(keys: tuple, labels: tuple, g_per_kwh: tuple) -> dict[str, str]:
    out = {state.WORLD_AVERAGE: "World average (default assumption)"}
    # "AWS us-east-1 (N. Virginia): Virginia (US state grid)" → the part before the colon;
    # the caption under the picker gives the whole label.
    out.update({k: f"{label.split('): ')[0]}{')' if '): ' in label else ''} — {g:.0f} g/kWh"
                for k, label, g in zip(keys, labels, g_per_kwh, strict=True)})
    return out


def _region_caption(regions: pd.DataFrame, key: str, override: float | None) -> str:
    if override is not None:
        return f"Grid intensity **{override:g} g CO2e/kWh**, your own figure."
    if key == state.WORLD_AVERAGE:
        d = loaders.get_planner().defaults.carbon_intensity_g_per_kwh
        return f"Grid intensity **{d.value:.0f} g CO2e/kWh**, world average 2023 (Ember)."
    row = regions.loc[key]
    return (f"{row['label']}: grid intensity **{row['g_per_kwh']:.0f} g CO2e/kWh**, data "
            f"year **{row['year']}**. Source: {row['source']}.")


def _on_scenario_upload() -> None:
    """Load an uploaded scenario into the widgets (a callback, so before widgets exist)."""
    upload = st.session_state.get("scenario_upload")
    if upload is None:
        return
    planner = loaders.get_planner()
    try:
        updates, ignored = state.load_scenario_text(upload.getvalue(), upload.name,
                                                    planner.defaults)
    except PlannerError as exc:
        st.session_state[LOAD_MESSAGE] = ("error", f"Not loaded: {exc}")
        return
    from planner.dashboard.session import choices as all_choices

    choices = all_choices()
    bad = [f"{k}={updates[k]!r}" for k, allowed in choices.items()
           if k in updates and updates[k] not in allowed]
    if bad:
        st.session_state[LOAD_MESSAGE] = (
            "error", f"Not loaded: {upload.name} names values the dashboard does not know: "
            + ", ".join(bad))
        return
    kept = set(st.session_state.get(state.GIVEN) or ()) - set(updates)
    for key, value in updates.items():
        st.session_state[key] = value
    st.session_state[state.GIVEN] = sorted(kept | set(updates[state.GIVEN]))
    text = f"Loaded {upload.name}."
    if ignored:
        st.session_state[LOAD_MESSAGE] = (
            "warning", text + " Not shown in the dashboard: " + ", ".join(ignored))
    else:
        st.session_state[LOAD_MESSAGE] = ("success", text)


def _on_reset() -> None:
    for key, value in state.default_state(loaders.get_planner().defaults).items():
        st.session_state[key] = value
    st.session_state[state.GIVEN] = []
    st.session_state.pop(LOAD_MESSAGE, None)


def _site_inputs(regions: pd.DataFrame) -> None:
    st.subheader("Where it runs")
    labels = region_labels(regions)
    controls.select("site_region", list(labels), format_func=labels.__getitem__)
    st.caption(_region_caption(regions, str(st.session_state["site_region"]),
                               st.session_state.get("site_g_per_kwh")))
    controls.number("site_g_per_kwh")
    controls.number("site_pue")
    controls.number("site_wue_l_per_kwh")
    controls.number("site_market_g_per_kwh")
    controls.number("site_cfe_pct")
    st.subheader("How it is paid for")
    controls.radio("price_mode", state.PRICING_MODES,
                   format_func={"cloud": "Cloud (rent)", "on_prem": "On-premises (buy)"}.get)
    if st.session_state["price_mode"] == "cloud":
        controls.number("price_discount_pct")
        if str(st.session_state["site_region"]).partition(":")[0] in PROVIDERS:
            controls.radio("price_providers", ("site", "any"), format_func={
                "site": "this region's provider", "any": "any provider"}.get)
    controls.number("site_elec_usd_per_kwh")
    controls.number("price_life_years")
    controls.number("lc_horizon_months")


def _model_picker(prefix: str, catalogue: dict[str, dict]) -> None:
    options = [*catalogue, state.CUSTOM_MODEL]

    def name(k: str) -> str:
        if k == state.CUSTOM_MODEL:
            return "Custom size…"
        m = catalogue[k]
        return f"{m['name']} ({m['params'] / 1e9:.3g} B params)"

    controls.select(f"{prefix}_model", options, format_func=name)


def _training_inputs(catalogue: dict[str, dict]) -> None:
    _model_picker("t", catalogue)
    if st.session_state["t_model"] == state.CUSTOM_MODEL:
        controls.number("t_params_b")
        controls.number("t_tokens_t")
    controls.select("t_precision", PRECISIONS)
    controls.radio("t_size_by", state.SIZE_BY,
                   format_func={"deadline": "deadline", "devices": "device count"}.get)
    if st.session_state["t_size_by"] == "deadline":
        controls.number("t_days")
    else:
        controls.number("t_devices")
    controls.number("t_mfu_pct")


def _serving_inputs(catalogue: dict[str, dict]) -> None:
    _model_picker("i", catalogue)
    if st.session_state["i_model"] == state.CUSTOM_MODEL:
        controls.number("i_params_b")
    for key in ("i_prompt_tokens", "i_output_tokens", "i_batch"):
        controls.number(key)
    controls.select("i_precision", PRECISIONS)
    st.markdown("**Traffic and targets**")
    for key in ("i_rps_avg", "i_rps_peak", "i_latency_p95_s", "i_ttft_s", "i_headroom_pct",
                "i_rtt_s"):
        controls.number(key)
    controls.toggle("i_autoscaling")


def _scenario_file() -> None:
    planner = loaders.get_planner()
    controls.text("sc_name")
    current = ui.current_state()
    stem = meeting_report.file_stem(str(current.get("sc_name") or ""))
    st.download_button(
        "Save scenario (YAML)", data=lambda: state.scenario_yaml(current, planner.defaults),
        file_name=f"{stem}.yaml", mime="application/x-yaml", key="save_scenario",
        icon=":material/save:", on_click="ignore",
        help="The inputs as a scenario file; load it back here, or run "
             "`python -m planner plan scenario.yaml`.")
    st.file_uploader(
        "Load a scenario (YAML)", type=["yaml", "yml"], key="scenario_upload",
        on_change=_on_scenario_upload,
        help="A file saved here, or any scenario the command line reads.")
    message = st.session_state.get(LOAD_MESSAGE)
    if message:
        getattr(st, message[0])(plain(message[1]))  # file values shown as text
    calibration = ui.calibration_key()

    def report() -> str:
        try:
            result = loaders.plan(state.plan_key(state.to_scenario(
                current, planner.defaults, state.ALL_SECTIONS)), calibration)
        except PlannerError:
            result = None  # the report then carries the reason in an "error" row
        return reports.full_report(current, planner, result,
                                   calibrated=bool(calibration)).to_csv(index=False)

    def sections():
        result, error = None, ""
        # Everything; if a section cannot be planned (e.g. a lever that does not apply), the
        # rest without it, and the reason in the report.
        for parts in (state.ALL_SECTIONS, ("training", "inference", "lifecycle")):
            try:
                result = loaders.plan(state.plan_key(state.to_scenario(
                    current, planner.defaults, parts)), calibration)
                break
            except PlannerError as exc:
                error = error or str(exc)
        return result, meeting_report.report_sections(current, planner, result,
                                                      bool(calibration), error)

    def html_report() -> str:
        result, parts = sections()
        if result is None:
            return meeting_report.error_html(parts, str(current.get("sc_name") or ""))
        return meeting_report.report_html(result, parts, str(current.get("sc_name") or ""))

    st.download_button(
        "Report for the meeting (HTML)", data=html_report, file_name=f"{stem}-report.html",
        mime="text/html", key="html_report", icon=":material/description:", on_click="ignore",
        help="One page with the charts and tables of this scenario; it opens offline in any "
             "browser (the charts stay interactive).")
    st.download_button(
        "Full report, one CSV per section (ZIP)",
        data=lambda: meeting_report.report_zip(sections()[1]), file_name=f"{stem}-report.zip",
        mime="application/zip", key="zip_report", icon=":material/folder_zip:",
        on_click="ignore",
        help="Inputs, site, assumptions and every result section, each its own CSV file.")
    st.download_button(
        "Full report (CSV)", data=report,
        file_name="capacity-plan-report.csv", mime="text/csv", key="full_report",
        icon=":material/download:", on_click="ignore",
        help="One CSV with the inputs, the default assumptions with their sources, and every "
             "result row with its provenance columns (the command line's columns).")

    def statement(render) -> str:
        try:
            return render(build_statement(loaders.plan(state.plan_key(state.to_scenario(
                current, planner.defaults, state.ALL_SECTIONS)), calibration)))
        except PlannerError as exc:
            return f"No footprint statement: {exc}\n"

    for label, render, ext, mime in (("Markdown", statement_markdown, "md", "text/markdown"),
                                     ("JSON", statement_json, "json", "application/json")):
        st.download_button(
            f"Footprint statement ({label})", data=lambda render=render: statement(render),
            file_name=f"{stem}-footprint.{ext}", mime=mime, key=f"statement_{ext}",
            icon=":material/eco:", on_click="ignore",
            help="Compute, hardware, energy by boundary (device, host, facility), CO2e "
                 "location- and market-based, embodied (scope 3), water and the Software "
                 "Carbon Intensity per 1,000 requests and per million tokens, each with its "
                 "provenance (as `python -m planner plan --statement`).")
    st.button("Reset to defaults", key="reset", on_click=_on_reset,
              help="Back to the first view: Llama 3 8B in 30 days, served for chat, "
                   "AWS us-east-1.")


def draw() -> None:
    """Draw every shared input into the sidebar."""
    regions = loaders.region_table()
    catalogue = loaders.presets()  # a copy per call (st.cache_data): one for both pickers
    with st.sidebar:
        _site_inputs(regions)
        with st.expander("Training run", expanded=True):
            _training_inputs(catalogue)
        with st.expander("Served workload and traffic", expanded=False):
            _serving_inputs(catalogue)
        with st.expander("Scenario file and full report", expanded=False):
            _scenario_file()
