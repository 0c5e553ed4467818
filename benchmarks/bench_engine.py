"""Event-driven engine vs the vectorized engine and vectorbt (numba and Rust), same run.

Run: ``python benchmarks/bench_engine.py`` (~3-5 min warm on 2 busy cores, plus ~1 min
a subprocess for the memory table). Two
workloads, each on 1 symbol x 2,564 sessions (1.0 M one-minute bars), 8 x 250 and
100 x 20 (0.78 M bar events each), on real XNYS sessions (seeded random walks):

* random signals: entries and exits each 5 % of bars;
* SMA-cross pipeline: SMA 10 / SMA 50 crossings computed from the closes, then the
  engine; the indicator and signal time is inside every figure (fw: ``sma_batch`` +
  ``crossover``/``crossunder``; vectorbt: ``MA.run`` + ``ma_crossed_above/below``).

Like for like: fw's whole ``run_event`` (state allocation, loop, the fills frame: its
other frames are built when read) against vectorbt's whole ``Portfolio.from_signals``
call plus its order records (the rest of a vectorbt portfolio is built when read too),
``engine="numba"`` and ``engine="rust"``; fixed 10-share orders, 1 bp fees and
slippage, fills at the next bar's open on both sides (vectorbt gets the next opens as
its price, none for the last bar). fw's loop alone
(``advance`` on preallocated state) is a separate row, labelled. Every figure is the
median of ``REPEAT`` warm calls with the range (slowest-fastest), after one untimed call
(JIT compile or cache load); one thread on every side (``NUMBA_NUM_THREADS`` and
``RAYON_NUM_THREADS`` set to 1 before anything imports numba). Fill counts are printed
so the runs can be checked to trade alike. The event engine runs with risk checks on
(``RISK_ON``: every order pre-trade checked, every bar marked, stops and breakers armed
at limits loose enough that none binds). Nothing is asserted.

Two more figures: fw's SMA pipeline against the bare fused loop (``fused_sma_cross``: the
two SMAs, the crossings and next-open fills of one symbol in one numba pass, no risk,
no order table, no result), the floor a general engine is measured from, beside fw's
loop with no signal at all (its fixed per-bar cost); and the peak
resident memory of each side's warm run (``run_event`` with every frame built;
``from_signals`` with its order records), each side in a fresh subprocess, the peak
reset after the panel is built (``/proc/self/clear_refs``; ``VmHWM``).
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # equal threads on every side, before numba or Rust start
    for _var in ("NUMBA_NUM_THREADS", "RAYON_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[_var] = "1"

import datetime as dt  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from framework.data.calendar import sessions  # noqa: E402
from framework.engine.event.engine import (  # noqa: E402
    advance,
    new_state,
    order_capacity,
    run_event,
)
from framework.engine.vector import run_signals  # noqa: E402
from framework.execution.config import ExecutionConfig  # noqa: E402
from framework.execution.costs import CostConfig  # noqa: E402
from framework.features.kernels_trend import sma_batch  # noqa: E402
from framework.risk import RiskConfig  # noqa: E402
from framework.strategy import DecisionConfig, Signals  # noqa: E402
from framework.strategy.causal import crossover, crossunder  # noqa: E402
from framework.strategy.panel import panel_from_frame  # noqa: E402
from framework.types.jit import kernel  # noqa: E402

REPEAT = 5
SHAPES = ((1, 2564), (8, 250), (100, 20))  # (symbols, sessions)
FAST, SLOW = 10, 50
RISK_ON = RiskConfig(max_order_notional=1e6, max_position_shares=1_000,
                     max_position_notional=1e6, max_gross_exposure=1e8, max_daily_loss=1e7,
                     max_drawdown=0.5, stop_loss_pct=0.5, max_orders_per_min=100,
                     price_collar=0.2)
DECISION = DecisionConfig(size_mode="shares", size=10, tif="gtc")
COSTS = CostConfig(model="custom", fee_bps=1.0, slippage_bps=1.0)


def panel_and_signals(seed: int = 0, symbols: list[str] | None = None,
                      n_sessions: int = 250):
    """A [T x S] panel of one-minute bars and random entry/exit masks (5 % each)."""
    symbols = symbols or [f"S{i:02d}" for i in range(8)]
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


def timed(fn, repeat: int = REPEAT) -> tuple[float, list[float], object]:
    """(first call s, ``repeat`` warm call times s, last result)."""
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        warm.append(time.perf_counter() - t0)
    return first, warm, out


def fw_signals(panel) -> tuple[np.ndarray, np.ndarray]:
    """SMA-cross entries/exits from the panel's closes, fw's kernels."""
    cols = range(len(panel.symbols))
    fast = np.column_stack([sma_batch(panel.close[:, j], FAST) for j in cols])
    slow = np.column_stack([sma_batch(panel.close[:, j], SLOW) for j in cols])
    return crossover(fast, slow), crossunder(fast, slow)


def vbt_signals(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SMA-cross entries/exits, vectorbt's idiomatic way (one ``MA.run`` per window)."""
    import vectorbt as vbt

    fast = vbt.MA.run(close, FAST, short_name="fast")
    slow = vbt.MA.run(close, SLOW, short_name="slow")
    return fast.ma_crossed_above(slow).values, fast.ma_crossed_below(slow).values


