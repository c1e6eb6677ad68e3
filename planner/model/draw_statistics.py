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


# The bits of a quiet NaN with its sign bit clear: as an integer key, above every number.
NAN_BITS = np.float64(np.nan).view(np.int64) & np.int64(0x7FFF_FFFF_FFFF_FFFF)
# OpenBLAS runs a product of m·n·k at most this on the calling thread alone (its
# GEMM_MULTITHREAD_THRESHOLD 4 × 65,536): the rank sums are taken in blocks of draws that
# small, so no BLAS thread is woken beside the Monte Carlo's own threads.
BLAS_ONE_THREAD_MNK = 4 * 65_536


def _keys(lanes: np.ndarray, partial: np.ndarray) -> np.ndarray:
    """``lanes`` (float64, one contiguous lane per option, changed in place) as
    order-preserving 64-bit integers (``sorted_order``); a missing or infinite draw as NaN,
    above every number. ``partial``: the lanes with such draws."""
    key = lanes.view(np.int64)
    if partial.size:
        sub = key[partial]
        sub[~np.isfinite(sub.view(np.float64))] = NAN_BITS
        key[partial] = sub
    if key.size and key.min() < 0:  # negatives (−0.0 too): their order reversed
        key ^= (key >> 63) & np.int64(0x7FFF_FFFF_FFFF_FFFF)
    return key


