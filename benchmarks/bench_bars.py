"""Tick-to-bar aggregation and replay-feed throughput, vs Polars and pandas in the same run.

Run: ``python benchmarks/bench_bars.py`` (~30-60 s). Trades: seeded random prices/sizes
at uniform random times inside 20 real XNYS sessions (500k trades per session, 10 M in
all, one symbol). Single core: numba kernels are serial and Polars is pinned to one
thread (POLARS_MAX_THREADS=1, set before import). Figures are warm (best of 3); the
first call (JIT compile or cache load) is printed separately. The peers compute the same
1-minute OHLCV + VWAP + count (the XNYS open is on a whole minute, so epoch-aligned
1-minute buckets equal session-aligned ones); their bar counts are printed to show
like for like. Nothing is asserted.
"""

from __future__ import annotations

import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from timing import best_of, line  # noqa: E402

from framework.marketdata import bars_kernels as K  # noqa: E402
from framework.marketdata.bars import BarAggregator, BarSpec, SessionTable, build_bars  # noqa: E402
from framework.marketdata.replay import ReplayFeed  # noqa: E402
from framework.marketdata.sale_conditions import Prints  # noqa: E402
from framework.types import BAR_DTYPE, QUOTE_DTYPE, TRADE_DTYPE  # noqa: E402

NS_MIN = 60_000_000_000
N_SESSIONS = 20
PER_SESSION = 500_000


def make_trades(seed: int = 0) -> tuple[np.ndarray, SessionTable]:
    sess = SessionTable.xnys(dt.date(2024, 1, 2), dt.date(2024, 2, 15))
    sess = SessionTable(sess.opens[:N_SESSIONS], sess.closes[:N_SESSIONS])
    rng = np.random.default_rng(seed)
    ts = np.concatenate([np.sort(rng.integers(o, c, PER_SESSION))
                         for o, c in zip(sess.opens, sess.closes, strict=True)])
    tr = np.zeros(ts.size, TRADE_DTYPE)
    tr["ts"] = ts
    tr["price"] = 100.0 * np.exp(np.cumsum(rng.normal(0, 1e-4, ts.size)))
    tr["size"] = rng.integers(1, 500, ts.size).astype(np.float64)
    return tr, sess


