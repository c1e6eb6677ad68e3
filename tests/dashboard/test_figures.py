"""Figure builders: pure functions of plan tables that return Plotly figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from planner.dashboard import figures, provenance
from planner.model.catalogue import export_frame

SCENARIO = {"training": {"model": "llama-3-8b", "days": 30},
            "inference": {"model": "llama-3-8b"},
            "site": {"cloud_provider": "aws", "cloud_region": "us-east-1"}}


@pytest.fixture(scope="module")
def result(planner):
    return planner.plan(SCENARIO)


def test_pareto_mask_keeps_non_dominated_rows():
    frame = pd.DataFrame({"a": [1, 2, 3, 1, np.nan], "b": [3, 2, 1, 4, 0]})
    assert figures.pareto_mask(frame, ["a", "b"]).tolist() == [True, True, True, False, False]


def test_training_tradeoff_hover_names_provenance(result):
    feasible = result.training[result.training["feasible"]]
    fig = figures.training_tradeoff(feasible)
    assert isinstance(fig, go.Figure)
    points = sum(len(t.x) for t in fig.data)
    assert points == int(feasible["cost_usd"].notna().sum())
    hover = [h[0] for t in fig.data for h in t.customdata]
    # Utilisation is predicted from each run's parallel layout (no longer a stated default).
    assert all("provenance" in h and "utilisation: predicted" in h for h in hover)
    front = next(t for t in fig.data if t.name.startswith("Pareto"))
    cheapest = feasible.loc[feasible["cost_usd"].idxmin(), "name"]
    assert cheapest in front.text  # the cheapest device is never dominated
    assert fig.layout.xaxis.type == "log"
    fig.to_json()  # serialises as Streamlit will


def test_error_bars_from_p10_p90(result):
    feasible = result.training[result.training["feasible"]].copy()
    feasible["cost_usd_p10"] = feasible["cost_usd"] * 0.8
    feasible["cost_usd_p90"] = feasible["cost_usd"] * 1.5
    fig = figures.training_tradeoff(feasible)
    trace = fig.data[0]
    assert trace.error_x is not None and trace.error_x.array is not None
    np.testing.assert_allclose(trace.error_x.array, np.asarray(trace.x) * 0.5)


def test_inference_and_breakdowns(result):
    inf = result.inference[result.inference["feasible"]]
    assert len(figures.inference_tradeoff(inf).data) >= 1
    row = result.training[result.training["feasible"]].iloc[0]
    energy = figures.energy_breakdown(row)
    assert sum(t.x[0] for t in energy.data) == pytest.approx(row["energy_kwh"] / 1000)
    carbon = figures.carbon_breakdown(row)
    assert sum(t.x[0] for t in carbon.data) == pytest.approx(row["total_co2e_kg"] / 1000)


def test_catalogue_figure(planner):
    export = export_frame(planner.catalogue)
    export["device_class"] = np.where(export["placement"] == "edge", "Edge",
                                      export["kind"].str.upper())
    fig = figures.catalogue_figure(export)
    assert {t.name for t in fig.data} <= {"GPU", "TPU", "NPU", "CPU", "Edge"}


@pytest.mark.parametrize("basis, kind", [
    ("default", "assumed"), ("spec", "spec"), ("calibrated", "calibrated"),
    ("measured (published)", "measured"), ("user", "user input"), ("missing", "missing"),
    ("spec × default busy share", "spec × assumed share"),
    ("cloud list price, aws us-east-1 p5.48xlarge (2026-11-09)", "spec"),
])
def test_provenance_classes(basis, kind):
    assert provenance.classify(basis) == kind
