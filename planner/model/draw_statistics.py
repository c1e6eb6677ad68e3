"""Statistics of Monte Carlo draws (draws × options): percentiles and mean of each option's
finite draws and Spearman's rank correlation of each factor with them, from one sort of each
option's draws (``planner.model.uncertainty`` uses them).

Percentiles interpolate linearly between order statistics, as ``np.nanpercentile`` does.
Spearman's rho is the Pearson correlation of ranks (Spearman 1904): the ranks of m draws
are 0…m−1, so their mean (m−1)/2 and, without ties, their variance (m²−1)/12 are known; tied
results share their mean rank (the mean stays (m−1)/2, the variance is then summed). The
factors are continuous: their ties (none) are broken by draw order.
"""

from __future__ import annotations

import numpy as np

PERCENTILES = (10.0, 50.0, 90.0)


def ranks(a: np.ndarray) -> np.ndarray:
    """Ranks along the first axis (ties broken by order; continuous draws have none)."""
    r = np.empty_like(a, dtype=float)
    np.put_along_axis(r, np.argsort(a, axis=0),
                      np.arange(a.shape[0], dtype=float).reshape(-1, *(1,) * (a.ndim - 1)),
                      axis=0)
    return r


def rank_order(factor_ranks: np.ndarray) -> np.ndarray:
    """order[r, k]: the draw of rank r in factor k (the inverse of each column of ranks)."""
    n, n_a = factor_ranks.shape
    order = np.empty((n, n_a), dtype=np.intp)
    np.put_along_axis(order, factor_ranks.astype(np.intp), np.arange(n)[:, None], axis=0)
    return order


def sorted_order(lanes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The argsort of each row of ``lanes`` (float64, NaN last) by one integer sort, about
    1.5× faster than ``np.argsort``: each value's bits as an order-preserving 64-bit integer
    whose lowest b bits are replaced by the draw's index (b = 14 for 10,000 draws). Also
    each sorted value's remaining bits, equal for tied values. Values within a relative
    2^(b − 52) of each other (2^−38 for 10,000 draws) count as tied; the values themselves
    are read back exactly by the order."""
    n = lanes.shape[-1]
    bits = max(int(n - 1).bit_length(), 1)
    low = np.int64((1 << bits) - 1)
    key = np.ascontiguousarray(lanes, dtype=np.float64).view(np.int64).copy()
    key ^= (key >> 63) & np.int64(0x7FFF_FFFF_FFFF_FFFF)  # negatives: their order reversed
    key &= ~low
    key |= np.arange(n, dtype=np.int64)
    key.sort(axis=-1)
    return (key & low).astype(np.intp), key >> bits


def _mid_ranks(prefix: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Rank of each sorted position (rows × n) with ties sharing their mean rank (the first
    ``m`` of each row are its finite draws; the rest keep their position)."""
    rows, n = prefix.shape
    start = np.ones((rows, n), dtype=bool)  # a position that starts its group of ties
    start[:, 1:] = (prefix[:, 1:] != prefix[:, :-1]) | (np.arange(1, n) >= m[:, None])
    first = np.flatnonzero(start.ravel())
    size = np.diff(first, append=rows * n)
    at = first % n  # the group's first rank
    return np.repeat(at + (size - 1) / 2.0, size).reshape(rows, n)


def draw_statistics(values: np.ndarray, factor_ranks: np.ndarray,
                    factor_order: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P10/P50/P90 (3 × options) and mean (options) of each option's finite draws, and
    Spearman's rho of each factor (draws × assumptions, ranked 0…n−1; ``factor_order`` its
    ``rank_order`` where computed) with each option's result (assumptions × options), from
    one sort of each option's draws (``sorted_order``; missing draws sort last). A column
    with no finite draw is not sorted (NaN); rho needs three finite draws.

    Tied results (a fleet's device count) share their mean rank, as ``scipy.stats.spearmanr``
    ranks them. With some draws missing, an option's draws are ranked over the finite ones:
    a factor's ranks within them are a running count of those draws in the factor's order."""
    n, n_opt = values.shape
    n_a = factor_ranks.shape[1]
    finite = np.isfinite(values)
    m = finite.sum(axis=0)
    pct = np.full((len(PERCENTILES), n_opt), np.nan)
    rho = np.full((n_a, n_opt), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(m > 0, np.where(finite, values, 0.0).sum(axis=0) / m, np.nan)
    cols = np.flatnonzero(m > 0)
    if not cols.size:
        return pct, mean, rho
    # each column sorted as one contiguous lane; only the order statistics used are read
    lanes = np.ascontiguousarray(np.where(finite, values, np.nan).T[cols])
    order, prefix = sorted_order(lanes)
    mc = m[cols]
    mf = mc.astype(float)
    at = np.arange(cols.size)
    for i, q in enumerate(PERCENTILES):
        pos = q / 100.0 * (mc - 1)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, mc - 1)
        a, b = lanes[at, order[at, lo]], lanes[at, order[at, hi]]
        pct[i, cols] = a + (b - a) * (pos - lo)
    # the rank of each sorted position (the finite ones first: 0…m−1), ties at their mean
    mu = (mf - 1.0) / 2.0
    var_x = var_y = (mf * mf - 1.0) / 12.0
    tie = (prefix[:, 1:] == prefix[:, :-1]) & (np.arange(1, n) < mc[:, None])
    tied = np.flatnonzero(tie.any(axis=1))
    rank_at = np.broadcast_to(np.arange(n, dtype=float), order.shape)
    if tied.size:
        rank_at = rank_at.copy()
        rank_at[tied] = _mid_ranks(prefix[tied], mc[tied])
        finite_part = np.arange(n) < mc[tied, None]
        var_y = var_y.copy()
        var_y[tied] = (np.where(finite_part, rank_at[tied], 0.0) ** 2).sum(axis=1) / mf[tied] \
            - mu[tied] ** 2
    ry = np.empty(order.size)  # each draw's rank in its option's result
    ry[(order + (at * n)[:, None]).ravel()] = rank_at.ravel()
    ry = ry.reshape(order.shape)
    s = np.full((n_a, cols.size), np.nan)
    whole = np.flatnonzero(mc == n)
    if whole.size:  # einsum, not BLAS: a threaded BLAS takes far longer to start its threads
        s[:, whole] = np.einsum("ki,ji->kj", np.ascontiguousarray(factor_ranks.T), ry[whole])
    part = np.flatnonzero((mc < n) & (mc > 2))  # (m ≤ 2: no correlation, NaN)
    if part.size:
        fo = rank_order(factor_ranks) if factor_order is None else factor_order
        mask = finite[:, cols[part]].T[:, fo]  # (options, draws in each factor's order, k)
        rx = np.cumsum(mask, axis=1, dtype=np.int32)  # 1 + rank within the finite draws
        s[:, part] = (mask * (rx - 1.0) * ry[part][:, fo]).sum(axis=1).T
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (s - mf * mu * mu) / (mf * np.sqrt(var_x * var_y))
        rho[:, cols] = np.where((mc > 2) & (var_y > 0), r, np.nan)
    return pct, mean, rho


def spearman_rho(factor_ranks: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of each factor (draws × assumptions, ranked 0…n−1) with each option's
    result (draws × options): (assumptions × options); ``draw_statistics``' third figure."""
    return draw_statistics(y, factor_ranks)[2]
