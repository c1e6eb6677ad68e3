"""Lifecycle: training, retraining and serving added up month by month over the horizon,
with the month in which cumulative serving overtakes cumulative training."""

import numpy as np
import pandas as pd
import streamlit as st

from planner.dashboard import controls, figures, formats, tables, ui
from planner.errors import PlannerError
from planner.model.lifecycle import MONTHS_PER_YEAR, cumulative_curves

st.title("Lifecycle")
st.markdown("Over the model's life, what costs more: training it or serving it? Training is "
            "paid at launch and at every retraining; serving accrues every month. The horizon "
            "is in the sidebar.")

METRICS = {  # choice: (unit suffix, training column, annual serving column, scale, label, fmt)
    "cost": ("cost_usd", "cost_usd", "annual_cost_usd", 1.0, "cost (USD)", formats.money),
    "energy": ("energy_kwh", "energy_kwh", "annual_energy_kwh", 1e-3, "energy (MWh)",
               formats.energy),
    "co2e": ("co2e_kg", "total_co2e_kg", "annual_total_co2e_kg", 1e-3, "CO2e (t)",
             formats.co2e),
}

serving_plan = ui.plan_or_error(("inference",))
options = [""]
names = {"": "The cheapest for these inputs (follows them)"}
if serving_plan is not None:
    part = tables.pick(serving_plan.inference, ["hardware_id", "name"])  # not ~170 columns
    ok = tables.rows(part, tables.feasible_mask(serving_plan.inference))
    names.update(dict(zip(ok["hardware_id"].tolist(), ok["name"].tolist(), strict=True)))
    options += sorted(ok["hardware_id"].tolist(), key=names.get)
if st.session_state.get("lc_serving_hw") not in options:
    st.session_state["lc_serving_hw"] = ""
a, b, c, d = st.columns([2, 1, 1, 1])
controls.select("lc_serving_hw", options, where=a, format_func=names.get)
controls.number("lc_retrain_months", where=b)
controls.number("lc_retrain_pct", where=c)
controls.radio("lc_metric", list(METRICS), where=d,
               format_func={"cost": "cost", "energy": "energy", "co2e": "CO2e"}.get,
               help_extra="Which figure the chart adds up.")

result = ui.plan_or_error(("training", "inference", "lifecycle"))
if result is not None and "lifecycle" not in result.extras:
    st.error("The lifecycle needs traffic: give an average or peak load in the sidebar.")
    result = None
if result is not None:
    ui.site_banner(result.site)
    summary = result.extras["lifecycle_summary"].iloc[0]
    curves = result.extras["lifecycle"]
    curves = curves[curves["hardware_id"] == summary["hardware_id"]]
    choice = str(st.session_state["lc_metric"])
    unit, t_col, s_col, scale, label, fmt = METRICS[choice]
    spec = result.scenario.lifecycle
    horizon = int(spec.horizon_months)
    device_names = {**dict(zip(result.training["hardware_id"], result.training["name"],
                               strict=True)),
                    **dict(zip(result.inference["hardware_id"], result.inference["name"],
                               strict=True))}
    serving_pick = ("your pick" if st.session_state.get("lc_serving_hw")
                    else "the cheapest for these inputs")
    st.caption(f"Training on **{device_names[summary['training_hardware_id']]}** (the cheapest "
               f"for these inputs), serving on **{device_names[summary['hardware_id']]}** "
               f"({serving_pick}), over {horizon} months"
               + (f", retraining every {spec.retrain_every_months} months at "
                  f"{spec.retrain_fraction:.0%} ({int(summary['retrainings'])} retrainings)."
                  if spec.retrain_every_months else ", no retraining."))

    be = summary[f"break_even_month_{choice}"]
    cols = st.columns(4)
    cols[0].metric(f"Total {label.split(' (')[0]} over {horizon} months",
                   fmt(summary[f"total_{unit}"]))
    cols[1].metric("Training + retraining",
                   fmt(summary[f"training_{unit}"] + summary[f"retraining_{unit}"]),
                   help=f"First training {fmt(summary[f'training_{unit}'])}; retraining "
                        f"{fmt(summary[f'retraining_{unit}'])}.")
    cols[2].metric("Serving", fmt(summary[f"serving_{unit}"]),
                   help=f"{summary[f'serving_share_of_{choice}']:.0%} of the total.")
    cols[3].metric("Break-even", f"month {be:.1f}" if be == be else "not reached",
                   help="When cumulative serving overtakes cumulative training. "
                        + str(summary["break_even_note"] or ""))

    # Uncertainty envelope: both phases at their P10, and both at their P90.
    band = None
    try:
        t_sum, _ = ui.uncertainty(("training",), "training",
                                  [str(summary["training_hardware_id"])])
        s_sum, _ = ui.uncertainty(("inference",), "serving", [str(summary["hardware_id"])])
        tq = t_sum.set_index("metric").loc[t_col]
        sq = s_sum.set_index("metric").loc[s_col]
        ends = []
        for p in ("p10", "p90"):
            cum_t, cum_s = cumulative_curves([tq[p]], [sq[p] / MONTHS_PER_YEAR], horizon,
                                             spec.retrain_every_months, spec.retrain_fraction)
            ends.append((cum_t + cum_s)[0])
        if all(np.isfinite(e).all() for e in ends):
            band = (ends[0], ends[1])
    except (PlannerError, KeyError) as exc:
        st.caption(f"No uncertainty band: {formats.plain(exc)}")
    st.plotly_chart(figures.lifecycle_figure(curves, unit, label=label, scale=scale,
                                             break_even=be, band=band),
                    key="lc_chart", width="stretch", config={"displaylogo": False})
    st.caption("**Where these numbers come from.** The training run is the Training "
               "planner's plan for that device; serving is a twelfth of the fleet's year from "
               "the Serving planner each month; carbon is operational plus embodied. The grey "
               "envelope puts both phases at their P10 and at their P90 of the Monte Carlo "
               "(wider than the P10-P90 of the sum). Break-even: Patterson et al. 2022 discuss "
               "the same training-versus-serving split.")
    totals = pd.DataFrame(result.extras["lifecycle_summary"])
    st.subheader(f"Totals over {horizon} months, per phase")
    phases = pd.DataFrame({
        "phase": ["first training", f"retraining ({int(summary['retrainings'])}×)",
                  "serving", "total", "serving's share"],
        **{title: [fmt_(summary[f"training_{u}"]), fmt_(summary[f"retraining_{u}"]),
                   fmt_(summary[f"serving_{u}"]), fmt_(summary[f"total_{u}"]),
                   f"{summary[f'serving_share_of_{name}']:.0%}"]
           for name, (u, _, _, _, title, fmt_) in METRICS.items()},
    })
    st.dataframe(phases, hide_index=True, width="stretch", key="lc_summary_table")
    ui.csv_download(totals, "lifecycle-summary.csv", key="dl_lc_summary",
                    label="Download the totals (CSV)")
    ui.csv_download(result.extras["lifecycle"], "lifecycle-curves.csv", key="dl_lc_curves",
                    label="Download the monthly curves (CSV)")
