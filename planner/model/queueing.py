"""Queueing: Erlang B and C, waiting times of the M/M/c queue, and the fewest servers for a
waiting-time target, all vectorised over numpy arrays.

Notation (Kleinrock 1975, Queueing Systems Vol. 1, section 3.5; Gross & Harris 1998,
Fundamentals of Queueing Theory, section 2.3): ``c`` identical servers, Poisson arrivals at
rate λ, exponential service at rate μ per server, offered load a = λ/μ erlangs and server
utilisation ρ = a/c. The queue is stable only when a < c.

Erlang B is computed in log space from the Poisson distribution,
B(c, a) = P[X = c] / P[X ≤ c] with X ~ Poisson(a), so large ``c`` neither overflows nor
underflows (Jagerman 1974, Some properties of the Erlang loss function, BSTJ 53(3)).
Erlang C follows from B: C = c·B / (c − a·(1 − B)).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaincc, gammaln

from planner.errors import ScenarioError

# The percentile a latency target refers to (p95), as a tail probability.
DEFAULT_TAIL_PROBABILITY = 0.05
MAX_DOUBLINGS = 60


def erlang_b(servers, offered_load_erlangs):
    """Blocking probability of the M/M/c/c loss system, B(c, a), in [0, 1]."""
    c = np.asarray(servers, dtype=float)
    a = np.asarray(offered_load_erlangs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # log P[X = c] for X ~ Poisson(a); a = 0 gives log 0 = -inf, hence B = 0.
        log_pmf = np.where(a > 0, c * np.log(np.where(a > 0, a, 1.0)) - a - gammaln(c + 1.0),
                           -np.inf)
        # P[X ≤ c] = Q(c + 1, a), the regularised upper incomplete gamma function.
        cdf = gammaincc(c + 1.0, a)
        b = np.exp(log_pmf - np.log(cdf))
    # Where P[X ≤ c] underflows (a far above c) every server is busy: B → 1 − c/a.
    b = np.where(cdf > 0, b, 1.0 - c / np.maximum(a, c))
    return np.clip(b, 0.0, 1.0)


def erlang_c(servers, offered_load_erlangs):
    """Probability that an arrival waits in an M/M/c queue, C(c, a); 1 where a ≥ c (unstable).

    C(c, a) = c·B(c, a) / (c − a·(1 − B(c, a))) (Kleinrock 1975, eq. 3.40 rewritten in
    terms of Erlang B; Gross & Harris 1998, eq. 2.36).
    """
    c = np.asarray(servers, dtype=float)
    a = np.asarray(offered_load_erlangs, dtype=float)
    b = erlang_b(c, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        pw = c * b / (c - a * (1.0 - b))
    return np.where(a < c, np.clip(pw, 0.0, 1.0), 1.0)


def _mmc(servers, arrival_rate_per_s, service_rate_per_s):
    """Servers, arrival and service rates as arrays, the offered load a = λ/μ and Erlang C."""
    c = np.asarray(servers, dtype=float)
    lam = np.asarray(arrival_rate_per_s, dtype=float)
    mu = np.asarray(service_rate_per_s, dtype=float)
    a = lam / mu
    return c, lam, mu, a, erlang_c(c, a)


def mean_wait_s(servers, arrival_rate_per_s, service_rate_per_s, variability_factor=1.0):
    """Mean time in queue, W_q = C / (cμ − λ) (Gross & Harris 1998, eq. 2.37); inf if unstable.

    ``variability_factor`` scales the wait for non-exponential service: (C_a² + C_s²)/2 in the
    Allen–Cunneen approximation for G/G/c (Allen 1990, Probability, Statistics and Queueing
    Theory, eq. 6.151; Whitt 1993). 1 is M/M/c; 0.5 is Poisson arrivals, deterministic service.
    """
    return waits_s(servers, arrival_rate_per_s, service_rate_per_s,
                   variability_factor=variability_factor)["mean_s"]


def wait_quantile_s(servers, arrival_rate_per_s, service_rate_per_s,
                    tail_probability=DEFAULT_TAIL_PROBABILITY, variability_factor=1.0):
    """The wait exceeded by a share ``tail_probability`` of arrivals (p95 for 0.05).

    In M/M/c, P(W > t) = C·exp(−(cμ − λ)·t) (Gross & Harris 1998, eq. 2.42), so the quantile
    is ln(C / p) / (cμ − λ) where C > p, else 0. The Allen–Cunneen ``variability_factor``
    stretches the exponential tail by the same factor as the mean. inf where unstable.
    """
    return waits_s(servers, arrival_rate_per_s, service_rate_per_s, tail_probability,
                   variability_factor)["quantile_s"]


def waits_s(servers, arrival_rate_per_s, service_rate_per_s,
            tail_probability=DEFAULT_TAIL_PROBABILITY, variability_factor=1.0) -> dict:
    """Erlang C, the mean wait and the wait quantile of ``mean_wait_s`` and
    ``wait_quantile_s`` from one Erlang C evaluation (the costly part: an incomplete gamma
    function per element), as ``wait_probability``, ``mean_s`` and ``quantile_s``."""
    c, lam, mu, a, pw = _mmc(servers, arrival_rate_per_s, service_rate_per_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        spare = c * mu - lam
        mean = pw / spare * variability_factor
        t = np.log(pw / tail_probability) / spare * variability_factor
    t = np.where(pw > tail_probability, t, 0.0)
    stable = a < c
    return {"wait_probability": pw, "mean_s": np.where(stable, mean, np.inf),
            "quantile_s": np.where(stable, t, np.inf)}


def wait_exceedance_probability(servers, arrival_rate_per_s, service_rate_per_s, wait_s,
                                variability_factor=1.0):
    """P(W > t) = C·exp(−(cμ − λ)·t / k) for M/M/c (k = 1) or Allen–Cunneen (k ≠ 1)."""
    c, lam, mu, a, pw = _mmc(servers, arrival_rate_per_s, service_rate_per_s)
    with np.errstate(over="ignore", invalid="ignore"):
        p = pw * np.exp(-(c * mu - lam) * np.asarray(wait_s, dtype=float) / variability_factor)
    return np.where(a < c, np.clip(p, 0.0, 1.0), 1.0)


def _check_traffic(arrival_rate_per_s) -> np.ndarray:
    lam = np.asarray(arrival_rate_per_s, dtype=float)
    if np.any(~np.isfinite(lam)) or np.any(lam <= 0):
        raise ScenarioError("traffic: the request rate must be a finite number above 0 "
                            "requests/s (omit the traffic fields to get per-replica figures only)")
    return lam


def min_units_for_wait(arrival_rate_per_s, service_rate_per_s, servers_per_unit,
                       wait_budget_s, *, max_utilisation=1.0, pooled=True,
                       tail_probability=DEFAULT_TAIL_PROBABILITY, variability_factor=1.0,
                       min_units=1.0):
    """Fewest units (replicas of ``servers_per_unit`` servers each) that keep the utilisation
    at or below ``max_utilisation`` and the ``1 − tail_probability`` quantile of the wait
    within ``wait_budget_s`` (inf: no wait target). NaN where the budget is negative.

    ``pooled``: one queue feeds every unit (M/M/(n·s)); otherwise each unit has its own queue
    and a 1/n share of the traffic (n separate M/M/s queues, as for devices in users' hands).
    The wait falls as units are added (Erlang C decreases in c: Smith & Whitt 1981), so the
    smallest feasible count is found by doubling then bisection, vectorised over all rows.
    """
    lam = _check_traffic(arrival_rate_per_s)
    mu = np.asarray(service_rate_per_s, dtype=float)
    s = np.asarray(servers_per_unit, dtype=float)
    budget = np.asarray(wait_budget_s, dtype=float)
    pooled = np.asarray(pooled, dtype=bool)
    shape = np.broadcast_shapes(lam.shape, mu.shape, s.shape, budget.shape, pooled.shape,
                                np.shape(min_units))
    lam, mu, s, budget, pooled, floor_units = (
        np.broadcast_to(x, shape).ravel() for x in (lam, mu, s, budget, pooled,
                                                     np.asarray(min_units, dtype=float)))
    valid = np.isfinite(mu) & (mu > 0) & np.isfinite(s) & (s >= 1) & ~(budget < 0)

    def ok(n, i):
        """Whether ``n`` units meet both conditions, for the rows ``i``."""
        servers = np.where(pooled[i], n * s[i], s[i])
        rate = np.where(pooled[i], lam[i], lam[i] / n)
        util = rate / (servers * mu[i])
        t = wait_quantile_s(servers, rate, mu[i], tail_probability, variability_factor)
        return (util <= max_utilisation * (1 + 1e-12)) & (util < 1.0) & (
            ~np.isfinite(budget[i]) | (t <= budget[i]))

    every = np.arange(lam.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.ceil(lam / (np.where(valid, mu, 1.0) * s * max_utilisation) * (1 - 1e-12))
    lo = np.maximum(np.where(valid & np.isfinite(lo), lo, 1.0), np.maximum(floor_units, 1.0))
    units = lo.copy()
    i = every[valid & ~ok(lo, every)]  # rows whose headroom count is not yet enough
    lo_fail = lo[i]
    hi = lo_fail * 2.0
    found = np.zeros(i.size, dtype=bool)
    for _ in range(MAX_DOUBLINGS):  # doubling: an upper bound for every open row
        found = ok(hi, i)
        if found.all():
            break
        lo_fail = np.where(found, lo_fail, hi)
        hi = np.where(found, hi, hi * 2.0)
    while i.size:  # bisection on (lo_fail, hi]: lo_fail fails, hi succeeds
        gap = hi - lo_fail > 1.0
        if not gap.any():
            break
        mid = np.where(gap, np.floor((hi + lo_fail) / 2.0), hi)
        mid_ok = ok(mid, i)
        hi = np.where(gap & mid_ok, mid, hi)
        lo_fail = np.where(gap & ~mid_ok, mid, lo_fail)
    units[i] = np.where(found, hi, np.nan)
    return np.where(valid, units, np.nan).reshape(shape)
