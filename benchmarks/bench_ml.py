"""Model inference latency (single row: what live pays per bar; batched: what a backtest
pays per event) for every model kind, and training time of the flagship on a lake.

    python benchmarks/bench_ml.py [--lake data_lake]   # training timed if the lake has bars

Targets (issue 7): single-row HGB <= 100 us on the live path; torch <= 1 ms.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from framework.ml.models import make_model, sequence_rows

N_FEATURES = 13  # config/features/ml_mr.toml
PARAMS = {"torch_tcn": {"epochs": 5, "seq_len": 16}, "torch_lstm": {"epochs": 5, "seq_len": 16}}


def _per_call_us(fn, repeats: int) -> float:
    fn()  # warm (numba compile, torch first call)
    best = np.inf
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - t) / repeats)
    return best * 1e6


def inference_table() -> None:
    rng = np.random.default_rng(0)
    panel = rng.normal(size=(20_016, 1, N_FEATURES))
    t = np.arange(16, 20_016)
    y = (panel[t, 0, 0] + rng.normal(size=t.shape[0]) > 0).astype(np.int8)
    print(f"{'model':<22}{'fit s':>8}{'1 row us':>11}{'batch 10k us/row':>18}")
    for kind in ("logistic", "random_forest", "hist_gbm", "torch_tcn", "torch_lstm"):
        model = make_model(kind, 0, PARAMS.get(kind))
        X = sequence_rows(panel, t, np.zeros(t.shape[0], np.int64), model.seq_len)
        t0 = time.perf_counter()
        model.fit(X[:10_000], y[:10_000])
        fit_s = time.perf_counter() - t0
        one = X[-1:]
        batch = X[-10_000:]
        single = _per_call_us(lambda m=model, o=one: m.predict_proba(o), 200)
        per_row = _per_call_us(lambda m=model, b=batch: m.predict_proba(b), 3) / 10_000
        print(f"{kind:<22}{fit_s:>8.2f}{single:>11.1f}{per_row:>18.3f}")
        if kind == "hist_gbm":
            sk = model.estimator
            single = _per_call_us(lambda sk=sk, o=one: sk.predict_proba(o), 200)
            per_row = _per_call_us(lambda sk=sk, b=batch: sk.predict_proba(b), 3) / 10_000
            print(f"{'  hist_gbm (sklearn)':<22}{'':>8}{single:>11.1f}{per_row:>18.3f}"
                  "   <- the route fw does not take")


def training_time(lake: Path) -> None:
    from framework.engine.training import train_strategy

    if not (lake / "catalog.duckdb").exists():
        print(f"\n(no lake at {lake}: run `fw demo` first to time training)")
        return
    t0 = time.perf_counter()
    info = train_strategy("strategies/ml_mr.toml", lake_root=lake)  # registers a version
    print(f"\nfw train strategies/ml_mr.toml on {lake}: {time.perf_counter() - t0:.1f} s "
          f"({info['samples']:,} samples, {info['refits']} refits, version {info['version']})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lake", type=Path, default=Path("data_lake"))
    args = ap.parse_args()
    inference_table()
    training_time(args.lake)


if __name__ == "__main__":
    main()
