"""The benchmarks' one timer (each script runs from this folder, so ``from timing import ...`` finds it)."""

from __future__ import annotations

import time


def timed(fn):
    """(seconds, result) of one call of ``fn``."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def best_time(fn, repeat: int = 1) -> float:
    """The fastest of ``repeat`` calls of ``fn``, in seconds (the least disturbed by a noisy machine)."""
    return min(timed(fn)[0] for _ in range(repeat))
