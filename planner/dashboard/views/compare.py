"""Compare hardware: the training run and the served workload on every profile, side by side,
with a Pareto view of cost against CO2e against time, filtered by device class."""

import numpy as np
import streamlit as st

from planner.dashboard import figures, first_view, formats, provenance, tables, ui
from planner.dashboard.provenance import BASIS_COLUMNS
from planner.dashboard.state import DEVICE_CLASSES
from planner.errors import PlannerError

st.title("Compare hardware")
st.markdown("Which device trains and serves this model for the least **money**, **carbon** "
            "and **time**? Every profile in the catalogue, planned with the inputs in the "
            "sidebar.")

st.multiselect(
    "Device classes", DEVICE_CLASSES, key="cmp_classes",
    help="GPU, TPU, NPU and CPU are data-centre devices; Edge is devices in users' hands "
         "(laptops, phones, Jetson boards). Training is planned on data-centre devices only.")
classes = list(st.session_state["cmp_classes"])

TRAIN_VISIBLE = ["name", "devices", "days", "energy_kwh", "co2e_kg", "embodied_co2e_kg",
                 "total_co2e_kg", "cost_usd", "price_usd_per_device_hour", "utilisation",
                 "busy_power_w", "utilisation_basis", "power_basis", "price_basis",
                 "embodied_basis", "infeasible_reason"]
SERVE_VISIBLE = ["name", "devices_per_replica", "latency_s", "ttft_s",
                 "requests_per_s_per_replica", "cost_usd_per_1k_requests",
                 "co2e_kg_per_1k_requests", "energy_kwh_per_1k_requests",
                 "cost_usd_per_1m_tokens", "utilisation_basis", "power_basis", "price_basis",
                 "infeasible_reason"]


FLEET_VISIBLE = ["name", "fleet_devices", "batch_size", "fleet_latency_p95_s",
                 "fleet_peak_utilisation", "annual_cost_usd", "annual_energy_kwh",
                 "annual_total_co2e_kg", "fleet_cost_usd_per_1k_requests",
                 "fleet_total_co2e_kg_per_1k_requests", "utilisation_basis", "power_basis",
                 "price_basis", "infeasible_reason"]


# What this page reads of the tables besides the shown columns (the class filter, the
# choices, the charts' hover and provenance): only these are sorted and filtered on every
# rerun; the CSV files are made from every column when asked for.
USED = ["hardware_id", "kind", "placement", "feasible", *BASIS_COLUMNS]
TRAIN_USED = [*TRAIN_VISIBLE, *USED]
SERVE_USED = [*FLEET_VISIBLE, *SERVE_VISIBLE, *USED, "annual_total_co2e_kg",
              "embodied_co2e_kg_per_1k_requests"]


def _named(row, cost_column: str, detail: str = "") -> str:
    """The device's name (and ``detail``), and where it has no price here why (a headline
    chosen on CO2e, devices or latency may be a device the site's cloud does not rent)."""
    if np.isfinite(float(row[cost_column])):
        return f"{row['name']}{detail}"
    why = tables.not_offered(str(row.get("price_basis", ""))) or "no published price"
    return f"{row['name']}{detail} · {why}"


def _best(frame, column):
    values = frame[column].to_numpy(dtype=float)
    if not np.isfinite(values).any():
        return None
    return frame.iloc[int(np.nanargmin(values))]


st.header("Training", divider="gray")
result = ui.plan_or_error(("training",))
if result is not None:
    ui.site_banner(result.site)
    shown = tables.filter_classes(tables.training_table(
        result.training, columns=list(dict.fromkeys(TRAIN_USED))), classes)
    feasible = shown[shown["feasible"]]
    if shown.empty:
        st.info("No data-centre device in the chosen classes: add GPU, TPU, NPU or CPU above.")
    elif feasible.empty:
        st.error("No device in the chosen classes can run this training: "
                 + tables.infeasible_summary(shown))
    else:
        cheap, clean, fast = (_best(feasible, "cost_usd"), _best(feasible, "total_co2e_kg"),
                              _best(feasible, "devices"))
        c1, c2, c3 = st.columns(3)
        if cheap is not None:
            c1.metric("Cheapest", formats.money(cheap["cost_usd"]), help=cheap["price_basis"],
                      delta=cheap["name"], delta_color="off", delta_arrow="off")
        c2.metric("Least CO2e", formats.co2e(clean["total_co2e_kg"]),
                  delta=_named(clean, "cost_usd"), delta_color="off", delta_arrow="off",
                  help="Operational (energy × grid) plus embodied (manufacturing, amortised).")
        c3.metric("Fewest devices", formats.count(fast["devices"]),
                  delta=_named(fast, "cost_usd",
                               f", {formats.duration_days(fast['days'])}"),
                  delta_color="off", delta_arrow="off")
    rest = st.container()  # chart and table: empty in the headline-only first run
    if not feasible.empty and not first_view.headline_only():
        with rest:
            try:  # P10-P90 whiskers from the model's Monte Carlo, for the charted devices
                summary, _ = ui.uncertainty(
                    ("training",), "training",
                    feasible.loc[feasible["cost_usd"].notna(), "hardware_id"])
                charted = tables.with_percentiles(feasible, summary,
                                                  ("cost_usd", "total_co2e_kg"))
            except PlannerError as exc:
                st.caption(f"No uncertainty whiskers: {formats.plain(exc)}")
                charted = feasible
            st.plotly_chart(figures.training_tradeoff(charted), key="cmp_train_chart",
                            width="stretch", config={"displaylogo": False})
            extra = (f"Whiskers: {provenance.TRAINING_UNCERTAINTY_NOTE}. "
                     + tables.unpriced_note(feasible, "cost_usd"))
            ui.provenance_note(feasible, result.site, extra)
    if not shown.empty and not first_view.headline_only():
        with rest:
            ui.table(shown, TRAIN_VISIBLE, key="cmp_train_table")
            ui.csv_download(lambda plan=result.training, chosen=tuple(classes):
                            tables.filter_classes(tables.training_table(plan), list(chosen)),
                            "compare-training.csv", key="dl_cmp_training")

