"""Vectorized SMA-cross sweep: fw vs vectorbt (numba and Rust) on the full grid, same run.

Run: ``python benchmarks/bench_sweep.py`` (part 1 ~5-10 min on 2 busy cores; part 2, a
non-crossover strategy's 500-trial sweep, takes minutes: ``BENCH_SWEEP_PART=1`` or ``2``
runs one part). Grid: fast 5..50 step 1, slow 10..200 step 5, fast < slow -> 1,605
combos, over 1,000,000 bars of a seeded random walk. fw runs the whole grid
(``sweep_crossover``: numba prange over combos) on one thread and on every thread numba
sees, both printed. vectorbt runs the whole grid too, sharing its moving averages as
``MA.run`` does with a parameter list: each of the grid's distinct windows is computed
once (one ``MA.run``), then, ``VBT_CHUNK`` combos at a time (memory), its crossing
kernel and ``Portfolio.from_signals`` with fills at the next open, once with
``engine="numba"`` and once with ``engine="rust"``, one thread (the MA and crossing time
is inside its figure). Warm timings; first calls (JIT compile or cache load) printed
separately. Peak memory of the fw sweep from tracemalloc (NumPy allocations) and
ru_maxrss. Nothing is asserted.
"""

from __future__ import annotations

import os
import resource
import time
import tracemalloc

import numba
import numpy as np

from framework.engine.vector import run_signals
from framework.execution.costs import CostConfig
from framework.features.kernels_trend import sma_batch
from framework.sweep import crossover_grid, sweep_crossover

N_BARS = 1_000_000
FAST = np.arange(5, 51)
SLOW = np.arange(10, 201, 5)
VBT_CHUNK = 64  # combos per vectorbt call (~1 GB of its arrays at 1 M bars)
COSTS = CostConfig(model="custom", fee_bps=1.0, slippage_bps=1.0)


def series(n: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0.0, 0.0002, n))
    return open_, close


def fw_sweep(open_, close, pairs):
    return sweep_crossover(open_, close, pairs, costs=COSTS, periods_per_year=252 * 390)


def vbt_sweep(open_, close, pairs, engine: str = "numba") -> np.ndarray:
    """Final values of the SMA-cross grid ``pairs`` in vectorbt: one ``MA.run`` over the
    grid's distinct windows, then crossings and ``from_signals`` per chunk of combos."""
    import vectorbt as vbt
    from vectorbt.generic.nb import crossed_above_nb

    windows = np.unique(pairs)
    ma = vbt.MA.run(close, window=list(windows)).ma.to_numpy()
    col = {int(w): j for j, w in enumerate(windows)}
    out = []
    for lo in range(0, len(pairs), VBT_CHUNK):
        chunk = pairs[lo:lo + VBT_CHUNK]
        fast = ma[:, [col[int(w)] for w in chunk[:, 0]]]
        slow = ma[:, [col[int(w)] for w in chunk[:, 1]]]
        en, ex = crossed_above_nb(fast, slow), crossed_above_nb(slow, fast)
        # Signal at t's close fills at t+1's open: shift signals, price = open (fw's bar fill).
        en_s, ex_s = np.zeros_like(en), np.zeros_like(ex)
        en_s[1:], ex_s[1:] = en[:-1], ex[:-1]
        pf = vbt.Portfolio.from_signals(
            close=close[:, None], entries=en_s, exits=ex_s, price=open_[:, None],
            size=np.inf, direction="longonly", fees=COSTS.fee_bps * 1e-4,
            slippage=COSTS.slippage_bps * 1e-4, init_cash=100_000.0, freq="1min",
            engine=engine,
        )  # fmt: skip
        out.append(np.asarray(pf.final_value()))
    return np.concatenate(out)


