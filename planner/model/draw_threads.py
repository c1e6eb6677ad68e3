"""Threads and memory for the Monte Carlo (``planner.model.uncertainty``): independent pieces
of work side by side on the cores (numpy lets go of the interpreter lock inside its array
operations and sorts), and an allocator that keeps the memory the draws free for the next
ones.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import platform
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
MAX_THREADS = 4
THREAD_PREFIX = "monte-carlo"
# glibc's mallopt(3) parameters: blocks up to 32 MiB from the heap, not mapped one by one;
# the heap's free top given back to the system only beyond 128 MiB.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES = 32 << 20, 128 << 20


@functools.cache
def _cores() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cores or 1, MAX_THREADS)


@functools.cache
def _threads() -> ThreadPoolExecutor | None:
    """Threads for independent chunks of work (None on one core)."""
    n = _cores()
    return ThreadPoolExecutor(n, thread_name_prefix=THREAD_PREFIX) if n > 1 else None


def workers() -> int:
    """How many threads ``in_parallel`` runs work on here (1: none, the caller's own)."""
    return 1 if _threads() is None or _inside() else _cores()


_SERIAL = threading.local()


@contextlib.contextmanager
def serial(when: bool = True):
    """While inside (if ``when``), ``in_parallel`` and ``started`` do their work on the
    caller's thread: a small Monte Carlo (the dashboard's 2,000 draws of a few options) loses
    more to handing work to the threads and waiting for them than it gains (31 ms against
    19 ms on the 2-core machine, 2026-12-01)."""
    before = getattr(_SERIAL, "on", False)
    _SERIAL.on = before or when
    try:
        yield
    finally:
        _SERIAL.on = before


def _inside() -> bool:
    """On one of the threads (no nested waits) or where the caller asked for ``serial``."""
    return (threading.current_thread().name.startswith(THREAD_PREFIX)
            or getattr(_SERIAL, "on", False))


def in_parallel(work, items) -> list:
    """``[work(item) for item in items]``, on the threads where there are several cores and
    items (each item's work is independent: the result is the same, in the same order)."""
    items = list(items)
    pool = _threads()
    if pool is None or len(items) < 2 or _inside():
        return [work(item) for item in items]
    return list(pool.map(work, items))


def started(work: Callable[[], T]) -> Callable[[], T]:
    """``work`` begun on a thread (queued before any ``in_parallel`` called after it), and a
    function that waits for its result; where there are no threads, ``work`` done at once."""
    pool = _threads()
    if pool is None or _inside():
        result = work()
        return lambda: result
    return pool.submit(work).result


@functools.cache
def keep_freed_memory() -> bool:
    """Let the process reuse the memory the Monte Carlo frees (with glibc's malloc; True if
    set). By default glibc maps each block over 128 KiB on its own and unmaps it when freed
    (raising that threshold only as far as the blocks already freed) and gives the heap's top
    back once 128 KiB of it is free, so every short-lived (draws × options) array was faulted
    in page by page anew: about half of the Monte Carlo's time was the kernel's (80,000 page
    faults a run of 10,000 draws over every data-centre profile). Other C libraries: nothing
    is changed."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
