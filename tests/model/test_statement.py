"""The footprint statement: every figure with unit, boundary and provenance; SCI per
ISO/IEC 21031:2024 ((E·I + M) per R) checked by hand; Markdown and JSON from the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from planner.model.plan import Planner
from planner.model.scenario import load_scenario
from planner.model.statement import build_statement, statement_json, statement_markdown

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lifecycle_statement() -> tuple[dict, object]:
    result = Planner.load().plan(load_scenario(ROOT / "examples" / "llama-8b-lifecycle.yaml"))
    return build_statement(result), result


def _fig(part: dict, name: str) -> dict:
    return next(f for f in part["figures"] if f["name"] == name)


def test_sci_is_e_times_i_plus_m_per_r(lifecycle_statement):
    st, result = lifecycle_statement
    serving = st["serving"]
    row = result.inference.set_index("hardware_id").loc[serving["hardware_id"]]
    per_1k, per_1m = serving["sci"][0], serving["sci"][1]
    e, i = row["annual_energy_kwh"], row["carbon_intensity_g_per_kwh"]
    m = row["annual_embodied_co2e_kg"] * 1000
    assert per_1k["value"] == pytest.approx((e * i + m) / (row["annual_requests"] / 1000))
    assert per_1m["value"] == pytest.approx((e * i + m) / (row["annual_output_tokens"] / 1e6))
    # The same as the fleet's total CO2e per 1,000 requests, in grams.
    assert per_1k["value"] == pytest.approx(row["fleet_total_co2e_kg_per_1k_requests"] * 1000)
    assert "ISO/IEC 21031:2024" in per_1k["method"]


def test_every_figure_has_unit_boundary_and_provenance(lifecycle_statement):
    st, result = lifecycle_statement
    for phase in ("training", "serving"):
        for f in st[phase]["figures"]:
            assert f["unit"] and f["provenance"], f
        assert _fig(st[phase], "energy")["boundary"] == "device + host + facility"
        assert _fig(st[phase], "embodied_co2e")["ghg_scope"] == "scope 3 (manufacturing)"
    t = st["training"]
    row = result.training.set_index("hardware_id").loc[t["hardware_id"]]
    assert _fig(t, "compute")["value"] == pytest.approx(row["total_flops"])
    assert _fig(t, "water")["value"] == pytest.approx(row["water_l"])
    assert _fig(t, "operational_co2e_market_based")["value"] is None  # none given
    assert st["location"]["wue_basis"].startswith("aws fleet average")


def test_markdown_and_json_agree(lifecycle_statement):
    st, _ = lifecycle_statement
    parsed = json.loads(statement_json(st))
    assert parsed["serving"]["sci"][0]["value"] == st["serving"]["sci"][0]["value"]
    md = statement_markdown(st)
    assert "## Training" in md and "## Serving" in md and "Software Carbon Intensity" in md
    assert "scope 3" in md and "market" in md


def test_cli_writes_md_and_json(tmp_path):
    out = tmp_path / "statement"
    done = subprocess.run([sys.executable, "-m", "planner", "plan",
                           "examples/llama-8b-chat-serving.yaml", "--statement", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "statement.json").read_text())
    assert data["training"] is None and data["serving"]["sci"][0]["value"] > 0
    assert (tmp_path / "statement.md").read_text().startswith("# Footprint statement")