def engine_table(title: str, panel, entries, exits, pipeline: bool) -> None:
    """Print one table: fw's run_event, its loop alone, the vectorized engine, vectorbt
    numba and Rust, on ``panel`` with the given masks (or, for ``pipeline``, masks each
    side computes from the closes inside the timed call)."""
    events = panel.n_bars * len(panel.symbols)
    kw = dict(decision=DECISION, costs=COSTS, risk=RISK_ON, execution=ExecutionConfig(),
              init_cash=1e8)

    def signals():
        en, ex = fw_signals(panel) if pipeline else (entries, exits)
        return en, ex, Signals.of(en.astype(np.int8), ex)

    def event():
        return run_event(panel, signals()[2], **kw).fills.height

    fixed = signals()  # the loop-only row times the engine loop, signals precomputed
    fills = []

    def loop():
        state = new_state(panel.symbols, panel.n_bars, **kw,
                          capacity=order_capacity(panel, fixed[2], kw["decision"]))
        t0 = time.perf_counter()
        advance(state, panel, fixed[2], 0, panel.n_bars)
        fills.append(int(state.tally["n_fills"]))
        return time.perf_counter() - t0

    def vector():
        en, ex, _ = signals()
        return run_signals(panel.open, panel.close, en, ex, init_cash=1e8, size_mode="shares",
                           size=10, costs=COSTS).fills.height

    rows = [("fw run_event (signals, state, loop, fills)",) + timed(event)]
    first = loop()
    rows.append(("fw loop only (advance; not like for like)", first,
                 [loop() for _ in range(REPEAT)], fills[-1]))
    rows.append(("fw vectorized engine",) + timed(vector))
    rows += vectorbt_rows(panel, entries, exits, pipeline)
    print(f"\n{title}: {len(panel.symbols)} symbol(s) x {panel.n_bars:,} one-minute bars = "
          f"{events:,} bar events; median of {REPEAT} warm calls (range), 1 thread each")
    print(f"{'engine':<48} {'first s':>8} {'median s':>9} {'M bars/s (range)':>22} {'fills':>8}")
    rates = {}
    for name, first, warm, n in rows:
        med = statistics.median(warm)
        rates[name] = events / med / 1e6
        rng = f"{events / max(warm) / 1e6:.1f}-{events / min(warm) / 1e6:.1f}"
        print(f"{name:<48} {first:>8.2f} {med:>9.4f} {rates[name]:>9.1f} ({rng:>10}) {n:>8,}")
    fw = rates[rows[0][0]]
    for name in rates:
        if name.startswith("vectorbt"):
            print(f"  fw run_event / {name}: {fw / rates[name]:.2f}x")


@kernel
def fused_sma_cross(o, c, fast, slow, qty, fee, slip, cash):
    """The floor: SMA ``fast``/``slow`` cross long-only on one symbol in one pass; a
    cross decided at bar t's close trades ``qty`` shares at t+1's open, ``slip`` and
    ``fee`` fractions of it (fw's SMA arithmetic, fw's crossing rule; none on the last
    bar). Returns (fills, final equity USD at the last close) from ``cash`` USD."""
    sf = 0.0
    ss = 0.0
    prev_above = False
    valid = False
    pos = 0.0
    pending = 0
    fills = 0
    for t in range(c.shape[0]):
        if pending != 0:
            px = o[t] * (1.0 + pending * slip)
            cash -= pending * qty * px + qty * px * fee
            pos += pending * qty
            fills += 1
            pending = 0
        sf += c[t]
        ss += c[t]
        if t + 1 >= slow:
            above = sf / fast > ss / slow  # TA-Lib's order: add, emit, then drop
            if valid and above and not prev_above and pos == 0.0:
                pending = 1
            elif valid and prev_above and not above and pos > 0.0:
                pending = -1
            prev_above = above
            valid = True
            ss -= c[t + 1 - slow]
        if t + 1 >= fast:
            sf -= c[t + 1 - fast]
    return fills, cash + pos * c[-1]


