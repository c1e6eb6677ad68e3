"""Measurement records from the files other tools write: CodeCarbon's ``emissions.csv``,
Zeus's window log CSV and vLLM's serving benchmark JSON (``import_file``).

Pure parsing (csv, json, pydantic): no tool needs to be installed, and nothing here imports
CodeCarbon. What a file does not say stays ``null``; a file of an unknown or broken format
raises :class:`PlannerError` with one line naming what was expected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import PurePath
from typing import Literal, get_args

from planner.errors import PlannerError
from planner.model.hardware import HardwareProfile
from planner.model.imports import codecarbon, vllm, zeus
from planner.model.imports.common import ImportOptions, csv_rows, decode_text
from planner.model.records import Record, parse_record
from planner.model.yamlio import parse_text

Format = Literal["auto", "codecarbon", "zeus", "vllm"]
FORMATS: tuple[str, ...] = get_args(Format)
EXPECTED = ("expected CodeCarbon's emissions.csv (timestamp, run_id, duration, emissions, "
            "energy_consumed, ...), a Zeus window log CSV (start_time,window_name,elapsed_time,"
            "gpu<i>_energy) or a vLLM serving benchmark JSON (duration, completed, "
            "request_throughput, *_ttft_ms, ...)")

__all__ = ["FORMATS", "ImportOptions", "detect_format", "import_file", "read_measurements"]


def detect_format(text: str) -> tuple[str, object]:
    """('codecarbon' | 'zeus' | 'vllm' | 'unknown', parsed JSON or None) from the file text."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            raw = parse_text(text, "import", "import")
        except PlannerError:
            return "unknown", None
        return ("vllm" if vllm.looks_like(raw) else "unknown"), raw
    header, _ = csv_rows(stripped.split("\n", 1)[0] + "\n") if stripped else ([], [])
    if zeus.looks_like(header):
        return "zeus", None
    if codecarbon.looks_like(header):
        return "codecarbon", None
    return "unknown", None


def import_file(
    data: bytes,
    name: str,
    profiles: Sequence[HardwareProfile],
    fmt: Format = "auto",
    options: ImportOptions | None = None,
    imported_at: dt.datetime | None = None,
) -> list[Record]:
    """The records in one file another tool wrote; PlannerError (one line) if it cannot be read.

    ``name`` names the file in messages and in each record's ``source``; ``profiles`` match
    the device name to a hardware profile; ``options`` carry what the user adds.
    """
    if fmt not in FORMATS:
        raise PlannerError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    options = options or ImportOptions()
    imported_at = imported_at or dt.datetime.now(dt.UTC)
    file = PurePath(name).name
    text = decode_text(data, name)
    detected, raw = detect_format(text)
    chosen = detected if fmt == "auto" else fmt
    if chosen == "unknown":
        raise PlannerError(f"{name}: unknown format; {EXPECTED}")
    if chosen == "codecarbon":
        return codecarbon.parse(text, name, file, profiles, options, imported_at)
    if chosen == "zeus":
        return zeus.parse(data, text, name, file, profiles, options, imported_at)
    if raw is None:
        raw = parse_text(text, "import", name)  # bounded: size, depth, values (yamlio)
    if not isinstance(raw, dict):
        raise PlannerError(f"{name}: a vLLM benchmark result is a JSON object, got "
                           f"{type(raw).__name__}")
    return vllm.parse(data, raw, name, file, profiles, options, imported_at)


def _is_record(data: bytes) -> bool:
    """JSON that is not a serving benchmark's result: the planner's own record format, read
    by its bounded loader (``parse_record``), which names what is wrong with a broken one."""
    head = data.lstrip()[:1]
    if head not in (b"{", b"["):
        return False
    return b'"schema_version"' in data or b'"request_throughput"' not in data


def read_measurements(data: bytes, name: str, profiles: Sequence[HardwareProfile],
                      options: ImportOptions | None = None) -> list[Record]:
    """The records in an uploaded file: a planner record, or a file another tool wrote
    (CodeCarbon, Zeus, vLLM; ``options`` carry what the uploader adds, such as the model a
    vLLM run served); PlannerError (one line) when it is neither."""
    if _is_record(data):
        return [parse_record(data, name)]
    return import_file(data, name, profiles, options=options)
