"""The Measurements page: records from the folder and from uploads, predicted against
measured, calibration, and plans that use it; broken uploads are refused with the reason."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from planner.dashboard import state, tables
from planner.model.calibration import calibrate, for_planning, prediction_table
from planner.model.record_store import SAVE_UPLOADS_ENV
from planner.model.records import write_record
from tests.dashboard.conftest import assert_clean, open_page, shown_device
from tests.dashboard.records import record


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A records folder with two H100 runs (train, infer) and a CPU run nothing matches."""
    path = tmp_path / "measurements"
    write_record(record("h100train01"), path)
    write_record(record("h100infer01", mode="infer", flops=2.0e15, energy_j=4000.0,
                        minutes=5), path)
    write_record(record("cpurun00001", device="cpu", precision="fp32", flops=1e11,
                        energy_j=30.0, minutes=9), path)
    monkeypatch.setenv("PLANNER_MEASUREMENTS_DIR", str(path))
    return path


def _records(folder):
    from planner.model.records import load_records

    return load_records(folder)[0]


def test_page_shows_records_predictions_and_calibration(folder, planner, downloads):
    at = open_page("measurements")
    assert_clean(at)
    assert not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Records": "3", "Matched to a profile": "2",
                       "With measured energy": "2", "Calibrations": "2"}
    records = _records(folder)
    want = prediction_table(records, planner.profiles)
    got = pd.read_csv(io.StringIO(downloads["dl_ms_predictions"]["data"]))
    assert list(got["run_id"]) == list(want["run_id"])
    pd.testing.assert_series_equal(got["predicted_time_s"], want["predicted_time_s"],
                                   check_names=False, rtol=1e-9)
    cal = pd.read_csv(io.StringIO(downloads["dl_ms_calibration"]["data"]))
    expected = calibrate(records, planner.profiles)
    assert cal["utilisation"].tolist() == pytest.approx(expected["utilisation"].tolist())
    assert len(at.get("plotly_chart")) == 2  # time and energy, predicted against measured


def test_plans_use_the_calibration_when_asked(folder, planner):
    at = open_page("measurements")
    at.toggle(key="use_cal").set_value(True).run()
    at.switch_page("planner/dashboard/views/training.py").run()
    at.selectbox(key="tp_hw").set_value("nvidia-h100-sxm").run()
    assert_clean(at)
    cal = calibrate(_records(folder), planner.profiles)
    calibrated = planner.with_calibration(for_planning(cal, "train"))
    s = state.default_state(planner.defaults)
    row = calibrated.plan(state.to_scenario(s, planner.defaults, ("training",))).training
    row = row.set_index("hardware_id").loc["nvidia-h100-sxm"]
    assert row["utilisation_basis"] == "calibrated"
    from planner.dashboard import formats
    assert {m.label: m.value for m in at.metric}["Devices"] == formats.count(row["devices"])
    assert any("calibrated from measurements" in c.value for c in at.caption)
    # serving uses the inference calibration
    at.switch_page("planner/dashboard/views/serving.py").run()
    assert_clean(at)
    served = planner.with_calibration(for_planning(cal, "infer")).plan(
        state.to_scenario(s, planner.defaults, ("inference",))).inference
    assert tables.default_serving_choice(served) == shown_device(at, "sv_hw", served)


def test_upload_valid_and_broken_records(folder, tmp_path, monkeypatch):
    at = open_page("measurements")
    good = record("uploaded001", minutes=30).model_dump_json()
    at.file_uploader(key="rec_upload").set_value([
        ("good.json", good.encode(), "application/json"),
        ("broken.json", b'{"schema_version": 1, "run_id": "x"}', "application/json"),
        ("notjson.json", b"\xff\xfe", "application/json"),
    ]).run()
    assert_clean(at)
    errors = [e.value for e in at.error]
    assert any("broken.json" in e for e in errors) and any("notjson.json" in e for e in errors)
    assert {m.label: m.value for m in at.metric}["Records"] == "4"  # the folder's 3 + good
    before = sorted(p.name for p in folder.iterdir())
    # Saving into the shared folder is the operator's setting (issue 11): off by default.
    assert "rec_save" not in [b.key for b in at.button]
    monkeypatch.setenv(SAVE_UPLOADS_ENV, "1")
    at.run()
    at.button(key="rec_save").click().run()
    assert_clean(at)
    after = sorted(p.name for p in folder.iterdir())
    assert len(after) == len(before) + 1 and not [n for n in after if n.startswith(".")]