serving_header = st.empty()  # its title depends on the plan, drawn above any error
result = ui.plan_or_error(("inference",))
fleet = result is not None and "annual_cost_usd" in result.inference.columns
if fleet:
    spec = result.scenario.inference
    load = (f"{spec.requests_per_s_avg:g} requests/s on average" if spec.requests_per_s_avg
            else f"{spec.requests_per_s_peak:g} requests/s")
    serving_header.header(f"Serving {load} for a year", divider="gray")
elif result is not None:
    serving_header.header("Serving (one replica, no traffic given)", divider="gray")
else:
    serving_header.header("Serving", divider="gray")
if result is not None:
    shown = tables.filter_classes(tables.inference_table(
        result.inference, list(dict.fromkeys(SERVE_USED))), classes)
    feasible = shown[shown["feasible"]]
    if shown.empty:
        st.info("No device in the chosen classes.")
    elif feasible.empty:
        st.error("No device in the chosen classes can serve this workload: "
                 + tables.infeasible_summary(shown))
    elif fleet:
        cheap, clean, fast = (_best(feasible, "annual_cost_usd"),
                              _best(feasible, "annual_total_co2e_kg"),
                              _best(feasible, "fleet_latency_p95_s"))
        c1, c2, c3 = st.columns(3)
        if cheap is not None:
            c1.metric("Cheapest per year", formats.money(cheap["annual_cost_usd"]),
                      delta=f"{cheap['name']}, {formats.count(cheap['fleet_devices'])} devices",
                      delta_color="off", delta_arrow="off", help=str(cheap["price_basis"]))
        c2.metric("Least CO2e per year", formats.co2e(clean["annual_total_co2e_kg"]),
                  delta=_named(clean, "annual_cost_usd"), delta_color="off", delta_arrow="off",
                  help="Operational plus embodied, for the whole fleet.")
        c3.metric("Lowest p95 latency", formats.seconds(fast["fleet_latency_p95_s"]),
                  delta=_named(fast, "annual_cost_usd"), delta_color="off", delta_arrow="off",
                  help="Queueing + prefill + generation + network round trip, at the peak.")
        if not first_view.headline_only():
            st.plotly_chart(figures.serving_tradeoff(feasible), key="cmp_serve_chart",
                            width="stretch", config={"displaylogo": False})
            extra = tables.unpriced_note(feasible, "annual_cost_usd")
            missed = int((~tables.feasible_mask(shown)).sum())
            if missed:
                extra += (f" Left out as unable to serve this traffic within the targets: "
                          f"{missed} device(s), reasons in the table.")
            ui.provenance_note(feasible, result.site, extra)
    else:
        f = feasible.assign(total=feasible["co2e_kg_per_1k_requests"]
                            + feasible["embodied_co2e_kg_per_1k_requests"])
        cheap, clean, fast = _best(f, "cost_usd_per_1k_requests"), _best(f, "total"), \
            _best(f, "latency_s")
        c1, c2, c3 = st.columns(3)
        if cheap is not None:
            c1.metric("Cheapest per 1,000 requests", formats.money(
                cheap["cost_usd_per_1k_requests"]), delta=cheap["name"], delta_color="off",
                delta_arrow="off")
        c2.metric("Least CO2e per 1,000 requests", formats.co2e(clean["total"]),
                  delta=_named(clean, "cost_usd_per_1k_requests"), delta_color="off",
                  delta_arrow="off")
        c3.metric("Lowest latency", formats.seconds(fast["latency_s"]),
                  delta=_named(fast, "cost_usd_per_1k_requests"),
                  delta_color="off", delta_arrow="off",
                  help="Time for one batch: prefill plus every output token.")
        if not first_view.headline_only():
            st.plotly_chart(figures.inference_tradeoff(feasible), key="cmp_serve_chart",
                            width="stretch", config={"displaylogo": False})
            ui.provenance_note(feasible, result.site)
    if not shown.empty and not first_view.headline_only():
        ui.table(shown, FLEET_VISIBLE if fleet else SERVE_VISIBLE, key="cmp_serve_table")
        ui.csv_download(lambda plan=result.inference, chosen=tuple(classes):
                        tables.filter_classes(tables.inference_table(plan), list(chosen)),
                        "compare-serving.csv", key="dl_cmp_serving")
