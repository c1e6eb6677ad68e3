"""Layout pieces the figures share: the base figure, log axes with a few formatted ticks,
text labels placed so they do not overlap, and the figure that says why it is empty.

Plotly's own log-axis ticks label every 2, 3, … 9 of a decade when the range is short, so
labels such as ``$8M$9M$10M`` run into each other; ``log_axis`` picks at most a handful of
1-2-5 values and writes them itself (``$10M``). Charts must stay readable at a phone's
390-pixel width as well as a desktop's, so legends sit under the plot, never beside the
title, and titles are short.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

FONT = "Inter, Segoe UI, Helvetica, Arial, sans-serif"


class _SharedTemplate(dict):
    """The figures' one template, never copied: ``Figure.to_dict`` (which ``st.plotly_chart``
    calls) deep-copies the layout, and copying this ~550-node dict was a third of a small
    chart's cost (~0.5 ms). No figure changes it in place (none is modified after
    ``figure`` builds it), and it serialises as the plain dict it holds."""

    def __deepcopy__(self, memo: dict) -> _SharedTemplate:
        return self


_TEMPLATE = _SharedTemplate(pio.templates["plotly_white"].to_plotly_json())
MODEBAR_PX = 30  # height of Plotly's tool bar strip at the top of a chart
LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0.0, "xanchor": "left",
                "traceorder": "normal"}


def figure(traces: list[dict], title: str, height: int = 430, subtitle: str | None = None,
           **layout) -> go.Figure:
    """A figure from plain trace and layout dicts. Plotly's per-property validation is
    skipped (``_validate=False``): it cost ~40 ms a chart, a fifth of the rerun budget."""
    # The title sits below the top strip that Plotly's tool bar takes (always shown on touch
    # screens), so the two never overlap at phone widths.
    heading = {"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 16},
               "yref": "container", "y": 1.0, "yanchor": "top", "pad": {"t": MODEBAR_PX}}
    if subtitle:
        heading["subtitle"] = {"text": subtitle, "font": {"size": 12, "color": "#555"}}
    base = {
        "title": heading, "height": height,
        "margin": {"l": 10, "r": 10, "t": MODEBAR_PX + (62 if subtitle else 36), "b": 10},
        "font": {"family": FONT, "size": 13}, "template": _TEMPLATE,
        "legend": LEGEND_BELOW, "hoverlabel": {"align": "left"},
    }
    return go.Figure({"data": traces, "layout": {**base, **layout}}, _validate=False)


def empty_figure(title: str, reason: str, height: int = 300) -> go.Figure:
    """A chart with nothing to draw says why, in its middle, instead of showing bare axes."""
    return figure([], title, height=height,
                  xaxis={"visible": False}, yaxis={"visible": False},
                  annotations=[{"text": reason, "xref": "paper", "yref": "paper", "x": 0.5,
                                "y": 0.5, "showarrow": False, "font": {"size": 14,
                                                                       "color": "#555"}}])


def short_number(value: float, prefix: str = "", suffix: str = "") -> str:
    """A tick label: 3 significant figures at most, k / M / B for thousands, millions,
    billions (``$10M``, ``$850k``, ``$0.15``, ``2k``)."""
    if not math.isfinite(value):
        return ""
    a = abs(value)
    for factor, letter in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= factor:
            return f"{prefix}{value / factor:.3g}{letter}{suffix}"
    return f"{prefix}{value:.3g}{suffix}"


def _nice_linear(lo: float, hi: float, max_ticks: int) -> list[float]:
    """Round values (1, 2 or 5 × 10^k apart) inside [lo, hi], at most ``max_ticks``."""
    span = hi - lo
    if span <= 0:
        return [lo]
    for exp in range(math.floor(math.log10(span / max_ticks)) - 1,
                     math.ceil(math.log10(span)) + 1):
        for m in (1, 2, 5):
            step = m * 10.0 ** exp
            ticks = [float(f"{k * step:.12g}")  # 3.4, not 3.4000000000000004
                     for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]
            if 0 < len(ticks) <= max_ticks:
                return ticks
    return [lo, hi]


def log_ticks(lo: float, hi: float, max_ticks: int = 5) -> list[float]:
    """Tick values for a log axis spanning [lo, hi] (data units, both > 0): the densest of
    1-2-5, 1-3, 1 per decade, or one every few decades that gives at most ``max_ticks``;
    within a single decade, round linear steps."""
    mantissas = ((1, 2, 5), (1, 3), (1,))
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    best: list[float] | None = None
    for ms in mantissas:
        ticks = [m * 10.0 ** e for e in range(first, last + 1) for m in ms]
        ticks = [t for t in ticks if lo <= t <= hi]
        if len(ticks) <= max_ticks:
            best = ticks
            break
    if best is None:  # many decades: every k-th decade
        decades = list(range(math.ceil(math.log10(lo)), math.floor(math.log10(hi)) + 1))
        k = math.ceil(len(decades) / max_ticks)
        best = [10.0 ** e for e in decades[::k]]
    if len(best) < 2:  # under a decade: round linear steps read better than one label
        best = _nice_linear(lo, hi, min(max_ticks, 4))
    return best


def log_axis(values, *, title: str, prefix: str = "", suffix: str = "", pad: float = 0.1,
             max_ticks: int = 5) -> dict:
    """A log axis over ``values`` with room for labels and at most ``max_ticks`` labelled
    ticks written by ``short_number``."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    axis = {"title": {"text": title}, "type": "log", "showgrid": True}
    if not len(v):
        return axis
    lo, hi = math.log10(v.min()), math.log10(v.max())
    span = max(hi - lo, 0.3)
    rlo, rhi = lo - pad * span - 0.05, hi + pad * span + 0.05
    ticks = log_ticks(10.0 ** rlo, 10.0 ** rhi, max_ticks)
    axis.update(range=[rlo, rhi], tickmode="array", tickvals=ticks,
                ticktext=[short_number(t, prefix, suffix) for t in ticks])
    return axis


