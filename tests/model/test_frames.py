"""Frame helpers: text columns stay Python objects (pandas 3's Arrow strings were the plan's
largest cost on its small, wide grids)."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
