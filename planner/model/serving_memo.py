"""The serving table kept per site-free grid, so a site or price change (PUE, grid, water,
electricity, cloud region) recomputes only the footprint of the chosen rows.

``serving.evaluate_serving`` evaluates every hardware × batch × tensor-parallel row
(``inference.replica_physics``: layout, step times, power, joules; none reads where the work
runs), sizes the fleets (``serving.size_fleet``), keeps each option's best row
(``serving.choose_rows``) and adds its year of service. Only the per-request footprint
(``inference.request_footprint``) and the year read the site. So, per site-free digest of the
grid (``memo.site_free_digest``), traffic, inference section and option keys, this module
keeps the physics of every row, their reasons and the chosen rows; at a new site it
recomputes the per-request footprint of every row and, if no row's reason changed (a
non-finite footprint refuses a row, which could change the choice), gives the kept chosen
rows with this site's footprint columns, then the year from the kept site-free part of it
(``service_year.year_physics``: requests, device-hours, mean power, host share) and this site's
rates. Otherwise, or with the memos off (``memo.disabled()``), everything is computed afresh.
``tests/model/test_serving_memo.py`` checks the kept path against a fresh one.

Pure: no streamlit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from planner.model import memo
from planner.model.frames import column_values, frame_from_arrays, owned
from planner.model.inference import inference_frame, replica_physics, request_footprint


def _positional(frame: pd.DataFrame) -> bool:
    """An index 0..n-1, so a row's label is its position (``choose_batch`` sorts by label)."""
    index = frame.index
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def _rechosen(kept: tuple, grid: pd.DataFrame) -> pd.DataFrame | None:
    """The kept chosen rows with ``grid``'s site columns and per-request footprint, or None
    where a row's reason differs from the kept one."""
    physics, kept_reason, rows, columns, plan = kept
    footprint, reason = request_footprint(grid, physics)
    if not np.array_equal(reason, kept_reason):
        return None
    feasible = (reason == "")[rows]
    # each column of the chosen rows in its place: kept, the grid's at these rows, or new
    # (kept arrays and the grid's copied: the table shares nothing with what is kept)
    arrays = [owned(value) if kind == STATIC else
              owned(column_values(grid, value).take(rows)) if kind == SITE else
              np.where(feasible, footprint[value][rows], np.nan)
              for kind, value in plan]
    return frame_from_arrays(arrays, columns, pd.RangeIndex(len(rows)))


STATIC, SITE, FOOTPRINT = 0, 1, 2


def _kept(physics: dict, reason: np.ndarray, rows: np.ndarray, grid: pd.DataFrame,
          chosen: pd.DataFrame, footprint: list[str]) -> tuple:
    """What ``_rechosen`` needs: per column of the chosen rows, its kept values (a column a
    site does not change), the position of the grid's site column it is, or the name of
    the per-request footprint figure it is. Where that cannot be said (a duplicated name, a
    name both a site column and a footprint figure), nothing is kept (None)."""
    names = [str(c) for c in grid.columns]
    site = {c: i for i, c in enumerate(names) if memo.is_footprint(c)}
    chosen_names = [str(c) for c in chosen.columns]
    if (len(set(names)) != len(names) or len(set(chosen_names)) != len(chosen_names)
            or set(site) & set(footprint) or not chosen.index.equals(pd.RangeIndex(len(rows)))):
        return physics, reason, rows, None, None
    plan = tuple((FOOTPRINT, c) if c in footprint else (SITE, site[c]) if c in site
                 else (STATIC, column_values(chosen, i)) for i, c in enumerate(chosen_names))
    return physics, reason, rows, chosen.columns, plan


def chosen_rows(grid: pd.DataFrame, spec, traffic, keys: tuple[str, ...], *,
                fresh: Callable, sizing: Callable, choose: Callable) -> pd.DataFrame:
    """``fresh(grid, spec, traffic, keys)`` (``serving.chosen_rows``: each option's chosen
    row, evaluated and sized), kept per site-free grid (see above). ``sizing`` and ``choose``
    are ``serving.size_fleet`` and ``serving.choose_rows``: passed in, so this module imports
    no serving module (``serving`` imports it)."""
    return _chosen(grid, spec, traffic, keys, fresh, sizing, choose)[0]


def chosen_rows_and_physics(grid: pd.DataFrame, spec, traffic, keys: tuple[str, ...], *,
                            fresh: Callable, sizing: Callable, choose: Callable,
                            physics: Callable,
                            digest: bytes | None = None) -> tuple[pd.DataFrame, Callable | None]:
    """``chosen_rows`` and, where those rows are the kept ones (their site-free columns the
    kept rows'), a function of the rows' year inputs ``c`` giving ``physics(rows, c)``
    (``serving.annual_physics``: neither reads the site) kept under the same key; else None
    (computed afresh). ``digest``: the grid's ``memo.site_free_digest`` where known
    (``memo.site_grid_and_digest``)."""
    chosen, key = _chosen(grid, spec, traffic, keys, fresh, sizing, choose, digest)
    if key is None:
        return chosen, None
    return chosen, lambda c: memo.YEARS.get_or_compute(key, lambda: physics(chosen, c))


def _chosen(grid, spec, traffic, keys, fresh, sizing, choose, digest=None):
    """(the chosen rows, their memo key), the key None where they were computed afresh."""
    if not memo.enabled() or not _positional(grid):
        return fresh(grid, spec, traffic, keys), None
    if digest is None:
        digest = memo.site_free_digest(grid)
    key = (digest, repr(traffic), spec.model_dump_json(), tuple(keys))
    made = None

    def compute() -> tuple:
        nonlocal made
        physics = replica_physics(grid)
        footprint, reason = request_footprint(grid, physics)
        perf = inference_frame(grid, physics, footprint, reason)
        sized = memo.size_fleet(perf, traffic, spec, sizing)
        rows = np.sort(choose(sized, keys))  # choose_batch's order (by label)
        made = sized.iloc[rows].reset_index(drop=True)
        return _kept(physics, reason, rows, grid, made, list(footprint))

    kept = memo.SERVING.get_or_compute(key, compute)
    chosen = made
    if chosen is None and kept[4] is not None:
        chosen = _rechosen(kept, grid)
    if chosen is None:  # a row's feasibility moved with the site: computed afresh
        return fresh(grid, spec, traffic, keys), None
    return chosen, key
