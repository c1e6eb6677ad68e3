"""DataFrame helpers for the vectorised model: add many columns at once, read columns by
position.

The fast paths read pandas' block manager (``DataFrame._mgr.iget_values``) and build frames
with ``DataFrame._from_arrays``: private, but present from pandas 1.x to 3.1 (the tested
versions). ``column_values`` and ``frame_from_arrays`` are the only places that touch them;
where a pandas release lacks them, both fall back to public calls giving the same frames
(``tests/model/test_frames.py`` runs the fallbacks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd


def _column(values: object, n: int) -> np.ndarray:
    """A column for ``with_columns`` as a numpy array of ``n`` rows: text (a str, a list, a
    numpy text or object array, a text Series) as Python objects (see ``object_strings``),
    anything else as it is or broadcast to ``n`` rows."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy(dtype=object) if pd.api.types.is_string_dtype(
            values.dtype) else values.to_numpy()
    if isinstance(values, str | list) or (
            isinstance(values, np.ndarray) and values.dtype.kind in "UO"):
        values = np.asarray(values, dtype=object)
    elif not isinstance(values, np.ndarray):
        values = np.asarray(values)
    return values if values.shape == (n,) else np.broadcast_to(values, n)


def object_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text columns as Python objects rather than pandas 3's Arrow-backed
    ``str``: the planner's grids are small and wide, and every take, copy and merge of an
    Arrow column calls into pyarrow, which made a plan about twice as slow (measured on the
    dashboard's default levers plan: 0.30 s against 0.15 s CPU)."""
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c].dtype)
            and frame[c].dtype != object]
    return frame.astype({c: object for c in text}) if text else frame


def with_columns(frame: pd.DataFrame, columns: Mapping[str, object]) -> pd.DataFrame:
    """``frame`` with ``columns`` added or replaced (a replaced column moves to the end, as
    after a drop and a concat), built in one step from the columns' arrays.

    Setting columns one at a time re-lays pandas' block manager on every insert, and a drop
    plus a concat keeps every block of the frames joined (the grids had 60-90 blocks after a
    few joins, which every later take, drop and join walked). Here the arrays go into one
    block per dtype (``DataFrame._from_arrays``, which stacks the numpy columns, i.e. copies
    them); extension arrays (pandas' ``str``) are copied, so the result shares nothing a
    caller could change in place. Scalars and lists broadcast to the frame's length.
    """
    n = len(frame)
    new = {name: _column(v, n) for name, v in columns.items()}
    names = frame.columns
    keep = [i for i, c in enumerate(names.tolist()) if c not in new]  # (one Arrow call)
    arrays = [owned(column_values(frame, i)) for i in keep] + list(new.values())
    return frame_from_arrays(arrays, names.take(keep).append(pd.Index(list(new))), frame.index)


def set_columns(frame: pd.DataFrame, columns: Mapping[str, object]) -> pd.DataFrame:
    """``frame`` with ``columns`` set as ``frame[name] = values`` in turn on a copy would
    set them (a column already there keeps its place, a new one goes to the end; text as
    in ``with_columns``), built in one step as ``with_columns`` builds its result."""
    n = len(frame)
    new = {name: _column(v, n) for name, v in columns.items()}
    names = frame.columns
    if not names.is_unique:  # setting a duplicated name: leave it to pandas
        out = frame.copy(deep=False)
        for name, values in new.items():
            out[name] = (pd.Series(values, index=frame.index, dtype=object)
                         if values.dtype == object else np.array(values))
        return out
    arrays = [new[c] if c in new else owned(column_values(frame, i))
              for i, c in enumerate(names.tolist())]
    added = [c for c in new if c not in names]
    arrays += [new[c] for c in added]
    return frame_from_arrays(arrays, names.append(pd.Index(added)) if added else names,
                             frame.index)


_FAST = hasattr(pd.DataFrame, "_from_arrays") and hasattr(pd.DataFrame({"a": [0]})._mgr,
                                                            "iget_values")


def column_values(frame: pd.DataFrame, i: int) -> object:
    """The values of ``frame``'s column at position ``i`` as pandas holds them (a numpy array,
    or an extension array such as pandas' ``str``), without a Series made for it."""
    if _FAST:
        return frame._mgr.iget_values(i)
    values = frame.iloc[:, i].array
    return values.to_numpy() if isinstance(values, pd.arrays.NumpyExtensionArray) else values


def frame_from_arrays(arrays: list, columns: pd.Index, index: pd.Index) -> pd.DataFrame:
    """A frame of ``arrays`` (one per column, each of ``len(index)`` rows) in one block per
    dtype."""
    if _FAST:
        return pd.DataFrame._from_arrays(arrays, columns=columns, index=index,
                                         verify_integrity=False)
    # object arrays stay object (a dict of them would be inferred as pandas 3's ``str``)
    out = pd.DataFrame({i: pd.Series(a, index=index, dtype=object, copy=False)
                        if isinstance(a, np.ndarray) and a.dtype == object else a
                        for i, a in enumerate(arrays)}, index=index)
    out.columns = columns
    return out


def owned(values: object) -> object:
    """A column for ``frame_from_arrays`` that shares nothing with where it came from: a
    numpy column as it is (stacking copies it), an extension array copied."""
    return values if isinstance(values, np.ndarray) else values.copy()


def float_columns(frame: pd.DataFrame, names) -> dict[str, np.ndarray]:
    """``{name: frame[name].to_numpy(dtype=float)}``, each read from the frame's blocks by
    position (no Series made per column: ~10 µs a column, with ~60 read per table). A float
    column comes as a read-only view, as pandas hands it out; others are converted by pandas.
    KeyError for a name the frame lacks."""
    columns = frame.columns
    names = list(names)
    if not columns.is_unique:
        return {k: frame[k].to_numpy(dtype=float) for k in names}
    at = columns.get_indexer(names)
    out = {}
    for name, i in zip(names, at.tolist(), strict=True):
        if i < 0:
            raise KeyError(name)
        values = column_values(frame, i)
        if isinstance(values, np.ndarray) and values.dtype == np.float64:
            values = values.view()
            values.flags.writeable = False
        else:
            values = frame.iloc[:, i].to_numpy(dtype=float)
        out[name] = values
    return out


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
