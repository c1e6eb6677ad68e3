"""The Monte Carlo's tables (``planner.model.uncertainty``): each phase's percentiles, mean
and share of draws meeting the target per option and metric, and the one-at-a-time
sensitivity ranked by swing with Spearman's rho beside it (columns: ``planner.model.report``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from planner.model.draw_statistics import draw_statistics
from planner.model.draw_threads import in_parallel, workers
from planner.model.scenario import UNCERTAIN_NAMES

Ranges = dict[str, tuple[float, float, float]]


def statistics(mc: dict[str, np.ndarray], metrics, factor_ranks: np.ndarray,
               factor_order: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``draw_statistics`` of each metric's draws (draws × options), on the threads in blocks
    of options, as many per metric as there are threads, so they share the work evenly (each
    option's figures are its own: the same in a block as in the whole)."""
    per_metric = workers()
    tasks = []
    for metric in metrics:
        n_opt = mc[metric].shape[1]
        ends = np.linspace(0, n_opt, min(per_metric, max(n_opt, 1)) + 1).round().astype(int)
        tasks += [(metric, a, b) for a, b in itertools.pairwise(ends)]
    done = in_parallel(lambda t: draw_statistics(mc[t[0]][:, t[1]:t[2]], factor_ranks,
                                                 factor_order), tasks)
    blocks: dict[str, list] = {metric: [] for metric in metrics}
    for (metric, _, _), figures in zip(tasks, done, strict=True):
        blocks[metric].append(figures)
    return [tuple(np.concatenate([b[i] for b in blocks[metric]], axis=-1) for i in range(3))
            for metric in metrics]


def section_tables(phase: str, ids: list[str], baseline: pd.DataFrame, metrics,
                   mc: dict[str, np.ndarray], oat: dict[str, np.ndarray],
                   factor_ranks: np.ndarray, factor_order: np.ndarray, ranges: Ranges,
                   sources: dict[str, str], names=UNCERTAIN_NAMES) -> tuple[dict, dict]:
    """The summary and sensitivity columns of one phase (metric by metric, option by
    option; the sensitivity's assumptions in ranking order), as arrays. ``names``: the
    phase's assumptions, in the order of ``factor_ranks``' columns and ``oat``'s cases."""
    names = list(names)
    n_opt, n_a, n_m = len(ids), len(names), len(metrics)
    stats = statistics(mc, metrics, factor_ranks, factor_order)
    pct = np.concatenate([p for p, _, _ in stats], axis=1)  # (3, metrics · options)
    base = np.concatenate([baseline[metric].to_numpy(dtype=float) for metric in metrics])
    summary = {
        "phase": np.full(n_m * n_opt, phase, dtype=object),
        "hardware_id": np.tile(np.asarray(ids, dtype=object), n_m),
        "metric": np.repeat(np.asarray(metrics, dtype=object), n_opt),
        "baseline": base, "p10": pct[0], "p50": pct[1], "p90": pct[2],
        "mean": np.concatenate([mean for _, mean, _ in stats]),
        "draws": np.full(n_m * n_opt, mc[metrics[0]].shape[0]),
        "draws_meeting_target_share": np.tile(mc["meets_target"].mean(axis=0), n_m),
        "note": np.where(np.isnan(base), "no baseline figure: see the plan's basis and reason "
                         "columns", "").astype(object),
    }
    # (metric, option, assumption) in that order: (metrics · options, assumptions) arrays
    lo = np.concatenate([oat[metric][0::2].T for metric in metrics])
    hi = np.concatenate([oat[metric][1::2].T for metric in metrics])
    rho = np.concatenate([r.T for _, _, r in stats])
    rho[:, [ranges[n][2] <= ranges[n][0] for n in names]] = np.nan  # a factor with no range
    with np.errstate(all="ignore"):
        swing = np.abs(hi - lo) / np.abs(base)[:, None]
    # An assumption whose low or high end breaks the target moves the result most of all.
    breaks = np.isfinite(base)[:, None] & (np.isnan(lo) | np.isnan(hi))
    key = np.where(breaks, np.inf, np.nan_to_num(swing, nan=-1.0))
    by_rank = np.argsort(-key, axis=1, kind="stable")  # largest first; ties: list order
    note = np.where(breaks, np.where(np.isnan(lo), "the target is missed at the low factor",
                                     "the target is missed at the high factor"), "")
    # rows by option then metric (a stable sort of their names), assumptions by rank
    row = np.lexsort((np.unique(summary["metric"], return_inverse=True)[1],
                      np.unique(summary["hardware_id"], return_inverse=True)[1]))
    by_rank = by_rank[row]
    take = lambda a: np.take_along_axis(a[row], by_rank, axis=1).ravel()  # noqa: E731
    of = lambda values: np.asarray(values, dtype=object)[by_rank].ravel()  # noqa: E731
    rows = n_m * n_opt
    sens = {
        "phase": np.full(rows * n_a, phase, dtype=object),
        "hardware_id": np.repeat(summary["hardware_id"][row], n_a),
        "metric": np.repeat(summary["metric"][row], n_a),
        "assumption": of(names),
        "rank": np.tile(np.arange(1.0, n_a + 1.0), rows),
        "low_factor": np.array([ranges[n][0] for n in names])[by_rank].ravel(),
        "high_factor": np.array([ranges[n][2] for n in names])[by_rank].ravel(),
        "result_at_low": take(lo), "result_at_high": take(hi),
        "swing_fraction": take(swing), "spearman_rho": take(rho),
        "source": of([sources[n] for n in names]),
        "note": take(note).astype(object),
    }
    return summary, sens




def frame(blocks: list[dict[str, np.ndarray]], columns: list[str]) -> pd.DataFrame:
    """One DataFrame of the blocks' columns, end to end."""
    if not blocks:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame({c: np.concatenate([b[c] for b in blocks]) for c in columns})
