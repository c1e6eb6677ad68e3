"""Queueing: Erlang B and C and the waiting times of the M/M/c queue (with the Allen–Cunneen
factor for other service-time variability), all vectorised over numpy arrays.

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

# The percentile a latency target refers to (p95), as a tail probability.
DEFAULT_TAIL_PROBABILITY = 0.05


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
    return waits_s(servers, arrival_rate_per_s, service_rate_per_s, (),
                   variability_factor)["mean_s"]


def wait_quantile_s(servers, arrival_rate_per_s, service_rate_per_s,
                    tail_probability=DEFAULT_TAIL_PROBABILITY, variability_factor=1.0):
    """The wait exceeded by a share ``tail_probability`` of arrivals (p95 for 0.05).

    In M/M/c, P(W > t) = C·exp(−(cμ − λ)·t) (Gross & Harris 1998, eq. 2.42), so the quantile
    is ln(C / p) / (cμ − λ) where C > p, else 0. The Allen–Cunneen ``variability_factor``
    stretches the exponential tail by the same factor as the mean. inf where unstable.
    """
    return waits_s(servers, arrival_rate_per_s, service_rate_per_s, (tail_probability,),
                   variability_factor)["quantiles_s"][0]


def waits_s(servers, arrival_rate_per_s, service_rate_per_s,
            tail_probabilities=(DEFAULT_TAIL_PROBABILITY,), variability_factor=1.0) -> dict:
    """Erlang C, the mean wait and the wait at each of ``tail_probabilities`` (as
    ``mean_wait_s`` and ``wait_quantile_s``) from one Erlang C evaluation (the costly part:
    an incomplete gamma function per element), as ``wait_probability``, ``mean_s`` and
    ``quantiles_s`` (a tuple, one per tail probability)."""
    c, lam, mu, a, pw = _mmc(servers, arrival_rate_per_s, service_rate_per_s)
    stable = a < c
    with np.errstate(divide="ignore", invalid="ignore"):
        spare = c * mu - lam
        mean = np.where(stable, pw / spare * variability_factor, np.inf)
        quantiles = []
        for tail in tail_probabilities:
            t = np.log(pw / tail) / spare * variability_factor
            quantiles.append(np.where(stable, np.where(pw > tail, t, 0.0), np.inf))
    return {"wait_probability": pw, "mean_s": mean, "quantiles_s": tuple(quantiles)}


def erlang_c_bound(servers, offered_load_erlangs, half_log_2pi_servers=None):
    """An upper bound of C(c, a), cheap beside Erlang C itself (no incomplete gamma), where
    c ≥ a + 1; inf elsewhere. C = B / (1 − ρ(1 − B)) ≤ B / (1 − ρ); B = P[X = c] / P[X ≤ c]
    ≤ 2·P[X = c] for X ~ Poisson(a), whose median is below a + 1/3 (Choi 1994, Proc. AMS
    121(1)); ln P[X = c] ≤ c·ln ρ + c − a − ½·ln(2πc) by Stirling's lower bound of c!
    (Robbins 1955, Amer. Math. Monthly 62(1)). ``half_log_2pi_servers``: ½·ln(2πc) where
    already computed."""
    c = np.asarray(servers, dtype=float)
    a = np.asarray(offered_load_erlangs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rho = a / c
        half = (0.5 * np.log(2.0 * np.pi * c) if half_log_2pi_servers is None
                else half_log_2pi_servers)
        log_pmf = c * np.log(rho) + c - a - half
        bound = 2.0 * np.exp(log_pmf) / (1.0 - rho)
    return np.where(c >= a + 1.0, bound, np.inf)


def wait_quantiles_s(servers, arrival_rate_per_s, service_rate_per_s,
                     tail_probabilities=(DEFAULT_TAIL_PROBABILITY,), variability_factor=1.0):
    """``waits_s``'s quantiles alone, with Erlang C evaluated only where its bound
    (``erlang_c_bound``) does not already put it below every tail probability (there the
    wait quantiles are 0): the same figures, for a fraction of the cost where fleets are
    large."""
    c, lam, mu = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (
        servers, arrival_rate_per_s, service_rate_per_s)))
    limit = 0.5 * min(tail_probabilities)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # First a bound with no logarithm: with x = 1 − ρ, ln ρ + 1 − ρ ≤ −x²/2 and
        # ln(1/x) ≤ 1/x − 1, so c·x²/2 ≥ ln(4/limit) − 1 + 1/x (and c·x ≥ 1, i.e. c ≥ a + 1)
        # puts erlang_c_bound below the limit; the rest take erlang_c_bound itself.
        x = 1.0 - lam / (mu * c)
        need = ~((c * x * x >= 2.0 * (np.log(4.0 / limit) - 1.0 + 1.0 / x)) & (c * x >= 1.0))
        if need.any():
            few = np.asarray(servers, dtype=float)  # (per row, not per element: its log once)
            half = (np.broadcast_to(0.5 * np.log(2.0 * np.pi * few), c.shape)[need]
                    if 8 * few.size <= c.size else None)
            need[need] = ~(erlang_c_bound(c[need], lam[need] / mu[need], half) <= limit)
    out = [np.zeros(c.shape) for _ in tail_probabilities]
    if need.any():
        w = waits_s(c[need], lam[need], mu[need], tail_probabilities, variability_factor)
        for q, v in zip(out, w["quantiles_s"], strict=True):
            q[need] = v
    return tuple(out)


def wait_exceedance_probability(servers, arrival_rate_per_s, service_rate_per_s, wait_s,
                                variability_factor=1.0):
    """P(W > t) = C·exp(−(cμ − λ)·t / k) for M/M/c (k = 1) or Allen–Cunneen (k ≠ 1)."""
    c, lam, mu, a, pw = _mmc(servers, arrival_rate_per_s, service_rate_per_s)
    with np.errstate(over="ignore", invalid="ignore"):
        p = pw * np.exp(-(c * mu - lam) * np.asarray(wait_s, dtype=float) / variability_factor)
    return np.where(a < c, np.clip(p, 0.0, 1.0), 1.0)
