"""Frame helpers: text columns stay Python objects (pandas 3's Arrow strings were the plan's
largest cost on its small, wide grids)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.model.frames import object_strings, with_columns


def test_with_columns_keeps_text_as_objects():
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    out = with_columns(frame, {"note": np.array(["x", "y"]), "basis": "spec",
                               "names": ["p", "q"], "series": pd.Series(["s", "t"]),
                               "value": np.array([3.0, 4.0])})
    assert all(out[c].dtype == object for c in ("note", "basis", "names", "series"))
    assert out["value"].dtype == float and out["basis"].tolist() == ["spec", "spec"]
    assert out["series"].tolist() == ["s", "t"]


def test_object_strings_converts_only_text():
    frame = pd.DataFrame({"t": ["a", "b"], "n": [1, 2]})
    out = object_strings(frame)
    assert out["t"].dtype == object and out["n"].dtype == frame["n"].dtype


def test_catalogue_text_columns_are_objects():
    from planner.model.plan import Planner

    catalogue = Planner.load().catalogue
    text = [c for c in catalogue.columns if pd.api.types.is_string_dtype(catalogue[c].dtype)]
    assert "hardware_id" in text and all(catalogue[c].dtype == object for c in text)


def test_set_columns_is_setting_each_column_in_turn():
    from planner.model.frames import set_columns

    frame = pd.DataFrame({"a": [1.0, 2.0], "t": ["x", "y"], "n": [1, 2]})
    columns = {"n": np.array([0.5, 1.5]), "new": "text", "a": np.array([3.0, 4.0])}
    expected = frame.copy()
    for name, values in columns.items():
        expected[name] = (pd.Series([values] * 2, dtype=object) if isinstance(values, str)
                          else values)
    out = set_columns(frame, columns)
    pd.testing.assert_frame_equal(out, expected)
    assert list(out.columns) == ["a", "t", "n", "new"] and out["new"].dtype == object
    out.loc[0, "t"] = "changed"  # the result shares nothing a caller could change in place
    assert frame.loc[0, "t"] == "x" and frame.loc[0, "a"] == 1.0


def test_with_columns_gives_one_block_per_dtype():
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    for i in range(20):
        frame = with_columns(frame, {f"c{i}": np.array([i, i + 1.0])})
    assert frame._mgr.nblocks == 1 and list(frame.columns)[:2] == ["a", "c0"]


def test_float_columns_are_the_columns_as_floats():
    from planner.model.frames import float_columns

    frame = with_columns(pd.DataFrame({"a": [1.0, 2.0]}),
                         {"n": np.array([1, 2]), "o": np.array([None, 3.0], dtype=object)})
    out = float_columns(frame, ["o", "a", "n"])
    for name in ("a", "n", "o"):
        np.testing.assert_array_equal(out[name], frame[name].to_numpy(dtype=float))
    assert not out["a"].flags.writeable  # a view of the frame cannot change it
    with pytest.raises(KeyError):
        float_columns(frame, ["missing"])


@pytest.mark.parametrize("kept", [False, True], ids=["fresh", "memo"])
def test_the_public_fallbacks_give_the_same_plan(monkeypatch, kept):
    """Where a pandas release lacks the block-manager calls (``frames._FAST`` False), the
    public fallbacks plan the dashboard's first view (training, serving, edge versus cloud,
    lifecycle) to the same tables, fresh and from the site-free memos at a new PUE."""
    from planner.model import frames, memo
    from planner.model.plan import Planner

    scenario = {
        "training": {"model": "llama-3-8b", "days": 30, "hardware": "all"},
        "inference": {"model": "llama-3-8b", "prompt_tokens": 512, "output_tokens": 256,
                      "batch_size": 64, "requests_per_s_avg": 200, "requests_per_s_peak": 400,
                      "latency_p95_s": 8, "hardware": "all"},
        "lifecycle": {"horizon_months": 36, "retrain_every_months": 12,
                      "retrain_fraction": 0.25},
        "site": {"cloud_provider": "aws", "cloud_region": "us-east-1", "pue": 1.2},
    }
    moved = {**scenario, "site": {**scenario["site"], "pue": 1.31}}
    planner = Planner.load()

    def plans():
        for kept_memo in (memo.LAYOUTS, memo.FLEETS, memo.SERVING, memo.YEARS):
            kept_memo.clear()
        if not kept:
            with memo.disabled():
                return planner.plan(moved)
        planner.plan(scenario)
        return planner.plan(moved)

    fast = plans()
    monkeypatch.setattr(frames, "_FAST", False)
    slow = plans()
    for name in ("training", "inference"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(slow, name))
    assert sorted(fast.extras) == sorted(slow.extras) and fast.extras
    for name, frame in fast.extras.items():
        if isinstance(frame, pd.DataFrame):
            pd.testing.assert_frame_equal(frame, slow.extras[name])
