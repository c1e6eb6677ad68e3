"""Serving planner: the fleet that serves the traffic within the latency target on one kind
of hardware, its year of cost, energy and carbon, per-1,000-request figures, uncertainty
(P10-P90) and what moves the result most."""

import streamlit as st

from planner.dashboard import controls, figures, formats, tables, ui
from planner.dashboard.formats import plain
from planner.dashboard.provenance import BASIS_COLUMNS
from planner.errors import PlannerError

st.title("Serving planner")
st.markdown("How many devices serve this traffic within the latency target, and what does a "
            "year of it cost in money, energy and carbon? Traffic, targets and the model are "
            "in the sidebar under **Served workload and traffic**.")

result = ui.plan_or_error(("inference",))
if result is not None and "annual_cost_usd" not in result.inference.columns:
    st.error("Give an average or peak load (requests/s) in the sidebar to size a fleet; "
             "without traffic only per-replica figures exist (see Compare hardware).")
    result = None
if result is not None:
    ui.site_banner(result.site)
    spec = result.scenario.inference
    inference = result.inference
    feasible = inference[inference["feasible"]]
    if feasible.empty:
        st.error("No hardware can serve this traffic: " + tables.infeasible_summary(inference))
        st.stop()
    names = dict(zip(inference["hardware_id"], inference["name"], strict=True))
    hw = ui.device_pick("sv_hw", inference, tables.default_serving_choice(inference),
                        "annual_cost_usd",
                        help_extra="Devices that meet the latency targets at this traffic.")
    row = tables.row_of(feasible, hw)
    target = (f"p95 within {formats.seconds(spec.latency_p95_s)}" if spec.latency_p95_s
              else "no latency target")
    st.caption(f"Peak {row['fleet_peak_requests_per_s']:g} requests/s, average "
               f"{row['fleet_avg_requests_per_s']:g} ({row['fleet_traffic_basis']}); "
               f"{target}; {spec.headroom:.0%} headroom"
               f"{'; autoscaling' if spec.autoscaling else '; the peak fleet runs all year'}.")

    c = st.columns(4)
    c[0].metric("Fleet", f"{formats.count(row['fleet_devices'])} devices",
                help=f"{formats.count(row['fleet_replicas'])} replicas × "
                     f"{formats.count(row['devices_per_replica'])} device(s), batch "
                     f"{formats.count(row['batch_size'])}.")
    c[1].metric("p95 latency at the peak", formats.seconds(row["fleet_latency_p95_s"]),
                help=f"Binding target: {row['fleet_binding_target']}. Queueing from an "
                     "M/M/c model of the batch slots.")
    c[2].metric("Peak utilisation", f"{row['fleet_peak_utilisation']:.0%}",
                help=f"Mean over the day {row['fleet_mean_utilisation']:.0%}.")
    c[3].metric("Cost per 1M output tokens", formats.money(row["fleet_cost_usd_per_1m_tokens"]))
    c = st.columns(4)
    c[0].metric("Cost per year", formats.money(row["annual_cost_usd"]),
                help=str(row["price_basis"]))
    c[1].metric("Energy per year", formats.energy(row["annual_energy_kwh"]),
                help="Devices + host + facility overhead (PUE).")
    c[2].metric("CO2e per year", formats.co2e(row["annual_total_co2e_kg"]),
                help=f"Operational, location-based (scope 2) "
                     f"{formats.co2e(row['annual_co2e_kg'])} + embodied, manufacturing "
                     f"(scope 3) {formats.co2e(row['annual_embodied_co2e_kg'])}; market-based "
                     f"operational {formats.co2e(row['annual_market_co2e_kg'])} "
                     f"({row['market_basis']}).")
    c[3].metric("Requests per year", formats.count(row["annual_requests"]))
    c = st.columns(4)
    c[0].metric("Cost per 1,000 requests", formats.money(row["fleet_cost_usd_per_1k_requests"]))
    c[1].metric("Energy per 1,000 requests",
                formats.energy(row["fleet_energy_kwh_per_1k_requests"]))
    c[2].metric("CO2e per 1,000 requests",
                formats.co2e(row["fleet_total_co2e_kg_per_1k_requests"]))
    c[3].metric("Device-hours per year", formats.count(row["annual_device_hours"]))
    c = st.columns(4)
    c[0].metric("Water per year", formats.water(row["annual_water_l"]),
                help=f"On site {formats.water(row['annual_water_onsite_l'])} (WUE "
                     f"{row['wue_l_per_kwh']:g} L/kWh: {row['wue_basis']}) + off site "
                     f"{formats.water(row['annual_water_offsite_l'])} (electricity generation, "
                     f"{row['water_offsite_l_per_kwh']:.2f} L/kWh).")
    c[1].metric("Water per 1,000 requests",
                formats.water(row["fleet_water_l_per_1k_requests"]))
    c[2].metric("Market-based CO2e per year", formats.co2e(row["annual_market_co2e_kg"]),
                help=f"Scope 2, market-based: {row['market_basis']}.")

    # Uncertainty: the chosen device and the cheapest others, P10-P90 whiskers.
    costs = tables.pick(feasible, ["hardware_id", "annual_cost_usd"])  # not ~170 columns
    priced = costs[costs["annual_cost_usd"].notna()].nsmallest(8, "annual_cost_usd")
    ids = tuple(sorted({hw, *priced["hardware_id"]}))
    try:
        summary, sensitivity = ui.uncertainty(("inference",), "serving", ids)
    except PlannerError as exc:
        st.error(f"No uncertainty: {plain(exc)}")
        summary = sensitivity = None
    left, right = st.columns(2)
    metric = controls.radio("sv_metric", ["annual_cost_usd", "annual_total_co2e_kg",
                                          "annual_energy_kwh"], where=left,
                            format_func={"annual_cost_usd": "cost",
                                         "annual_total_co2e_kg": "CO2e",
                                         "annual_energy_kwh": "energy"}.get,
                            help_extra="Which yearly figure the two charts below show.")
    controls.number("u_draws", where=right)
    fmt, scale, unit = {"annual_cost_usd": (formats.money, 1.0, "USD per year"),
                        "annual_total_co2e_kg": (formats.co2e, 1e-3, "t CO2e per year"),
                        "annual_energy_kwh": (formats.energy, 1e-3, "MWh per year")}[metric]
    if summary is not None:
        left, right = st.columns(2)
        part = tables.pick(feasible, ["hardware_id", "name", metric])  # what range_bars reads
        shown = part[part["hardware_id"].isin(ids)]
        if shown[metric].notna().any():
            left.plotly_chart(figures.range_bars(
                shown, summary, metric, title="Uncertainty: P10 to P90 per device",
                axis_title=unit, scale=scale, fmt=fmt, highlight=hw), key="sv_range_chart",
                width="stretch", config={"displaylogo": False})
        sens = sensitivity[(sensitivity["hardware_id"] == hw)
                           & (sensitivity["metric"] == metric)]
        if len(sens) and sens["result_at_low"].notna().any():
            right.plotly_chart(figures.tornado(
                sens, float(row[metric]), title="What moves this fleet's figure most",
                axis_title=unit, scale=scale, fmt=fmt), key="sv_tornado_chart",
                width="stretch", config={"displaylogo": False})
        else:
            right.info("No sensitivity for this figure: the device has no baseline value "
                       "(e.g. no published price).")
        st.caption(figures.UNCERTAINTY_NOTE + "; sensitivity: one assumption at a time at "
                   "its low and high end (Saltelli et al. 2008).")
        ui.csv_download(summary, "serving-uncertainty.csv", key="dl_sv_uncertainty",
                        label="Download the P10/P50/P90 table (CSV)")
        ui.csv_download(sensitivity, "serving-sensitivity.csv", key="dl_sv_sensitivity",
                        label="Download the sensitivity table (CSV)")
    bases = tables.pick(feasible, [c for c in BASIS_COLUMNS if c in feasible.columns])
    ui.provenance_note(tables.rows(bases, tables.is_device(feasible, hw)), result.site)

    st.subheader("Every device at this traffic")
    shown = ["name", "feasible", "fleet_devices", "batch_size", "fleet_latency_p95_s",
             "fleet_peak_utilisation", "annual_cost_usd", "annual_energy_kwh",
             "annual_total_co2e_kg", "fleet_cost_usd_per_1k_requests",
             "fleet_energy_kwh_per_1k_requests", "fleet_total_co2e_kg_per_1k_requests",
             "utilisation_basis", "power_basis", "price_basis", "infeasible_reason"]
    ui.table(tables.inference_table(inference, shown), shown, key="sv_table")
    # every column in the file, sorted when it is asked for
    ui.csv_download(lambda: tables.inference_table(inference), "serving-fleet.csv",
                    key="dl_sv_table")
