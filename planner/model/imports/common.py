"""What every importer shares: reading the file's text, stating the user's additions, matching
the device to a hardware profile, and the record parts a file leaves unknown (``null``)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from planner.errors import PlannerError
from planner.model.calibration import match_profile
from planner.model.hardware import HardwareProfile
from planner.model.records import Machine, Mode
from planner.model.yamlio import LIMITS

#: Largest file an import reads: bounded memory for a file of any origin.
MAX_IMPORT_BYTES = LIMITS["import"].max_bytes


@dataclass(frozen=True)
class ImportOptions:
    """What the user knows that the file may not say; each use is noted in the record."""

    device_name: str | None = None
    precision: str | None = None
    mode: Mode | None = None
    country_iso_code: str | None = None
    model: str | None = None  # a model preset id (serving calibration; vLLM)
    tensor_parallel: int | None = None  # devices per replica (serving calibration; vLLM)


def decode_text(data: bytes, origin: str) -> str:
    """The file's text (UTF-8, a leading BOM dropped); PlannerError if too big or not text."""
    if len(data) > MAX_IMPORT_BYTES:
        raise PlannerError(f"{origin}: {len(data):,} bytes is over the "
                           f"{MAX_IMPORT_BYTES // 2**20} MiB an import reads")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PlannerError(f"{origin}: not UTF-8 text") from None


def csv_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV text, values kept as the exact strings written."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    return header, [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def number(raw: object, origin: str, field: str) -> float | None:
    """A finite float from a file's cell; None when empty; PlannerError when not a number."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if isinstance(raw, bool):
        raise PlannerError(f"{origin}: field `{field}` is {raw!r}, expected a number")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise PlannerError(f"{origin}: field `{field}` is {raw!r}, expected a number") from None
    if not math.isfinite(value):
        raise PlannerError(f"{origin}: field `{field}` is {raw!r}, expected a finite number")
    return value


def text_or_none(raw: object) -> str | None:
    """A stripped string, or None for empty and missing cells."""
    if raw is None:
        return None
    value = str(raw).strip()
    return value or None


def content_id(data: bytes, entry: str) -> str:
    """A stable run id for a file entry with no id of its own: re-importing overwrites."""
    return hashlib.sha256(data + b"\0" + entry.encode()).hexdigest()[:24]


def unknown_machine(**known: object) -> Machine:
    """A machine whose every field is null except those the file states."""
    fields = {"hostname": None, "os": None, "python_version": None, "cpu_model": None,
              "cpu_logical_cores": None}
    fields.update(known)
    return Machine(**fields)


def naive_as_utc(stamp: dt.datetime, notes: list[str], what: str) -> dt.datetime:
    """A timestamp with its zone; a zoneless one is read as UTC and the record says so."""
    if stamp.tzinfo is not None:
        return stamp
    notes.append(f"{what} carries no time zone in the file; stored as if UTC (it may be off "
                 "by the writer's UTC offset). No figure depends on it.")
    return stamp.replace(tzinfo=dt.UTC)


def match_device(
    device_name: str | None, profiles: Sequence[HardwareProfile], kind: str | None
) -> str | None:
    """The hardware profile id whose ``match_names`` fit the device name, or None."""
    if not device_name:
        return None
    profile = match_profile(device_name, profiles, kind=kind)
    return profile.id if profile else None


def user_notes(options: ImportOptions) -> list[str]:
    """One note per figure the user added on the command line or the upload form."""
    given = {"device name": options.device_name, "precision": options.precision,
             "mode": options.mode, "country": options.country_iso_code,
             "model preset": options.model, "tensor-parallel size": options.tensor_parallel}
    return [f"{what} {value!r} given by the user at import, not read from the file"
            for what, value in given.items() if value]
