"""Plotly figures of plans: pure functions of result tables that return a ``go.Figure``.

Hover text names each figure's provenance (measured, calibrated, spec, assumed); where a
table carries ``<column>_p10`` / ``<column>_p90`` columns, points get error bars.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from planner.dashboard import chart_layout, formats, tables
from planner.dashboard.provenance import BASIS_COLUMNS, hover_lines

FRONT_COLOUR = "#d62728"
PALETTE = {"device": "#1f77b4", "host": "#9467bd", "facility": "#ff7f0e",
           "operational": "#2ca02c", "embodied": "#8c564b"}
_figure = chart_layout.figure


def pareto_mask(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """True for rows no other row beats on every column (lower is better); NaN rows False."""
    values = np.column_stack([frame[c].to_numpy(float) for c in columns]) if columns \
        else np.empty((len(frame), 0))
    ok = np.isfinite(values).all(axis=1)
    mask = np.zeros(len(frame), dtype=bool)
    pts = values[ok]
    if len(pts):
        # a dominates b when a <= b everywhere and a < b somewhere; broadcast all pairs
        le = (pts[:, None, :] <= pts[None, :, :]).all(axis=2)
        lt = (pts[:, None, :] < pts[None, :, :]).any(axis=2)
        dominated = (le & lt).any(axis=0)
        mask[np.flatnonzero(ok)] = ~dominated
    return mask


def _error(frame: pd.DataFrame, column: str, scale: float = 1.0,
           pick: np.ndarray | None = None) -> dict | None:
    """P10-P90 error bars of ``column`` where the frame has them, for the rows ``pick``."""
    lo, hi = f"{column}_p10", f"{column}_p90"
    if lo not in frame.columns or hi not in frame.columns:
        return None
    rows = slice(None) if pick is None else pick
    mid = frame[column].to_numpy(float)[rows]
    return {"type": "data", "symmetric": False, "thickness": 1.2, "width": 3,
            "array": (np.maximum(frame[hi].to_numpy(float)[rows] - mid, 0) * scale).tolist(),
            "arrayminus": (np.maximum(mid - frame[lo].to_numpy(float)[rows], 0)
                           * scale).tolist()}


def _texts(values, fmt) -> list[str]:
    return [fmt(v) for v in np.asarray(values, dtype=float).tolist()]


def _hover(data: pd.DataFrame, hover_values: dict[str, tuple[str, object]]) -> list[str]:
    """Per point: the device name, its figures, and the provenance of each figure.
    ``hover_values`` maps a label to (column, formatter), or to a function of the frame
    giving one text per row."""
    names = [str(n) for n in data["name"].tolist()]
    columns = []
    for label, spec in hover_values.items():
        if callable(spec):
            columns.append((label, spec(data)))
        else:
            column, fmt = spec
            columns.append((label, _texts(data[column], fmt)))
    prov = hover_lines(data)
    return [f"<b>{names[i]}</b><br>" + "".join(f"{label}: {vals[i]}<br>" for label, vals in columns)
            + "<i>provenance</i><br>" + prov[i] for i in range(len(data))]


def _fractions(values: np.ndarray, axis: dict) -> np.ndarray:
    """Positions on a log axis as fractions of its range (for label placement)."""
    lo, hi = axis.get("range", [0.0, 1.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.log10(values) - lo) / ((hi - lo) or 1.0)


def tradeoff_figure(frame: pd.DataFrame, *, x: str, y: str, colour: str, title: str,
                    x_title: str, y_title: str, colour_title: str,
                    hover_values: dict[str, object], x_scale: float = 1.0,
                    y_scale: float = 1.0, x_prefix: str = "", y_prefix: str = "",
                    colour_note: str = "", hover_columns: tuple[str, ...] = ()) -> go.Figure:
    """Cost against CO2e coloured by time: Pareto-optimal devices (no other device is
    cheaper, cleaner and faster at once) are diamonds, the rest faded circles; every point
    that has room gets its name. When the colour figure hardly varies (a deadline makes
    every run take about as long) the colour scale is left out and the subtitle says so.
    ``hover_columns``: the columns that callable ``hover_values`` read."""
    # The columns drawn, then the rows with both figures: masking the whole (wide) table
    # and reading columns from it cost more than the rest of the chart.
    used = [x, y, colour, "name", *hover_columns,
            *(spec[0] for spec in hover_values.values() if not callable(spec)),
            *BASIS_COLUMNS, *(f"{c}_{p}" for c in (x, y) for p in ("p10", "p90"))]
    narrow = tables.pick(frame, [c for c in dict.fromkeys(used) if c in frame.columns])
    data = tables.rows(narrow, np.isfinite(narrow[x].to_numpy(float))
                       & np.isfinite(narrow[y].to_numpy(float)))
    colours = data[colour].to_numpy(float)
    finite = colours[np.isfinite(colours)]
    informative = bool(len(finite)) and float(finite.max()) > 1.05 * float(finite.min())
    front = pareto_mask(data, [x, y, colour] if informative else [x, y])
    hover = np.array(_hover(data, hover_values), dtype=object)
    xs, ys = data[x].to_numpy(float) * x_scale, data[y].to_numpy(float) * y_scale
    xaxis = chart_layout.log_axis(xs, title=x_title, prefix=x_prefix, pad=0.12)
    yaxis = chart_layout.log_axis(ys, title=y_title, prefix=y_prefix, pad=0.10)
    names = np.array([chart_layout.short_name(str(n)) for n in data["name"]], dtype=object)
    order = np.lexsort((xs, ~front))  # the front first, then from the cheapest
    positions = np.array(chart_layout.place_labels(
        _fractions(xs, xaxis), _fractions(ys, yaxis), list(names), order), dtype=object)
    if informative:
        cmin, cmax = float(finite.min()), float(finite.max())
        subtitle = f"◆ Pareto-optimal (cost, CO2e, {colour_title})"
    else:
        cmin = cmax = 0.0
        subtitle = "◆ Pareto-optimal (cost, CO2e)" + (f" · {colour_note}" if colour_note
                                                    else "")
    traces = []
    # Rows by numpy masks of the columns used, not masks of the whole (wide) table.
    labels = np.array(data["name"].tolist(), dtype=object)
    for on_front, name in ((False, "other devices"), (True, "Pareto-optimal")):
        pick = front == on_front
        if not pick.any():
            continue
        marker = {"size": 14 if on_front else 10, "symbol": "diamond" if on_front else "circle",
                  "opacity": 1.0 if on_front else 0.6,
                  "line": {"width": 1.5 if on_front else 0.5,
                           "color": FRONT_COLOUR if on_front else "white"}}
        if informative:
            marker.update(color=colours[pick].tolist(), colorscale="Viridis", cmin=cmin,
                          cmax=cmax, showscale=on_front or not front.any())
            marker["colorbar"] = {"title": {"text": colour_title, "side": "top"},
                                  "orientation": "h", "thickness": 10, "len": 0.45,
                                  "x": 1.0, "xanchor": "right", "y": -0.2, "yanchor": "top"}
        else:
            marker["color"] = FRONT_COLOUR if on_front else PALETTE["device"]
        where = positions[pick]
        trace = {"type": "scatter", "x": xs[pick].tolist(), "y": ys[pick].tolist(),
                 "mode": "markers+text", "name": name, "marker": marker,
                 "text": labels[pick].tolist(),
                 "customdata": [[h, lab if pos else ""] for h, lab, pos in
                                zip(hover[pick], names[pick], where, strict=True)],
                 "texttemplate": "%{customdata[1]}",
                 "textposition": [pos or "top center" for pos in where],
                 "textfont": {"size": 11, "color": "#222" if on_front else "#666"},
                 "cliponaxis": False, "hovertemplate": "%{customdata[0]}<extra></extra>"}
        for axis, column, scale in (("error_x", x, x_scale), ("error_y", y, y_scale)):
            err = _error(data, column, scale, pick)
            if err is not None:
                err["color"] = "#999"
                trace[axis] = err
        traces.append(trace)
    return chart_layout.figure(traces, title, height=510 if informative else 460,
                               subtitle=subtitle, showlegend=False,
                               margin={"l": 10, "r": 10,
                                       "t": chart_layout.MODEBAR_PX + 62,
                                       "b": 90 if informative else 10},
                               xaxis=xaxis, yaxis=yaxis)


def _same_days(training: pd.DataFrame) -> str:
    days = training["days"].to_numpy(float)
    days = days[np.isfinite(days)]
    return f"every run ≈ {formats.duration_days(float(np.median(days)))}" \
        if len(days) else ""


def training_tradeoff(training: pd.DataFrame) -> go.Figure:
    """Training on every device: cost (x) against total CO2e (y), coloured by days."""
    t = training
    return tradeoff_figure(
        t, x="cost_usd", y="total_co2e_kg", colour="days",
        title="Training: cost against CO2e",
        x_title="cost of the run (USD, log)",
        y_title="CO2e of the run (t, log)", colour_title="days to train",
        y_scale=1e-3, x_prefix="$", colour_note=_same_days(t),
        hover_columns=("total_co2e_kg", "embodied_co2e_kg"),
        hover_values={
            "cost": ("cost_usd", formats.money),
            "CO2e": lambda d: [f"{a} (embodied {b})" for a, b in zip(
                _texts(d["total_co2e_kg"], formats.co2e),
                _texts(d["embodied_co2e_kg"], formats.co2e), strict=True)],
            "time": ("days", formats.duration_days),
            "devices": ("devices", formats.count),
            "energy": ("energy_kwh", formats.energy),
        })


def inference_tradeoff(inference: pd.DataFrame) -> go.Figure:
    """Serving on every device: cost per 1,000 requests against CO2e, coloured by latency."""
    i = inference.copy()
    i["total_co2e_kg_per_1k_requests"] = (i["co2e_kg_per_1k_requests"]
                                          + i["embodied_co2e_kg_per_1k_requests"])
    return tradeoff_figure(
        i, x="cost_usd_per_1k_requests", y="total_co2e_kg_per_1k_requests", colour="latency_s",
        title="Serving: cost against CO2e per 1,000 requests",
        x_title="cost per 1,000 requests (USD, log)",
        y_title="CO2e per 1,000 requests (g, log)", colour_title="latency (s)",
        y_scale=1e3, x_prefix="$",
        hover_values={
            "cost / 1k requests": ("cost_usd_per_1k_requests", formats.money),
            "CO2e / 1k requests": ("total_co2e_kg_per_1k_requests", formats.co2e),
            "energy / 1k requests": ("energy_kwh_per_1k_requests", formats.energy),
            "latency": ("latency_s", formats.seconds),
            "devices per replica": ("devices_per_replica", formats.count),
        })


def _stacked(parts: list[tuple[str, float, str, str]], axis_title: str, scale: float,
             title: str) -> go.Figure:
    traces = [{"type": "bar", "orientation": "h", "y": [""], "x": [value * scale],
               "name": label, "marker": {"color": colour}, "text": [text],
               "textposition": "inside", "insidetextanchor": "middle", "textangle": 0,
               "hovertemplate": f"{hover}<extra></extra>"}
              for label, value, colour, text, hover in
              [(p[0], p[1], p[2], p[3], p[4]) for p in parts]]
    return _figure(traces, title, height=250, barmode="stack",
                   legend={**chart_layout.LEGEND_BELOW, "y": -0.45},
                   uniformtext={"minsize": 10, "mode": "hide"},
                   xaxis={"title": {"text": axis_title}}, yaxis={"showticklabels": False})


def energy_breakdown(row: pd.Series) -> go.Figure:
    """Where a run's energy goes: the devices, their hosts, and the facility (PUE − 1)."""
    parts = []
    for label, column, colour in (
            ("devices", "device_energy_kwh", PALETTE["device"]),
            ("host (CPU, RAM, network)", "host_energy_kwh", PALETTE["host"]),
            ("facility overhead (PUE − 1)", "facility_energy_kwh", PALETTE["facility"])):
        kwh = float(row[column])
        parts.append((label, kwh, colour, formats.energy(kwh),
                      f"{label}: {formats.energy(kwh)}<br>power: {row['power_basis']}"
                      f"<br>PUE {row['pue']:g}"))
    return _stacked(parts, "MWh", 1e-3, f"Energy: {formats.energy(row['energy_kwh'])} in all")


