"""Result tables as the dashboard shows and downloads them: the report's columns
(``planner.model.report``), a device class per row, filters and sort order. Pure pandas."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from planner.dashboard import formats
from planner.model.frames import with_columns
from planner.model.report import TRAINING_REPORT_COLUMNS, inference_columns


def pick(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame[columns]`` by position: a list of labels is first made into a string index
    (pyarrow-backed in pandas 3), which costs about 1.5 ms for a report's ~60 columns, while
    a lookup per label and one ``take`` cost a fifth of that. Same frame, same KeyError for a
    missing column."""
    labels = frame.columns
    if not labels.is_unique:
        return frame[columns]
    get = labels.get_loc
    return frame.take([get(c) for c in columns], axis=1)


def rows(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """``frame[mask]``, without the copy when every row is kept."""
    return frame if bool(mask.all()) else frame.take(np.flatnonzero(mask))


def is_device(frame: pd.DataFrame, hardware_id: str) -> np.ndarray:
    """True for the rows of ``hardware_id``."""
    return frame["hardware_id"].to_numpy() == hardware_id


def feasible_mask(frame: pd.DataFrame) -> np.ndarray:
    """True for the rows that can run (``frame["feasible"]`` as a numpy mask)."""
    return frame["feasible"].to_numpy(bool)


def row_of(frame: pd.DataFrame, hardware_id: str, among: np.ndarray | None = None
           ) -> pd.Series:
    """The row of ``hardware_id`` (the first; among the rows ``among`` if given; KeyError
    when none) as a Series, without masking or re-indexing the whole table
    (``frame[among].set_index("hardware_id").loc[...]``: 1-2 ms)."""
    match = is_device(frame, hardware_id)
    found = np.flatnonzero(match if among is None else match & among)
    if not len(found):
        raise KeyError(hardware_id)
    return frame.iloc[int(found[0])]


def device_class(frame: pd.DataFrame) -> pd.Series:
    """GPU, TPU, NPU or CPU for data-centre devices; Edge for devices in users' hands."""
    return pd.Series(_classes(frame), index=frame.index)


def _classes(frame: pd.DataFrame) -> np.ndarray:
    # Plain Python over the two columns: pandas string methods cost ~1 ms a call here.
    return np.array(["Edge" if p == "edge" else str(k).upper() for p, k in zip(
        frame["placement"].tolist(), frame["kind"].tolist(), strict=True)], dtype=object)


def filter_classes(frame: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Rows whose device class is one of ``classes``."""
    wanted = set(classes)
    return rows(frame, np.array([c in wanted for c in _classes(frame)], dtype=bool))


def _order(frame: pd.DataFrame, by: list[str]) -> np.ndarray:
    """Row positions feasible first, then by the ``by`` columns ascending with missing values
    last, ties in table order: ``sort_values(["feasible", *by], ascending=[False, True, …],
    na_position="last", kind="stable")`` on three numpy columns instead of the whole table."""
    keys = [frame[c].to_numpy(float) for c in reversed(by)]
    return np.lexsort([*keys, ~frame["feasible"].to_numpy(bool)])


def training_table(training: pd.DataFrame, only: np.ndarray | None = None,
                   columns: list[str] | None = None) -> pd.DataFrame:
    """The training rows (those of the mask ``only`` if given) in the report's CSV columns
    (of those, only ``columns`` if given, in their order), feasible and cheapest first."""
    order = _order(training, ["cost_usd", "total_co2e_kg"])
    if only is not None:
        order = order[only[order]]
    return pick(training, _report(TRAINING_REPORT_COLUMNS, columns)).take(order)


def _report(report: list[str], columns: list[str] | None) -> list[str]:
    """The report's columns, or those of ``columns`` that are report columns (their order)."""
    if columns is None:
        return report
    kept = set(report)
    return [c for c in columns if c in kept]


def inference_table(inference: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """The inference rows in the report's CSV columns (per replica, plus the fleet and annual
    columns where traffic is given; of those, only ``columns`` if given, in their order),
    feasible and cheapest first."""
    by = (["annual_cost_usd", "annual_total_co2e_kg"] if "annual_cost_usd" in inference
          else ["cost_usd_per_1k_requests", "co2e_kg_per_1k_requests"])
    report = _report(inference_columns(inference), columns)
    return pick(inference, report).take(_order(inference, by))


def default_serving_choice(inference: pd.DataFrame) -> str | None:
    """The device a first view details: the cheapest per year that meets the targets (else
    the one with the least CO2e)."""
    by = "annual_cost_usd" if "annual_cost_usd" in inference else "cost_usd_per_1k_requests"
    co2 = ("annual_total_co2e_kg" if "annual_total_co2e_kg" in inference
           else "co2e_kg_per_1k_requests")
    return _cheapest(inference, by, co2)


def _cheapest(frame: pd.DataFrame, by: str, fallback: str) -> str | None:
    """The hardware id of the feasible row lowest in ``by`` among those that have it, else
    lowest in ``fallback``: the first row of ``sort_values`` (quicksort, missing last) on
    numpy columns, as pandas sorts them, instead of masking and sorting frames."""
    ok = feasible_mask(frame)
    if not ok.any():
        return None
    ids = frame["hardware_id"].to_numpy()[ok]
    for column in (by, fallback):
        values = frame[column].to_numpy(float)[ok]
        have = ~np.isnan(values)
        if have.any():
            return str(ids[have][np.argsort(values[have], kind="quicksort")[0]])
        if column == fallback:
            return str(ids[0])  # nothing to sort by: the table's first feasible row
    return None


def _reason_kind(reason: str, hardware_id: str) -> str:
    """A reason without its device and details: 'does not support bf16 training', 'the 30-day
    deadline cannot be met', so devices refused for the same cause group together."""
    text = reason.removeprefix(f"{hardware_id} ").strip()
    return re.split(r"[:(;]", text, maxsplit=1)[0].strip() or text


def infeasible_summary(frame: pd.DataFrame, most: int = 4) -> str:
    """Why rows cannot run, one short clause per kind of reason with a few of its devices (the
    full reasons are in :func:`infeasible_table`)."""
    groups: dict[str, list[str]] = {}  # plain lists: a pandas groupby cost ~10 ms a call
    for ok, reason, hardware_id, name in zip(
            frame["feasible"].astype(bool).tolist(), frame["infeasible_reason"].tolist(),
            frame["hardware_id"].tolist(), frame["name"].tolist(), strict=True):
        if not ok:
            groups.setdefault(_reason_kind(str(reason), str(hardware_id)), []).append(str(name))
    parts = []
    for kind in sorted(groups):
        names = groups[kind]
        more = len(names) - most
        parts.append(f"{kind} ({', '.join(names[:most])}{f' and {more} more' if more > 0 else ''})")
    return "; ".join(parts)


REASON_COLUMNS = ["hardware_id", "name", "feasible", "infeasible_reason"]


def infeasible_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that cannot run, with only what ``infeasible_summary`` and
    ``infeasible_table`` read (masking every column of a plan table costs ~1 ms)."""
    part = pick(frame, REASON_COLUMNS)
    return rows(part, ~feasible_mask(part))


def infeasible_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per device that cannot run: its name and the planner's full reason."""
    bad = frame[~frame["feasible"].astype(bool)]
    return pd.DataFrame({"Device": bad["name"].astype(str).to_numpy(),
                         "Why not": bad["infeasible_reason"].astype(str).to_numpy()})


def default_training_choice(training: pd.DataFrame) -> str | None:
    """The device a first view details: the cheapest feasible one with a price, else the one
    with the least CO2e."""
    return _cheapest(training, "cost_usd", "total_co2e_kg")


def with_percentiles(frame: pd.DataFrame, summary: pd.DataFrame,
                     metrics: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` with ``<metric>_p10`` and ``<metric>_p90`` columns from an uncertainty
    summary (one row per hardware_id and metric), for error bars."""
    lookup = {(h, m): (lo, hi) for h, m, lo, hi in zip(
        summary["hardware_id"].tolist(), summary["metric"].tolist(),
        summary["p10"].tolist(), summary["p90"].tolist(), strict=True)}
    ids = frame["hardware_id"].tolist()
    added = {}
    for metric in metrics:
        pairs = [lookup.get((h, metric), (np.nan, np.nan)) for h in ids]
        added[f"{metric}_p10"] = np.array([p[0] for p in pairs], dtype=float)
        added[f"{metric}_p90"] = np.array([p[1] for p in pairs], dtype=float)
    return with_columns(frame, added)  # one join, not a column set per array on a copy


UNIT_FORMATS = {"USD": formats.money, "kg": formats.co2e, "kWh": formats.energy,
                "days": formats.duration_days, "s": formats.seconds,
                "FLOPs": lambda v: f"{formats.flops(v)} FLOPs",
                "fraction": formats.percent, "devices": formats.count, "months": formats.count}


def _unit_text(value: object, unit: str) -> str:
    """One compared figure for people, in its unit."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    return UNIT_FORMATS.get(unit, formats.sig)(value)


def comparison_display(comparison: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """A scenario comparison (``planner.model.compare.compare_plans``) as text: each value
    in its unit, and each change against the first as a signed percentage."""
    first = names[0]
    out = pd.DataFrame({"section": comparison["section"], "figure": comparison["figure"]})
    for name in names:
        out[name] = [_unit_text(v, u) for v, u in zip(comparison[name], comparison["unit"],
                                                      strict=True)]
    for name in names[1:]:
        column = f"{name} vs {first}"
        out[f"{name}: change"] = [
            (f"{(v - 1) * 100:+.0f} %" if np.isfinite(v) else "–")
            if isinstance(v, float) else (v or "–") for v in comparison[column]]
    return out


def not_offered(price_basis: str) -> str | None:
    """"not offered by <provider>" where a price basis says the site's cloud does not rent
    the device (``catalogue``'s wording), else None."""
    if not price_basis.startswith("not offered by "):
        return None
    return price_basis.split(" (")[0].split(";")[0]


def unpriced_note(frame: pd.DataFrame, cost_column: str) -> str:
    """Why rows have no cost, grouped: not offered by the site's cloud provider, or no
    published price (edge devices are their users'; on-premises needs a purchase price)."""
    # Plain lists: pandas masks and string methods on a plan table cost ~5 ms a call.
    missing = np.isnan(frame[cost_column].to_numpy(float))
    if not missing.any():
        return ""
    bases = [str(b) for b, m in zip(frame["price_basis"].tolist(), missing, strict=True) if m]
    names = [str(n) for n, m in zip(frame["name"].tolist(), missing, strict=True) if m]
    offered = [not_offered(b) is not None for b in bases]
    parts = []
    for label, pick in ((None, True), ("no published price for this pricing mode", False)):
        rows = [(b, n) for b, n, o in zip(bases, names, offered, strict=True) if o == pick]
        if not rows:
            continue
        if label is None:
            label = not_offered(rows[0][0])
        shown = ", ".join(n for _, n in rows[:8]) + (" …" if len(rows) > 8 else "")
        parts.append(f"{len(rows)} {label} ({shown})")
    return "Not on the chart: " + "; ".join(parts) + "; they are in the table."
