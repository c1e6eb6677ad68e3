"""Readable charts: few formatted log ticks, labels that do not overlap, a colour scale only
where it varies, an empty chart that says why."""

from __future__ import annotations

import re

import numpy as np
import pytest

from planner.dashboard import chart_layout, figures

SCENARIO = {"training": {"model": "llama-3-8b", "days": 30},
            "inference": {"model": "llama-3-8b", "requests_per_s_avg": 200,
                          "requests_per_s_peak": 400, "latency_p95_s": 8},
            "site": {"cloud_provider": "aws", "cloud_region": "us-east-1"}}


@pytest.mark.parametrize("lo, hi", [(8e5, 1.1e7), (1e6, 2.2e7), (55, 2100), (0.04, 0.3),
                                    (1.2e6, 1.9e6), (1e-3, 1e9), (3.1, 3.4)])
def test_log_ticks_are_few_and_inside_the_range(lo, hi):
    ticks = chart_layout.log_ticks(lo, hi)
    assert 1 <= len(ticks) <= 5
    assert all(lo <= t <= hi for t in ticks)
    labels = [chart_layout.short_number(t, "$") for t in ticks]
    assert len(set(labels)) == len(labels)  # no two ticks read the same


def test_short_number():
    assert chart_layout.short_number(1e7, "$") == "$10M"
    assert chart_layout.short_number(8e5, "$") == "$800k"
    assert chart_layout.short_number(0.15, "$") == "$0.15"
    assert chart_layout.short_number(2e9, "$") == "$2B"
    assert chart_layout.short_number(300) == "300"


def _boxes_overlap(a, b):
    return not (a[2] <= b[0] or a[0] >= b[2] or a[3] <= b[1] or a[1] >= b[3])


def test_place_labels_never_overlap():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 1, 30), rng.uniform(0, 1, 30)
    labels = [f"device {i}" for i in range(30)]
    where = chart_layout.place_labels(x, y, labels, np.arange(30))
    assert where[0] is not None  # the first in order always gets its label
    assert sum(w is not None for w in where) >= 5
    w_px, h_px, char, line, gap = 420.0, 330.0, 11 * 0.58, 11 * 1.25, 9.0
    shift = {"top center": (0, 1), "bottom center": (0, -1), "middle right": (1, 0),
             "middle left": (-1, 0)}
    boxes = []
    for i, pos in enumerate(where):
        if pos is None:
            continue
        dx, dy = shift[pos]
        w = char * len(labels[i])
        cx, cy = x[i] * w_px + dx * (gap + w / 2), y[i] * h_px + dy * (gap + line / 2)
        boxes.append((cx - w / 2 + 0.01, cy - line / 2 + 0.01, cx + w / 2 - 0.01,
                      cy + line / 2 - 0.01))
    assert not any(_boxes_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


@pytest.fixture(scope="module")
def result(planner):
    return planner.plan(SCENARIO)


def test_deadline_training_chart_has_no_colour_scale(result):
    ok = result.training[result.training["feasible"]]
    fig = figures.training_tradeoff(ok)  # every run takes the 30-day deadline
    assert not any(getattr(t.marker, "showscale", False) for t in fig.data)
    # Devices come in whole hosts and layouts, so runs end a little before the deadline.
    about = re.search(r"≈ ([0-9.]+)", fig.layout.title.subtitle.text)
    assert about and 28.5 <= float(about.group(1)) <= 30, fig.layout.title.subtitle.text
    assert len(fig.layout.xaxis.tickvals) <= 5
    assert all(t.startswith("$") for t in fig.layout.xaxis.ticktext)
    labelled = [c[1] for t in fig.data for c in t.customdata if c[1]]
    assert len(labelled) >= 3  # more than the best point carries its name


def test_serving_chart_keeps_its_latency_scale(result):
    ok = result.inference[result.inference["feasible"]]
    fig = figures.serving_tradeoff(ok)
    assert any(getattr(t.marker, "showscale", False) for t in fig.data)
    assert fig.layout.showlegend is False  # markers are explained in the subtitle
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert len(axis.tickvals) <= 5 and len(set(axis.ticktext)) == len(axis.ticktext)


def test_empty_measured_energy_chart_says_why():
    import pandas as pd

    empty = pd.DataFrame(columns=["predicted_energy_j", "measured_energy_j", "workload", "mode"])
    fig = figures.predicted_measured(empty, "energy_j", title="energy", unit="J",
                                     empty_reason="No record has a measured device energy")
    assert "No record has a measured device energy" in fig.layout.annotations[0].text
    assert not fig.data
