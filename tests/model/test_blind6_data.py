"""The sixth blind list (tests/model/data/training_runs_blind6.csv) is well formed: the columns of
the fifth list, case ids no other list uses, a source and report per row, profiled hardware, no
report over 40% of the rows. Data checks only: nothing here plans a row (the list stays blind
until it is planned once, as training_run_candidates.md says)."""
from pathlib import Path

import pandas as pd

DATA = Path(__file__).parent / "data"
HARDWARE = Path(__file__).resolve().parents[2] / "profiles" / "hardware"
OTHER_LISTS = (
    "published_training_runs.csv", "training_runs_blind4.csv", "training_runs_blind5.csv",
)


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, comment="#")


def test_blind6_has_the_columns_of_blind5_and_cases_no_other_list_uses():
    blind5, blind6 = _read("training_runs_blind5.csv"), _read("training_runs_blind6.csv")
    assert list(blind6.columns) == list(blind5.columns)
    assert blind6["case"].is_unique
    for name in OTHER_LISTS:
        assert not set(blind6["case"]) & set(_read(name)["case"]), name


def test_blind6_rows_name_a_source_a_report_and_a_profiled_device():
    blind6 = _read("training_runs_blind6.csv")
    assert len(blind6) >= 25
    assert (blind6["kind"] == "throughput").all() and (blind6["goodput"] == 1).all()
    assert blind6["source"].str.len().min() > 100
    assert blind6["source"].str.contains("sixth list, blind6").all()
    assert blind6["run_report"].notna().all()
    assert blind6["run_report"].nunique() >= 3
    assert (blind6["published_tokens_per_s_per_device"] > 0).all()
    assert (blind6["global_batch_tokens"] % blind6["sequence_tokens"] == 0).all()
    profiles = {p.stem for p in HARDWARE.glob("*.yaml")}
    assert set(blind6["hardware"]) <= profiles
    assert blind6["run_report"].value_counts(normalize=True).max() <= 0.40


def test_blind6_layouts_use_every_device_they_name():
    """Where tp, pp and dp are all published, their product is the device count."""
    blind6 = _read("training_runs_blind6.csv")
    for case, layout, devices in blind6[["case", "parallelism", "devices"]].itertuples(index=False):
        if not isinstance(layout, str):
            continue
        degrees = {f[:2]: int(f[2:]) for f in layout.split() if f[:2] in ("tp", "pp", "dp")}
        if len(degrees) == 3:
            assert degrees["tp"] * degrees["pp"] * degrees["dp"] == devices, case
