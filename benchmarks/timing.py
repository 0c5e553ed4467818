"""Timing helpers shared by the benchmark scripts (run as ``python benchmarks/bench_*.py``)."""

from __future__ import annotations

import statistics
import time


def best_of(fn, k: int = 3, clock=time.perf_counter) -> float:
    """Best time of ``k`` calls of ``fn`` by ``clock`` (default the wall clock;
    ``time.process_time`` for the process's CPU time), seconds."""
    best = float("inf")
    for _ in range(k):
        t = clock()
        fn()
        best = min(best, clock() - t)
    return best


def line(name: str, n: int, secs: float, extra: str = "") -> float:
    """Print ``n`` items in ``secs`` as millions per second; returns ``secs``."""
    print(f"  {name:<46s} {n / secs / 1e6:9.2f} M/s  ({secs * 1e3:8.1f} ms) {extra}")
    return secs


def runs(fn, k: int = 5, clock=time.perf_counter) -> list[float]:
    """Times (seconds) of ``k`` calls of ``fn`` by ``clock`` (default the wall clock;
    ``time.process_time`` for the process's CPU time), after one untimed warm-up call."""
    fn()
    out = []
    for _ in range(k):
        t = clock()
        fn()
        out.append(clock() - t)
    return out


def rate(name: str, n: int, secs: list[float], unit: str = "M/s", scale: float = 1e6) -> float:
    """Print the median rate of ``n`` items over the runs ``secs`` with its range (slowest
    to fastest) and the number of runs; returns the median rate in ``unit``."""
    med = statistics.median(secs)
    print(f"  {name:<46s} {n / med / scale:9.3f} {unit} "
          f"(range {n / max(secs) / scale:.3f}-{n / min(secs) / scale:.3f}, "
          f"median of {len(secs)}, {med * 1e3:.1f} ms)")
    return n / med / scale