def carbon_breakdown(row: pd.Series) -> go.Figure:
    """Operational CO2e (energy × grid) against embodied CO2e (manufacturing, amortised)."""
    parts = []
    for label, column, colour, why in (
            ("operational (energy × grid)", "co2e_kg", PALETTE["operational"],
             f"grid {row['carbon_intensity_g_per_kwh']:.0f} g/kWh"),
            ("embodied (manufacturing, amortised)", "embodied_co2e_kg", PALETTE["embodied"],
             f"{row['embodied_co2e_kg_per_device']:.0f} kg per device "
             f"({row['embodied_basis']}) over "
             f"{row['service_life_years']:g} years")):
        kg = float(row[column])
        parts.append((label, kg, colour, formats.co2e(kg),
                      f"{label}: {formats.co2e(kg)}<br>{why}"))
    return _stacked(parts, "tonnes CO2e", 1e-3,
                    f"Carbon: {formats.co2e(row['total_co2e_kg'])} in all")


def scaling_figure(sweep: pd.DataFrame, chosen_devices: float | None = None) -> go.Figure:
    """For one device type: days to train and cost against the number of devices."""
    s = sweep.sort_values("devices")
    traces = [{"type": "scatter", "x": s["devices"].tolist(), "y": s["days"].tolist(),
               "mode": "lines+markers", "name": "days to train",
               "line": {"color": PALETTE["device"]},
               "hovertemplate": "%{x:,.0f} devices: %{y:.1f} days<extra></extra>"}]
    if s["cost_usd"].notna().any():
        traces.append({"type": "scatter", "x": s["devices"].tolist(),
                       "y": s["cost_usd"].tolist(), "mode": "lines+markers",
                       "name": "cost (USD)", "yaxis": "y2",
                       "line": {"color": PALETTE["facility"], "dash": "dot"},
                       "hovertemplate": "%{x:,.0f} devices: $%{y:,.0f}<extra></extra>"})
    shapes, notes = [], []
    if chosen_devices is not None and np.isfinite(chosen_devices):
        shapes.append({"type": "line", "x0": chosen_devices, "x1": chosen_devices,
                       "xref": "x", "y0": 0, "y1": 1, "yref": "paper",
                       "line": {"dash": "dash", "color": FRONT_COLOUR}})
        notes.append({"x": np.log10(chosen_devices), "xref": "x", "y": 1.0, "yref": "paper",
                      "text": "this plan", "showarrow": False, "yanchor": "bottom",
                      "font": {"color": FRONT_COLOUR}})
    return _figure(
        traces, "More devices: a shorter run", height=400,
        subtitle="cost stays about the same (the same device-hours)",
        shapes=shapes, annotations=notes,
        xaxis=chart_layout.log_axis(s["devices"], title="devices (log)", pad=0.02),
        yaxis={"title": {"text": "days to train"}, "rangemode": "tozero",
               **chart_layout.linear_ticks(s["days"])},
        yaxis2={"title": {"text": "cost (USD)"}, "overlaying": "y", "side": "right",
                "showgrid": False, **chart_layout.linear_ticks(s["cost_usd"], prefix="$")})


