"""Queueing: Erlang B and C against published values, M/M/c waits, and their invariants."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.model import queueing as q


def _erlang_c_exact(c: int, a: Fraction) -> Fraction:
    """The textbook sum (Kleinrock 1975, eq. 3.40) in exact rational arithmetic."""
    top = a**c / math.factorial(c) * Fraction(c) / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(("servers", "erlangs"), [(10, 4.46), (20, 12.03), (100, 84.06)])
def test_erlang_b_matches_the_published_table(servers, erlangs):
    """Erlang B tables (e.g. ITU-T / Iversen, Teletraffic Engineering and Network Planning,
    DTU 2015, table of the Erlang B formula): at 1% blocking 10 trunks carry 4.46 erlangs,
    20 carry 12.03 and 100 carry 84.06 (tables round the load to 0.01 erlang)."""
    assert q.erlang_b(servers, erlangs) == pytest.approx(0.01, abs=3e-4)


def test_erlang_c_textbook_values():
    """C(2, 1) = 1/3 (Kleinrock 1975, eq. 3.40 by hand); C(3, 2) = 4/9 (the ErlangC example
    of the Wolfram Language documentation); M/M/1: C(1, ρ) = ρ."""
    assert q.erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    assert q.erlang_c(3, 2.0) == pytest.approx(4 / 9, rel=1e-12)
    for rho in (0.1, 0.5, 0.9, 0.99):
        assert q.erlang_c(1, rho) == pytest.approx(rho, rel=1e-12)


@pytest.mark.parametrize(("c", "a"), [(5, Fraction(7, 2)), (10, Fraction(8)), (24, Fraction(20)),
                                      (55, Fraction(48))])
def test_erlang_c_matches_the_exact_sum(c, a):
    assert q.erlang_c(c, float(a)) == pytest.approx(float(_erlang_c_exact(c, a)), rel=1e-10)


def test_erlang_c_is_stable_for_large_fleets():
    """Tens of thousands of servers: no overflow, a probability in [0, 1], falling with c."""
    c = np.array([20_000.0, 20_500.0, 21_000.0])
    pw = q.erlang_c(c, 19_900.0)
    assert np.all(np.isfinite(pw)) and np.all((pw >= 0) & (pw <= 1))
    assert pw[0] > pw[1] > pw[2]


def test_unstable_queue_waits_forever_and_always():
    assert q.erlang_c(4, 4.0) == 1.0
    assert q.mean_wait_s(4, 4.0, 1.0) == np.inf
    assert q.wait_quantile_s(4, 5.0, 1.0) == np.inf


def test_mm1_mean_wait_and_quantile_by_hand():
    """M/M/1 with λ = 0.8/s, μ = 1/s: W_q = ρ/(μ − λ) = 4 s; P(W > t) = ρ·e^(−(μ−λ)t), so the
    p95 wait is ln(0.8/0.05)/0.2 = 13.86 s."""
    assert q.mean_wait_s(1, 0.8, 1.0) == pytest.approx(4.0, rel=1e-12)
    assert q.wait_quantile_s(1, 0.8, 1.0) == pytest.approx(math.log(16) / 0.2, rel=1e-12)
    t = q.wait_quantile_s(3, 2.4, 1.0)
    assert q.wait_exceedance_probability(3, 2.4, 1.0, t) == pytest.approx(0.05, rel=1e-9)


def test_allen_cunneen_halves_the_wait_for_deterministic_service():
    assert q.mean_wait_s(4, 3.0, 1.0, 0.5) == pytest.approx(q.mean_wait_s(4, 3.0, 1.0) / 2)


@settings(max_examples=200, deadline=None)
@given(c=st.integers(1, 400), load=st.floats(0.01, 0.999), extra=st.integers(1, 50))
def test_more_servers_never_raise_the_wait(c, load, extra):
    a = load * c
    mu = 1.0
    assert q.erlang_c(c + extra, a) <= q.erlang_c(c, a) + 1e-12
    assert q.mean_wait_s(c + extra, a, mu) <= q.mean_wait_s(c, a, mu) + 1e-12
    assert q.wait_quantile_s(c + extra, a, mu) <= q.wait_quantile_s(c, a, mu) + 1e-12


@settings(max_examples=200, deadline=None)
@given(c=st.integers(1, 2000), load=st.floats(0.0, 0.999))
def test_erlang_c_is_a_probability_above_erlang_b(c, load):
    a = load * c
    b, pw = q.erlang_b(c, a), q.erlang_c(c, a)
    assert 0.0 <= b <= pw <= 1.0


@settings(max_examples=300, deadline=None)
@given(c=st.integers(1, 5000), load=st.floats(0.0, 0.999))
def test_the_erlang_c_bound_is_above_erlang_c(c, load):
    a = load * c
    bound = float(q.erlang_c_bound(c, a))
    assert bound >= float(q.erlang_c(c, a)) or np.isclose(bound, float(q.erlang_c(c, a)))
    if a + 1 > c:
        assert bound == math.inf


@settings(max_examples=200, deadline=None)
@given(c=st.integers(1, 3000), load=st.floats(0.01, 0.999), mu=st.floats(0.05, 20),
       k=st.floats(0.5, 2.0))
def test_screened_wait_quantiles_are_the_full_ones(c, load, mu, k):
    lam = load * c * mu
    full = q.waits_s(c, lam, mu, (0.5, 0.05), k)["quantiles_s"]
    fast = q.wait_quantiles_s(np.array([c]), lam, mu, (0.5, 0.05), k)
    for x, y in zip(full, fast, strict=True):
        assert float(y[0]) == float(x)
