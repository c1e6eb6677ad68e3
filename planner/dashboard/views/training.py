"""Training planner: one run on one device type: time, devices, energy (with its breakdown),
carbon (operational and embodied) and cost, sized by a deadline or a device count."""

import numpy as np
import pandas as pd
import streamlit as st

from planner.dashboard import controls, figures, formats, loaders, provenance, state, tables, ui
from planner.dashboard.formats import plain
from planner.dashboard.provenance import classify
from planner.errors import PlannerError


def _host_source(row, d, kind: str) -> str:
    """Where the host's share of device power came from: the node's specification at the
    sourced load share, a published system power, or the default share per device kind."""
    text = str(row.get("energy_boundary", ""))
    if "node specification" in text:
        return (f"node specification (host rating {row['host_power_w_per_node']:,.0f} W per "
                f"node) × load share {d.host_load_fraction.value:g} — "
                f"{d.cite(d.host_load_fraction)}")
    if "included" in text:
        return text.split("device + ", 1)[-1]
    return f"default — {d.cite(d.host_power_fraction.for_kind(kind))}"


st.title("Training planner")
st.markdown("How long, how many devices, how much energy, carbon and money to train this "
            "model on one kind of hardware? Set the model, the deadline or device count in the "
            "sidebar.")

result = ui.plan_or_error(("training",))
if result is not None:
    ui.site_banner(result.site)
    training = result.training
    can_run = tables.feasible_mask(training)
    if not can_run.any():
        st.error("No hardware can run this training: " + tables.infeasible_summary(training))
        st.stop()
    hw = ui.device_pick("tp_hw", training, tables.default_training_choice(training), "cost_usd",
                        help_extra="Devices that can run this training (a published peak at "
                                   "this precision and enough memory for the model state).")
    row = tables.row_of(training, hw, among=can_run)
    infeasible = tables.infeasible_rows(training)
    if not infeasible.empty:
        with st.expander(f"{len(infeasible)} devices cannot run this training: "
                         + tables.infeasible_summary(infeasible, most=2)):
            st.dataframe(tables.infeasible_table(infeasible), hide_index=True, width="stretch")

    c = st.columns(4)
    c[0].metric("Time to train", formats.duration_days(row["days"]),
                help=f"Wall clock at {row['utilisation']:.0%} model-FLOPs utilisation "
                     f"({row['utilisation_basis']}).")
    c[1].metric("Devices", formats.count(row["devices"]),
                help=f"At least {row['min_devices_for_memory']:,.0f} to hold the model state "
                     "(ZeRO-3 sharding, 16 bytes per parameter).")
    c[2].metric("Energy", formats.energy(row["energy_kwh"]),
                help="Devices + host + facility overhead (PUE).")
    c[3].metric("Cost", formats.money(row["cost_usd"]), help=str(row["price_basis"]))
    c = st.columns(4)
    c[0].metric("Total CO2e", formats.co2e(row["total_co2e_kg"]),
                help="Operational plus embodied.")
    c[1].metric("Operational CO2e", formats.co2e(row["co2e_kg"]),
                help=f"Scope 2, location-based: energy × {row['carbon_intensity_g_per_kwh']:.0f} "
                     "g CO2e/kWh (the grid average).")
    c[2].metric("Embodied CO2e", formats.co2e(row["embodied_co2e_kg"]),
                help=f"Scope 3: {row['embodied_co2e_kg_per_device']:.0f} kg per device "
                     f"({row['embodied_basis']}), spread over {row['service_life_years']:g} "
                     "years of use.")
    c[3].metric("Device-hours", formats.count(row["device_hours"]))
    c = st.columns(4)
    c[0].metric("Market-based CO2e", formats.co2e(row["market_co2e_kg"]),
                help=f"Scope 2, market-based: {row['market_basis']}.")
    c[1].metric("Water", formats.water(row["water_l"]),
                help="Consumed on site (cooling) and off site (electricity generation).")
    c[2].metric("Water on site", formats.water(row["water_onsite_l"]),
                help=f"IT energy × WUE {row['wue_l_per_kwh']:g} L/kWh ({row['wue_basis']}).")
    c[3].metric("Water off site", formats.water(row["water_offsite_l"]),
                help=f"All energy × {row['water_offsite_l_per_kwh']:.2f} L/kWh "
                     f"({row['water_offsite_basis']}).")
    st.caption("**Boundaries.** Operational CO2e: scope 2, location-based (the grid average); "
               "market-based: scope 2 with the contractual factor or carbon-free share you "
               "give (– when none); embodied CO2e: manufacturing, scope 3; energy: devices + "
               "host + facility (PUE); water: consumption on site (WUE) and off site "
               "(generation).")
    c = st.columns(4)
    total_flops = row["flops"] if "flops" in row.index else row["total_flops"]
    mfu = row["predicted_mfu"] if "predicted_mfu" in row.index else row["utilisation"]
    c[0].metric("Total compute (FLOPs)", formats.flops(total_flops),
                help="Training FLOPs of the whole run: 6 × active parameters × tokens plus "
                     "the attention term (PaLM, Appendix B) for a language model, else 3 × "
                     "forward FLOPs per sample × samples × epochs.")
    c[1].metric("Predicted utilisation (MFU)", formats.percent(mfu),
                help=f"Model-FLOPs utilisation the time is computed at "
                     f"({row['utilisation_basis']}).")
    c[2].metric("Peak per device", f"{row['peak_flops_per_s'] / 1e12:,.0f} TFLOPS",
                help=f"Dense {row['precision_used']} peak ({row['throughput_basis']}).")
    ref_peak = row.get("mfu_reference_flops_per_s", row["peak_flops_per_s"])
    delivered = ref_peak * mfu * row["devices"]
    c[3].metric("Delivered compute", f"{delivered / 1e15:,.0f} PFLOPS",
                help="Peak (bf16 for an fp8 run) × utilisation × devices: the rate the run "
                     "is planned at.")
    if str(row.get("layout", "") or ""):
        st.caption(f"Parallel layout: {row['layout']} · time: compute "
                   f"{formats.percent(row['compute_share'])}, communication "
                   f"{formats.percent(row['communication_share'])}, pipeline bubble "
                   f"{formats.percent(row['bubble_share'])} · goodput "
                   f"{formats.percent(row['goodput'])} ({row['goodput_basis']})")

    # Uncertainty of this run: P10-P90 and what moves it most.
    s = ui.current_state()
    left, right = st.columns([1, 2])
    controls.number("u_draws", where=left)  # drawn whatever its value, so it can be mended
    try:
        summary, sensitivity = ui.uncertainty(("training",), "training", [hw])
    except PlannerError as exc:
        st.error(f"No uncertainty: {plain(exc)}")
        summary = sensitivity = None
    if summary is not None and len(summary):
        q = summary.set_index("metric")
        spans = []
        for metric, label, fmt in (("cost_usd", "cost", formats.money),
                                   ("energy_kwh", "energy", formats.energy),
                                   ("total_co2e_kg", "CO2e", formats.co2e)):
            if metric in q.index and q.loc[metric, "p10"] == q.loc[metric, "p10"]:
                spans.append(f"{label} **{fmt(q.loc[metric, 'p10'])} – "
                             f"{fmt(q.loc[metric, 'p90'])}**")
        st.markdown("Likely range (P10 to P90, Monte Carlo of "
                    f"{int(s['u_draws']):,} draws): " + " · ".join(spans),
                    help=provenance.TRAINING_UNCERTAINTY_NOTE + ".")
        if sensitivity is not None and (note := provenance.training_time_note(sensitivity)):
            st.caption(note)

    left, right = st.columns(2)
    left.plotly_chart(figures.energy_breakdown(row), key="tp_energy_chart", width="stretch",
                      config={"displaylogo": False})
    right.plotly_chart(figures.carbon_breakdown(row), key="tp_carbon_chart", width="stretch",
                       config={"displaylogo": False})

    # Device count against time and cost, for this device type.
    base = row["devices"]
    lowest = max(float(row["min_devices_for_memory"]), 1.0)
    counts = np.unique(np.round(np.geomspace(max(lowest, base / 8), max(base * 4, lowest * 2),
                                             13)).astype(int))
    scenario = ui.scenario(("training",))
    scenario["training"]["hardware"] = [hw]
    try:
        sweep = loaders.training_sweep(state.plan_key(scenario), tuple(int(n) for n in counts),
                                       ui.calibration_key())
        sweep = sweep[sweep["feasible"]]
        st.plotly_chart(figures.scaling_figure(sweep, float(base)), key="tp_scaling_chart",
                        width="stretch", config={"displaylogo": False})
    except PlannerError as exc:
        st.error(f"Cannot draw the device-count curve: {plain(exc)}")

    if sensitivity is not None and len(sensitivity):
        left, right = st.columns([1, 2])
        metric = controls.radio(
            "tp_metric", ["total_co2e_kg", "cost_usd", "energy_kwh"], where=left,
            horizontal=False,
            format_func={"total_co2e_kg": "CO2e", "cost_usd": "cost",
                         "energy_kwh": "energy"}.get,
            help_extra="Which figure of the run the sensitivity chart shows.")
        fmt, scale, unit = {"total_co2e_kg": (formats.co2e, 1e-3, "t CO2e"),
                            "cost_usd": (formats.money, 1.0, "USD"),
                            "energy_kwh": (formats.energy, 1e-3, "MWh")}[metric]
        sens = sensitivity[sensitivity["metric"] == metric]
        if sens["result_at_low"].notna().any():
            right.plotly_chart(figures.tornado(
                sens, float(row[metric]), title="What moves this run's figure most",
                axis_title=unit, scale=scale, fmt=fmt), key="tp_tornado_chart",
                width="stretch", config={"displaylogo": False})
        else:
            right.info("No sensitivity for this figure: it has no baseline value here "
                       "(e.g. no published price).")
        ui.csv_download(sensitivity, f"training-sensitivity-{hw}.csv", key="dl_tp_sensitivity",
                        label="Download the sensitivity table (CSV)")

    selected = tables.training_table(training, only=tables.is_device(training, hw))
    ui.provenance_note(selected, result.site,
                       "Time comes from the parallel layout: compute at the predicted (or "
                       "your) utilisation, plus communication not hidden behind it and the "
                       "pipeline bubble, divided by goodput.")

    st.subheader("What this plan assumes")
    kind = str(row["kind"])
    d = loaders.get_planner().defaults

    def assumed(name: str) -> str:
        a = d.training_utilisation.for_kind(kind) if name == "utilisation" else None
        return f" — {d.cite(a)}, confidence {a.confidence}" if a else ""

    basis = pd.DataFrame([
        ("model-FLOPs utilisation", f"{row['utilisation']:.2f}",
         f"{row['utilisation_basis']}"
         + (assumed("utilisation") if row["utilisation_basis"] == "default" else "")),
        ("dense peak per device", f"{row['peak_flops_per_s'] / 1e12:,.0f} TFLOPS "
         f"({row['precision_used']})", row["throughput_basis"]),
        ("busy power per device", f"{row['busy_power_w']:,.0f} W", row["power_basis"]),
        ("host power share", f"{row['host_power_fraction']:.0%}",
         _host_source(row, d, kind)),
        ("PUE", f"{row['pue']:g}", result.site.pue_basis),
        ("grid intensity", f"{row['carbon_intensity_g_per_kwh']:.0f} g CO2e/kWh",
         f"{result.site.intensity_label}, {result.site.intensity_year}"),
        ("price per device-hour", formats.money(row["price_usd_per_device_hour"]),
         row["price_basis"]),
        ("embodied carbon per device", f"{row['embodied_co2e_kg_per_device']:,.0f} kg",
         row["embodied_basis"]),
        ("service life", f"{row['service_life_years']:g} years",
         f"default — {d.cite(d.service_life_years)}"
         if result.scenario.pricing.service_life_years is None else "user input"),
    ], columns=["figure", "value", "from"])
    basis.insert(2, "kind of figure", basis["from"].map(classify))
    st.dataframe(basis, hide_index=True, width="stretch", key="tp_basis_table")
    ui.csv_download(basis, f"training-assumptions-{hw}.csv", key="dl_tp_basis")
    st.subheader("This plan, every column")
    ui.table(selected, key="tp_row_table")
    ui.csv_download(selected, f"training-{hw}.csv", key="dl_tp_row")
