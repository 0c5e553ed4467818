"""Live driver, per-bar cost: the time ``BarSession`` takes to close a bar row (signals on
the trailing window with indicators carried over, one step of the compiled loop) at bar
100 and at bar 100,000 of one session's worth of one-second bars, for the shipped
signal strategies. The cost must not grow with the session (issue 16); the old driver
recomputed signals over every bar seen, O(n) a bar.

    python benchmarks/bench_live.py [--bars N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

import numpy as np

from framework.data.calendar import sessions
from framework.engine.run_config import load_strategy
from framework.types import BAR_DTYPE
from live.driver.bar_session import BarSession

ROOT = Path(__file__).resolve().parents[1]
CASES = {"bollinger_mr": {"data.timeframe": "1s"},
         "sma_cross": {"data.timeframe": "1s", "params.fast": 20, "params.slow": 120}}


def bars(n: int, n_sym: int, seed: int = 0) -> np.ndarray:
    """``n`` rows of one-second bars of ``n_sym`` random-walk symbols, BAR_DTYPE, in
    regular sessions, time-ordered."""
    _, opens, closes = sessions(dt.date(2024, 1, 2), dt.date(2024, 3, 28))
    per = 23_400
    ts = (opens[: n // per + 1, None] + np.arange(per) * 1_000_000_000).ravel()[:n]
    rng = np.random.default_rng(seed)
    out = np.zeros(n * n_sym, BAR_DTYPE)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 2e-4, (n, n_sym)), axis=0))
    out["ts"] = np.repeat(ts, n_sym)
    out["sym"] = np.tile(np.arange(n_sym), n)
    out["open"] = out["close"] = out["vwap"] = c.ravel()
    out["high"], out["low"] = c.ravel() * 1.0002, c.ravel() * 0.9998
    out["volume"] = 1_000.0
    return out


def per_bar_us(name: str, n: int, probes: tuple[int, ...], n_sym: int = 3) -> dict:
    """Seconds (wall, and this thread's CPU) to close each of 200 bar rows starting at
    each probe bar."""
    cfg, strat = load_strategy(ROOT / "strategies" / f"{name}.toml",
                               {**CASES[name], "symbols": [f"S{i}" for i in range(n_sym)]})
    session = BarSession(cfg, strat, capacity=1 << 12)
    rows = bars(n + 1, n_sym)
    out, t = {}, 0
    for p in probes:
        lo, hi = t * n_sym, p * n_sym
        session.on_bars(rows[lo:hi])  # everything up to the probe
        times, cpu = [], []
        for k in range(p, p + 200):
            b = rows[k * n_sym:(k + 1) * n_sym]
            t0, c0 = time.perf_counter(), time.thread_time()
            session.on_bars(b)  # closes the row before: signals + one loop step
            times.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
        out[p] = times, cpu
        t = p + 200
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=100_000)
    a = ap.parse_args()
    probes = (100, a.bars)
    print("live driver: time to close one bar row, 3 symbols, 1-second bars (us; wall, "
          "and the thread's CPU time: on a shared box the wall time is mostly waiting)")
    for name in CASES:
        res = per_bar_us(name, a.bars + 400, probes)
        for p, (times, cpu) in res.items():
            us, cu = np.array(times) * 1e6, np.array(cpu) * 1e6
            print(f"  {name:<14s} at bar {p:>7,}: wall p50 {statistics.median(us):8.1f}  "
                  f"p99 {np.percentile(us, 99):8.1f}   cpu p50 {statistics.median(cu):8.1f}  "
                  f"p99 {np.percentile(cu, 99):8.1f}  (200 bars)")


if __name__ == "__main__":
    main()
