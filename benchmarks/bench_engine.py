"""Event-driven engine throughput vs the vectorized engine and vectorbt, same signals.

Run: ``python benchmarks/bench_engine.py`` (~60 s). A [T x S] panel of 1-minute bars on
real XNYS sessions (seeded random walk), random entry/exit signals (5 % per bar),
fixed share size, bps fees and slippage. Each engine runs the same signals; the figures
are warm (the first call, JIT compile or cache load, is printed separately) and single
threaded. The three engines' trade counts are printed so the comparison is like for
like (event == vectorized is a test; vectorbt is run with the same next-open fills).
The event engine runs with risk checks on (``RISK_ON``: every order pre-trade checked,
every bar marked, stops and breakers armed, at limits loose enough that none binds, so
the trades stay those of the other engines). Nothing is asserted.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import polars as pl

from framework.data.calendar import sessions
from framework.engine.event.engine import (
    advance,
    new_state,
    order_capacity,
    run_event,
)
from framework.engine.vector import run_signals
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Signals
from framework.strategy.panel import panel_from_frame

N_SESSIONS = 250
SYMBOLS = [f"S{i:02d}" for i in range(8)]
RISK_ON = RiskConfig(max_order_notional=1e6, max_position_shares=1_000,
                     max_position_notional=1e6, max_gross_exposure=1e8, max_daily_loss=1e7,
                     max_drawdown=0.5, stop_loss_pct=0.5, max_orders_per_min=100,
                     price_collar=0.2)


def panel_and_signals(seed: int = 0, symbols: list[str] = SYMBOLS,
                      n_sessions: int = N_SESSIONS):
    _, opens, closes = sessions(dt.date(2000, 1, 3), dt.date(2024, 12, 31))
    ts = np.concatenate([np.arange(o, c, 60_000_000_000) for o, c in
                         zip(opens[-n_sessions:], closes[-n_sessions:], strict=True)])
    rng = np.random.default_rng(seed)
    frames = []
    for s in symbols:
        c = 100 * np.exp(np.cumsum(rng.normal(0, 5e-4, ts.size)))
        o = np.r_[c[0], c[:-1]]
        frames.append(pl.DataFrame({"symbol": s, "ts": ts, "open": o, "high": np.maximum(o, c),
                                    "low": np.minimum(o, c), "close": c, "volume": 1e5,
                                    "vwap": c}))
    panel = panel_from_frame(pl.concat(frames), symbols, "1m")
    entries = rng.random(panel.close.shape) < 0.05
    exits = rng.random(panel.close.shape) < 0.05
    return panel, entries, exits


def timed(fn, repeat: int = 3) -> tuple[float, float, object]:
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return first, best, out


def main() -> None:
    panel, entries, exits = panel_and_signals()
    T, S = panel.close.shape
    events = T * S
    print(f"panel: {T:,} one-minute bars x {S} symbols = {events:,} bar events, "
          f"{(entries.sum() + exits.sum()):,} signals")
    sig = Signals.of(entries.astype(np.int8), exits)
    dec = DecisionConfig(size_mode="shares", size=10, tif="gtc")
    costs = CostConfig(model="custom", fee_bps=1.0, slippage_bps=1.0)

    def event():
        return run_event(panel, sig, decision=dec, costs=costs, risk=RISK_ON,
                         execution=ExecutionConfig(), init_cash=1e8)

    def vector():
        costs = CostConfig(model="custom", fee_bps=1.0, slippage_bps=1.0)
        return run_signals(panel.open, panel.close, entries, exits, init_cash=1e8,
                           size_mode="shares", size=10, costs=costs)

    f_ev, w_ev, r_ev = timed(event)
    f_vec, w_vec, r_vec = timed(vector)
    rows = [("fw event engine (orders, risk checks, fills)", f_ev, w_ev, r_ev.fills.height),
            ("fw vectorized engine", f_vec, w_vec, r_vec.fills.height)]
    rows += vectorbt_row(panel, entries, exits)
    table(rows, events)
    print(f"event / vectorized warm time: {w_ev / w_vec:.2f}x")
    one_symbol()
    quote_level()
    book_level()


def vectorbt_row(panel, entries, exits) -> list[tuple]:
    """vectorbt on the same signals with next-bar-open fills (if installed)."""
    try:
        import vectorbt as vbt
    except ImportError:
        return []

    def vbt_run():
        # vectorbt fills at the given price on the signal bar: pass next-bar opens.
        return vbt.Portfolio.from_signals(
            panel.close, entries, exits, price=np.vstack([panel.open[1:], panel.open[-1:]]),
            size=10, fees=1e-4, slippage=1e-4, init_cash=1e8, cash_sharing=True,
            group_by=True, call_seq="default", freq="1min")

    first, warm, res = timed(vbt_run, repeat=2)
    return [("vectorbt Portfolio.from_signals", first, warm, int(res.orders.count().sum()))]


def table(rows: list[tuple], events: int) -> None:
    print(f"{'engine':<46} {'first call s':>12} {'warm s':>9} {'M events/s':>11} {'fills':>7}")
    for name, first, warm, n in rows:
        print(f"{name:<46} {first:>12.3f} {warm:>9.4f} {events / warm / 1e6:>11.1f} {n:>7,}")


def one_symbol(n_sessions: int = 2564) -> None:
    """Issue 5's headline: one symbol, ~1 M one-minute bars, risk checks on. The engine
    loop alone (state allocated before the clock starts, ``advance``) and the whole
    ``run_event`` (allocation, loop, order and fill frames) are timed apart."""
    panel, entries, exits = panel_and_signals(3, ["S00"], n_sessions)
    sig = Signals.of(entries.astype(np.int8), exits)
    kw = dict(decision=DecisionConfig(size_mode="shares", size=10, tif="gtc"),
              costs=CostConfig(model="custom", fee_bps=1.0, slippage_bps=1.0), risk=RISK_ON,
              execution=ExecutionConfig(), init_cash=1e8)
    fills = []

    def loop():
        state = new_state(panel.symbols, panel.n_bars, **kw,
                          capacity=order_capacity(panel, sig, kw["decision"]))
        t0 = time.perf_counter()
        advance(state, panel, sig, 0, panel.n_bars)
        fills.append(int(state.tally["n_fills"]))
        return time.perf_counter() - t0

    first = loop()
    warm = min(loop() for _ in range(3))
    f_run, w_run, r_run = timed(lambda: run_event(panel, sig, **kw))
    print(f"\none symbol, {panel.n_bars:,} one-minute bars, risk checks on")
    rows = [("fw event engine loop (advance)", first, warm, fills[-1]),
            ("fw run_event (loop + state + frames)", f_run, w_run, r_run.fills.height)]
    table(rows + vectorbt_row(panel, entries, exits), panel.n_bars)


def quote_level(n_sessions: int = 40, n_sym: int = 10, per_min: int = 20) -> None:
    """Quote fill model: NBBO updates drive fills and risk marks, bars drive decisions."""
    from framework.engine.event.quotes import QuoteTape

    _, opens, closes = sessions(dt.date(2023, 1, 3), dt.date(2023, 12, 29))
    ts = np.concatenate([np.arange(o, c, 60_000_000_000) for o, c in
                         zip(opens[:n_sessions], closes[:n_sessions], strict=True)])
    rng = np.random.default_rng(1)
    syms = [f"Q{i:02d}" for i in range(n_sym)]
    frames, q_parts = [], []
    for j, s in enumerate(syms):
        steps = rng.normal(0, 2e-4, ts.size * per_min)
        mid = 100 * np.exp(np.cumsum(steps))
        qts = np.repeat(ts, per_min) + np.tile(np.arange(per_min) * (60_000_000_000 // per_min),
                                              ts.size)
        q_parts.append((qts, np.full(qts.size, j, np.int32), mid - 0.01, mid + 0.01))
        m = mid.reshape(ts.size, per_min)
        frames.append(pl.DataFrame({"symbol": s, "ts": ts, "open": m[:, 0], "high": m.max(1),
                                    "low": m.min(1), "close": m[:, -1], "volume": 1e5,
                                    "vwap": m.mean(1)}))
    panel = panel_from_frame(pl.concat(frames), syms, "1m")
    qts = np.concatenate([p[0] for p in q_parts])
    order = np.argsort(qts, kind="stable")
    bid = np.concatenate([p[2] for p in q_parts])[order]
    tape = QuoteTape(qts[order], np.concatenate([p[1] for p in q_parts])[order], bid,
                     np.full(qts.size, 300.0), bid + 0.02, np.full(qts.size, 300.0))
    entries = rng.random(panel.close.shape) < 0.05
    exits = rng.random(panel.close.shape) < 0.05
    sig = Signals.of(entries.astype(np.int8), exits)

    def run():
        return run_event(panel, sig, decision=DecisionConfig(size_mode="shares", size=100,
                                                             order_type="limit", tif="day"),
                         costs=CostConfig(model="alpaca", slippage_bps=0.0), risk=RiskConfig(),
                         execution=ExecutionConfig(fill_model="quote", latency_ms=5.0),
                         init_cash=1e8, quotes=tape)

    first, warm, res = timed(run, repeat=2)
    events = qts.size + panel.close.size
    print(f"quote fill model: {n_sym} symbols, {qts.size:,} quotes + {panel.close.size:,} "
          f"bars; first call {first:.2f} s, warm {warm:.3f} s = "
          f"{events / warm / 1e6:.1f} M events/s, {res.fills.height:,} fills")



def book_level(n_sym: int = 10, minutes: int = 60) -> None:
    """Book fill model: every L3 event of 10 symbols' synthetic order flow is applied to
    the engine's books, marks risk and is checked against working orders (queue position,
    depth walk); 1-second bars drive decisions."""
    from framework.data.settings import SyntheticBookConfig
    from framework.data.sources.synthetic_book import generate_book
    from framework.engine.event.book_tape import BookTape
    from framework.marketdata.book.prints import book_bars, book_prints

    syms = ["SPY", "QQQ", "AAPL", "MSFT", "NVDA", "AMZN", "META", "GOOG", "TSLA", "IWM"][:n_sym]
    cfg = SyntheticBookConfig(symbols=syms, start=dt.date(2024, 4, 1), end=dt.date(2024, 4, 1),
                              minutes=minutes)
    events, bars = [], []
    for s in syms:
        ev = generate_book(cfg, s)
        events.append(ev.with_columns(symbol=pl.lit(s)))
        bars.append(book_bars(ev, book_prints(ev))["bars_1s"].with_columns(symbol=pl.lit(s)))
    tape = BookTape.from_frame(pl.concat(events), tuple(syms))
    panel = panel_from_frame(pl.concat(bars), syms, "1s")
    rng = np.random.default_rng(2)
    entries = np.where(rng.random(panel.close.shape) < 0.01,
                       rng.choice(np.array([-1, 1], np.int8), panel.close.shape), 0)
    exits = rng.random(panel.close.shape) < 0.02
    sig = Signals.of(entries.astype(np.int8), exits)

    def run():
        return run_event(panel, sig, decision=DecisionConfig(
            size_mode="shares", size=100, order_type="limit", tif="day", allow_short=True,
            entry_timeout_bars=5), costs=CostConfig(model="alpaca"), risk=RiskConfig(),
            execution=ExecutionConfig(fill_model="book", latency_ms=1.0), init_cash=1e8,
            book_tape=tape)

    first, warm, res = timed(run, repeat=2)
    n = len(tape) + panel.close.size
    print(f"book fill model: {n_sym} symbols, {len(tape):,} L3 events + {panel.close.size:,} "
          f"bars; first call {first:.2f} s, warm {warm:.3f} s = {n / warm / 1e6:.1f} M "
          f"events/s, {res.fills.height:,} fills ({int(res.fills['maker'].sum()):,} maker)")


if __name__ == "__main__":
    main()
