"""Writing report files atomically: a reader never sees a half-written file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from planner.errors import PlannerError


def write_text_atomic(text: str, path: Path | str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place.

    A folder is refused; an existing file that is not a regular one (``/dev/stdout``, a pipe)
    is written in place, never replaced by a rename. Any failure (no such folder, no
    permission, a full disk) is one PlannerError line and leaves no temporary file behind.
    """
    target = Path(path)
    if target.is_dir():
        raise PlannerError(f"cannot write {target}: it is a folder; give a file name")
    if target.exists() and not target.is_file():
        try:
            with target.open("w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        except OSError as exc:
            raise PlannerError(f"cannot write {target}: {exc.strerror or exc}") from None
        return target
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise PlannerError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise PlannerError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_csv_atomic(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write a DataFrame as CSV atomically."""
    return write_text_atomic(frame.to_csv(index=False), path)