def sorted_order(lanes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The argsort of each row of ``lanes`` (float64, NaN last) by one integer sort, about
    1.5× faster than ``np.argsort``: each value's bits as an order-preserving 64-bit integer
    whose lowest b bits are replaced by the draw's index (b = 14 for 10,000 draws). Also
    each sorted value's remaining bits, equal for tied values. Values within a relative
    2^(b − 52) of each other (2^−38 for 10,000 draws) count as tied; the values themselves
    are read back exactly by the order."""
    lanes = np.array(lanes, dtype=np.float64, order="C")
    partial = np.flatnonzero(~np.isfinite(lanes).all(axis=-1))
    key = _sort_keys(_keys(lanes, partial))
    bits = _index_bits(lanes.shape[-1])
    return key & np.int64((1 << bits) - 1), key >> bits


def _index_bits(n: int) -> int:
    return max(int(n - 1).bit_length(), 1)


def _sort_keys(key: np.ndarray) -> np.ndarray:
    """``_keys``' lanes with their lowest bits replaced by the draw's index, sorted in place."""
    n = key.shape[-1]
    low = np.int64((1 << _index_bits(n)) - 1)
    key &= ~low
    key |= np.arange(n, dtype=np.int64)
    key.sort(axis=-1)
    return key


def _mid_ranks(prefix: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each sorted position (rows × n) with ties sharing their mean rank (the first
    ``m`` of each row are its finite draws; the rest keep their position), and each row's
    sum of the squared ranks of its finite draws (exact: whole or half numbers, by group)."""
    rows, n = prefix.shape
    start = np.ones((rows, n), dtype=bool)  # a position that starts its group of ties
    start[:, 1:] = (prefix[:, 1:] != prefix[:, :-1]) | (np.arange(1, n) >= m[:, None])
    first = np.flatnonzero(start.ravel())
    size = np.diff(first, append=rows * n)
    row, at = np.divmod(first, n)  # the group's row and first rank
    mid = at + (size - 1) / 2.0
    kept = at < m[row]  # (the missing draws: groups of one past the finite ones)
    squares = np.bincount(row[kept], weights=(size * mid * mid)[kept], minlength=rows)
    return np.repeat(mid, size).reshape(rows, n), squares


def _rank_sums(ranks_y: np.ndarray, factor_ranks: np.ndarray) -> np.ndarray:
    """Σ over draws of each factor's rank × each option's rank (assumptions × options), by
    BLAS in blocks of draws on this thread (``BLAS_ONE_THREAD_MNK``). Exact: the ranks are
    whole or half numbers and every partial sum stays below 2^53, so any order of summing
    gives the same figure."""
    rows, n = ranks_y.shape
    n_a = factor_ranks.shape[1]
    block = max(BLAS_ONE_THREAD_MNK // max(rows * n_a, 1), 1)
    s = np.zeros((rows, n_a))
    for i in range(0, n, block):
        s += ranks_y[:, i:i + block] @ factor_ranks[i:i + block]
    return s.T


def _partial_rank_sums(finite: np.ndarray, ranks_y: np.ndarray, factor_ranks: np.ndarray,
                       factor_order: np.ndarray) -> np.ndarray:
    """``_rank_sums`` over each option's finite draws alone (options × draws; ``finite``
    which draws are), each factor ranked among those draws (assumptions × options).

    A finite draw's rank among the finite ones is its rank among all draws less the missing
    draws ranked below it, so the sum is Σ rank·rank_y over the finite draws less, for each
    missing draw, the sum of rank_y over the draws ranked above it in the factor: the whole
    sum less a running sum in the factor's order. Exact, as ``_rank_sums``."""
    ry = np.where(finite, ranks_y, 0.0)  # a missing draw adds nothing
    total = _rank_sums(ry, factor_ranks)
    twice = (2.0 * ry).astype(np.int64)  # whole numbers: integer running sums are quicker
    running = np.cumsum(np.take(twice, np.ascontiguousarray(factor_order.T), axis=1), axis=-1)
    at = factor_ranks.astype(np.intp)  # (running[o, k, r]: over draws of rank ≤ r in k)
    k = np.arange(factor_ranks.shape[1])
    for j in range(len(ry)):
        missing = at[~finite[j]]  # (missing draws, k): their ranks in each factor
        total[:, j] -= (len(missing) * twice[j].sum() - running[j][k, missing].sum(axis=0)) / 2.0
    return total


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
    values = np.asarray(values, dtype=np.float64)
    n, n_opt = values.shape
    n_a = factor_ranks.shape[1]
    pct = np.full((len(PERCENTILES), n_opt), np.nan)
    rho = np.full((n_a, n_opt), np.nan)
    lanes = np.array(values.T, order="C")  # each option's draws as one contiguous lane
    m = np.full(n_opt, n)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        total = lanes.sum(axis=1)
        # a lane with a missing or infinite draw has a sum that is not finite: only those
        # lanes are searched for them
        odd = np.flatnonzero(~np.isfinite(total))
        finite_odd = np.isfinite(lanes[odd])
        m[odd] = np.count_nonzero(finite_odd, axis=1)
        total[odd] = np.where(finite_odd, lanes[odd], 0.0).sum(axis=1)
        mean = np.where(m > 0, total / m, np.nan)
    partial = np.flatnonzero((m < n) & (m > 0))
    cols = np.flatnonzero(m > 0)
    if not cols.size:
        return pct, mean, rho
    if cols.size < n_opt:  # (an option with no finite draw is not sorted)
        lanes, partial = lanes[cols], np.searchsorted(cols, partial)
    mc = m[cols]
    # the lanes sorted as integer keys; the order statistics used are read from ``values``
    bits = _index_bits(n)
    low = np.int64((1 << bits) - 1)
    key = _sort_keys(_keys(lanes, partial))
    mf = mc.astype(float)
    # the rank of each sorted position (the finite ones first: 0…m−1), ties at their mean:
    # neighbours whose keys agree above the index bits
    mu = (mf - 1.0) / 2.0
    var_x = var_y = (mf * mf - 1.0) / 12.0
    tie = (key[:, 1:] ^ key[:, :-1]).view(np.uint64) <= np.uint64(low)
    if partial.size:  # (the missing draws, all NaN, tie with each other)
        tie[partial] &= np.arange(1, n) < mc[partial, None]
    tied = np.flatnonzero(tie.any(axis=1))
    prefix = (key if tied.size == len(key) else key[tied]) >> bits
    order = np.bitwise_and(key, low, out=key)  # each sorted position's draw
    at = np.arange(cols.size)
    for i, q in enumerate(PERCENTILES):
        pos = q / 100.0 * (mc - 1)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, mc - 1)
        a, b = values[order[at, lo], cols], values[order[at, hi], cols]
        pct[i, cols] = a + (b - a) * (pos - lo)
    rank_at = np.broadcast_to(np.arange(n, dtype=float), order.shape)
    if tied.size:
        mid, squares = _mid_ranks(prefix, mc[tied])
        if tied.size == len(key):
            rank_at = mid
        else:
            rank_at = rank_at.copy()
            rank_at[tied] = mid
        var_y = var_y.copy()
        var_y[tied] = squares / mf[tied] - mu[tied] ** 2
    ry = np.empty(order.shape)  # each draw's rank in its option's result
    order += (at * n)[:, None]
    ry.ravel()[order.ravel()] = rank_at.ravel()
    s = np.full((n_a, cols.size), np.nan)
    whole = np.flatnonzero(mc == n)
    if whole.size:
        s[:, whole] = _rank_sums(ry if whole.size == cols.size else ry[whole], factor_ranks)
    part = partial[mc[partial] > 2]  # (m ≤ 2: no correlation, NaN)
    if part.size:
        s[:, part] = _partial_rank_sums(
            finite_odd[np.searchsorted(odd, cols[part])], ry[part], factor_ranks,
            rank_order(factor_ranks) if factor_order is None else factor_order)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (s - mf * mu * mu) / (mf * np.sqrt(var_x * var_y))
        rho[:, cols] = np.where((mc > 2) & (var_y > 0), r, np.nan)
    return pct, mean, rho


def spearman_rho(factor_ranks: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of each factor (draws × assumptions, ranked 0…n−1) with each option's
    result (draws × options): (assumptions × options); ``draw_statistics``' third figure."""
    return draw_statistics(y, factor_ranks)[2]
