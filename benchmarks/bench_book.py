"""Order-book reconstruction throughput: LOBSTER replay and ITCH decode + book, numba vs
the plain-Python reference book (``framework.marketdata.book.reference``) in the same run.

Run: ``python benchmarks/bench_book.py`` (~1 min; needs ``../shared/data``). Single core,
warm (best of 3); the first call (JIT compile or cache load) is printed separately.

* LOBSTER: the AMZN and GOOG 2012-06-21 level-1 days with their LEVEL events (what
  ``fw data ingest --source lobster`` stores), replayed into the L3 book with the top 10
  levels of each side maintained after every event: refreshed in place (the current
  view a consumer reads), and also copied out for every event (a [events x 10] history,
  ~27 MB for AMZN, whose allocation and page faults are part of that figure).
* ITCH: Nasdaq's AAPL excerpt (10,000 messages) decoded from bytes, mapped to book event
  columns (prices stay in ITCH's 1e-4 USD units, no DataFrame) and applied on a fresh
  book, top 10 levels maintained the same two ways; the excerpt is small, so the figure
  is the best of 20 runs and includes setting the fresh book up (its grid layout and the
  first touch of every memory page it uses).
* Deep synthetic L3: 10 symbols of the zero-intelligence flow of
  ``framework.data.sources.synthetic_book`` (60 minutes of one session, 847,620 events,
  limit orders 1-30 ticks from the best: books tens of levels deep, where the LOBSTER
  day's are a few), interleaved by time, top 10 of each book maintained; median of 5
  by the process's CPU time with the range, beside the same events with no view kept.
* The order-id map: the book's open-addressing table vs numba's typed Dict on the same
  insert / find / delete sequence. Nothing is asserted.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import datetime as dt  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
from timing import best_of, line, rate, runs  # noqa: E402

from framework.data.sources.itch import book_columns, decode_itch  # noqa: E402
from framework.data.sources.lobster import load_lobster  # noqa: E402
from framework.marketdata.book import order_map  # noqa: E402
from framework.marketdata.book.book import OrderBooks, to_units  # noqa: E402
from framework.marketdata.book.lobster_window import with_window_events  # noqa: E402
from framework.marketdata.book.reference import ReferenceBook  # noqa: E402

SHARED = Path(os.environ.get("FW_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
TOP = 10


def columns(frame):
    return (np.zeros(frame.height, np.int64), frame["kind"].to_numpy(), frame["side"].to_numpy(),
            frame["order_id"].to_numpy(), to_units(frame["price"].to_numpy()),
            frame["size"].to_numpy(), frame["new_order_id"].to_numpy(), frame["ts"].to_numpy())


def reference_rate(cols, limit: int) -> float:
    _, kind, side, oid, px, qty, new, _ = (c[:limit] for c in cols)
    ref = ReferenceBook()
    t = time.perf_counter()
    for i in range(kind.shape[0]):
        ref.apply(int(kind[i]), int(side[i]), int(oid[i]), int(px[i]), float(qty[i]), int(new[i]))
        ref.top(TOP)
    return kind.shape[0] / (time.perf_counter() - t)


def bench_lobster() -> None:
    print("LOBSTER replay into the L3 book, top-10 maintained after every event")
    for sym in ("AMZN", "GOOG"):
        stem = f"{sym}_2012-06-21_34200000_57600000"
        msg = SHARED / "lobster" / f"{stem}_message_1.csv"
        ob = SHARED / "lobster" / f"{stem}_orderbook_1.csv"
        frame = with_window_events(load_lobster(msg, ob, sym, dt.date(2012, 6, 21)), ob)
        cols = columns(frame)
        t = time.perf_counter()
        OrderBooks(1).apply_units(*cols, top_n=TOP)
        first = time.perf_counter() - t
        secs = best_of(lambda cols=cols: OrderBooks(1).apply_units(*cols, top_n=TOP,
                                                                   every=False), 5)
        every = best_of(lambda cols=cols: OrderBooks(1).apply_units(*cols, top_n=TOP), 5)
        ref = reference_rate(cols, 20_000)
        rate = frame.height / secs
        line(f"{sym} fw numba ({frame.height:,} events)", frame.height, secs,
             f"first call {first:.2f} s")
        line(f"{sym} ... and copied out after every event", frame.height, every)
        print(f"  {sym + ' plain-Python reference':<46s} {ref / 1e6:8.2f} M/s  "
              f"(first 20,000 events)  fw / reference = {rate / ref:,.0f}x")


def bench_itch() -> None:
    print("ITCH 5.0 decode + book, top-10 maintained after every event")
    data = (SHARED / "intraday" / "itch" / "locate-13-10k.bin").read_bytes()

    def cols_of(dec) -> tuple:
        ts, kind, side, oid, px, size, new = book_columns(dec, dt.date(2020, 1, 30), "AAPL")
        return np.zeros(ts.shape[0], np.int64), kind, side, oid, px, size, new, ts

    def run(every: bool = False) -> None:
        OrderBooks(1).apply_units(*cols_of(decode_itch(data)), top_n=TOP, every=every)

    t = time.perf_counter()
    run()
    first = time.perf_counter() - t
    secs = best_of(run, 20)
    dec = decode_itch(data)
    n = sum(dec.counts.values())
    line(f"decode + book ({n:,} messages)", n, secs, f"first call {first:.2f} s")
    line("... and copied out after every event", n, best_of(lambda: run(True), 20))
    secs_dec = best_of(lambda: decode_itch(data), 20)
    line("decode only", n, secs_dec)
    cols = cols_of(dec)
    ref = reference_rate(cols, len(cols[0]))
    fw = len(cols[0]) / best_of(lambda: OrderBooks(1).apply_units(*cols, top_n=TOP,
                                                                  every=False), 20)
    print(f"  {'book only: fw / plain-Python reference':<46s} {fw / 1e6:8.2f} vs "
          f"{ref / 1e6:.2f} M/s = {fw / ref:,.0f}x")


DEEP_SYMBOLS = ("SPY", "QQQ", "AAPL", "MSFT", "NVDA", "AMZN", "META", "GOOG", "TSLA", "IWM")


def bench_deep(minutes: int = 60) -> None:
    import polars as pl

    from framework.data.settings import SyntheticBookConfig
    from framework.data.sources.synthetic_book import generate_book

    cfg = SyntheticBookConfig(symbols=list(DEEP_SYMBOLS), start=dt.date(2024, 4, 1),
                              end=dt.date(2024, 4, 1), minutes=minutes)
    frame = pl.concat([generate_book(cfg, s).with_columns(book=pl.lit(b, pl.Int64))
                       for b, s in enumerate(DEEP_SYMBOLS)]).sort("ts", maintain_order=True)
    cols = (frame["book"].to_numpy(), frame["kind"].to_numpy(), frame["side"].to_numpy(),
            frame["order_id"].to_numpy(), to_units(frame["price"].to_numpy()),
            frame["size"].to_numpy().astype(np.float64), frame["new_order_id"].to_numpy(),
            frame["ts"].to_numpy())
    nb = len(DEEP_SYMBOLS)
    print(f"deep synthetic L3, {nb} symbols x {minutes} min interleaved "
          f"({frame.height:,} events), load average {os.getloadavg()[0]:.1f}")
    OrderBooks(nb).apply_units(*cols, top_n=TOP, every=False)
    for name, kw in ((f"top-{TOP} of each book maintained", dict(top_n=TOP, every=False)),
                     ("no view kept (the book alone)", dict(top_n=0))):
        rate(name, frame.height,
             runs(lambda kw=kw: OrderBooks(nb).apply_units(*cols, **kw), clock=time.process_time))


@numba.njit(cache=True)
def _table_ops(keys, vals, ids):
    for k in range(ids.shape[0]):
        order_map.insert(keys, vals, ids[k], k)
    s = 0
    for k in range(ids.shape[0]):
        s += vals[order_map.find(keys, ids[k])]
    for k in range(ids.shape[0]):
        order_map.remove_at(keys, vals, order_map.find(keys, ids[k]))
    return s


@numba.njit(cache=True)
def _dict_ops(ids):
    d = numba.typed.Dict.empty(numba.types.int64, numba.types.int64)
    for k in range(ids.shape[0]):
        d[ids[k]] = k
    s = 0
    for k in range(ids.shape[0]):
        s += d[ids[k]]
    for k in range(ids.shape[0]):
        del d[ids[k]]
    return s


def bench_order_map() -> None:
    print("order id -> slot map, 1 M inserts + finds + deletes (ITCH-like increasing ids)")
    ids = np.arange(1_000_000, dtype=np.int64) * 4 + 56_305
    keys = np.full(1 << 21, order_map.EMPTY, np.int64)
    vals = np.zeros(1 << 21, np.int64)
    _table_ops(keys, vals, ids[:10])
    _dict_ops(ids[:10])
    t_tab = best_of(lambda: _table_ops(keys, vals, ids))
    t_dict = best_of(lambda: _dict_ops(ids))
    line("open addressing (framework)", 3 * ids.size, t_tab)
    line("numba typed Dict", 3 * ids.size, t_dict, f"-> table is {t_dict / t_tab:.1f}x faster")


def main() -> int:
    if not (SHARED / "lobster").is_dir():
        print(f"shared data not found at {SHARED}; set FW_SHARED_DATA")
        return 1
    print(f"numba {numba.__version__}, single thread\n")
    bench_lobster()
    bench_itch()
    bench_deep()
    bench_order_map()
    return 0


if __name__ == "__main__":
    sys.exit(main())
