"""Memos of the site-independent phases of a plan, so a site or price change (PUE, grid,
region, discount) recomputes only the footprint (energy × PUE, carbon, water, cost).

The training layout search (``training_perf.predict``) and the serving fleet sizing
(``serving.size_fleet``) are pure functions of a planning grid's columns. Neither reads where
the work runs or what it costs, so each result is kept under a digest of every grid column
*except* those (``SITE_COLUMNS`` and the footprint results ``is_footprint`` names). A column
added to the grid later is in the key by default; only the excluded ones are assumed unread,
and ``tests/model/test_memo.py`` checks that changing them leaves both results unchanged.

Pure: no streamlit. The memos are per process, bounded (least recently used out), and
thread-safe (the dashboard plans in one thread per session). Cached arrays are copied out,
so a caller cannot change a kept result.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import pandas as pd

from planner.model.frames import column_values

# Grid columns that come from the site and the pricing, not from the work or the devices
# (``assumptions.attach_assumptions``, ``training_inputs.host_columns``'s boundary text).
SITE_COLUMNS = frozenset({
    "pue", "carbon_intensity_g_per_kwh", "market_carbon_intensity_g_per_kwh", "market_basis",
    "wue_l_per_kwh", "wue_basis", "water_offsite_l_per_kwh", "water_offsite_basis",
    "electricity_usd_per_kwh", "price_usd_per_device_hour", "price_basis", "cloud_discount",
    "pricing_mode", "service_life_years", "energy_boundary",
})
# Name endings of footprint results (per-request energy, carbon, water and cost figures).
FOOTPRINT_ENDINGS = ("_kwh", "_co2e_kg", "_usd", "_l", "_per_1k_requests", "_per_1m_tokens",
                     "energy_j_per_request", "energy_j_per_output_token")
MAX_ENTRIES = 64


@lru_cache(maxsize=4096)
def is_footprint(column: str) -> bool:
    """Whether a column holds a site-dependent figure: a site input or a footprint result.
    ``device_energy_j_*`` (the device's own joules, before host share and PUE) is not one."""
    if column in SITE_COLUMNS:
        return True
    if column.startswith("device_energy_j"):
        return False
    return any(column.endswith(e) for e in FOOTPRINT_ENDINGS)


def site_free_digest(frame: pd.DataFrame) -> bytes:
    """A digest of ``frame``'s shape, index ends, column names and dtypes, and the values of
    every column but the site-dependent ones: equal digests, equal site-independent inputs.
    Numbers are hashed as one float block, everything else as one pickle (which may differ
    for equal text held in distinct objects: a miss, never a wrong hit). The columns are read
    from the frame's blocks by position (no Series made per column)."""
    names = [str(c) for c in frame.columns.tolist()]
    dtypes = list(frame.dtypes)
    kept = [i for i, name in enumerate(names) if not is_footprint(name)]
    numeric = [i for i in kept if dtypes[i].kind in "biuf"]
    other = [i for i in kept if dtypes[i].kind not in "biuf"]
    h = hashlib.sha1(usedforsecurity=False)
    h.update(repr((frame.shape, list(frame.index[:1]), list(frame.index[-1:]),
                   [(names[i], str(dtypes[i])) for i in kept], numeric)).encode())
    block = np.empty((len(numeric), len(frame)))
    for row, i in enumerate(numeric):
        values = column_values(frame, i)
        block[row] = (values if isinstance(values, np.ndarray)
                      else pd.Series(values).to_numpy(dtype=float))
    h.update(block.tobytes())
    h.update(pickle.dumps([column_values(frame, i).tolist() for i in other], protocol=5))
    return h.digest()


def _copy(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple keeps its type
        return type(value)._make(_copy(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value


def _frozen(value: object) -> object:
    """A copy of ``value`` (as ``_copy``) whose arrays cannot be written (read-only)."""
    if isinstance(value, np.ndarray):
        out = value.copy()
        out.flags.writeable = False
        return out
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)._make(_frozen(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_frozen(v) for v in value)
    return value


class Memo:
    """A bounded, thread-safe map from a key to a result (least recently used out).

    A kept result's arrays are copied out on every hit, or, with ``read_only``, kept
    read-only and handed out as they are (a caller that wrote into one would get numpy's
    error, never change the kept result): for results whose arrays are many and only read
    (``SERVING``: the physics of every row of a grid, up to ~7,000 rows for levers)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, read_only: bool = False):
        self.max_entries = max_entries
        self._out = (lambda v: v) if read_only else _copy
        self._keep = _frozen if read_only else _copy
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], object]) -> object:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._out(self._items[key])
        value = compute()
        with self._lock:
            self.misses += 1
            self._items[key] = self._keep(value)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


LAYOUTS = Memo()
FLEETS = Memo(32)  # a levers table's sizing is ~7,000 rows × 25 columns
# The Monte Carlo's performance and fleet sizing per chunk of draws (``uncertainty``)
DRAWS = Memo(32)
# The serving table's chosen rows and every row's physics, per site-free grid (``serving_memo``)
SERVING = Memo(24, read_only=True)
# Their year's site-free part (``service_year.year_physics``), under the same key
YEARS = Memo(24, read_only=True)
_STATE = {"enabled": True}


@contextmanager
def disabled():
    """Plan without the memos inside this block (every phase computed afresh), for benches
    that time the planner with and without them, and tests that compare the two."""
    before = _STATE["enabled"]
    _STATE["enabled"] = False
    try:
        yield
    finally:
        _STATE["enabled"] = before


def arrays_digest(arrays: Mapping[str, object], site_free: bool = True) -> bytes:
    """A digest of named arrays (names, dtypes, shapes and values), leaving out those
    ``is_footprint`` names when ``site_free``: the key of a result that reads none of them."""
    h = hashlib.sha1(usedforsecurity=False)
    for name in sorted(arrays):
        if site_free and is_footprint(name):
            continue
        a = np.asarray(arrays[name])
        h.update(repr((name, str(a.dtype), a.shape)).encode())
        h.update(pickle.dumps(a.tolist(), protocol=5) if a.dtype.kind == "O"
                 else np.ascontiguousarray(a).tobytes())
    return h.digest()


def enabled() -> bool:
    """Whether the memos are on (not inside ``disabled()``): a caller whose key is costly to
    make (``arrays_digest`` over many draws) makes it only then."""
    return bool(_STATE["enabled"])


def draws(key: Hashable | None, compute: Callable):
    """``compute()`` kept under ``key`` (``uncertainty``'s site-independent parts: the key is
    made of what they read, ``arrays_digest``); computed afresh inside ``disabled()`` or
    without a key."""
    if not _STATE["enabled"] or key is None:
        return compute()
    return DRAWS.get_or_compute(key, compute)


def constants_key(k: Mapping[str, object]) -> tuple:
    """Step-time constants (name → value) as a key."""
    return tuple(sorted((str(a), repr(b)) for a, b in k.items()))


def predict(grid: pd.DataFrame, k: Mapping[str, object], search: Callable,
            digest: bytes | None = None):
    """``search(grid, k)`` (the layout search, ``training_perf.predict``), kept per site-free
    grid. The function is passed in, so this module imports none of the model's.
    ``digest``: the grid's ``site_free_digest`` where known (``training_grid_and_digest``)."""
    if not _STATE["enabled"]:
        return search(grid, k)
    key = (site_free_digest(grid) if digest is None else digest, constants_key(k))
    return LAYOUTS.get_or_compute(key, lambda: search(grid, k))


def training_physics(grid: pd.DataFrame, k: Mapping[str, object], constants: object,
                     compute: Callable, digest: bytes | None = None):
    """``compute()`` (``training._physics``: the training table's figures that read neither
    the site nor the prices, the layout search's among them) kept with the layout searches
    (``LAYOUTS``) per site-free grid, step-time constants ``k`` and the performance constants
    object ``constants`` (by identity: a kept result of another object is not used)."""
    if not _STATE["enabled"]:
        return compute()
    key = ("physics", site_free_digest(grid) if digest is None else digest, constants_key(k),
           id(constants))
    kept_constants, physics = LAYOUTS.get_or_compute(key, lambda: (constants, compute()))
    return physics if kept_constants is constants else compute()


def size_fleet(perf: pd.DataFrame, traffic, spec, sizing: Callable) -> pd.DataFrame:
    """``sizing(perf, traffic, spec)`` (``serving.size_fleet``): the fleet columns kept per
    site-free ``perf``, traffic and inference section, joined to this ``perf`` (whose
    footprint columns are this site's)."""
    from planner.model.frames import with_columns

    if not _STATE["enabled"]:
        return sizing(perf, traffic, spec)
    key = (site_free_digest(perf), repr(traffic), spec.model_dump_json())
    sized = None

    def compute() -> dict[str, np.ndarray] | None:
        nonlocal sized
        sized = sizing(perf, traffic, spec)
        added = [c for c in sized.columns if c not in perf.columns]
        # Only the fleet's own new columns are kept; were a column of ``perf`` replaced,
        # nothing is kept (the result would not be perf + added).
        if list(sized.columns[:len(perf.columns)]) != list(perf.columns) or any(
                sized[c] is not perf[c] and not sized[c].equals(perf[c])
                for c in perf.columns):
            return None
        return {c: sized[c].to_numpy(copy=True) for c in added}

    added = FLEETS.get_or_compute(key, compute)
    if sized is not None:
        return sized
    if added is None:  # not cacheable: compute it every time
        return sizing(perf, traffic, spec)
    return with_columns(perf, added)


GRIDS = Memo(24)


def _site_key(site) -> str:
    """The resolved site's fields other than ``assumptions.SITE_FIELDS`` (provider, region,
    country and every basis and label): a grid is kept per these."""
    from dataclasses import fields

    from planner.model.assumptions import SITE_FIELDS

    return repr(tuple((f.name, getattr(site, f.name)) for f in fields(site)
                      if f.name not in SITE_FIELDS))


def _resite(grid: pd.DataFrame, site, extra: Callable | None = None
            ) -> tuple[pd.DataFrame, bool]:
    """A copy of a kept grid with this site's ``assumptions.site_columns`` (set in one step,
    each in its place: ``frames.set_columns``), and whether only site-dependent columns
    (``is_footprint``) the grid already had were set (then its ``site_free_digest`` is the
    kept grid's). ``extra(columns)``: more columns to set from those."""
    from planner.model.assumptions import site_columns
    from planner.model.frames import set_columns

    edge = (grid["placement"] == "edge").to_numpy()
    columns = site_columns(edge, site)
    if extra is not None:
        columns = {**columns, **extra(columns)}
    names = set(map(str, grid.columns.tolist()))
    return (set_columns(grid, columns),
            all(is_footprint(str(c)) and str(c) in names for c in columns))


def _kept(key: Hashable, inputs: tuple, build: Callable[[], pd.DataFrame]):
    """(grid, digest holder) when a grid of ``key`` was kept for these very ``inputs`` (the
    objects whose ids the key holds), else (a freshly built grid, None). The holder, a
    one-item list kept with the grid, holds its ``site_free_digest`` once computed."""
    made = None

    def compute():
        nonlocal made
        made = build()
        return (inputs, made, [None])

    kept_inputs, grid, digest = GRIDS.get_or_compute(key, compute)
    if made is not None:
        return made, None
    if len(kept_inputs) != len(inputs) or any(a is not b for a, b in
                                              zip(kept_inputs, inputs, strict=True)):
        return build(), None  # an id reused by a new object: not this grid
    return grid, digest


def site_grid(build: Callable, planner, scenario, site, spec=None) -> pd.DataFrame:
    """``build(planner, scenario, site, spec)`` (``serving_grid`` or ``inference_grid``), kept
    per planner, scenario without its site, inference section and every field of the resolved
    site but ``assumptions.SITE_FIELDS``; at other values of those (a new PUE, grid intensity,
    water or electricity price) the kept grid gets this site's ``assumptions.site_columns``,
    the function the grid itself was made with. A new cloud region or country is a new grid
    (its prices differ)."""
    return site_grid_and_digest(build, planner, scenario, site, spec)[0]


def site_grid_and_digest(build: Callable, planner, scenario, site,
                         spec=None) -> tuple[pd.DataFrame, bytes | None]:
    """``site_grid`` and, where it is a kept grid with this site's columns, its
    ``site_free_digest`` (the kept grid's, computed once; None otherwise)."""
    if not _STATE["enabled"]:
        return build(planner, scenario, site, spec), None
    key = (build.__module__, build.__qualname__, id(planner),
           scenario.model_dump_json(exclude={"site"}),
           spec.model_dump_json() if spec is not None else None, _site_key(site))
    grid, digest = _kept(key, (planner,), lambda: build(planner, scenario, site, spec))
    if digest is None:
        return grid, None
    return _with_digest(grid, digest, *_resite(grid, site))


def _boundary_prefix(pue: float) -> str:
    # ``training_inputs.host_columns``' energy boundary text starts with the row's PUE
    return f"facility (PUE {pue:g}) = "


def training_grid(make: Callable, scenario, profiles, catalogue, defaults, site,
                  calibration=None):
    """``make(...)`` (``training.training_grid``) kept as ``site_grid`` keeps the serving
    grids; its energy boundary text names the PUE, so that prefix is rewritten too. Were a
    row's text not of that form, the grid is built afresh (nothing is guessed)."""
    return training_grid_and_digest(make, scenario, profiles, catalogue, defaults, site,
                                    calibration)[0]


def training_grid_and_digest(make: Callable, scenario, profiles, catalogue, defaults, site,
                             calibration=None) -> tuple[pd.DataFrame, bytes | None]:
    """``training_grid`` and, where it is a kept grid with this site's columns, its
    ``site_free_digest`` (the kept grid's, computed once; None otherwise), as
    ``site_grid_and_digest`` gives it for the serving grids."""
    profiles = list(profiles)
    if not _STATE["enabled"]:
        return make(scenario, profiles, catalogue, defaults, site, calibration), None
    inputs = (*profiles, catalogue, defaults, calibration)
    key = ("training_grid", tuple(map(id, inputs)), scenario.model_dump_json(exclude={"site"}),
           _site_key(site))

    def build():
        return make(scenario, profiles, catalogue, defaults, site, calibration)

    grid, digest = _kept(key, inputs, build)
    if digest is None:
        return grid, None
    old = [_boundary_prefix(p) for p in grid["pue"].to_numpy(dtype=float)]
    text = grid["energy_boundary"].tolist()
    if not all(isinstance(t, str) and t.startswith(o) for t, o in zip(text, old, strict=True)):
        return build(), None

    def boundary(columns) -> dict:
        pue = np.broadcast_to(np.asarray(columns["pue"], dtype=float), len(grid))
        new = [_boundary_prefix(p) for p in pue]
        return {"energy_boundary": pd.Series(
            [n + t[len(o):] for t, o, n in zip(text, old, new, strict=True)], index=grid.index,
            dtype=object)}

    return _with_digest(grid, digest, *_resite(grid, site, boundary))


def _with_digest(kept: pd.DataFrame, digest: list, out: pd.DataFrame,
                 site_only: bool) -> tuple[pd.DataFrame, bytes | None]:
    """(``out``, the ``kept`` grid's ``site_free_digest``, computed once into its holder
    ``digest``) where ``out`` differs from it in site columns only, else (``out``, None)."""
    if not site_only:
        return out, None
    if digest[0] is None:
        digest[0] = site_free_digest(kept)
    return out, digest[0]