def catalogue_figure(export: pd.DataFrame) -> go.Figure:
    """Every profile: dense 16-bit peak against rated power, by device class."""
    e = export.copy()
    e["peak"] = e["dense_tflops_bf16"].fillna(e["dense_tflops_fp16"])
    e = e[np.isfinite(e[["peak", "rated_power_w"]].to_numpy(float)).all(axis=1)]
    traces = []
    labelled = len(e) <= 20  # names beside the points while they stay readable
    for cls, part in e.groupby("device_class", sort=True):
        traces.append({
            "type": "scatter", "x": part["rated_power_w"].tolist(), "y": part["peak"].tolist(),
            "mode": "markers+text" if labelled else "markers", "name": str(cls),
            "marker": {"size": 11}, "textposition": "top center", "textfont": {"size": 10},
            "cliponaxis": False, "showlegend": True,
            "text": part["name"].tolist(),
            "customdata": part[["memory_gb", "rated_power_basis"]].to_numpy().tolist(),
            "hovertemplate": ("<b>%{text}</b><br>%{y:,.0f} TFLOPS dense bf16/fp16 (spec)<br>"
                              "%{x:,.0f} W rated (%{customdata[1]})<br>%{customdata[0]:,.0f} GB"
                              "<extra></extra>")})
    return _figure(traces, "Peak 16-bit throughput against rated power", height=460,
                   xaxis=chart_layout.log_axis(e["rated_power_w"], title="rated power (W, log)",
                                               suffix=" W", pad=0.05),
                   yaxis=chart_layout.log_axis(e["peak"], pad=0.05,
                                               title="dense bf16/fp16 peak (TFLOPS, log)"))


