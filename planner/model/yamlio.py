"""Reading every data file of the planner within bounds: one loader, one strict base model and
one error describer for scenarios, hardware profiles, defaults, levers, model presets, cloud
regions and measurement records, whether read from disk or uploaded to the dashboard.

Each kind of file has a size limit (``LIMITS``, documented in README "Limits on input files").
YAML is checked event by event before anything is built: aliases (``*name``, the "billion
laughs" expansion) are refused, nesting depth and the number of values are bounded, and the
scan stops when its time budget is spent, so a hostile file of a few hundred bytes cannot take
gigabytes or minutes. Only then is the document built, with libyaml's C loader where PyYAML was
built with it (about 7x faster than the pure-Python one). JSON records get the same bounds.
Validation errors become one line quoting at most a short excerpt of any offending value.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from planner.errors import PlannerError, yaml_error_line

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
KIB = 1024
MIB = 1024 * KIB
EXCERPT_CHARS = 40  # at most this much of a user's value is quoted back in a message
MAX_ERRORS = 5  # validation errors listed in one message; the rest are counted


class StrictModel(BaseModel):
    """The base of every data-file schema: unknown fields are errors, values are frozen, and
    a number must be finite (``"inf"``, ``.nan`` or an overflowing ``1e400`` are refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


@dataclass(frozen=True)
class Limits:
    """Bounds on one kind of data file: bytes, nesting depth, values and parse time."""

    max_bytes: int
    max_depth: int = 12
    max_values: int = 50_000
    budget_s: float = 2.0
    syntax: str = "yaml"  # or "json"


#: One entry per kind of file; README "Limits on input files" lists the same numbers. The
#: dashboard's upload limit (``.streamlit/config.toml`` server.maxUploadSize, 1 MB) is above the
#: largest of the uploadable kinds (scenario, record).
LIMITS: dict[str, Limits] = {
    "scenario": Limits(max_bytes=256 * KIB, max_values=20_000),
    "profile": Limits(max_bytes=256 * KIB, max_values=20_000),
    "record": Limits(max_bytes=1 * MIB, max_values=100_000, syntax="json"),
    # Files other tools wrote (vLLM benchmark JSON; CodeCarbon and Zeus CSVs are size-bounded).
    "import": Limits(max_bytes=64 * MIB, max_values=20_000_000, syntax="json"),
    "defaults": Limits(max_bytes=1 * MIB),
    "levers": Limits(max_bytes=1 * MIB),
    "models": Limits(max_bytes=1 * MIB),
    "regions": Limits(max_bytes=1 * MIB),
}


def clip(text: str, chars: int = EXCERPT_CHARS) -> str:
    """``text`` on one line, cut to ``chars`` characters (an ellipsis marks the cut)."""
    text = " ".join(text[: 4 * chars].split())
    return text if len(text) <= chars else text[:chars] + "…"


def excerpt(value: object, chars: int = EXCERPT_CHARS) -> str:
    """A user's value quoted for a message: its repr, at most ``chars`` characters of it."""
    if isinstance(value, str):
        return repr(clip(value, chars))
    if isinstance(value, dict | list | tuple | set) and len(value) > chars:
        return f"a {type(value).__name__} of {len(value):,} items"
    return clip(repr(value), chars)


def _size_text(n: int) -> str:
    return f"{n // MIB} MiB" if n % MIB == 0 else f"{n // KIB} KiB"


def _decode(data: str | bytes, kind: str, origin: str, error: type[PlannerError]) -> str:
    limit = LIMITS[kind].max_bytes
    if len(data) > limit:
        raise error(f"{origin}: larger than the {_size_text(limit)} allowed for a {kind} file")
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            what = "a JSON file" if LIMITS[kind].syntax == "json" else "a YAML file"
            raise error(f"{origin}: not UTF-8 text; a {kind} is {what}") from None
    return data


def _where(event: yaml.Event) -> str:
    mark = event.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""


def _scan_yaml(text: str, limits: Limits, origin: str, error: type[PlannerError]) -> None:
    """Walk the YAML events (no document built yet) and refuse aliases, deep nesting, too many
    values or a scan over its time budget."""
    deadline = time.monotonic() + limits.budget_s
    depth = values = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        kind = type(event)
        if kind is yaml.AliasEvent:
            raise error(f"{origin}: {_where(event)}YAML aliases (*{clip(str(event.anchor), 20)})"
                        " are not allowed in data files; write the value out")
        if kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            depth += 1
            if depth > limits.max_depth:
                raise error(f"{origin}: {_where(event)}nested deeper than "
                            f"{limits.max_depth} levels")
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            depth -= 1
        elif kind is yaml.ScalarEvent:
            values += 1
            if values > limits.max_values:
                raise error(f"{origin}: more than {limits.max_values:,} values")
            if values % 1024 == 0 and time.monotonic() > deadline:
                raise error(f"{origin}: took longer than {limits.budget_s:g} s to read")


def _check_tree(data: object, limits: Limits, origin: str, error: type[PlannerError]) -> None:
    """Depth and value count of a parsed JSON document, walked without recursion."""
    stack: list[tuple[object, int]] = [(data, 1)]
    values = 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limits.max_depth:
                raise error(f"{origin}: nested deeper than {limits.max_depth} levels")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
        else:
            values += 1
            if values > limits.max_values:
                raise error(f"{origin}: more than {limits.max_values:,} values")


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


def parse_text(data: str | bytes, kind: str, origin: str,
               error: type[PlannerError] = PlannerError) -> object:
    """Parse one data file's text (YAML, or JSON for a ``record`` or an ``import``) within
    ``LIMITS[kind]``.

    Raises ``error`` with one line naming ``origin``; never builds more than the limits allow.
    """
    limits = LIMITS[kind]
    text = _decode(data, kind, origin, error)
    if limits.syntax == "json":
        try:
            parsed = json.loads(text, parse_constant=_no_constant)
        except RecursionError:
            raise error(f"{origin}: nested deeper than {limits.max_depth} levels") from None
        except ValueError as exc:  # JSONDecodeError, NaN/Infinity, an integer of 5,000 digits
            raise error(f"{origin}: not valid JSON ({clip(str(exc), 80)})") from None
        _check_tree(parsed, limits, origin, error)
        return parsed
    try:
        _scan_yaml(text, limits, origin, error)
        return yaml.load(text, Loader=_SafeLoader)
    except yaml.YAMLError as exc:
        raise error(f"{origin}: not valid YAML ({yaml_error_line(exc)})") from None
    except (ValueError, OverflowError, RecursionError) as exc:  # e.g. a 5,000-digit integer
        raise error(f"{origin}: a value cannot be read ({clip(str(exc), 80)})") from None


def load_yaml(text: str | bytes, origin: str = "YAML", kind: str = "profile",
              error: type[PlannerError] = PlannerError) -> object:
    """A YAML document within the limits of ``kind`` (``yaml.safe_load`` semantics)."""
    return parse_text(text, kind, origin, error)


def read_file(path: Path | str, kind: str, error: type[PlannerError] = PlannerError) -> object:
    """Read and parse one data file, reading no more than its size limit allows."""
    p = Path(path)
    limit = LIMITS[kind].max_bytes
    try:
        with p.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise error(f"{p}: cannot be read ({exc.strerror or exc})") from None
    return parse_text(data, kind, str(p), error)


def describe(err: ValidationError) -> str:
    """A pydantic error as one line: each field and what is wrong, the first few only, quoting
    at most a short excerpt of any value."""
    errors = err.errors(include_url=False, include_context=False, include_input=True)
    parts = []
    for e in errors[:MAX_ERRORS]:
        where = ".".join(clip(str(x), 40) for x in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "is not a known field"
        elif e["type"] in ("literal_error", "enum", "string_pattern_mismatch"):
            msg = f"{msg} (got {excerpt(e.get('input'))})"
        elif e["type"] in ("finite_number",):
            msg = "must be a finite number, not NaN or infinity"
        parts.append(f"{where}: {clip(msg, 240)}")
    more = len(errors) - MAX_ERRORS
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: object, origin: str,
             error: type[PlannerError] = PlannerError) -> M:
    """``model.model_validate(data)``; a ValidationError becomes ``error`` in one line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{origin}: {describe(exc)}") from None


def load_file(model: type[M], path: Path | str, kind: str,
              error: type[PlannerError] = PlannerError) -> M:
    """Read, parse (within limits) and validate one data file."""
    return validate(model, read_file(path, kind, error), str(path), error)
