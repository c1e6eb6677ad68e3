"""Optimisation: quantisation, pruning, distillation, batching, region and PUE as what-ifs
against the baseline serving plan, one lever at a time and all together."""

import streamlit as st

from planner.dashboard import controls, figures, formats, loaders, sidebar, state, tables, ui
from planner.dashboard.formats import plain
from planner.errors import PlannerError

st.title("Optimisation")
st.markdown("What would quantising, pruning or distilling the served model, a fixed batch, or "
            "another region and PUE save against today's plan? Each lever is applied alone, "
            "then all together, to the same traffic and latency target.")

baseline = ui.plan_or_error(("inference",))
if baseline is not None and "annual_cost_usd" not in baseline.inference.columns:
    st.error("The levers act on a served fleet: give an average or peak load in the sidebar.")
    baseline = None
if baseline is not None:
    if not tables.feasible_mask(baseline.inference).any():
        st.error("No hardware can serve this traffic, so there is no baseline to improve: "
                 + tables.infeasible_summary(baseline.inference))
        st.stop()
    names = dict(zip(baseline.inference["hardware_id"], baseline.inference["name"],
                     strict=True))
    presets = loaders.presets()
    regions = loaders.region_table()
    with st.container(border=True):
        a, b, c = st.columns(3)
        with a:
            hw = ui.device_pick("lv_hw", baseline.inference,
                                tables.default_serving_choice(baseline.inference),
                                "annual_cost_usd", help_extra="The serving fleet the levers "
                                "act on.")
        served_at = st.session_state.get("i_precision", "bf16")
        choices = state.quantisation_choices(served_at)
        if st.session_state.get("lv_quant") not in choices:  # the default follows the input
            st.session_state["lv_quant"] = choices[-1]
        controls.select("lv_quant", choices, where=b,
                        format_func=lambda k: "no quantisation" if k == state.NONE else k,
                        help_extra=f"Offered: the precisions below the serving precision "
                                   f"({served_at}).")
        controls.select("lv_prune", state.PRUNING, where=c,
                        format_func={"none": "no pruning",
                                     "2:4": "2:4 structured (50 %)"}.__getitem__)
        controls.select("lv_distil", [state.NONE, *presets], where=a,
                        format_func=lambda k: "no distillation" if k == state.NONE
                        else presets[k]["name"])
        controls.number("lv_batch", where=b)
        moves = {state.NONE: "stay", **sidebar.region_labels(regions)}  # a dict: no lookup
        moves.pop(state.WORLD_AVERAGE, None)  # in the frame per option (288 of them)
        controls.select("lv_region", list(moves), where=c, format_func=moves.__getitem__)
        controls.number("lv_pue", where=a)
    bad_inputs = ui.problems(("inference", "levers"))
    if bad_inputs:
        st.error("Cannot apply these levers: " + "; ".join(bad_inputs) + ".")
        st.stop()
    scenario = ui.scenario(("inference", "levers"))
    if "levers" not in scenario:
        st.info("Choose at least one lever above.")
        st.stop()
    scenario["inference"]["hardware"] = [hw]
    try:  # the levers table alone: the baseline's serving plan is drawn from above
        levers = loaders.levers(state.plan_key(scenario), ui.calibration_key())
    except PlannerError as exc:
        st.error(f"Cannot apply these levers: {plain(exc)}")
        st.stop()
    base = levers[levers["lever"] == "baseline"].iloc[0]
    best = levers[levers["lever"] == "combined"]
    cols = st.columns(4)
    cols[0].metric("Baseline cost per year", formats.money(base["annual_cost_usd"]),
                   help=f"{formats.count(base['devices'])} devices at batch "
                        f"{formats.count(base['batch_size'])}.")
    cols[1].metric("Baseline CO2e per year", formats.co2e(base["annual_total_co2e_kg"]))
    if not best.empty and bool(best.iloc[0]["feasible"]):
        b_row = best.iloc[0]
        cols[2].metric("All levers: cost per year", formats.money(b_row["annual_cost_usd"]),
                       delta=f"{(b_row['cost_vs_baseline'] - 1) * 100:+.0f} %",
                       delta_color="inverse")
        cols[3].metric("All levers: CO2e per year", formats.co2e(b_row["annual_total_co2e_kg"]),
                       delta=f"{(b_row['co2e_vs_baseline'] - 1) * 100:+.0f} %",
                       delta_color="inverse")
    bad = levers[~levers["feasible"].astype(bool)]
    for _, r in bad.iterrows():
        st.error(plain(f"Lever {r['lever']} ({r['setting']}) cannot run on {names[hw]}: "
                       f"{r['infeasible_reason']}"))
    st.plotly_chart(figures.levers_figure(levers[levers["feasible"].astype(bool)]),
                    key="lv_chart", width="stretch", config={"displaylogo": False})
    payback = levers[levers["payback_months"].notna()]
    extra = "".join(f" {r['lever'].capitalize()}: the one-off cost of "
                    f"{formats.money(r['one_off_cost_usd'])} pays back in "
                    f"{r['payback_months']:.1f} months." for _, r in payback.iterrows())
    st.caption("**Where these numbers come from.** Each lever's effect is a sourced default in "
               "`profiles/levers.yaml` (hover a bar for the source); the fleet is re-sized for "
               "the same traffic and latency target, so fewer or more devices follow." + extra)
    ui.table(levers, ["lever", "setting", "feasible", "batch_size", "devices", "latency_s",
                      "annual_cost_usd", "annual_energy_kwh", "annual_total_co2e_kg",
                      "one_off_cost_usd", "payback_months", "cost_vs_baseline",
                      "energy_vs_baseline", "co2e_vs_baseline", "source", "note"],
             key="lv_table")
    ui.csv_download(levers, f"levers-{hw}.csv", key="dl_lv_table")
