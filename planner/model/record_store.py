"""Saving an uploaded record into the shared records folder, when the operator allows it.

The file name comes from the SHA-256 of the uploaded bytes, so two different uploads cannot
collide and nothing a record says (its workload name, its run id) reaches a path. The file is
written to a temporary name, then hard-linked to its final name: like ``O_EXCL``, the link
fails when the name exists, so an existing record is never replaced, and a reader never sees
half a file. A run already in the folder (same run id, or the same content) is not saved again.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from planner.errors import PlannerError
from planner.model.records import load_records, parse_record

#: The operator's switch (README, "Serving the dashboard to a team"): off unless set to 1.
SAVE_UPLOADS_ENV = "PLANNER_SAVE_UPLOADS"


def saving_allowed() -> bool:
    """Whether dashboard visitors may save uploads into the shared records folder."""
    return os.environ.get(SAVE_UPLOADS_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def content_name(data: bytes) -> str:
    """``upload_<first 24 hex digits of the SHA-256>.json``: the same bytes, the same name."""
    return f"upload_{hashlib.sha256(data).hexdigest()[:24]}.json"


@dataclass(frozen=True)
class SaveResult:
    """What happened to one upload: the file written (None when nothing was) and why."""

    path: Path | None
    message: str


def _create_exclusive(data: bytes, target: Path) -> None:
    """Write ``data`` under ``target``, failing with FileExistsError if the name exists."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, target)  # atomic, and never replaces an existing name
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
                raise
            # No hard links on this file system: exclusive creation, then the bytes.
            with open(target, "xb") as out:
                out.write(data)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def save_upload(data: bytes, origin: str, folder: Path | str) -> SaveResult:
    """Validate ``data`` as a record and add it to ``folder`` unless the run is there already.

    Raises PlannerError (one line) for an invalid record or a folder that cannot be written.
    """
    record = parse_record(data, origin)
    path = Path(folder)
    existing, _ = load_records(path) if path.is_dir() else ([], [])
    content = record.model_dump_json(exclude={"run_id"})
    for other in existing:
        if other.run_id == record.run_id or other.model_dump_json(exclude={"run_id"}) == content:
            return SaveResult(None, f"Not saved: {origin} is the same run as one already in "
                              f"the records folder (run id {other.run_id}); it counts once.")
    target = path / content_name(data)
    try:
        path.mkdir(parents=True, exist_ok=True)
        _create_exclusive(data, target)
    except FileExistsError:
        return SaveResult(None, f"Not saved: {origin} is already in the records folder as "
                          f"{target.name}.")
    except OSError as exc:
        raise PlannerError(f"{origin}: cannot be saved into {path} "
                           f"({exc.strerror or exc})") from None
    return SaveResult(target, f"Saved {origin} as {path.name}/{target.name} ({len(data):,} "
                      f"bytes, SHA-256 {target.stem.removeprefix('upload_')}…, run id "
                      f"{record.run_id}); every visitor's calibration now includes it.")