def main() -> None:
    open_, close = series(N_BARS)
    pairs = crossover_grid(FAST, SLOW)
    n = pairs.shape[0]
    print(
        f"grid: fast {FAST[0]}..{FAST[-1]}, slow {SLOW[0]}..{SLOW[-1]} step 5, fast<slow -> {n} combos"
    )
    print(f"bars: {N_BARS:,}; numba threads: {numba.get_num_threads()}; cpus: {os.cpu_count()}")

    t0 = time.perf_counter()
    fw_sweep(open_[:2000], close[:2000], pairs[:4])
    print(
        f"fw first call (JIT compile or cache load, tiny input): {time.perf_counter() - t0:.2f} s"
    )

    tracemalloc.start()
    t0 = time.perf_counter()
    df = fw_sweep(open_, close, pairs)
    fw_s = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    t0 = time.perf_counter()
    fw_sweep(open_, close, pairs)
    fw_s1 = time.perf_counter() - t0
    numba.set_num_threads(threads)
    rates = {f"fw sweep_crossover, {threads} threads": n / fw_s,
             "fw sweep_crossover, 1 thread": n / fw_s1}
    print(f"fw peak traced memory during sweep: {peak / 2**20:.1f} MiB "
          f"(inputs {2 * close.nbytes / 2**20:.0f} MiB; one equity curve per combo would be "
          f"{n * close.nbytes / 2**30:.1f} GiB)")  # fmt: skip
    print(f"process ru_maxrss: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    # Spot check: full single-run engine (keeps curve and fills) on a few combos equals the sweep row.
    worst = 0.0
    for i in (0, n // 2, n - 1):
        f, s = sma_batch(close, int(pairs[i, 0])), sma_batch(close, int(pairs[i, 1]))
        rel = np.where(np.isnan(f) | np.isnan(s), -1, (f > s).astype(int))
        prev = np.r_[-1, rel[:-1]]
        r = run_signals(
            open_, close, (prev == 0) & (rel == 1), (prev == 1) & (rel == 0), costs=COSTS
        )
        worst = max(worst, abs(r.equity[-1] / df["final_equity"][i] - 1.0))
    print(f"sweep vs single-run engine, 3 combos: max rel diff of final equity {worst:.1e}")

    ours = df["final_equity"].to_numpy()
    numba.set_num_threads(1)  # vectorbt's side: one thread, as its Rust engine
    for engine in ("numba", "rust"):
        t0 = time.perf_counter()
        vbt_sweep(open_[:2000], close[:2000], pairs[:2], engine)
        print(f"vectorbt {engine} first call (JIT/cache, tiny input): "
              f"{time.perf_counter() - t0:.2f} s")
        t0 = time.perf_counter()
        vbt_final = vbt_sweep(open_, close, pairs, engine)
        rates[f"vectorbt MA.run + from_signals, engine={engine}, 1 thread"] = \
            n / (time.perf_counter() - t0)
        rel_diff = np.abs(ours / vbt_final - 1.0)
        print(f"final equity fw vs vectorbt {engine}, {n} combos: "
              f"{(rel_diff <= 1e-9).sum()} equal to 1e-9, max rel diff {rel_diff.max():.1e} "
              "(vectorbt's rolling mean differs from fw's SMA at round-off; a tie can flip "
              "a cross)")
    numba.set_num_threads(threads)
    print(f"\nfull grid, {n} combos x {N_BARS:,} bars, one run each "
          f"(load average {os.getloadavg()[0]:.2f})")
    for name, cps in rates.items():
        print(f"  {name:<58} {n / cps:8.1f} s {cps:9.1f} combos/s "
              f"{cps * N_BARS / 1e6:8.0f} M bar*combos/s")
    for threads_label in (f"{threads} threads", "1 thread"):
        fw_cps = rates[f"fw sweep_crossover, {threads_label}"]
        for engine in ("numba", "rust"):
            vbt_cps = rates[f"vectorbt MA.run + from_signals, engine={engine}, 1 thread"]
            print(f"  fw ({threads_label}) / vectorbt {engine} (1 thread): "
                  f"{fw_cps / vbt_cps:.1f}x")


if __name__ == "__main__" and os.environ.get("BENCH_SWEEP_PART", "all") in ("all", "1"):
    main()


# --- Part 2: a non-crossover strategy through `fw sweep`, against backtesting.py and vectorbt
#
# A long-only z-score reversion on daily bars (buy when the close's z-score against its
# `window`-bar mean is <= -entry_z, sell once it is back >= 0), written as a user's
# strategy file. Grid: window 10..59 x entry_z 0.5..2.75 step 0.25 = 500 combos, one
# symbol, 2,000 sessions of a seeded mean-reverting walk, no costs, all-in, fills at the
# next open in all three. Whole call against whole call, each repeated ZS_RUNS times
# (median, range), same grid, same threads where the library allows it:
# * fw: `run_sweep` as `fw sweep` runs it (Optuna grid sampler, journal storage, every
#   trial scored on its sessions; the route sends it to the vector engine, z-scores
#   shared across the thresholds of a window), then the HTML report timed separately;
#   numba threads = the cores (2 here), and again with 1 thread;
# * backtesting.py: `Backtest.optimize` over the same grid, its process pool of the
#   cores (2 here);
# * vectorbt: the z-score of each window computed once (shared across the thresholds,
#   as `MA.run` does for MAs), broadcast to 500 columns, one `Portfolio.from_signals`
#   (single-threaded in vectorbt 1.2: it has no parallel option).
# backtesting.py buys whole shares (fw and vectorbt fractional), so its returns agree
# closely, not exactly.

ZS_RUNS = int(os.environ.get("BENCH_SWEEP_RUNS", "3"))
ZS_WINDOWS = list(range(10, 60))
ZS_ENTRY = [0.5 + 0.25 * k for k in range(10)]
ZS_SESSIONS = 2000
ZS_STRATEGY = '''
import numpy as np
from pydantic import Field
from framework.config import FrozenModel
from framework.features import zscore
from framework.strategy import BarPanel, Signals, Strategy


class ZParams(FrozenModel):
    window: int = Field(default=20, ge=2)
    entry_z: float = 1.0


class ZRevert(Strategy):
    Params = ZParams

    def lookback_bars(self) -> int:
        return self.params.window

    def signals(self, panel: BarPanel) -> Signals:
        z = np.column_stack([zscore(np.ascontiguousarray(panel.close[:, j]), self.params.window)
                             for j in range(panel.close.shape[1])])
        return Signals.of((z <= -self.params.entry_z).astype(np.int8), z >= 0.0)
'''
ZS_TOML = '''
name = "zrevert"
strategy = "zrevert:ZRevert"
symbols = ["SPY"]
[data]
timeframe = "1d"
[decision]
size_mode = "equity_fraction"
size = 1.0
[costs]
model = "custom"
slippage_bps = 0.0
[sweep]
sampler = "grid"
objective = "total_return"
tearsheets = 0
batch = 50
trials = 500
[sweep.params]
window = { low = 10, high = 59 }
entry_z = { low = 0.5, high = 2.75, step = 0.25 }
[sweep.walk_forward]
folds = 0
'''


def zs_lake(root) -> tuple[np.ndarray, np.ndarray]:
    """Write ZS_SESSIONS daily bars of SPY to a lake at ``root``; (open, close)."""
    import datetime as dt

    import polars as pl

    from framework.data import Lake
    from framework.data.calendar import sessions

    _, opens, _ = sessions(dt.date(2012, 1, 3), dt.date(2020, 12, 31))
    opens = opens[:ZS_SESSIONS]
    rng = np.random.default_rng(5)
    eps = rng.normal(0.0003, 0.012, opens.shape[0])
    r = eps.copy()
    r[1:] -= 0.2 * eps[:-1]  # mild mean reversion: the strategy trades
    close = 100.0 * np.exp(np.cumsum(r))
    open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.003, opens.shape[0]))
    n = opens.shape[0]
    Lake(root).write("bars_1d", "SPY", pl.DataFrame({
        "ts": opens, "open": open_, "high": np.maximum(open_, close) * 1.004,
        "low": np.minimum(open_, close) * 0.996, "close": close, "volume": np.full(n, 2e6),
        "vwap": (open_ + close) / 2, "n": np.full(n, 5000, np.int64), "split_factor": 1.0,
        "dividend": 0.0, "adj_factor": 1.0}), "bench")
    return open_, close