def fused_table(panel) -> None:
    """fw's SMA pipeline (``run_event``, signals included) against the bare fused loop on
    the same one-symbol panel."""
    kw = dict(decision=DECISION, costs=COSTS, risk=RISK_ON, execution=ExecutionConfig(),
              init_cash=1e8)

    def event():
        en, ex = fw_signals(panel)
        return run_event(panel, Signals.of(en.astype(np.int8), ex), **kw).fills.height

    none = Signals.of(np.zeros(panel.close.shape, np.int8), np.zeros(panel.close.shape, bool))

    def idle():  # the loop's fixed per-bar cost: no signal, so no order, ever
        state = new_state(panel.symbols, panel.n_bars, **kw)
        advance(state, panel, none, 0, panel.n_bars)
        return int(state.tally["n_fills"])

    o, c = np.ascontiguousarray(panel.open[:, 0]), np.ascontiguousarray(panel.close[:, 0])
    rows = [("fw run_event, SMA pipeline",) + timed(event),
            ("fw loop only, no signals (state included)",) + timed(idle),
            ("bare fused loop (SMA + cross + fills)",)
            + timed(lambda: fused_sma_cross(o, c, FAST, SLOW, 10.0, 1e-4, 1e-4, 1e8)[0])]
    print(f"\nSMA {FAST}/{SLOW} pipeline against the bare fused loop: 1 symbol x "
          f"{panel.n_bars:,} bars; median of {REPEAT} warm calls (range), 1 thread")
    print(f"{'run':<48} {'first s':>8} {'median s':>9} {'range s':>17} {'fills':>8}")
    for name, first, warm, n in rows:
        print(f"{name:<48} {first:>8.2f} {statistics.median(warm):>9.4f} "
              f"({min(warm):.4f}-{max(warm):.4f}) {n:>8,}")
    print(f"  fw run_event / bare fused loop: "
          f"{statistics.median(rows[0][2]) / statistics.median(rows[2][2]):.2f}x the time")


RSS_SIDES = ("panel only", "fw run_event", "vectorbt numba", "vectorbt rust")


def _status_mib(field: str) -> float:
    """``VmRSS`` / ``VmHWM`` of this process in MiB (``/proc/self/status``)."""
    with open("/proc/self/status") as f:
        line = next(ln for ln in f if ln.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def rss_run(side: str, workload: str) -> None:
    """One side's whole run on 1 symbol x 2,564 sessions in this (fresh) process, once to
    warm it, then again with the peak reset (``/proc/self/clear_refs`` 5; building the
    panel peaks higher than either engine); prints the resident set before that call and
    its peak, MiB."""
    panel, entries, exits = panel_and_signals(3, ["S00"], 2564)
    pipeline = workload == "sma"
    if side == "fw run_event":
        def run():
            en, ex = fw_signals(panel) if pipeline else (entries, exits)
            run_event(panel, Signals.of(en.astype(np.int8), ex), decision=DECISION,
                      costs=COSTS, risk=RISK_ON, execution=ExecutionConfig(),
                      init_cash=1e8).built()
    elif side.startswith("vectorbt"):
        import vectorbt as vbt

        price = np.vstack([panel.open[1:], np.full((1, 1), np.nan)])

        def run():
            en, ex = vbt_signals(panel.close) if pipeline else (entries, exits)
            vbt.Portfolio.from_signals(panel.close, en, ex, price=price, size=10, fees=1e-4,
                                       slippage=1e-4, init_cash=1e8, cash_sharing=True,
                                       group_by=True, freq="1min",
                                       engine=side.split()[1]).orders.count()
    else:
        def run():
            return None
    run()
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status_mib("VmRSS")
    run()
    print(base, _status_mib("VmHWM"))


def rss_table() -> None:
    """Peak RSS of each side's warm run, each side in a fresh subprocess."""
    print("\npeak resident memory of one warm call, 1 symbol x 996,000 bars, one fresh "
          "process per cell: MiB at the call's start -> its peak (VmHWM)")
    print(f"{'workload':<10}" + "".join(f"{s:>22}" for s in RSS_SIDES))
    for workload in ("random", "sma"):
        cells = []
        for side in RSS_SIDES:
            out = subprocess.run([sys.executable, __file__, "--rss", side, workload],
                                 capture_output=True, text=True, check=True).stdout
            base, peak = (float(v) for v in out.split()[-2:])
            cells.append(f"{base:.0f} -> {peak:.0f}")
        print(f"{workload:<10}" + "".join(f"{c:>22}" for c in cells))


def vectorbt_rows(panel, entries, exits, pipeline: bool) -> list[tuple]:
    """vectorbt's whole ``from_signals`` (plus, for ``pipeline``, its MA and crossing
    calls) with next-bar-open fills, on its numba and its Rust engine."""
    import vectorbt as vbt

    # a signal at t fills at t+1's open; the last bar has none (NaN: vectorbt ignores the
    # order, as fw does; padding it with that bar's own open was a price from before the
    # decision, the 3-6 extra vectorbt fills at 100 symbols)
    price = np.vstack([panel.open[1:], np.full((1, panel.open.shape[1]), np.nan)])
    rows = []
    for engine in ("numba", "rust"):
        def run(engine=engine):
            en, ex = vbt_signals(panel.close) if pipeline else (entries, exits)
            pf = vbt.Portfolio.from_signals(
                panel.close, en, ex, price=price, size=10, fees=1e-4, slippage=1e-4,
                init_cash=1e8, cash_sharing=True, group_by=True, call_seq="default",
                freq="1min", engine=engine)
            return int(pf.orders.count().sum())

        rows.append((f"vectorbt from_signals, engine={engine}",) + timed(run))
    return rows


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus; "
          "threads: 1 for fw (numba) and vectorbt (numba, Rust)")
    for n_sym, n_sessions in SHAPES:
        panel, entries, exits = panel_and_signals(3, [f"S{i:02d}" for i in range(n_sym)],
                                                  n_sessions)
        engine_table("random signals", panel, entries, exits, pipeline=False)
        engine_table(f"SMA {FAST}/{SLOW} cross pipeline", panel, entries, exits, pipeline=True)
        if n_sym == 1:
            fused_table(panel)
    rss_table()
    quote_level()
    book_level()


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

    first, warm, res = timed(run)
    events = qts.size + panel.close.size
    print(f"\nquote fill model: {n_sym} symbols, {qts.size:,} quotes + {panel.close.size:,} "
          f"bars; first call {first:.2f} s; {_rate(events, warm)} M events/s, "
          f"{res.fills.height:,} fills")



