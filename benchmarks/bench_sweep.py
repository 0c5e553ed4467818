"""Vectorized SMA-cross sweep: fw vs vectorbt on the same 1 M-bar series, same run.

Run: ``python benchmarks/bench_sweep.py`` (~60-90 s on 2 cores). Grid: fast 5..50 step 1,
slow 10..200 step 5, fast < slow -> 1,605 combos, over 1,000,000 bars of a seeded random
walk. fw runs the whole grid (numba prange over combos, all cores numba sees); vectorbt
runs the idiomatic pipeline (``MA.run`` + ``ma_crossed_above/below`` +
``Portfolio.from_signals`` with fills at the next open) on a subset of combos and its
combos/s is extrapolated to the grid (labelled). Warm timings; first-call (JIT compile
or cache load) printed separately. Peak memory of the fw sweep from tracemalloc (NumPy
allocations) and ru_maxrss. Nothing is asserted.
"""

from __future__ import annotations

import os
import resource
import time
import tracemalloc

import numba
import numpy as np

from framework.engine.vector import CostSpec, run_signals
from framework.features.kernels_trend import sma_batch
from framework.sweep import crossover_grid, sweep_crossover

N_BARS = 1_000_000
FAST = np.arange(5, 51)
SLOW = np.arange(10, 201, 5)
VBT_SUBSET = 12  # combos vectorbt runs; its rate is extrapolated to the full grid
COSTS = CostSpec(fee_bps=1.0, slippage_bps=1.0)


def series(n: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0.0, 0.0002, n))
    return open_, close


def fw_sweep(open_, close, pairs):
    return sweep_crossover(open_, close, pairs, costs=COSTS, periods_per_year=252 * 390)


def vbt_sweep(open_, close, pairs):
    import vectorbt as vbt

    fast = vbt.MA.run(close, window=list(pairs[:, 0]), short_name="fast")
    slow = vbt.MA.run(close, window=list(pairs[:, 1]), short_name="slow")
    en = fast.ma_crossed_above(slow).values
    ex = fast.ma_crossed_below(slow).values
    # Signal at t's close fills at t+1's open: shift signals, price = open (fw's bar fill).
    en_s, ex_s = np.zeros_like(en), np.zeros_like(ex)
    en_s[1:], ex_s[1:] = en[:-1], ex[:-1]
    pf = vbt.Portfolio.from_signals(
        close=close[:, None], entries=en_s, exits=ex_s, price=open_[:, None],
        size=np.inf, direction="longonly", fees=COSTS.fee_bps * 1e-4,
        slippage=COSTS.slippage_bps * 1e-4, init_cash=100_000.0, freq="1min",
    )  # fmt: skip
    return np.asarray(pf.final_value())


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
    fw_cps = n / fw_s
    print(
        f"fw sweep warm: {fw_s:.2f} s -> {fw_cps:,.0f} combos/s, {fw_cps * N_BARS / 1e6:,.0f} M bar*combos/s"
    )
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

    sub = pairs[np.linspace(0, n - 1, VBT_SUBSET).astype(int)]
    t0 = time.perf_counter()
    vbt_sweep(open_[:2000], close[:2000], sub[:2])
    print(f"vectorbt first call (JIT/cache, tiny input): {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    vbt_final = vbt_sweep(open_, close, sub)
    vbt_s = time.perf_counter() - t0
    vbt_cps = VBT_SUBSET / vbt_s
    print(f"vectorbt warm: {VBT_SUBSET} combos in {vbt_s:.2f} s -> {vbt_cps:,.1f} combos/s, "
          f"{vbt_cps * N_BARS / 1e6:,.0f} M bar*combos/s; full grid EXTRAPOLATED {n / vbt_cps:,.0f} s")  # fmt: skip
    idx = [int(np.flatnonzero((pairs[:, 0] == a) & (pairs[:, 1] == b))[0]) for a, b in sub]
    ours = df["final_equity"].to_numpy()[idx]
    rel_diff = np.abs(ours / vbt_final - 1.0)
    print(
        f"final equity fw vs vectorbt on the subset: {(rel_diff <= 1e-9).sum()}/{len(sub)} equal to 1e-9, "
        f"max rel diff {rel_diff.max():.1e} "
        "(vectorbt's rolling mean differs from fw's SMA at round-off; a tie can flip a cross)"
    )
    print(
        f"speed-up fw / vectorbt (combos/s): {fw_cps / vbt_cps:,.0f}x  (targets: >= 20x, >= 100 M bar*combos/s)"
    )


if __name__ == "__main__":
    main()