def test_no_records_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANNER_MEASUREMENTS_DIR", str(tmp_path / "none"))
    at = open_page("measurements")
    assert_clean(at)
    assert any("No records yet" in i.value for i in at.info)


def test_broken_file_in_the_folder_is_reported(folder):
    (folder / "zz-broken.json").write_text("{not json", encoding="utf-8")
    at = open_page("measurements")
    assert_clean(at)
    assert any("zz-broken.json" in w.value for w in at.warning)
    assert {m.label: m.value for m in at.metric}["Records"] == "3"


def test_codecarbon_run_uploads_with_its_energy_unchanged(folder, tmp_path):
    """A run of CodeCarbon's real offline tracker, uploaded as its emissions.csv; a Zeus log
    with no windows and an unknown CSV are refused with an error, and nothing is added."""
    import csv
    import json

    codecarbon = pytest.importorskip("codecarbon")
    from planner.dashboard import ui
    from planner.model.records import parse_record

    tracker = codecarbon.OfflineEmissionsTracker(
        country_iso_code="FRA", output_dir=str(tmp_path), log_level="error",
        measure_power_secs=1, save_to_file=True, project_name="dashboard-upload")
    tracker.start()
    sum(range(1_000_000))
    tracker.stop()
    emissions = (tmp_path / "emissions.csv").read_bytes()
    row = next(csv.DictReader(io.StringIO(emissions.decode())))
    at = open_page("measurements")
    at.file_uploader(key="rec_upload").set_value([
        ("emissions.csv", emissions, "text/csv"),
        ("zeus.csv", b"start_time,window_name,elapsed_time,gpu0_energy\n", "text/csv"),
        ("other.csv", b"a,b\n1,2\n", "text/csv"),
    ]).run()
    assert_clean(at)
    errors = [e.value for e in at.error]
    assert any("zeus.csv" in e and "no windows" in e for e in errors)
    assert any("other.csv" in e and "unknown format" in e for e in errors)
    assert any("from codecarbon" in s.value for s in at.success)
    assert {m.label: m.value for m in at.metric}["Records"] == "4"  # the folder's 3 + the run
    kept = list(at.session_state[ui.UPLOADS].values())
    assert len(kept) == 1
    rec = parse_record(kept[0], "kept")
    assert rec.results.total_energy_j.value == float(row["energy_consumed"]) * 3_600_000.0
    assert rec.source.tool == "codecarbon" and json.loads(kept[0])["source"]["file"] == (
        "emissions.csv")


def test_vllm_upload_carries_the_model_and_replica_size_chosen(folder):
    """The upload form's model preset and devices per replica reach the record, as
    ``planner import --model --tensor-parallel`` does, so the result can calibrate serving."""
    import json

    from planner.dashboard import ui
    from planner.model.records import parse_record
    from tests.model.test_imports import VLLM_RESULT

    at = open_page("measurements")
    at.selectbox(key="rec_model").set_value("llama-3-8b")
    at.number_input(key="rec_tp").set_value(2)
    at.file_uploader(key="rec_upload").set_value([
        ("vllm.json", json.dumps(VLLM_RESULT).encode(), "application/json")]).run()
    assert_clean(at)
    assert any("from vllm" in s.value for s in at.success)
    (kept,) = at.session_state[ui.UPLOADS].values()
    params = parse_record(kept, "kept").settings.workload_params
    assert params["model"] == "llama-3-8b" and params["tensor_parallel"] == 2