def zs_fw(folder, lake, threads: int, k: int, report: list[float]) -> tuple[float, dict]:
    """`fw sweep` of the grid, on ``threads`` numba threads (one process); (seconds of
    the sweep, (window, entry_z) -> total return); the report's seconds go to ``report``."""
    import polars as pl

    from framework.config import load_toml
    from framework.engine.run_config import StrategyConfig
    from framework.sweep.report import write_report
    from framework.sweep.spec import load_spec
    from framework.sweep.study import run_sweep

    numba.set_num_threads(threads)
    toml = folder / "zrevert.toml"
    spec = load_spec(load_toml(toml, StrategyConfig).sweep, toml)
    t0 = time.perf_counter()
    run = run_sweep(toml, spec, lake_root=lake, out_root=folder / f"reports{threads}-{k}")
    secs = time.perf_counter() - t0
    write_report(run.study, run.out_dir, lake_root=lake, tearsheets=0)
    report.append(time.perf_counter() - t0 - secs)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    t = pl.read_parquet(run.out_dir / "trials.parquet")
    assert set(t["engine"]) == {"vector"}, "the route should send this sweep to the vector engine"
    return secs, {(int(w), round(float(e), 2)): v for w, e, v in
                  t.select("params.window", "params.entry_z", "value").iter_rows()}


def _zscore(close, n: int) -> np.ndarray:
    from framework.features import zscore

    return zscore(np.asarray(close, float), n)


def _bt_strategy():
    """backtesting.py's Strategy class of the rule (module level: optimize pickles it)."""
    from backtesting import Strategy

    global ZRevertBt

    class ZRevertBt(Strategy):
        window = 20
        entry_z = 1.0

        def init(self):
            self.z = self.I(_zscore, self.data.Close, self.window)

        def next(self):
            z = self.z[-1]
            if not self.position and z <= -self.entry_z:
                self.buy()
            elif self.position and z >= 0.0:
                self.position.close()

    ZRevertBt.__qualname__ = "ZRevertBt"
    return ZRevertBt


