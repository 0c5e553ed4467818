"""Execution layer costs: a child order inside the event loop, a router decision, and a
10-symbol VWAP backtest.

Run: ``python benchmarks/bench_execution.py`` (~1 min). Single threaded, warm (best of
3; the first call compiles or loads the cache). Nothing is asserted.

* per child: the same panel (10 symbols x 20 sessions of seeded random-walk one-minute
  bars on XNYS sessions) and the same entries, once sent at once (``algo = "now"``) and
  once as TWAP parents slicing every minute; the extra loop time over the extra
  children (each one placed through the pre-trade check, filled by the bar model and
  folded into its parent) is the per-child cost in ns;
* router: ``optimal_split`` and ``greedy_split`` over 3 venues x 10 levels for 1,000
  shares in lots of 100 (the DP's grid is then 10 steps) and of 1 (1,000 steps), us a call;
* router in the loop's form: ``route_depth`` over 3 venues' live L3 books of one
  symbol (10 ask levels each, read with ``take_depth``), 1,000 shares in lots of 100;
* Cont & Kukanov placement: ``placement_split`` over 3 venues and 200 outflow
  scenarios, 1,000 shares in lots of 100 (11^3 limit placements searched whole) and in
  lots of 10 (101^3: coarse search, stochastic approximation of 2,000 steps, local moves);
  ``python benchmarks/bench_execution.py router`` runs the router cases alone;
* VWAP: a 10-symbol backtest where every entry is a full-day VWAP parent (5-minute
  buckets), bars x symbols per second of the loop (bar fill model);
* VWAP on a book tape: 10 symbols of synthetic L3 order flow
  (``framework.data.sources.synthetic_book``, ``BOOK_MINUTES`` of one session) replayed
  by the book fill model, 1-minute bars from its prints driving the decisions; each
  symbol gets a VWAP parent at the open for the whole span (5-minute buckets, market
  children that walk the book), next to the same tape with no order at all and with
  the same entries sent at once (the positions then make every event mark risk). Book
  events per second of the loop, by the wall clock and by the process's CPU time (best
  of 3 each): on a shared machine the CPU time is the steadier figure. ``python benchmarks/bench_execution.py book`` runs
  this case alone.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_engine import BOOK_SYMBOLS, book_market  # noqa: E402
from benchmarks.timing import best_of  # noqa: E402
from framework.data.calendar import sessions  # noqa: E402
from framework.engine.event.engine import run_event  # noqa: E402
from framework.execution.config import ExecutionConfig  # noqa: E402
from framework.execution.costs import CostConfig  # noqa: E402
from framework.execution.routing import greedy_split, optimal_split, placement_split  # noqa: E402
from framework.execution.venue_books import route_depth  # noqa: E402
from framework.marketdata.book.book import OrderBooks  # noqa: E402
from framework.risk import RiskConfig  # noqa: E402
from framework.strategy import DecisionConfig, Signals  # noqa: E402
from framework.strategy.panel import panel_from_frame  # noqa: E402
from framework.types.codes import BookEvent  # noqa: E402
from framework.types.dtypes import BOOK_EVENT_DTYPE  # noqa: E402

SYMBOLS = [f"S{i:02d}" for i in range(10)]
N_SESSIONS = 20
BOOK_MINUTES = 180  # of the session: ~85 k L3 events per symbol and hour


def _panel():
    _, opens, _ = sessions(dt.date(2024, 1, 2), dt.date(2024, 3, 29))
    ts = (opens[:N_SESSIONS, None] + np.arange(390)[None, :] * 60_000_000_000).ravel()
    rng = np.random.default_rng(3)
    frames = []
    for s in SYMBOLS:
        c = 50 * np.exp(np.cumsum(rng.normal(0, 5e-4, ts.size)))
        frames.append(pl.DataFrame({"symbol": s, "ts": ts, "open": c, "high": c * 1.0005,
                                    "low": c * 0.9995, "close": c,
                                    "volume": rng.integers(1_000, 50_000, ts.size) * 1.0,
                                    "vwap": c}))
    return panel_from_frame(pl.concat(frames), SYMBOLS, "1m")


def _run(panel, entries, **execution):
    sig = Signals.of(entries, np.zeros(entries.shape, bool))
    return run_event(panel, sig, decision=DecisionConfig(size_mode="shares", size=300,
                                                         max_hold_bars=389),
                     costs=CostConfig(), risk=RiskConfig(),
                     execution=ExecutionConfig(**execution), init_cash=1e9)


def bench_children(panel) -> None:
    entries = np.zeros(panel.close.shape)
    entries[::390, :] = 1  # a parent per symbol and session, at the open
    runs = {}
    for name, kw in (("now", {}), ("twap", dict(algo="twap", horizon_min=60,
                                                 interval_min=1))):
        _run(panel, entries, **kw)
        res = _run(panel, entries, **kw)
        runs[name] = (best_of(lambda kw=kw: _run(panel, entries, **kw)), res.orders.height)
    (t0, n0), (t1, n1) = runs["now"], runs["twap"]
    extra = n1 - n0
    print(f"  loop, orders sent at once: {t0 * 1e3:8.1f} ms for {n0} orders")
    print(f"  loop, TWAP parents:        {t1 * 1e3:8.1f} ms for {n1} orders")
    print(f"  per child order in the loop: {(t1 - t0) / extra * 1e9:8.0f} ns "
          f"({extra} extra children; includes run_event's Python edge per run)")


def bench_router() -> None:
    rng = np.random.default_rng(1)
    K, L = 3, 10
    px = 100.0 + np.cumsum(rng.integers(0, 3, (K, L)) * 0.01, axis=1)
    sz = rng.integers(1, 10, (K, L)) * 100.0
    fee = np.array([0.003, -0.002, 0.0])
    pen = np.array([0.0, 0.001, 0.0005])
    fixed = np.array([0.0, 0.05, 0.0])
    for lot in (100.0, 1.0):
        lots = np.full(K, lot)
        for name, fn in (("optimal_split", lambda lots=lots: optimal_split(
                1, 1000.0, px, sz, fee, pen, lots, fixed)),
                ("greedy_split", lambda lots=lots: greedy_split(
                    1, 1000.0, px, sz, fee, pen, lots))):
            us = _per_call_us(fn, 2000 if lot > 1 else 20)
            print(f"  router {name:<14s} lot {lot:5.0f}: {us:10.2f} us a decision")


def _per_call_us(fn, n: int) -> float:
    fn()  # compiles or loads the cache
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n * 1e6


def bench_route_depth() -> None:
    rng = np.random.default_rng(1)
    K, L = 3, 10
    rows = []
    oid = 1
    for v in range(K):
        px = 100.0 + np.cumsum(rng.integers(1, 3, L)) * 0.01
        for lv in range(L):
            rows.append((v, px[lv], float(rng.integers(1, 10) * 100), oid))
            oid += 1
    ev = np.zeros(len(rows), BOOK_EVENT_DTYPE)
    for i, (v, px, size, o) in enumerate(rows):
        ev[i] = (i, i, v, int(BookEvent.ADD), -1, o, px, size, 0)
    ob = OrderBooks(K)
    ob.apply(ev)
    fee, pen = np.array([0.003, -0.002, 0.0]), np.array([0.0, 0.001, 0.0005])
    lots, fixed = np.full(K, 100.0), np.array([0.0, 0.05, 0.0])
    us = _per_call_us(lambda: route_depth(ob.state, 0, 1, 1, 1000.0, np.nan, fee, pen, lots,
                                          fixed, 16), 2000)
    print(f"  router route_depth (3 live books), lot 100: {us:10.2f} us a decision")


def bench_placement() -> None:
    rng = np.random.default_rng(2)
    K, N = 3, 200
    Q = np.array([300.0, 800.0, 100.0])
    xi = rng.exponential(600.0, (N, K))
    r = np.array([0.002, 0.0025, -0.001])
    for lot, n in ((100.0, 200), (10.0, 3)):
        us = _per_call_us(lambda lot=lot: placement_split(1000.0, Q, xi, 0.005, 0.003, r,
                                                          0.02, 0.01, lot, 2000), n)
        print(f"  Cont-Kukanov placement_split, lot {lot:5.0f}: {us:10.1f} us a decision")


def bench_vwap(panel) -> None:
    entries = np.zeros(panel.close.shape)
    entries[::390, :] = 1
    kw = dict(algo="vwap", horizon_min=389, vwap_bucket_min=5)
    _run(panel, entries, **kw)
    secs = best_of(lambda: _run(panel, entries, **kw))
    res = _run(panel, entries, **kw)
    n = panel.n_bars * len(SYMBOLS)
    print(f"  10-symbol VWAP backtest: {n / secs / 1e6:6.2f} M bar-symbols/s "
          f"({secs * 1e3:.1f} ms, {res.orders.height} orders, {res.fills.height} fills)")


def bench_vwap_book() -> None:
    t = time.perf_counter()
    tape, panel = book_market(BOOK_SYMBOLS, BOOK_MINUTES, "1m")
    print(f"  book tape: {len(tape):,} L3 events, {panel.n_bars} one-minute bars x "
          f"{len(BOOK_SYMBOLS)} symbols (built in {time.perf_counter() - t:.1f} s)")
    entries = np.zeros(panel.close.shape)
    entries[0, :] = 1  # one parent per symbol at the first bar, working the whole span
    sig = Signals.of(entries, np.zeros(entries.shape, bool))
    for name, kw in (("no orders", None), ("sent at once", {}), ("VWAP parents", dict(
            algo="vwap", horizon_min=BOOK_MINUTES - 1, vwap_bucket_min=5))):
        s = sig if kw is not None else Signals.of(np.zeros(entries.shape),
                                                  np.zeros(entries.shape, bool))

        def run(s=s, kw=kw or {}):
            return run_event(panel, s, decision=DecisionConfig(
                size_mode="shares", size=20_000, max_hold_bars=BOOK_MINUTES),
                costs=CostConfig(), risk=RiskConfig(),
                execution=ExecutionConfig(fill_model="book", latency_ms=1.0, **kw),
                init_cash=1e9, book_tape=tape)

        res = run()
        wall, cpu = best_of(run), best_of(run, clock=time.process_time)
        print(f"  10-symbol book replay, {name:<13s}: {len(tape) / wall / 1e6:6.2f} M book "
              f"events/s wall, {len(tape) / cpu / 1e6:6.2f} M/s CPU ({wall * 1e3:.0f} / "
              f"{cpu * 1e3:.0f} ms, {res.orders.height} orders, {res.fills.height} fills)")


def main() -> int:
    if sys.argv[1:] == ["book"]:
        bench_vwap_book()
        return 0
    if sys.argv[1:] == ["router"]:
        bench_router()
        bench_route_depth()
        bench_placement()
        return 0
    t = time.perf_counter()
    panel = _panel()
    print(f"panel: {panel.n_bars} bars x {len(SYMBOLS)} symbols "
          f"(built in {time.perf_counter() - t:.1f} s)")
    bench_children(panel)
    bench_router()
    bench_route_depth()
    bench_placement()
    bench_vwap(panel)
    bench_vwap_book()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