def serving_tradeoff(inference: pd.DataFrame) -> go.Figure:
    """A year of serving the traffic on every device: annual cost against annual CO2e,
    coloured by the fleet's p95 latency."""
    return tradeoff_figure(
        inference, x="annual_cost_usd", y="annual_total_co2e_kg", colour="fleet_latency_p95_s",
        title="Serving for a year: cost against CO2e",
        x_title="cost per year (USD, log)",
        y_title="CO2e per year (t, log)",
        colour_title="p95 latency (s)", y_scale=1e-3, x_prefix="$",
        hover_values={
            "cost per year": ("annual_cost_usd", formats.money),
            "CO2e per year": ("annual_total_co2e_kg", formats.co2e),
            "energy per year": ("annual_energy_kwh", formats.energy),
            "fleet": ("fleet_devices", lambda v: f"{formats.count(v)} devices"),
            "p95 latency": ("fleet_latency_p95_s", formats.seconds),
            "cost / 1k requests": ("fleet_cost_usd_per_1k_requests", formats.money),
        })


UNCERTAINTY_NOTE = ("bars: the plan's figure; whiskers: P10 to P90 of a Monte Carlo over "
                    "utilisation, power, PUE, price, grid intensity and traffic")


def range_bars(frame: pd.DataFrame, summary: pd.DataFrame, metric: str, *, title: str,
               axis_title: str, scale: float = 1.0, fmt=formats.money,
               highlight: str | None = None) -> go.Figure:
    """One bar per option at the plan's value of ``metric`` with P10-P90 whiskers from an
    uncertainty summary (columns hardware_id, metric, p10, p50, p90)."""
    # Plain lookups: label indexing (isin, .loc) on pandas' string index costs milliseconds.
    mine = summary["metric"].to_numpy() == metric
    quantiles = {h: (lo, mid, hi) for h, lo, mid, hi in zip(
        *(summary[c].to_numpy()[mine].tolist() for c in ("hardware_id", "p10", "p50", "p90")),
        strict=True)}
    part = tables.pick(frame, ["hardware_id", "name", metric])  # not ~170 columns
    rows = tables.rows(part, np.array([h in quantiles for h in part["hardware_id"].tolist()],
                                      dtype=bool)).sort_values(metric, ascending=False)
    ids = rows["hardware_id"].tolist()
    base = rows[metric].to_numpy(float)
    p10, p50, p90 = (np.array([quantiles[h][k] for h in ids], dtype=float) for k in range(3))
    colours = [FRONT_COLOUR if h == highlight else PALETTE["device"] for h in ids]
    hover = [f"<b>{n}</b><br>plan: {fmt(b)}<br>P10 {fmt(lo)} · P50 {fmt(mid)} · P90 {fmt(hi)}"
             for n, b, lo, mid, hi in zip(rows["name"], base, p10, p50, p90, strict=True)]
    trace = {"type": "bar", "orientation": "h", "y": rows["name"].tolist(),
             "x": (base * scale).tolist(), "marker": {"color": colours},
             "error_x": {"type": "data", "symmetric": False, "color": "#444", "thickness": 1.5,
                         "array": (np.maximum(p90 - base, 0) * scale).tolist(),
                         "arrayminus": (np.maximum(base - p10, 0) * scale).tolist()},
             "customdata": [[h] for h in hover], "name": "plan with P10-P90",
             "hovertemplate": "%{customdata[0]}<extra></extra>"}
    return _figure([trace], title, height=max(260, 38 * len(ids) + 120), showlegend=False,
                   xaxis={"title": {"text": axis_title}, "rangemode": "tozero"},
                   yaxis={"automargin": True})


