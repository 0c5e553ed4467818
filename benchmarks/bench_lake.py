"""Lake benchmark: synthetic generation, Parquet ingest, symbol-day / symbol-year queries.

Builds a temporary lake of N_SYMBOLS symbol-years of 1-minute bars (default 50) and
compares the lake's direct partition reads with DuckDB and Polars hive-glob scans of the
same files. Run: ``python benchmarks/bench_lake.py [--symbols 50]``. Prints a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from framework.data import Lake
from framework.data.calendar import sessions
from framework.data.settings import SyntheticConfig
from framework.data.sources import synthetic as syn


def _bars_year(year: int, seed: int) -> pl.DataFrame:
    _, opens, closes = sessions(dt.date(year, 1, 1), dt.date(year, 12, 31))
    ts = np.concatenate([np.arange(o, c, 60_000_000_000, dtype=np.int64)
                         for o, c in zip(opens, closes, strict=True)])
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 5e-4, ts.size)))
    o = np.r_[100.0, c[:-1]]
    return pl.DataFrame({"ts": ts, "open": o, "high": np.maximum(o, c) * 1.0003,
                         "low": np.minimum(o, c) * 0.9997, "close": c,
                         "volume": rng.integers(100, 50_000, ts.size).astype(float),
                         "vwap": (o + c) / 2, "n": rng.integers(1, 200, ts.size)})


def _median_ms(fn, reps: int) -> float:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e3)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--symbols", type=int, default=50, help="symbol-years of 1m bars in the lake")
    args = ap.parse_args()
    rows: list[tuple[str, str, str]] = []

    # 1. synthetic generation (compile once, then warm)
    cfg = SyntheticConfig(symbols=["SPY", "QQQ", "AAPL", "MSFT", "NVDA"],
                          start=dt.date(2024, 1, 2), end=dt.date(2024, 1, 31))
    t = time.perf_counter()
    mkt = syn.market(cfg.model_copy(update={"end": dt.date(2024, 1, 3)}))
    syn.generate_symbol(mkt, "SPY")
    rows.append(("synthetic JIT compile + first call (cache may be warm)",
                 f"{time.perf_counter() - t:.2f}", "s"))
    t = time.perf_counter()
    mkt = syn.market(cfg)
    arrays = [syn.generate_symbol(mkt, s) for s in cfg.symbols]
    el = time.perf_counter() - t
    n_tr = sum(a[0].size for a in arrays)
    n_q = sum(a[4].size for a in arrays)
    rows.append((f"synthetic generation ({n_tr:,} trades + {n_q:,} quotes)",
                 f"{n_tr / el / 1e6:.2f}", "M trades/s"))
    rows.append(("synthetic generation, all events", f"{(n_tr + n_q) / el / 1e6:.2f}",
                 "M events/s"))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "lake"
        lake = Lake(root)
        # 2. ingest rate: trades of one symbol-month to Parquet (validation + atomic files + catalog)
        trades, quotes = syn.to_frames(arrays[0])
        t = time.perf_counter()
        lake.write("trades", "SPY", trades, "synthetic")
        el = time.perf_counter() - t
        rows.append((f"ingest trades ({trades.height:,} rows, {len(mkt.dates)} partitions)",
                     f"{trades.height / el / 1e6:.2f}", "M rows/s"))
        # 3. a lake of N symbol-years of 1-minute bars
        t = time.perf_counter()
        n_rows = 0
        for i in range(args.symbols):
            frame = _bars_year(2023, i)
            lake.write("bars_1m", f"S{i:03d}", frame, "bench")
            n_rows += frame.height
        el = time.perf_counter() - t
        n_files = sum(1 for _ in (root / "bars_1m").glob("*/*/part.parquet"))
        rows.append((f"ingest 1m bars ({args.symbols} symbol-years, {n_rows:,} rows, "
                     f"{n_files:,} files)", f"{n_rows / el / 1e6:.2f}", "M rows/s"))
        rows.append(("  build time", f"{el:.1f}", "s"))

        # 4. queries
        rng = np.random.default_rng(1)
        days, _, _ = sessions(dt.date(2023, 1, 1), dt.date(2023, 12, 31))
        picks = [(f"S{rng.integers(args.symbols):03d}", days[rng.integers(len(days))])
                 for _ in range(40)]
        it = iter(picks * 3)
        lake.bars("S000", days[5], days[5])  # warm imports
        ms = _median_ms(lambda: lake.bars(*(lambda s, d: (s, d, d))(*next(it))), 40)
        rows.append(("one symbol-day, Lake.bars (direct partition path)", f"{ms:.2f}", "ms"))

        import duckdb

        con = duckdb.connect()
        glob = f"{root.as_posix()}/bars_1m/*/*/*.parquet"
        it = iter(picks * 3)

        def duck_day():
            s, d = next(it)
            return con.execute(
                f"SELECT * FROM read_parquet('{glob}', hive_partitioning=true) "
                "WHERE symbol = ? AND date = ?", [s, d]).to_arrow_table()

        ms = _median_ms(duck_day, 10)
        rows.append(("one symbol-day, DuckDB hive glob + pushdown (peer)", f"{ms:.2f}", "ms"))
        it = iter(picks * 3)

        def polars_day():
            s, d = next(it)
            return (pl.scan_parquet(glob, hive_partitioning=True)
                    .filter((pl.col("symbol") == s) & (pl.col("date") == d)).collect())

        ms = _median_ms(polars_day, 5)
        rows.append(("one symbol-day, Polars hive glob scan (peer)", f"{ms:.2f}", "ms"))

        syms = iter([f"S{i:03d}" for i in rng.integers(args.symbols, size=20)])
        ms = _median_ms(lambda: lake.bars(next(syms), "2023-01-01", "2023-12-31"), 10)
        rows.append(("one symbol-year of 1m bars, Lake.bars (250 files)", f"{ms:.1f}", "ms"))
        ms = _median_ms(lambda: pl.from_arrow(con.execute(
            f"SELECT * FROM read_parquet('{root.as_posix()}/bars_1m/symbol=S007/*/*.parquet')"
        ).to_arrow_table()), 5)
        rows.append(("one symbol-year, DuckDB read of the symbol's files (peer)", f"{ms:.1f}", "ms"))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>10}  unit")
    print("-" * (width + 20))
    for name, val, unit in rows:
        print(f"{name:<{width}}  {val:>10}  {unit}")


if __name__ == "__main__":
    main()
