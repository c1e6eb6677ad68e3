"""The record schema, its loader (never raises) and its atomic writer."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from planner.errors import PlannerError
from planner.model.records import (
    Machine,
    Quantity,
    Record,
    Results,
    Settings,
    load_records,
    parse_record,
    quantity,
    write_record,
)


def make_record(**over) -> Record:
    t = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    fields = dict(
        run_id="abcdef123456",
        status="complete",
        started_at=t,
        ended_at=t + dt.timedelta(seconds=10),
        machine=Machine(hostname="h", os="Linux", python_version="3.11", cpu_model="Intel(R) "
                        "Xeon(R) Processor", cpu_logical_cores=2),
        settings=Settings(workload="mlp", mode="train", precision="fp32", device="cpu",
                          country_iso_code="USA", batch_size=8, steps=5),
        results=Results(wall_time_s=quantity(10.0, "s", "wall_clock", True),
                        cpu_energy_j=quantity(100.0, "J", "codecarbon_cpu_load_estimate", False)),
        device_name="Intel(R) Xeon(R) Processor",
    )
    fields.update(over)
    return Record(**fields)


def test_measured_zero_joules_is_refused():
    with pytest.raises(ValueError, match="use null"):
        Quantity(value=0.0, unit="J", method="nvml_energy_counter", measured=True)
    # an estimate of zero is not a measurement, and other units may be zero
    Quantity(value=0.0, unit="%", method="nvml_polling", measured=True)
    assert quantity(None, "J", "derived", True) is None
    assert quantity(float("nan"), "J", "derived", True) is None


def test_round_trip_through_a_file(tmp_path):
    rec = make_record()
    path = write_record(rec, tmp_path / "m")
    assert path.name == "20260102T030405Z_mlp-train_cpu_abcdef12.json"
    assert parse_record(path.read_bytes(), str(path)) == rec
    assert [p.name for p in (tmp_path / "m").iterdir()] == [path.name]  # no temp files


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        write_record(make_record(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PlannerError, match="not writable"):
        write_record(make_record(), blocker / "sub")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"\xff\xfe", "not UTF-8"),
        ("{", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"schema_version": 99}', "schema_version is 99"),
    ],
)
def test_parse_errors_name_the_origin(text, message):
    with pytest.raises(PlannerError, match=message) as err:
        parse_record(text, "upload.json")
    assert str(err.value).startswith("upload.json: ")


def test_parse_error_names_the_field():
    data = json.loads(make_record().model_dump_json())
    data["settings"]["device"] = "tpu"
    with pytest.raises(PlannerError, match=r"settings\.device"):
        parse_record(json.dumps(data), "x.json")


def test_naive_timestamps_are_refused():
    data = json.loads(make_record().model_dump_json())
    data["started_at"] = "2026-01-02T03:04:05"
    with pytest.raises(PlannerError, match="time zone"):
        parse_record(json.dumps(data), "x.json")


def test_load_records_never_raises(tmp_path):
    write_record(make_record(), tmp_path)
    write_record(make_record(run_id="zzzzzz999999",
                             started_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
                             ended_at=dt.datetime(2025, 1, 1, 0, 1, tzinfo=dt.UTC)), tmp_path)
    (tmp_path / "broken.json").write_text("{nope")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "dir.json").mkdir()
    records, errors = load_records(tmp_path)
    assert [r.run_id for r in records] == ["zzzzzz999999", "abcdef123456"]  # oldest first
    assert len(errors) == 2 and any("broken.json" in e for e in errors)
    assert load_records(tmp_path / "missing") == ([], [f"{tmp_path / 'missing'}: no such folder"])


def test_committed_measurements_are_valid():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "measurements"
    records, errors = load_records(folder)
    assert errors == []
    for r in records:
        if r.settings.device == "cpu":
            assert r.results.gpu_energy_j is None  # never 0 J posing as a measurement