ASSUMPTION_LABELS = {"utilisation": "utilisation", "power": "device power", "pue": "PUE",
                     "price": "price", "carbon_intensity": "grid intensity",
                     "traffic": "traffic", "training_time": "training time (fitted)"}


def tornado(sensitivity: pd.DataFrame, baseline: float, *, title: str, axis_title: str,
            scale: float = 1.0, fmt=formats.money) -> go.Figure:
    """One-at-a-time sensitivity: each assumption at its low and high factor, widest swing
    on top (rows of one option and metric from the uncertainty module)."""
    s = sensitivity.dropna(subset=["result_at_low", "result_at_high"]).sort_values(
        "rank", ascending=False)
    labels = [ASSUMPTION_LABELS.get(a, a) for a in s["assumption"]]
    traces = []
    for end, column, factor, colour in (("low", "result_at_low", "low_factor", "#2ca02c"),
                                        ("high", "result_at_high", "high_factor", "#d62728")):
        values = s[column].to_numpy(float)
        hover = [f"{lab} × {f:g} ({end}): {fmt(v)}<br>source: {str(src)[:80]}"
                 for lab, f, v, src in zip(labels, s[factor], values, s["source"], strict=True)]
        traces.append({"type": "bar", "orientation": "h", "y": labels,
                       "x": ((values - baseline) * scale).tolist(), "base": baseline * scale,
                       "name": f"assumption at its {end} end", "marker": {"color": colour},
                       "customdata": [[h] for h in hover],
                       "hovertemplate": "%{customdata[0]}<extra></extra>"})
    return _figure(traces, title, height=max(260, 40 * len(labels) + 130), barmode="overlay",
                   shapes=[{"type": "line", "x0": baseline * scale, "x1": baseline * scale,
                            "xref": "x", "y0": 0, "y1": 1, "yref": "paper",
                            "line": {"color": "#333", "dash": "dot"}}],
                   xaxis={"title": {"text": axis_title}}, yaxis={"automargin": True})


