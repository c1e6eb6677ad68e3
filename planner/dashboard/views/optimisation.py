"""Optimisation: quantisation, pruning, distillation, batching, region and PUE as what-ifs
against the baseline serving plan, one lever at a time and all together."""

import streamlit as st

from planner.dashboard import figures, formats, loaders, state, tables, ui
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
    ok = baseline.inference[baseline.inference["feasible"]]
    if ok.empty:
        st.error("No hardware can serve this traffic, so there is no baseline to improve: "
                 + tables.infeasible_summary(baseline.inference))
        st.stop()
    names = dict(zip(ok["hardware_id"], ok["name"], strict=True))
    options = sorted(names, key=names.get)
    if st.session_state.get("lv_hw") not in options:
        st.session_state["lv_hw"] = tables.default_serving_choice(baseline.inference)
    presets = loaders.presets()
    regions = loaders.region_table()
    with st.container(border=True):
        a, b, c = st.columns(3)
        a.selectbox("Hardware", options, key="lv_hw", format_func=names.get,
                    help="The serving fleet the levers act on; first view: the cheapest.")
        b.selectbox("Quantise weights to", state.QUANTISATION, key="lv_quant",
                    format_func=lambda k: "no quantisation" if k == state.NONE else k,
                    help="int4 is weight-only (W4A16, GPTQ); fp8/int8 also run the maths at "
                         "that precision where the device has a published peak.")
        c.selectbox("Prune", state.PRUNING, key="lv_prune",
                    format_func={"none": "no pruning", "2:4": "2:4 structured (50 %)"}.__getitem__,
                    help="2:4 sparsity removes half the weights; the realised speed-up (1.5×) "
                         "is below the ideal 2× (profiles/levers.yaml).")
        a.selectbox("Distil into", [state.NONE, *presets], key="lv_distil",
                    format_func=lambda k: "no distillation" if k == state.NONE
                    else presets[k]["name"],
                    help="Serve a smaller student model; distilling it is a one-off training "
                         "run, paid back over the months of serving.")
        b.number_input("Fixed batch size", key="lv_batch", step=8, placeholder="as planned",
                       help="Serve at exactly this batch (1-4096); blank keeps the planned "
                            "choice.")
        c.selectbox("Move to region", [state.NONE, *regions.index], key="lv_region",
                    format_func=lambda k: "stay" if k == state.NONE else
                    f"{regions.loc[k, 'label'].split('): ')[0]} — "
                    f"{regions.loc[k, 'g_per_kwh']:.0f} g/kWh",
                    help="Run the same fleet on another grid (and that provider's price).")
        a.number_input("With PUE", key="lv_pue", step=0.01, format="%.2f",
                       placeholder="unchanged",
                       help="The facility's PUE after the move or an upgrade; 1 to 3, blank "
                            "keeps the baseline's.")
    hw = str(st.session_state["lv_hw"])
    scenario = ui.scenario(("inference", "levers"))
    if "levers" not in scenario:
        st.info("Choose at least one lever above.")
        st.stop()
    scenario["inference"]["hardware"] = [hw]
    try:
        result = ui.plan(scenario)
    except PlannerError as exc:
        st.error(f"Cannot apply these levers: {exc}")
        st.stop()
    levers = result.extras["levers"]
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
        st.error(f"Lever {r['lever']} ({r['setting']}) cannot run on {names[hw]}: "
                 f"{r['infeasible_reason']}")
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