def bench_bars(tr: np.ndarray, sess: SessionTable) -> None:
    n = tr.size
    print(f"trades -> bars: {n:,} trades, {N_SESSIONS} sessions, 1 symbol, single core")
    t = time.perf_counter()
    build_bars(tr[:1000], BarSpec.time(NS_MIN), sessions=sess)
    print(f"  first call (JIT compile or cache load): {time.perf_counter() - t:.2f} s")

    spec = BarSpec.time(NS_MIN)
    nb = len(build_bars(tr, spec, sessions=sess).bars)
    fw_s = line("fw time_bars 1m (public API)", n,
                best_of(lambda: build_bars(tr, spec, sessions=sess)), f"{nb} bars")
    pi, pf = spec.params()
    slot_off = K.slot_offsets(sess.opens, sess.closes, NS_MIN)
    out = np.empty(n + 1, BAR_DTYPE)
    cols = (np.ascontiguousarray(tr["ts"]), np.ascontiguousarray(tr["sym"]),
            np.ascontiguousarray(tr["price"]), np.ascontiguousarray(tr["size"]))

    regular = np.full(1, K.FULL, np.int8)

    def kernel():
        st_i, st_f = K.init_state(1, pf)
        K.run_batch(*cols, regular, pi, pf, sess.opens, sess.closes, slot_off, slot_off[:-1],
                    st_i, st_f, out, np.zeros(K.N_COUNTERS, np.int64), True)

    kernel()
    line("fw time_bars 1m (kernel only)", n, best_of(kernel))
    # the same trades with sale conditions as on the tape: ~45 % intermarket sweeps,
    # ~3 % odd lots / Form T, one NYSE auction print per open and close
    rng = np.random.default_rng(5)
    codes = rng.choice(np.array([0x1, 0x20000020, 0x20, 0x80000000, 0x2000], np.int64), n,
                       p=[0.50, 0.40, 0.07, 0.02, 0.01])
    first = np.searchsorted(tr["ts"], sess.opens)
    codes[first] = 0x40
    prints = Prints(codes, np.zeros(n, bool))
    prints.listing[first] = True
    cspec = spec.with_conditions("sip")
    build_bars(tr[:1000], cspec, sessions=sess, prints=Prints(codes[:1000], prints.listing[:1000]))
    line("fw time_bars 1m with sale conditions (sip)", n,
         best_of(lambda: build_bars(tr, cspec, sessions=sess, prints=prints)))
    for sp in (BarSpec.tick(1000), BarSpec.volume(250_000.0), BarSpec.dollar(2.5e7),
               BarSpec.tick_imbalance(1000.0)):
        build_bars(tr[:1000], sp, sessions=sess)
        nb = len(build_bars(tr, sp, sessions=sess).bars)
        line(f"fw {sp.kind} bars", n, best_of(lambda sp=sp: build_bars(tr, sp, sessions=sess)),
             f"{nb} bars")

    m = 200_000
    sub = tr[:m]
    rows = list(zip(sub["ts"].tolist(), sub["sym"].tolist(), sub["price"].tolist(),
                    sub["size"].tolist(), strict=True))

    def stream():
        agg = BarAggregator(spec, sess)
        for r in rows:
            agg.push(*r)
        agg.flush()

    stream()
    line("fw BarAggregator.push (1 trade per call)", m, best_of(stream, 1))

    import polars as pl

    df = pl.DataFrame({"ts": tr["ts"], "price": tr["price"], "size": tr["size"]}).with_columns(
        pl.col("ts").cast(pl.Datetime("ns")).alias("t"))

    def polars_bars():
        return df.group_by_dynamic("t", every="1m").agg(
            pl.col("price").first().alias("open"), pl.col("price").max().alias("high"),
            pl.col("price").min().alias("low"), pl.col("price").last().alias("close"),
            pl.col("size").sum().alias("volume"),
            ((pl.col("price") * pl.col("size")).sum() / pl.col("size").sum()).alias("vwap"),
            pl.len().alias("n"))

    nb = polars_bars().height
    pl_s = line("polars group_by_dynamic 1m (1 thread)", n, best_of(polars_bars), f"{nb} bars")

    import pandas as pd

    pdf = pd.DataFrame({"price": tr["price"], "size": tr["size"]},
                       index=pd.to_datetime(tr["ts"], unit="ns"))
    pdf["pv"] = pdf["price"] * pdf["size"]

    def pandas_bars():
        r = pdf.resample("1min")
        o = r["price"].ohlc()
        agg = r.agg({"size": "sum", "pv": "sum"})
        o["volume"] = agg["size"]
        o["vwap"] = agg["pv"] / agg["size"]
        o["n"] = r["price"].count()
        return o[o["n"] > 0]

    nb = len(pandas_bars())
    pd_s = line("pandas resample 1min", n, best_of(pandas_bars, 2), f"{nb} bars")
    print(f"  speed-up of fw time_bars (public API): {pl_s / fw_s:.2f}x polars, "
          f"{pd_s / fw_s:.2f}x pandas")


def bench_replay(tr: np.ndarray) -> None:
    n_sym = 8
    rng = np.random.default_rng(1)
    m = 2_000_000
    trades = tr[:m].copy()
    trades["sym"] = rng.integers(0, n_sym, m)
    quotes = np.zeros(2 * m, QUOTE_DTYPE)
    quotes["ts"] = np.sort(np.concatenate([trades["ts"] - 1, trades["ts"] - 2]))
    quotes["sym"] = rng.integers(0, n_sym, 2 * m)
    quotes["bid"], quotes["ask"] = 99.99, 100.01
    bars = build_bars(trades, BarSpec.time(NS_MIN)).bars
    syms = [f"S{i}" for i in range(n_sym)]
    n_ev = trades.size + quotes.size + bars.size
    print(f"replay feed: {n_ev:,} events ({n_sym} symbols: trades, quotes, 1m bars)")
    t = time.perf_counter()
    ReplayFeed(syms, trades=trades[:100], quotes=quotes[:100], bars=bars[:10])
    print(f"  first call (JIT compile or cache load): {time.perf_counter() - t:.2f} s")
    line("ReplayFeed merge (build, events())", n_ev,
         best_of(lambda: ReplayFeed(syms, trades=trades, quotes=quotes, bars=bars), 2))
    feed = ReplayFeed(syms, trades=trades, quotes=quotes, bars=bars)

    async def consume():
        k = 0
        async for b in feed.stream():
            k += len(b)
        return k

    line("ReplayFeed.stream() async, full speed", n_ev, best_of(lambda: asyncio.run(consume()), 2),
         f"batch {feed.batch_size}")


def main() -> None:
    tr, sess = make_trades()
    bench_bars(tr, sess)
    bench_replay(tr)


if __name__ == "__main__":
    main()