def lifecycle_figure(curves: pd.DataFrame, unit: str, *, label: str, scale: float,
                     break_even: float | None, band: tuple[np.ndarray, np.ndarray] | None = None,
                     ) -> go.Figure:
    """Cumulative training (a step at launch and at every retraining) and cumulative serving
    as two lines that cross at the break-even month, with the total and its uncertainty
    envelope."""
    months = curves["month"].tolist()
    train = (curves[f"cumulative_training_{unit}"] * scale).tolist()
    serve = (curves[f"cumulative_serving_{unit}"] * scale).tolist()
    total = (curves[f"cumulative_{unit}"] * scale).tolist()
    traces = []
    if band is not None:
        low, high = (np.asarray(b, dtype=float) * scale for b in band)
        traces += [{"type": "scatter", "x": months, "y": high.tolist(), "mode": "lines",
                    "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"},
                   {"type": "scatter", "x": months, "y": low.tolist(), "mode": "lines",
                    "line": {"width": 0}, "fill": "tonexty", "fillcolor": "rgba(0,0,0,0.10)",
                    "name": "total: P10-P90 envelope", "hoverinfo": "skip"}]
    traces += [
        {"type": "scatter", "x": months, "y": total, "mode": "lines", "name": "total",
         "line": {"color": "#222", "width": 2, "dash": "dot"},
         "hovertemplate": f"month %{{x}}: total %{{y:,.3s}} {label}<extra></extra>"},
        {"type": "scatter", "x": months, "y": train, "mode": "lines",
         "name": "training + retraining", "line": {"color": PALETTE["device"], "shape": "hv",
                                                   "width": 3},
         "hovertemplate": f"month %{{x}}: training %{{y:,.3s}} {label}<extra></extra>"},
        {"type": "scatter", "x": months, "y": serve, "mode": "lines", "name": "serving",
         "line": {"color": PALETTE["facility"], "width": 3},
         "hovertemplate": f"month %{{x}}: serving %{{y:,.3s}} {label}<extra></extra>"},
    ]
    shapes, notes = [], []
    if break_even is not None and np.isfinite(break_even):
        shapes.append({"type": "line", "x0": break_even, "x1": break_even, "xref": "x",
                       "y0": 0, "y1": 1, "yref": "paper",
                       "line": {"color": FRONT_COLOUR, "dash": "dash", "width": 2}})
        notes.append({"x": break_even, "xref": "x", "y": 0.97, "yref": "paper",
                      "xanchor": "right", "yanchor": "top", "showarrow": False,
                      "bgcolor": "rgba(255,255,255,0.85)", "font": {"color": FRONT_COLOUR},
                      "text": f"break-even: month {break_even:.1f}<br>serving overtakes "
                              "training "})
    return _figure(traces, f"Cumulative {label} over the model's life", height=460,
                   shapes=shapes, annotations=notes,
                   legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0.0,
                           "xanchor": "left"},
                   xaxis={"title": {"text": "months from launch"}, "rangemode": "tozero"},
                   yaxis={"title": {"text": f"cumulative {label}"}, "rangemode": "tozero"})


