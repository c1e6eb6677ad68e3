"""Importing other tools' files: CodeCarbon (its real offline tracker), Zeus and vLLM."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from planner.errors import PlannerError
from planner.model.calibration import calibrate
from planner.model.hardware import load_profiles
from planner.model.imports import ImportOptions, detect_format, import_file
from planner.model.records import load_records, parse_record

ROOT = Path(__file__).resolve().parents[2]
PROFILES = load_profiles().profiles


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "planner", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def codecarbon_csv(tmp_path_factory) -> Path:
    """An emissions.csv written by CodeCarbon's own OfflineEmissionsTracker (no network)."""
    codecarbon = pytest.importorskip("codecarbon")
    out = tmp_path_factory.mktemp("cc")
    tracker = codecarbon.OfflineEmissionsTracker(
        country_iso_code="FRA", output_dir=str(out), log_level="error",
        measure_power_secs=1, save_to_file=True, project_name="import-test")
    tracker.start()
    total = 0
    for i in range(2_000_000):
        total += i
    tracker.stop()
    return out / "emissions.csv"


def test_codecarbon_run_imports_with_its_energy_unchanged(codecarbon_csv, tmp_path):
    rows = list(csv.DictReader(codecarbon_csv.open()))
    assert len(rows) == 1
    row = rows[0]
    records = import_file(codecarbon_csv.read_bytes(), str(codecarbon_csv), PROFILES)
    assert len(records) == 1
    rec = records[0]
    kwh = float(row["energy_consumed"])
    total = rec.results.total_energy_j
    assert total.unit == "J" and total.value == kwh * 3_600_000.0
    assert math.isclose(total.value / 3_600_000.0, kwh, rel_tol=1e-15)
    assert row["energy_consumed"] in total.note  # the exact figure CodeCarbon wrote
    assert total.method == "codecarbon_emissions_csv" and not total.measured
    assert rec.results.cpu_energy_j.value == float(row["cpu_energy"]) * 3_600_000.0
    assert rec.results.co2e_kg.value == float(row["emissions"])
    assert rec.results.gpu_energy_j is None  # gpu_count 0: not tracked, never 0 J
    assert rec.results.wall_time_s.value == float(row["duration"])
    assert rec.source.tool == "codecarbon" and rec.source.tool_version == row[
        "codecarbon_version"]
    assert rec.settings.country_iso_code == "FRA" and rec.settings.workload == "import-test"
    assert rec.settings.precision is None and rec.machine.hostname is None
    assert rec.run_id == row["run_id"]
    # Written and read back unchanged.
    path = run_cli("import", str(codecarbon_csv), "--out", str(tmp_path))
    assert path.returncode == 0, path.stderr
    loaded, errors = load_records(tmp_path)
    assert errors == [] and len(loaded) == 1
    assert loaded[0].results.total_energy_j.value == total.value
    assert loaded[0].model_dump(exclude={"source"}) == rec.model_dump(exclude={"source"})


def test_codecarbon_flushed_rows_are_one_run(codecarbon_csv):
    text = codecarbon_csv.read_text()
    header, row = text.strip().split("\n")[:2]
    cells = row.split(",")
    duration = header.split(",").index("duration")
    early = list(cells)
    early[duration] = str(float(cells[duration]) / 2)
    data = "\n".join([header, ",".join(early), row]) + "\n"
    records = import_file(data.encode(), "two.csv", PROFILES)
    assert len(records) == 1
    assert records[0].results.wall_time_s.value == float(cells[duration])
    assert any("2 rows of this run" in n for n in records[0].notes)


def test_codecarbon_missing_columns_name_them(tmp_path):
    bad = tmp_path / "emissions.csv"
    bad.write_text("timestamp,run_id,duration,emissions\n2026-01-01T00:00:00,abcdef12,1,0.1\n")
    with pytest.raises(PlannerError, match="missing energy_consumed"):
        import_file(bad.read_bytes(), str(bad), PROFILES, fmt="codecarbon")
    out = tmp_path / "out"
    done = run_cli("import", str(bad), "--format", "codecarbon", "--out", str(out))
    assert done.returncode == 2 and "missing energy_consumed" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not out.exists() or not list(out.iterdir())


# A Zeus window log in the format ZeusMonitor(log_file=...) writes: the header
# "start_time,window_name,elapsed_time,gpu{i}_energy..." and one row per ended window
# (ml-energy/zeus, zeus/monitor/energy.py, ZeusMonitor.__init__ and end_window). Zeus is not
# installable without a GPU here, so this is a small file in that documented format.
ZEUS_LOG = (
    "start_time,window_name,elapsed_time,gpu0_energy,gpu1_energy\n"
    "1733049600.25,epoch,120.5,72300.0,71950.5\n"
    "1733049720.75,step,0.01,0.0,0.0\n"
)


def test_zeus_windows_become_records_matched_by_the_given_name():
    opts = ImportOptions(device_name="NVIDIA H100 80GB HBM3", precision="bf16", mode="train")
    recs = import_file(ZEUS_LOG.encode(), "zeus.csv", PROFILES, options=opts)
    assert [r.settings.workload for r in recs] == ["epoch", "step"]
    epoch, step = recs
    assert epoch.hardware_id == "nvidia-h100-sxm"
    assert epoch.results.gpu_energy_j.value == 72300.0 + 71950.5
    assert [g.energy_j.value for g in epoch.results.gpus] == [72300.0, 71950.5]
    assert epoch.results.wall_time_s.value == 120.5
    assert epoch.started_at.timestamp() == 1733049600.25
    assert epoch.results.gpus[0].energy_j.method == "zeus_window_log"
    assert any("given by the user" in n for n in epoch.notes)
    # 0 J is what a too-short window logs: not measured, never a measured zero.
    assert step.results.gpu_energy_j is None and step.results.gpus[0].energy_j is None
    # A Zeus window with the device named calibrates power (no FLOP count: no utilisation).
    cal = calibrate(recs, PROFILES)
    row = cal[cal["hardware_id"] == "nvidia-h100-sxm"].iloc[0]
    assert row["busy_power_w"] == pytest.approx((72300.0 + 71950.5) / (120.5 * 2))
    assert math.isnan(row["utilisation"]) and row["n_power_records"] == 1