def zs_backtesting(open_, close) -> tuple[float, dict]:
    """backtesting.py's ``optimize`` over the grid; (seconds, combo -> total return)."""
    import pandas as pd
    from backtesting import Backtest

    idx = pd.date_range("2012-01-03", periods=close.shape[0], freq="B")
    data = pd.DataFrame({"Open": open_, "High": np.maximum(open_, close) * 1.004,
                         "Low": np.minimum(open_, close) * 0.996, "Close": close,
                         "Volume": 2e6}, index=idx)
    bt = Backtest(data, _bt_strategy(), cash=1e7, commission=0.0, finalize_trades=True)
    t0 = time.perf_counter()
    _, heat = bt.optimize(window=ZS_WINDOWS, entry_z=ZS_ENTRY, maximize="Return [%]",
                          return_heatmap=True)
    secs = time.perf_counter() - t0
    return secs, {(int(w), round(float(e), 2)): v / 100 for (w, e), v in heat.items()}


def zs_vectorbt(open_, close) -> tuple[float, dict]:
    """vectorbt: z-scores of every window, broadcast over the thresholds, one portfolio of
    500 columns; (seconds, combo -> total return)."""
    import vectorbt as vbt

    from framework.features import zscore

    t0 = time.perf_counter()
    z = np.column_stack([zscore(close, w) for w in ZS_WINDOWS])          # [T, 50]
    zz = np.repeat(z, len(ZS_ENTRY), axis=1)                            # [T, 500]
    thr = np.tile(ZS_ENTRY, len(ZS_WINDOWS))
    en, ex = zz <= -thr, zz >= 0.0
    en_s, ex_s = np.zeros_like(en), np.zeros_like(ex)
    en_s[1:], ex_s[1:] = en[:-1], ex[:-1]                               # fill at t+1's open
    pf = vbt.Portfolio.from_signals(close=close[:, None], entries=en_s, exits=ex_s,
                                    price=open_[:, None], size=np.inf, direction="longonly",
                                    init_cash=100_000.0, freq="1D")
    ret = np.asarray(pf.total_return())
    secs = time.perf_counter() - t0
    combos = [(w, round(e, 2)) for w in ZS_WINDOWS for e in ZS_ENTRY]
    return secs, dict(zip(combos, ret, strict=True))


def strategy_sweep() -> None:
    """Part 2: 500 trials of a non-crossover strategy in fw, backtesting.py, vectorbt."""
    import statistics
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "zrevert.py").write_text(ZS_STRATEGY)
        (folder / "zrevert.toml").write_text(ZS_TOML)
        open_, close = zs_lake(folder / "lake")
        n = len(ZS_WINDOWS) * len(ZS_ENTRY)
        cores = os.cpu_count() or 1
        print(f"\nz-score reversion, {n} combos (window 10..59 x entry_z 0.5..2.75), "
              f"{ZS_SESSIONS} daily bars, one symbol; median of {ZS_RUNS} whole calls "
              f"(range), first call (JIT, pool start) not counted; load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        report: list[float] = []
        runs = {f"fw sweep (vector route, {cores} numba threads)":
                lambda k: zs_fw(folder, folder / "lake", cores, k, report),
                "fw sweep (vector route, 1 numba thread)":
                lambda k: zs_fw(folder, folder / "lake", 1, k, []),
                f"backtesting.py Backtest.optimize ({cores} processes)":
                lambda k: zs_backtesting(open_, close),
                "vectorbt shared z-scores + from_signals (1 thread)":
                lambda k: zs_vectorbt(open_, close)}
        results = {}
        for label, fn in runs.items():
            fn(-1)  # warm-up: JIT compile or cache load, imports, pool start
            secs = []
            for k in range(ZS_RUNS):
                s, res = fn(k)
                secs.append(s)
            results[label] = res
            med = statistics.median(secs)
            print(f"  {label:<52} {med:7.2f} s ({min(secs):.2f}-{max(secs):.2f})  "
                  f"{n / med:8.1f} trials/s")
        print(f"  fw sweep's HTML report afterwards (PBO, DSR, figures): median "
              f"{statistics.median(report):.2f} s ({min(report):.2f}-{max(report):.2f})")
        print(f"  load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        ref = results[next(iter(results))]
        for label, res in list(results.items())[1:]:
            keys = sorted(ref)
            a = np.array([ref[k] for k in keys])
            b = np.array([res[k] for k in keys])
            print(f"  total return fw vs {label.split(' (')[0]}: max |diff| "
                  f"{np.nanmax(np.abs(a - b)):.2e}, correlation {np.corrcoef(a, b)[0, 1]:.4f}, "
                  f"best combo fw {keys[int(np.nanargmax(a))]} / theirs "
                  f"{keys[int(np.nanargmax(b))]}")


if __name__ == "__main__" and os.environ.get("BENCH_SWEEP_PART", "all") in ("all", "2"):
    strategy_sweep()
