"""Feature kernels vs TA-Lib (and pandas/Polars), blocked feature-set pass, streaming cost.

Run: ``python benchmarks/bench_features.py`` (single core, ~30 s). Prints warm timings
(best of several runs, in CPU time of the calling thread: on the shared box other work
stretches wall time, not the thread's CPU; every kernel and TA-Lib run single-threaded);
the first call's time (JIT compile or cache load) is printed separately. Nothing here is asserted: the figures go to docs/features.md.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import talib
from numba import njit

import framework.features as F
from framework.features import kernels_oscillators as ko
from framework.features import kernels_trend as kt

N = 1_000_000
REPEAT = 9


def best(fn, repeat: int = REPEAT) -> float:
    """Least CPU time of this thread over ``repeat`` calls, seconds."""
    t = []
    for _ in range(repeat):
        t0 = time.thread_time()
        fn()
        t.append(time.thread_time() - t0)
    return min(t)


def first_call(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    c = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    o = c * np.exp(rng.normal(0, 0.0005, n))
    h = np.maximum(o, c) * np.exp(np.abs(rng.normal(0, 0.0005, n)))
    low = np.minimum(o, c) * np.exp(-np.abs(rng.normal(0, 0.0005, n)))
    v = rng.integers(100, 10_000, n).astype(float)
    c2 = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    return o, h, low, c, v, c2


@njit(cache=True)
def _njit_rsi_stream(c):
    s = ko.rsi_state(14)
    acc = 0.0
    for i in range(c.shape[0]):
        acc += ko.rsi_update(s, c[i])
    return acc


@njit(cache=True)
def _njit_ema_stream(c):
    s = kt.ema_state(20, 0)
    acc = 0.0
    for i in range(c.shape[0]):
        acc += kt.ema_update(s, c[i])
    return acc


@njit(cache=True)
def _njit_macd_stream(c):
    s = kt.macd_state(12, 26, 9)
    acc = 0.0
    for i in range(c.shape[0]):
        acc += kt.macd_update(s, c[i])[2]
    return acc


@njit(cache=True)
def _njit_featureset_stream(plan, state, o, h, low, c, v, row):
    acc = 0.0
    for i in range(c.shape[0]):
        F.featureset_step(plan, state, o[i], h[i], low[i], c[i], v[i], row)
        acc += row[0]
    return acc


def _pandas_rsi(c: np.ndarray, n: int) -> np.ndarray:
    d = pd.Series(c).diff()
    up = d.clip(lower=0).ewm(alpha=1 / n, adjust=False).mean()
    dn = (-d.clip(upper=0)).ewm(alpha=1 / n, adjust=False).mean()
    return (100 * up / (up + dn)).to_numpy()


def main() -> None:
    o, h, low, c, v, c2 = data(N)
    rows: list[tuple[str, float, float | None, str]] = []

    cases = [
        ("SMA(20)", lambda: F.sma(c, 20), lambda: talib.SMA(c, 20)),
        ("EMA(20)", lambda: F.ema(c, 20), lambda: talib.EMA(c, 20)),
        ("WMA(20)", lambda: F.wma(c, 20), lambda: talib.WMA(c, 20)),
        ("RSI(14)", lambda: F.rsi(c, 14), lambda: talib.RSI(c, 14)),
        ("MACD(12,26,9)", lambda: F.macd(c), lambda: talib.MACD(c)),
        ("BBANDS(20,2)", lambda: F.bbands(c, 20), lambda: talib.BBANDS(c, 20)),
        ("ATR(14)", lambda: F.atr(h, low, c, 14), lambda: talib.ATR(h, low, c, 14)),
        ("ADX(14)", lambda: F.adx(h, low, c, 14), lambda: talib.ADX(h, low, c, 14)),
        ("STOCH(5,3,3)", lambda: F.stoch(h, low, c), lambda: talib.STOCH(h, low, c)),
        ("ROC(10)", lambda: F.roc(c, 10), lambda: talib.ROC(c, 10)),
        ("MOM(10)", lambda: F.mom(c, 10), lambda: talib.MOM(c, 10)),
        ("OBV", lambda: F.obv(c, v), lambda: talib.OBV(c, v)),
        ("CORREL(30)", lambda: F.rolling_corr(c, c2, 30), lambda: talib.CORREL(c, c2, 30)),
        ("BETA(5)", lambda: F.rolling_beta(c, c2, 5), lambda: talib.BETA(c2, c, 5)),
        ("zscore(20)", lambda: F.zscore(c, 20), None),
        ("vwap(20)", lambda: F.vwap(c, v, 20), None),
        ("log_return", lambda: F.log_return(c), None),
        ("realized_vol(20)", lambda: F.realized_vol(c, 20), None),
        ("parkinson(20)", lambda: F.parkinson_vol(h, low, 20), None),
        ("garman_klass(20)", lambda: F.garman_klass_vol(o, h, low, c, 20), None),
        ("skew(20)", lambda: F.rolling_skew(c, 20), None),
        ("amihud(20)", lambda: F.amihud(c, v, 20), None),
        ("roll_spread(50)", lambda: F.roll_spread(c, 50), None),
        ("kyle_lambda(50)", lambda: F.kyle_lambda(c, v, 50), None),
        ("vpin(5000,50)", lambda: F.vpin(v, np.sign(np.diff(c, prepend=c[0])), 5000.0, 50), None),
    ]
    compile_s = sum(first_call(ours) for _, ours, _ in cases)
    print(
        f"first calls of {len(cases)} batch kernels (JIT compile or cache load): "
        f"{compile_s:.2f} s\n"
    )
    for name, ours, ref in cases:
        t_ours = best(ours)
        t_ref = best(ref) if ref else None
        rows.append((name, t_ours, t_ref, "TA-Lib" if ref else ""))

    print(f"{'indicator (1M points)':24s} {'fw ms':>9s} {'TA-Lib ms':>10s} {'fw/TA-Lib':>10s}")
    for name, t_ours, t_ref, _ in rows:
        ref_s = f"{t_ref * 1e3:10.2f}" if t_ref else f"{'-':>10s}"
        ratio = f"{t_ours / t_ref:9.2f}x" if t_ref else f"{'-':>10s}"
        print(f"{name:24s} {t_ours * 1e3:9.2f} {ref_s} {ratio}")
    ratios = [t_ours / t_ref for _, t_ours, t_ref, _ in rows if t_ref]
    print(f"{'geometric mean fw/TA-Lib':24s} {'':9s} {'':10s} "
          f"{np.exp(np.mean(np.log(ratios))):9.2f}x  ({len(ratios)} indicators)")

    # pandas / Polars peers for a few
    print(f"\n{'peer (1M points)':40s} {'ms':>9s} {'vs fw':>8s}")
    s = pd.Series(c)
    ps = pl.Series(c)
    peers = [
        ("pandas rolling(20).mean", lambda: s.rolling(20).mean(), lambda: F.sma(c, 20)),
        ("polars rolling_mean(20)", lambda: ps.rolling_mean(20), lambda: F.sma(c, 20)),
        (
            "pandas ewm(span=20).mean",
            lambda: s.ewm(span=20, adjust=False).mean(),
            lambda: F.ema(c, 20),
        ),
        (
            "polars ewm_mean(span=20)",
            lambda: ps.ewm_mean(span=20, adjust=False),
            lambda: F.ema(c, 20),
        ),
        ("pandas RSI(14) via ewm", lambda: _pandas_rsi(c, 14), lambda: F.rsi(c, 14)),
        ("pandas rolling(20).std", lambda: s.rolling(20).std(ddof=0), lambda: F.bbands(c, 20)),
    ]
    for name, peer, ours in peers:
        tp = best(peer, 3)
        to = best(ours, 3)
        print(f"{name:40s} {tp * 1e3:9.2f} {tp / to:7.1f}x slower")

    # a feature set in one blocked pass vs the same indicators as separate TA-Lib calls
    spec = F.load_feature_set("config/features/daily_basic.toml")
    bars = pl.DataFrame({"open": o, "high": h, "low": low, "close": c, "volume": v})
    plan, state = F.compile_plan(spec)
    out = np.empty((len(spec.columns()), N))

    def one_pass():
        p, st = F.compile_plan(spec)
        F.featureset_run(p, st, o, h, low, c, v, out)

    def talib_set():
        talib.SMA(c, 20), talib.EMA(c, 12), talib.RSI(c, 14), talib.MACD(c, 12, 26, 9)
        talib.BBANDS(c, 20, 2, 2), talib.ATR(h, low, c, 14), talib.ADX(h, low, c, 14)
        talib.STOCH(h, low, c, 5, 3, 0, 3, 0), talib.STDDEV(np.log(c[1:] / c[:-1]), 20)
        talib.SMA(c, 20), talib.STDDEV(c, 20)  # z-score's two passes

    def separate_fw():
        F.sma(c, 20), F.ema(c, 12), F.rsi(c, 14), F.macd(c), F.bbands(c, 20), F.atr(h, low, c, 14)
        F.adx(h, low, c, 14), F.stoch(h, low, c), F.realized_vol(c, 20), F.zscore(c, 20)

    first_call(one_pass)
    t_f, t_t, t_s = best(one_pass), best(talib_set), best(separate_fw)
    t_frame = best(lambda: F.compute_features(spec, bars), 3)
    print(f"\nfeature set '{spec.name}' ({len(spec.columns())} columns, 1M bars)")
    print(f"  blocked single pass (featureset_run)   {t_f * 1e3:9.2f} ms")
    print(
        f"  same set as separate TA-Lib calls      {t_t * 1e3:9.2f} ms   "
        f"pass/TA-Lib = {t_f / t_t:.2f}x"
    )
    print(f"  same set as separate fw batch calls    {t_s * 1e3:9.2f} ms")
    print(f"  compute_features -> Polars frame        {t_frame * 1e3:9.2f} ms")

    # whole feature sets on 100k ticks
    k = 100_000
    ok, hk, lk, ck, vk = (a[:k].copy() for a in (o, h, low, c, v))
    print("\nwhole feature set, 100k bars, featureset_run")
    for path in sorted(Path("config/features").glob("*.toml")):
        s_k = F.load_feature_set(path)
        out_k = np.empty((len(s_k.columns()), k))

        def fs_100k(s_k=s_k, out_k=out_k):
            p, st = F.compile_plan(s_k)
            F.featureset_run(p, st, ok, hk, lk, ck, vk, out_k)

        fs_100k()
        print(
            f"  {s_k.name:20s} ({len(s_k.features):2d} features, {len(s_k.columns()):2d} columns)"
            f" {best(fs_100k) * 1e3:8.3f} ms"
        )

    # streaming cost
    print("\nstreaming update cost per call")
    for name, fn in (
        ("rsi_update in njit loop", _njit_rsi_stream),
        ("ema_update in njit loop", _njit_ema_stream),
        ("macd_update in njit loop", _njit_macd_stream),
    ):
        fn(c[:100])
        print(f"  {name:36s} {best(lambda f=fn: f(c)) / N * 1e9:8.1f} ns")
    row = np.empty(len(spec.columns()))
    _njit_featureset_stream(plan, state, o[:100], h[:100], low[:100], c[:100], v[:100], row)
    t = best(lambda: _njit_featureset_stream(*F.compile_plan(spec), o, h, low, c, v, row))
    print(
        f"  featureset_step ({len(spec.features)} features) in njit {t / N * 1e9:8.1f} ns per bar"
    )
    m = 100_000
    st = ko.rsi_state(14)
    cl = c[:m].tolist()
    upd = ko.rsi_update
    upd(st, 1.0)
    t0 = time.perf_counter()
    for x in cl:
        upd(st, x)
    t_py = (time.perf_counter() - t0) / m
    print(f"  rsi_update from Python                 {t_py * 1e9:8.1f} ns")
    fs = F.StreamingFeatureSet(spec)
    bars_l = list(
        zip(
            o[:m].tolist(),
            h[:m].tolist(),
            low[:m].tolist(),
            c[:m].tolist(),
            v[:m].tolist(),
            strict=True,
        )
    )
    fs.update(*bars_l[0])
    t0 = time.perf_counter()
    for b in bars_l:
        fs.update(*b)
    t_fs = (time.perf_counter() - t0) / m
    print(f"  StreamingFeatureSet.update from Python {t_fs * 1e9:8.1f} ns per bar")


if __name__ == "__main__":
    main()