BOOK_SYMBOLS = ("SPY", "QQQ", "AAPL", "MSFT", "NVDA", "AMZN", "META", "GOOG", "TSLA", "IWM")


def book_market(syms, minutes: int, timeframe: str):
    """(BookTape, panel of ``timeframe`` bars from its prints) of the synthetic L3 flow
    of ``syms`` over the first ``minutes`` of the session of 2024-04-01."""
    from framework.data.settings import SyntheticBookConfig
    from framework.data.sources.synthetic_book import generate_book
    from framework.engine.event.book_tape import BookTape
    from framework.marketdata.book.prints import book_bars, book_prints

    syms = list(syms)
    cfg = SyntheticBookConfig(symbols=syms, start=dt.date(2024, 4, 1), end=dt.date(2024, 4, 1),
                              minutes=minutes)
    events, bars = [], []
    for s in syms:
        ev = generate_book(cfg, s)
        events.append(ev.with_columns(symbol=pl.lit(s)))
        bars.append(book_bars(ev, book_prints(ev))["bars_" + timeframe]
                    .with_columns(symbol=pl.lit(s)))
    tape = BookTape.from_frame(pl.concat(events), tuple(syms))
    return tape, panel_from_frame(pl.concat(bars), syms, timeframe)


def book_level(n_sym: int = 10, minutes: int = 60) -> None:
    """Book fill model: every L3 event of 10 symbols' synthetic order flow is applied to
    the engine's books, marks risk and is checked against working orders (queue position,
    depth walk); 1-second bars drive decisions."""
    tape, panel = book_market(BOOK_SYMBOLS[:n_sym], minutes, "1s")
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

    first, warm, res = timed(run)
    n = len(tape) + panel.close.size
    print(f"book fill model: {n_sym} symbols, {len(tape):,} L3 events + {panel.close.size:,} "
          f"bars; first call {first:.2f} s; {_rate(n, warm)} M events/s, "
          f"{res.fills.height:,} fills ({int(res.fills['maker'].sum()):,} maker)")


def _rate(n: int, secs: list[float]) -> str:
    """``n`` items over the runs ``secs``: median rate in millions/s, range, run count."""
    return (f"{n / statistics.median(secs) / 1e6:.1f} (range {n / max(secs) / 1e6:.1f}-"
            f"{n / min(secs) / 1e6:.1f}, median of {len(secs)})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rss"]:
        rss_run(sys.argv[2], sys.argv[3])
    else:
        main()
