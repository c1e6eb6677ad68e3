"""Fleet sizing's search: the same answer as step-by-step doubling and bisection, in few calls."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.model import fleet


def _step_by_step(passes, low, valid):
    """The search one count at a time: double ``low`` until it passes (at most
    MAX_DOUBLINGS times), then bisect (last failing, first passing]."""
    out = []
    for i, (lo, ok) in enumerate(zip(low, valid, strict=True)):
        if not ok:
            out.append(np.nan)
            continue
        if passes(np.array([lo]), np.array([i]))[0]:
            out.append(lo)
            continue
        lo_fail, hi = lo, 2.0 * lo
        for _ in range(fleet.MAX_DOUBLINGS):
            if passes(np.array([hi]), np.array([i]))[0]:
                break
            lo_fail, hi = hi, 2.0 * hi
        else:
            out.append(np.nan)
            continue
        while hi - lo_fail > 1.0:
            mid = np.floor((hi + lo_fail) / 2.0)
            if passes(np.array([mid]), np.array([i]))[0]:
                hi = mid
            else:
                lo_fail = mid
        out.append(hi)
    return np.array(out)


def _counting(passes):
    calls = []

    def wrapped(n, rows):
        calls.append(np.size(n))
        return passes(n, rows)

    return wrapped, calls


@settings(max_examples=200, deadline=None)
@given(need=st.lists(st.one_of(st.floats(1.0, 1e10), st.just(np.inf)), min_size=1, max_size=30),
       low=st.floats(1.0, 50.0), monotone=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_search_matches_the_step_by_step_search(need, low, monotone, seed):
    """Monotone: the fewest units ≥ need; otherwise a pass/fail pattern with holes, where the
    search must still give the step-by-step answer (it replays the bisection's path)."""
    need = np.floor(np.array(need))
    rng = np.random.default_rng(seed)
    holes = rng.integers(2, 9, size=need.size)

    def passes(n, rows):
        ok = n >= need[rows]
        return ok if monotone else ok ^ ((n.astype(np.int64) % holes[rows]) == 0) & (
            n < 2 * need[rows])

    lows = np.full(need.size, np.floor(low))
    valid = rng.random(need.size) > 0.1
    got = fleet.smallest_passing(passes, lows, valid)
    np.testing.assert_array_equal(got, _step_by_step(passes, lows, valid))
    if monotone:
        expect = np.where(valid & (need <= lows * 2.0**fleet.MAX_DOUBLINGS),
                          np.maximum(need, lows), np.nan)
        np.testing.assert_array_equal(got, expect)


def test_a_long_search_takes_a_handful_of_calls():
    need = np.array([1.0, 7.0, 1e3, 123_456_789.0, np.inf])
    passes, calls = _counting(lambda n, rows: n >= need[rows])
    got = fleet.smallest_passing(passes, np.ones(need.size), np.ones(need.size, bool))
    np.testing.assert_array_equal(got, [1.0, 7.0, 1e3, 123_456_789.0, np.nan])
    # step by step: 1 + 27 doublings + 26 bisections for the largest; here 2 + 6 calls
    assert len(calls) <= 8


@pytest.mark.parametrize("valid", [np.zeros(3, bool), np.ones(0, bool)])
def test_no_valid_row_needs_no_call(valid):
    passes, calls = _counting(lambda n, rows: n > 0)
    got = fleet.smallest_passing(passes, np.ones(valid.size), valid)
    assert np.isnan(got).all() and got.size == valid.size
    assert calls == [] or all(c == 0 for c in calls)
