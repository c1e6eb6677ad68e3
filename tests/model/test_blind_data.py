"""The fifth and sixth blind lists (tests/model/data/training_runs_blind5.csv, ..._blind6.csv)
are well formed: the columns of the list before, case ids no earlier list uses, a source and
report per row, profiled hardware, no report over its list's cap. Data checks only: nothing
here plans a row (each list stays blind until it is planned once, as
training_run_candidates.md says)."""
from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"
HARDWARE = Path(__file__).resolve().parents[2] / "profiles" / "hardware"
# Per list: the list whose columns it keeps, the lists its case ids must not repeat, and the
# largest share of its rows one report may have (the rule its helper wrote first).
LISTS = {
    "training_runs_blind5.csv": ("training_runs_blind4.csv", ("training_runs_blind4.csv",),
                                 0.35),
    "training_runs_blind6.csv": ("training_runs_blind5.csv", (
        "published_training_runs.csv", "training_runs_blind4.csv",
        "training_runs_blind5.csv"), 0.40),
}


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, comment="#")


@pytest.mark.parametrize("name", sorted(LISTS))
def test_a_list_has_the_columns_of_the_one_before_and_cases_no_other_list_uses(name):
    before, others, _ = LISTS[name]
    rows = _read(name)
    assert list(rows.columns) == list(_read(before).columns)
    assert rows["case"].is_unique
    for other in others:
        assert not set(rows["case"]) & set(_read(other)["case"]), other


@pytest.mark.parametrize("name", sorted(LISTS))
def test_rows_name_a_source_a_report_and_a_profiled_device(name):
    rows = _read(name)
    assert (rows["kind"] == "throughput").all() and (rows["goodput"] == 1).all()
    assert rows["source"].str.len().min() > 100
    assert rows["run_report"].notna().all()
    assert (rows["published_tokens_per_s_per_device"] > 0).all()
    assert (rows["global_batch_tokens"] % rows["sequence_tokens"] == 0).all()
    profiles = {p.stem for p in HARDWARE.glob("*.yaml")}
    assert set(rows["hardware"]) <= profiles
    assert rows["run_report"].value_counts(normalize=True).max() <= LISTS[name][2]


def test_blind6_has_enough_rows_and_reports_and_names_its_list():
    blind6 = _read("training_runs_blind6.csv")
    assert len(blind6) >= 25
    assert blind6["source"].str.contains("sixth list, blind6").all()
    assert blind6["run_report"].nunique() >= 3


def test_blind6_layouts_use_every_device_they_name():
    """Where tp, pp and dp are all published, their product is the device count."""
    blind6 = _read("training_runs_blind6.csv")
    for case, layout, devices in blind6[["case", "parallelism", "devices"]].itertuples(index=False):
        if not isinstance(layout, str):
            continue
        degrees = {f[:2]: int(f[2:]) for f in layout.split() if f[:2] in ("tp", "pp", "dp")}
        if len(degrees) == 3:
            assert degrees["tp"] * degrees["pp"] * degrees["dp"] == devices, case
