"""The shared inputs in the sidebar: site and prices, the training run, the served workload,
and the scenario file (save, load, full report). Every input has units and help text.

Widgets take their values from the session state that ``app.py`` initialises (defaults, or
the URL's query parameters), so none passes ``value=`` and the URL restores the view.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from planner.dashboard import loaders, reports, state, ui
from planner.errors import PlannerError
from planner.model.hardware import PRECISIONS

LOAD_MESSAGE = "_scenario_load_message"


def region_labels(regions: pd.DataFrame) -> dict[str, str]:
    """Each region's label with its intensity, for the picker."""
    labels = {state.WORLD_AVERAGE: "World average (default assumption)"}
    # "AWS us-east-1 (N. Virginia): Virginia (US state grid)" → the part before the colon;
    # the caption under the picker gives the whole label.
    labels.update({k: f"{label.split('): ')[0]}{')' if '): ' in label else ''} — {g:.0f} g/kWh"
                   for k, label, g in
                   zip(regions.index, regions["label"], regions["g_per_kwh"], strict=True)})
    return labels


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
    for key, value in updates.items():
        st.session_state[key] = value
    text = f"Loaded {upload.name}."
    if ignored:
        st.session_state[LOAD_MESSAGE] = (
            "warning", text + " Not shown in the dashboard: " + ", ".join(ignored))
    else:
        st.session_state[LOAD_MESSAGE] = ("success", text)


def _on_reset() -> None:
    for key, value in state.default_state(loaders.get_planner().defaults).items():
        st.session_state[key] = value
    st.session_state.pop(LOAD_MESSAGE, None)


def _site_inputs(regions: pd.DataFrame) -> None:
    st.subheader("Where it runs")
    labels = region_labels(regions)
    st.selectbox(
        "Region (cloud region or country)", list(labels), key="site_region",
        format_func=labels.__getitem__,
        help="Sets the grid's carbon intensity (g CO2e per kWh, CodeCarbon's dated data) and, "
             "for cloud regions, the list price of that provider where a profile has one.")
    st.caption(_region_caption(regions, str(st.session_state["site_region"]),
                               st.session_state.get("site_g_per_kwh")))
    st.number_input(
        "Override grid intensity (g CO2e/kWh)", key="site_g_per_kwh", step=10.0,
        placeholder="from the region",
        help="Leave blank to use the region's figure; give your own (e.g. a renewable "
             "power purchase agreement) to override it. Must be 0 or more.")
    st.number_input(
        "PUE (facility energy ÷ IT energy)", key="site_pue", step=0.01, format="%.2f",
        help="Power usage effectiveness: 1.0 means no cooling or power overhead. "
             "Hyperscalers report 1.08-1.18; the industry average is about 1.56. "
             "Default 1.2 (Green Algorithms). Must be between 1 and 3.")
    st.subheader("How it is paid for")
    st.radio(
        "Pricing", state.PRICING_MODES, key="price_mode", horizontal=True,
        format_func={"cloud": "Cloud (rent)", "on_prem": "On-premises (buy)"}.get,
        help="Cloud: on-demand list price per device-hour (includes power and hosting). "
             "On-premises: purchase price spread over the service life, plus electricity.")
    if st.session_state["price_mode"] == "cloud":
        st.number_input(
            "Cloud discount (%)", key="price_discount_pct", step=5.0, format="%.0f",
            help="Reserved-instance, savings-plan or spot discount off the list price, "
                 "0-99 %.")
    st.number_input(
        "Electricity price (USD/kWh)", key="site_elec_usd_per_kwh", step=0.01,
        format="%.4f",
        help="What is paid per kWh: on-premises plans and edge devices pay it for all their "
             "energy (a cloud price already includes power). 0 or more; default: US average "
             "industrial price 2023 (EIA), 0.0806.")
    st.number_input(
        "Service life (years)", key="price_life_years", step=0.5, format="%.1f",
        help="Years a device is used before replacement: spreads its purchase price "
             "(on-premises) and its embodied carbon over its life. Default 5 years.")
    st.number_input(
        "Planning horizon (months)", key="lc_horizon_months", step=6,
        help="How long the model is trained, retrained and served in the Lifecycle view; "
             "1-240 months.")


def _model_picker(prefix: str, label: str) -> None:
    catalogue = loaders.presets()
    options = [*catalogue, state.CUSTOM_MODEL]

    def name(k: str) -> str:
        if k == state.CUSTOM_MODEL:
            return "Custom size…"
        m = catalogue[k]
        return f"{m['name']} ({m['params'] / 1e9:.3g} B params)"

    st.selectbox(label, options, key=f"{prefix}_model", format_func=name,
                 help="A preset from profiles/models.yaml (with its source), or a custom size.")


