"""Timing helpers shared by the benchmark scripts (run as ``python benchmarks/bench_*.py``)."""

from __future__ import annotations

import time


def best_of(fn, k: int = 3) -> float:
    """Best wall time of ``k`` calls of ``fn``, seconds."""
    best = float("inf")
    for _ in range(k):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def line(name: str, n: int, secs: float, extra: str = "") -> float:
    """Print ``n`` items in ``secs`` as millions per second; returns ``secs``."""
    print(f"  {name:<46s} {n / secs / 1e6:9.2f} M/s  ({secs * 1e3:8.1f} ms) {extra}")
    return secs
