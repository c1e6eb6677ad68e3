"""Figures of a scenario comparison (``planner.model.compare``): each scenario's change
against the first on the figures a planner weighs, as grouped bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from planner.dashboard import chart_layout

KEY_FIGURES = (  # (section, figure) shown on the chart, with a short label
    ("training", "cost", "training cost"),
    ("training", "CO2e, operational + embodied", "training CO2e"),
    ("serving year", "cost per year", "serving cost / year"),
    ("serving year", "CO2e per year", "serving CO2e / year"),
    ("per request", "cost per 1,000 requests", "cost / 1k requests"),
    ("lifecycle", "total cost", "lifecycle cost"),
    ("lifecycle", "total CO2e", "lifecycle CO2e"),
)
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")


def change_bars(comparison: pd.DataFrame, names: list[str]) -> go.Figure:
    """Per key figure, each later scenario's change against the first (%): below zero is
    cheaper or cleaner."""
    first = names[0]
    index = comparison.set_index(["section", "figure"])
    picked = [(s, f, label) for s, f, label in KEY_FIGURES if (s, f) in index.index]
    if not picked or len(names) < 2:
        return chart_layout.empty_figure("Change against the first scenario",
                                         "No figure that both scenarios have.")
    labels = [label for _, _, label in picked]
    traces = []
    for i, name in enumerate(names[1:]):
        ratio = np.array([index.loc[(s, f), f"{name} vs {first}"] for s, f, _ in picked],
                         dtype=float)
        change = (ratio - 1.0) * 100.0
        traces.append({"type": "bar", "orientation": "h", "y": labels,
                       "x": np.nan_to_num(change, nan=0.0).tolist(), "name": name,
                       "marker": {"color": COLOURS[i % len(COLOURS)]},
                       "text": [f"{c:+.0f}%" if np.isfinite(c) else "n/a" for c in change],
                       "textposition": "outside", "cliponaxis": False,
                       "hovertemplate": f"{name}: %{{y}} %{{text}} against {first}"
                                        "<extra></extra>"})
    return chart_layout.figure(
        traces, "Change against the first scenario", subtitle=f"first: {first}",
        height=max(300, 44 * len(labels) * max(1, len(names) - 1) // 2 + 160),
        barmode="group", showlegend=len(names) > 2,
        xaxis={"title": {"text": "change (%)"}, "ticksuffix": "%", "zeroline": True,
               "zerolinecolor": "#333"},
        yaxis={"automargin": True, "autorange": "reversed"})
