"""The fifth blind list (tests/model/data/training_runs_blind5.csv) is well formed: the columns of
the fourth list, unique case ids, a source and report per row, profiled hardware. Data checks
only: nothing here plans a row (the list stays blind until the revision's end)."""
from pathlib import Path

import pandas as pd

DATA = Path(__file__).parent / "data"
HARDWARE = Path(__file__).resolve().parents[2] / "profiles" / "hardware"


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, comment="#")


def test_blind5_has_the_columns_of_blind4_and_unique_cases():
    blind4, blind5 = _read("training_runs_blind4.csv"), _read("training_runs_blind5.csv")
    assert list(blind5.columns) == list(blind4.columns)
    assert blind5["case"].is_unique
    assert not set(blind5["case"]) & set(blind4["case"])


def test_blind5_rows_name_a_source_a_report_and_a_profiled_device():
    blind5 = _read("training_runs_blind5.csv")
    assert (blind5["kind"] == "throughput").all() and (blind5["goodput"] == 1).all()
    assert blind5["source"].str.len().min() > 100
    assert blind5["run_report"].notna().all()
    assert (blind5["published_tokens_per_s_per_device"] > 0).all()
    assert (blind5["global_batch_tokens"] % blind5["sequence_tokens"] == 0).all()
    profiles = {p.stem for p in HARDWARE.glob("*.yaml")}
    assert set(blind5["hardware"]) <= profiles
    assert blind5["run_report"].value_counts(normalize=True).max() <= 0.35
