"""DataFrame helpers for the vectorised model: add many columns at once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd


def _plain(values: object, n: int, index: pd.Index) -> object:
    """A column for ``with_columns``: text (a str, a list, a numpy text or object array) as
    an object Series (see ``object_strings``), anything else broadcast to ``n`` rows."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy(dtype=object) if pd.api.types.is_string_dtype(
            values.dtype) else values.to_numpy()
    if isinstance(values, str | list) or (
            isinstance(values, np.ndarray) and values.dtype.kind in "UO"):
        return pd.Series(np.broadcast_to(np.asarray(values, dtype=object), n), index=index,
                         dtype=object)
    return np.broadcast_to(values, n)


def object_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text columns as Python objects rather than pandas 3's Arrow-backed
    ``str``: the planner's grids are small and wide, and every take, copy and merge of an
    Arrow column calls into pyarrow, which made a plan about twice as slow (measured on the
    dashboard's default levers plan: 0.30 s against 0.15 s CPU)."""
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c].dtype)
            and frame[c].dtype != object]
    return frame.astype({c: object for c in text}) if text else frame


def with_columns(frame: pd.DataFrame, columns: Mapping[str, object]) -> pd.DataFrame:
    """``frame`` with ``columns`` added or replaced, joined in one step.

    Setting columns one at a time re-lays pandas' block manager on every insert, which on
    the planner's small grids costs more than the arithmetic; one concat does it once.
    Scalars and lists broadcast to the frame's length.
    """
    n = len(frame)
    added = pd.DataFrame({name: _plain(v, n, frame.index) for name, v in columns.items()},
                         index=frame.index)
    replaced = [c for c in columns if c in frame.columns]
    kept = frame.drop(columns=replaced) if replaced else frame  # drop copies even when empty
    return pd.concat([kept, added], axis=1)


NON_FINITE_REASON = ("a result is not a finite number: an input is outside any meaningful "
                     "range")


def refuse_non_finite(reason: np.ndarray, required: Iterable[object],
                      optional: Iterable[object] = ()) -> np.ndarray:
    """``reason`` with ``NON_FINITE_REASON`` on rows that have no other reason but a
    ``required`` result that is infinite or NaN, or an ``optional`` one (allowed to be missing,
    e.g. a cost without a published price) that is infinite: such a row is never feasible."""
    bad = np.zeros(len(reason), dtype=bool)
    for values in required:
        bad |= ~np.isfinite(np.asarray(values, dtype=float))
    for values in optional:
        bad |= np.isinf(np.asarray(values, dtype=float))
    return np.where((reason == "") & bad, NON_FINITE_REASON, reason)
