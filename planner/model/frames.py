"""DataFrame helpers for the vectorised model: add many columns at once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd


def with_columns(frame: pd.DataFrame, columns: Mapping[str, object]) -> pd.DataFrame:
    """``frame`` with ``columns`` added or replaced, joined in one step.

    Setting columns one at a time re-lays pandas' block manager on every insert, which on
    the planner's small grids costs more than the arithmetic; one concat does it once.
    Scalars and lists broadcast to the frame's length.
    """
    n = len(frame)
    added = pd.DataFrame(
        {name: np.broadcast_to(np.asarray(v, dtype=object) if isinstance(v, list) else v, n)
         for name, v in columns.items()},
        index=frame.index)
    kept = frame.drop(columns=[c for c in columns if c in frame.columns])
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