def linear_ticks(values, prefix: str = "", suffix: str = "", max_ticks: int = 5,
                 from_zero: bool = True) -> dict:
    """Tick values and labels for a linear axis over ``values``."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return {}
    lo = 0.0 if from_zero else float(v.min())
    hi = float(v.max()) * 1.05
    ticks = _nice_linear(lo, hi if hi > lo else lo + 1.0, max_ticks)
    return {"tickmode": "array", "tickvals": ticks, "range": [lo, max(hi, ticks[-1])],
            "ticktext": [short_number(t, prefix, suffix) for t in ticks]}


def short_name(name: str) -> str:
    """A device name for a label beside a point: without the vendor and the bracketed
    product line (``Google TPU v6e (Trillium)`` → ``TPU v6e``)."""
    for vendor in ("NVIDIA ", "Google ", "AMD ", "Intel ", "AWS ", "Qualcomm ", "Apple "):
        name = name.removeprefix(vendor)
    return name.split(" (")[0]


# Label placement: positions are tried in this order, offsets in pixels of a nominal plot.
_POSITIONS = (("top center", 0.0, 1.0), ("bottom center", 0.0, -1.0),
              ("middle right", 1.0, 0.0), ("middle left", -1.0, 0.0))


def place_labels(x_frac: np.ndarray, y_frac: np.ndarray, labels: list[str],
                 order: np.ndarray, width_px: float = 420.0, height_px: float = 330.0,
                 font_px: float = 11.0) -> list[str | None]:
    """A text position per point (None: left unlabelled) so that no two labels overlap and
    no label covers a marker, trying points in ``order`` (most important first).
    ``x_frac``/``y_frac`` are the points' positions as fractions of the plot area; the
    plot is taken as ``width_px`` × ``height_px`` (narrower than a desktop's, so that on a
    phone most labels stay apart too)."""
    px, py = np.asarray(x_frac) * width_px, np.asarray(y_frac) * height_px
    char_w, line_h, gap = font_px * 0.58, font_px * 1.25, 9.0
    boxes: list[tuple[float, float, float, float]] = []
    markers = [(x - 7, y - 7, x + 7, y + 7) for x, y in zip(px, py, strict=True)]
    out: list[str | None] = [None] * len(labels)

    def clear(box) -> bool:
        x0, y0, x1, y1 = box
        if x0 < -40 or x1 > width_px + 40 or y1 > height_px + 30 or y0 < -10:
            return False
        return all(x1 <= a0 or x0 >= a1 or y1 <= b0 or y0 >= b1
                   for a0, b0, a1, b1 in boxes + markers)

    for i in order:
        w = char_w * len(labels[i])
        for position, dx, dy in _POSITIONS:
            cx = px[i] + dx * (gap + w / 2)
            cy = py[i] + dy * (gap + line_h / 2)
            box = (cx - w / 2, cy - line_h / 2, cx + w / 2, cy + line_h / 2)
            if clear(box):
                boxes.append(box)
                out[i] = position
                break
    return out