def _training_inputs() -> None:
    _model_picker("t", "Model to train")
    if st.session_state["t_model"] == state.CUSTOM_MODEL:
        st.number_input("Parameters (billions)", key="t_params_b", step=1.0,
                        help="N, the model's parameter count, in billions (1e9).")
        st.number_input("Training tokens (trillions)", key="t_tokens_t", step=0.5,
                        help="D, tokens seen in training, in trillions (1e12). "
                             "Compute is about 6·N·D FLOPs (Kaplan et al. 2020).")
    st.selectbox("Precision", PRECISIONS, key="t_precision",
                 help="Number format of the matrix maths; devices without a published peak "
                      "at this precision use the nearest one they have.")
    st.radio("Size the run by", state.SIZE_BY, key="t_size_by", horizontal=True,
             format_func={"deadline": "deadline", "devices": "device count"}.get,
             help="Deadline: how many devices finish in time. Device count: how long the run "
                  "takes on that many devices.")
    if st.session_state["t_size_by"] == "deadline":
        st.number_input("Deadline (days)", key="t_days", step=1.0, format="%.1f",
                        help="Wall-clock days the run must finish in; more than 0.")
    else:
        st.number_input("Devices", key="t_devices", step=64,
                        help="Number of accelerators in the run; at least 1, and enough to "
                             "hold the model state.")
    st.number_input("Model-FLOPs utilisation (%)", key="t_mfu_pct", step=1.0,
                    placeholder="default per device kind",
                    help="Share of dense peak the run achieves, 1-100 %. Blank: the sourced "
                         "default (GPU 35 %, TPU 40 %) or a calibration from measurements.")


def _serving_inputs() -> None:
    _model_picker("i", "Model to serve")
    if st.session_state["i_model"] == state.CUSTOM_MODEL:
        st.number_input("Parameters (billions)", key="i_params_b", step=1.0,
                        help="The served model's parameter count, in billions (1e9).")
    st.number_input("Prompt (tokens per request)", key="i_prompt_tokens", step=64,
                    help="Input tokens per request; 0 or more.")
    st.number_input("Output (tokens per request)", key="i_output_tokens", step=64,
                    help="Generated tokens per request; at least 1.")
    st.number_input("Largest batch (requests at once)", key="i_batch", step=8,
                    help="Batches 1, 2, 4, … up to this are tried; each device keeps the one "
                         "needing the fewest devices within the latency target. At least 1.")
    st.selectbox("Serving precision", PRECISIONS, key="i_precision",
                 help="Weights and maths at this precision (int8/int4 = quantised).")
    st.markdown("**Traffic and targets**")
    st.number_input("Average load (requests/s)", key="i_rps_avg", step=10.0,
                    placeholder="none: per-replica figures only",
                    help="Mean requests per second over the day; more than 0. Blank (with "
                         "the peak blank too) plans one replica without a fleet.")
    st.number_input("Peak load (requests/s)", key="i_rps_peak", step=10.0,
                    placeholder="same as the average",
                    help="The fleet is sized for this rate; at least the average.")
    st.number_input("Latency target, p95 (s)", key="i_latency_p95_s", step=1.0,
                    placeholder="no target",
                    help="95th percentile of queueing + prefill + generation + network "
                         "round trip, in seconds; more than 0, blank for none.")
    st.number_input("Time to first token target, p95 (s)", key="i_ttft_s", step=0.1,
                    placeholder="no target",
                    help="95th percentile of queueing + prefill + round trip; blank for none.")
    st.number_input("Headroom (%)", key="i_headroom_pct", step=5.0, format="%.0f",
                    help="Capacity kept spare at the peak, 0-99 %.")
    st.number_input("Network round trip (s)", key="i_rtt_s", step=0.01, format="%.3f",
                    help="Added to every data-centre request's latency; 0 or more.")
    st.toggle("Autoscaling", key="i_autoscaling",
              help="Resize the fleet hour by hour to the load; otherwise the peak-sized "
                   "fleet runs all year.")


def _scenario_file() -> None:
    planner = loaders.get_planner()
    current = {k: st.session_state.get(k) for k in state.fields(planner.defaults)}
    st.download_button(
        "Save scenario (YAML)", data=lambda: state.scenario_yaml(current, planner.defaults),
        file_name="scenario.yaml", mime="application/x-yaml", key="save_scenario",
        icon=":material/save:", on_click="ignore",
        help="The inputs as a scenario file; load it back here, or run "
             "`python -m planner plan scenario.yaml`.")
    st.file_uploader(
        "Load a scenario (YAML)", type=["yaml", "yml"], key="scenario_upload",
        on_change=_on_scenario_upload,
        help="A file saved here, or any scenario the command line reads.")
    message = st.session_state.get(LOAD_MESSAGE)
    if message:
        getattr(st, message[0])(message[1])
    calibration = ui.calibration_key()

    def report() -> str:
        try:
            result = loaders.plan(state.plan_key(state.to_scenario(
                current, planner.defaults, state.ALL_SECTIONS)), calibration)
        except PlannerError:
            result = None  # the report then carries the reason in an "error" row
        return reports.full_report(current, planner, result,
                                   calibrated=bool(calibration)).to_csv(index=False)

    st.download_button(
        "Full report (CSV)", data=report,
        file_name="capacity-plan-report.csv", mime="text/csv", key="full_report",
        icon=":material/download:", on_click="ignore",
        help="One CSV with the inputs, the default assumptions with their sources, and every "
             "result row with its provenance columns (the command line's columns).")
    st.button("Reset to defaults", key="reset", on_click=_on_reset,
              help="Back to the first view: Llama 3 8B in 30 days, served for chat, "
                   "AWS us-east-1.")


def draw() -> None:
    """Draw every shared input into the sidebar."""
    regions = loaders.region_table()
    with st.sidebar:
        _site_inputs(regions)
        with st.expander("Training run", expanded=True):
            _training_inputs()
        with st.expander("Served workload and traffic", expanded=False):
            _serving_inputs()
        with st.expander("Scenario file and full report", expanded=False):
            _scenario_file()