def test_zeus_without_a_device_name_matches_nothing():
    recs = import_file(ZEUS_LOG.encode(), "zeus.csv", PROFILES)
    assert recs[0].device_name is None and recs[0].hardware_id is None
    assert recs[0].results.gpus[0].name is None


def test_zeus_log_with_no_windows_is_refused(tmp_path):
    empty = tmp_path / "zeus.csv"
    empty.write_text("start_time,window_name,elapsed_time,gpu0_energy\n")
    done = run_cli("import", str(empty), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "no windows" in done.stderr
    assert not (tmp_path / "out").exists()


# vLLM's serving benchmark result (--save-result), with the keys benchmark_serving.py writes
# (vllm-project/vllm, benchmarks/benchmark_serving.py: result_json and
# process_one_metric: mean_/median_/std_/p<P>_<metric>_ms). vLLM needs a GPU server to run,
# so this is a small file in that documented format (per-request lists shortened).
VLLM_RESULT = {
    "date": "20261130-101500", "backend": "vllm", "model_id": "meta-llama/Llama-3.1-8B-Instruct",
    "tokenizer_id": "meta-llama/Llama-3.1-8B-Instruct", "best_of": 1, "num_prompts": 200,
    "request_rate": "inf", "duration": 40.0, "completed": 200, "total_input_tokens": 45000,
    "total_output_tokens": 38000, "request_throughput": 5.0, "output_throughput": 950.0,
    "total_token_throughput": 2075.0, "input_lens": [225, 225], "output_lens": [190, 190],
    "ttfts": [0.1, 0.2], "itls": [[0.02], [0.03]], "generated_texts": ["a", "b"],
    "errors": ["", ""], "mean_ttft_ms": 150.0, "median_ttft_ms": 120.0, "std_ttft_ms": 40.0,
    "p99_ttft_ms": 410.0, "mean_tpot_ms": 21.0, "median_tpot_ms": 20.5, "std_tpot_ms": 2.0,
    "p99_tpot_ms": 30.0, "mean_itl_ms": 21.5, "median_itl_ms": 19.0, "std_itl_ms": 5.0,
    "p99_itl_ms": 44.0,
}


def test_vllm_result_keeps_throughput_and_percentiles_and_no_energy():
    recs = import_file(json.dumps(VLLM_RESULT).encode(), "vllm.json", PROFILES)
    assert len(recs) == 1
    rec = recs[0]
    s = rec.results.serving
    assert rec.settings.mode == "infer" and rec.settings.device is None
    assert s.requests_per_s.value == 5.0 and s.output_tokens_per_s.value == 950.0
    assert s.ttft.percentiles_s["p99"].value == pytest.approx(0.41)
    assert s.tpot.median_s.value == pytest.approx(0.0205)
    assert s.request_rate_per_s is None  # "inf": unpaced
    assert rec.results.gpu_energy_j is None and rec.results.total_energy_j is None
    assert any("measures no energy" in n for n in rec.notes)
    assert rec.device_name is None and rec.hardware_id is None
    assert parse_record(rec.model_dump_json(), "round trip") == rec


def test_vllm_energy_is_read_only_where_the_file_has_it():
    raw = dict(VLLM_RESULT, gpu_energy_j="12345.5")  # --metadata values are strings
    rec = import_file(json.dumps(raw).encode(), "vllm.json", PROFILES,
                      options=ImportOptions(device_name="NVIDIA H100 80GB HBM3"))[0]
    assert rec.results.gpu_energy_j.value == 12345.5
    assert rec.results.gpu_energy_j.method == "file_reported"
    assert rec.hardware_id == "nvidia-h100-sxm"


@pytest.mark.parametrize("text, message", [
    (json.dumps({"date": "20261130-101500", "backend": "vllm"}), "unknown format"),
    (json.dumps({k: v for k, v in VLLM_RESULT.items() if k != "duration"}), "missing duration"),
    (json.dumps(dict(VLLM_RESULT, completed=0)), "no results"),
    ("name,value\nx,1\n", "unknown format"),
    ("{not json", "unknown format"),
    ("", "unknown format"),
])
def test_broken_or_unknown_files_get_one_line(text, message):
    with pytest.raises(PlannerError, match=message):
        import_file(text.encode(), "f", PROFILES)


def test_cli_refuses_unknown_format_writing_nothing(tmp_path):
    f = tmp_path / "x.json"
    f.write_bytes(b"\x89PNG\r\n")
    done = run_cli("import", str(f), "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_detect_format():
    assert detect_format(ZEUS_LOG)[0] == "zeus"
    assert detect_format(json.dumps(VLLM_RESULT))[0] == "vllm"


def test_hostile_nesting_is_one_line_not_a_crash():
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    with pytest.raises(PlannerError, match="unknown format"):
        import_file(deep, "deep.json", PROFILES)
    with pytest.raises(PlannerError, match="nested deeper"):
        import_file(deep, "deep.json", PROFILES, fmt="vllm")