def levers_figure(levers: pd.DataFrame) -> go.Figure:
    """Each lever against the baseline: change of the annual cost, energy and CO2e (%)."""
    rows = levers[levers["lever"] != "baseline"]
    traces = []
    for column, label, colour in (("cost_vs_baseline", "cost", PALETTE["facility"]),
                                  ("energy_vs_baseline", "energy", PALETTE["device"]),
                                  ("co2e_vs_baseline", "CO2e", PALETTE["operational"])):
        change = (rows[column].to_numpy(float) - 1.0) * 100.0
        hover = [f"<b>{lev}</b>: {setting}<br>{label} {c:+.0f} % per year<br>"
                 f"source: {str(src or 'the plan')[:90]}<br>{str(note)[:90]}"
                 for lev, setting, c, src, note in zip(rows["lever"], rows["setting"], change,
                                                       rows["source"], rows["note"],
                                                       strict=True)]
        traces.append({"type": "bar", "x": rows["lever"].tolist(),
                       "y": np.nan_to_num(change, nan=0.0).tolist(), "name": label,
                       "marker": {"color": colour},
                       "text": [f"{c:+.0f}%" if np.isfinite(c) else "n/a" for c in change],
                       "textposition": "outside", "customdata": [[h] for h in hover],
                       "hovertemplate": "%{customdata[0]}<extra></extra>"})
    return _figure(traces, "Each lever against the baseline (change per year of serving)",
                   height=430, barmode="group",
                   yaxis={"title": {"text": "change against the baseline (%)"},
                          "zeroline": True, "zerolinecolor": "#333", "ticksuffix": "%"},
                   xaxis={"title": {"text": "lever"}})


def predicted_measured(table: pd.DataFrame, quantity: str, *, title: str, unit: str,
                       empty_reason: str = "no record has this figure") -> go.Figure:
    """The planner's prediction of each record against the measurement (log-log), with the
    line of exact prediction; ``quantity`` is ``time_s`` or ``energy_j``. With no record to
    draw, the chart says ``empty_reason`` instead."""
    t = table.dropna(subset=[f"predicted_{quantity}", f"measured_{quantity}"])
    error = "time_error" if quantity == "time_s" else "energy_error"
    traces = []
    for (workload, mode), part in t.groupby(["workload", "mode"], sort=True):
        hover = [f"<b>{w} {m} ({s})</b> on {d}<br>measured {mv:.3g} {unit}, predicted "
                 f"{pv:.3g} {unit} ({e:+.0%})<br>{note or ''}"
                 for w, m, s, d, mv, pv, e, note in zip(
                     part["workload"], part["mode"], part["size"], part["hardware_id"],
                     part[f"measured_{quantity}"], part[f"predicted_{quantity}"], part[error],
                     part["note"], strict=True)]
        traces.append({"type": "scatter", "mode": "markers", "name": f"{workload} {mode}",
                       "x": part[f"measured_{quantity}"].tolist(),
                       "y": part[f"predicted_{quantity}"].tolist(), "marker": {"size": 11},
                       "customdata": [[h] for h in hover],
                       "hovertemplate": "%{customdata[0]}<extra></extra>"})
    values = np.concatenate([t[f"measured_{quantity}"].to_numpy(float),
                             t[f"predicted_{quantity}"].to_numpy(float)]) if len(t) else []
    if len(values):
        lo, hi = float(np.nanmin(values)) / 2, float(np.nanmax(values)) * 2
        traces.append({"type": "scatter", "mode": "lines", "x": [lo, hi], "y": [lo, hi],
                       "name": "prediction = measurement", "hoverinfo": "skip",
                       "line": {"dash": "dash", "color": "#555"}})
    if not len(t):
        return chart_layout.empty_figure(title, empty_reason, height=420)
    span = [values.min() / 2, values.max() * 2]
    return _figure(traces, title, height=460,
                   xaxis=chart_layout.log_axis(span, title=f"measured ({unit}, log)", pad=0),
                   yaxis=chart_layout.log_axis(span, title=f"predicted ({unit}, log)", pad=0))
