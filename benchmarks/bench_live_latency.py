"""Live adapter: decision latency and order throughput on the local venue.

1. A lake session through ``fw live``'s session on a lockstep local venue (bar fills),
   for sma_cross (1-minute, fast windows) and ml_mr: per row that sent orders, the time
   from the last bar message received to the first order's POST, split into the phases
   the adapter owns -- decide (the broker events booked, the strategy's signals, one
   step of the compiled loop), journal (the commit of the row's intents: fsync'd with
   ``--journal-sync full``, not with ``normal``), send (the body built and
   handed to alpaca-py) -- and the lockstep wait (reading the step's other messages,
   which a streaming session does not have). Network excluded: the POST round trip and
   the round trips of the cancels a row sends before its new orders are not in the
   latency (the cancels are printed apart).
2. Orders per second through the gateway (journal, alpaca-py ``TradingClient``, the
   venue's REST on loopback): unthrottled, and under a 200-per-window rate limit (the
   token bucket fed by the venue's headers waits instead of drawing 429s).

    python benchmarks/bench_live_latency.py [--lake DIR] [--skip-ml | --only NAME]
        [--journal-sync both] [--skip-throughput]

``--lake``: a lake with the small synthetic universe (and, for ml_mr, its trained
model); default: a fresh synthetic lake of 4 sessions in a temp folder (ml_mr's model
trained on it first, a few minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np

from framework.data import Lake
from framework.data.settings import load_data_config
from framework.data.sources.synthetic import ingest_synthetic
from framework.engine.run_config import load_strategy
from framework.marketdata.bars import time_bars
from framework.ml.registry import WalkForwardModel
from live.adapter.clients import Endpoint, trading_client
from live.adapter.gateway import Gateway
from live.adapter.ratelimit import TokenBucket
from live.journal import Journal
from live.runner import run_live, venue_config
from live.session import LiveSession
from live.venue import Venue

ROOT = Path(__file__).resolve().parents[1]
DAY = dt.date(2024, 1, 8)
ML_SMALL = {"model.train.initial_sessions": 2, "model.train.folds": 2}
CASES = {"sma_cross": {"params.fast": 1, "params.slow": 2, "data.timeframe": "1m",
                       "decision.size": 0.15},
         "ml_mr": ML_SMALL}


def make_lake(root: Path, train: bool) -> None:
    """The small synthetic lake (4 sessions) and, with ``train``, ml_mr's model."""
    cfg = load_data_config(None).synthetic.model_copy(
        update={"start": dt.date(2024, 1, 2), "end": DAY, "trades_per_day": 4000.0})
    ingest_synthetic(Lake(root), cfg, time_bars)
    if train:
        from framework.engine.training import train_strategy

        train_strategy(ROOT / "strategies" / "ml_mr.toml",
                       {"data.start": None, "data.end": None, **ML_SMALL}, lake_root=root)


def pct(a: np.ndarray) -> str:
    return f"p50 {np.percentile(a, 50):8.0f}  p99 {np.percentile(a, 99):8.0f}"


class PredictClock:
    """Thread CPU ns spent in the model's ``predict_proba`` per row that sent orders
    (the registered model's call, timed around the real one)."""

    def __init__(self) -> None:
        self.row_ns = 0
        self.per_row: list[int] = []

    @contextlib.contextmanager
    def installed(self):
        predict, close_row = WalkForwardModel.predict_proba, LiveSession.close_row
        clock = self

        def timed_predict(self, X, ts):
            t0 = time.thread_time_ns()
            try:
                return predict(self, X, ts)
            finally:
                clock.row_ns += time.thread_time_ns() - t0

        def timed_close(self):
            clock.row_ns, before = 0, len(self.stats.phases_ns)
            close_row(self)
            if len(self.stats.phases_ns) > before:  # a row that sent orders
                clock.per_row.append(clock.row_ns)

        WalkForwardModel.predict_proba, LiveSession.close_row = timed_predict, timed_close
        try:
            yield self
        finally:
            WalkForwardModel.predict_proba, LiveSession.close_row = predict, close_row


def latency(name: str, lake: Path, out: Path, sync: str) -> None:
    ov = {**CASES[name], "data.start": DAY.isoformat(), "data.end": DAY.isoformat(),
          "backtest.reports": str(out)}
    path = ROOT / "strategies" / f"{name}.toml"
    cfg, _ = load_strategy(path, {**ov, "execution.tick_prices": True}, lake, prepare=False)
    venue = Venue(venue_config(cfg, lake, DAY, rate_limit=100_000))
    venue.start()
    try:
        t0 = time.perf_counter()
        with PredictClock().installed() as predict:
            run = run_live(path, ov, lake=lake, venue_url=venue.urls.trading,
                           force_reason="benchmark", journal_sync=sync, panel=None)
        wall = time.perf_counter() - t0
    finally:
        venue.stop()
    ph = np.asarray(run.session.stats.phases_ns, dtype=np.float64) / 1e3  # us
    st = run.session.stats
    print(f"{name}, journal sync {sync}: {st.bars} bars, {st.submitted} orders, {len(ph)} "
          f"deciding rows, {wall:.1f} s wall (lockstep replay of {DAY})")
    if not len(ph):
        return
    decide, cancels = ph[:, 2] - ph[:, 1], ph[:, 3] - ph[:, 2]
    journal, send = ph[:, 4] - ph[:, 3], ph[:, 5] - ph[:, 4]
    print(f"  decide                 {pct(decide)} us")
    cpu = np.asarray(st.decide_cpu_ns, dtype=np.float64) / 1e3
    print(f"  decide, thread CPU     {pct(cpu)} us  (without the wait for a core)")
    if any(predict.per_row) and len(predict.per_row) == len(cpu):
        pred = np.asarray(predict.per_row, dtype=np.float64) / 1e3
        print(f"    of which predict     {pct(pred)} us  (the model's predict_proba)")
        print(f"    decide CPU - predict {pct(cpu - pred)} us")
    print(f"  journal commit         {pct(journal)} us")
    print(f"  send (body -> POST)    {pct(send)} us")
    print(f"  bar -> order sent      {pct(decide + journal + send)} us  (streaming: no "
          "lockstep wait; network excluded)")
    print(f"  decide + send          {pct(decide + send)} us  (no journal commit)")
    print(f"  lockstep wait          {pct(ph[:, 1] - ph[:, 0])} us  (venue step read)")
    print(f"  cancels before it      {pct(cancels)} us  (DELETE round trips: network; "
          f"{st.cancels} cancels in the run)")


def throughput(lake: Path, out: Path, n: int, limit: int, window_s: float) -> None:
    cfg, _ = load_strategy(ROOT / "strategies" / "sma_cross.toml",
                           CASES["sma_cross"], lake, prepare=False)
    for lim, win in ((100_000, 60.0), (limit, window_s)):
        venue = Venue(venue_config(cfg, lake, DAY, rate_limit=lim, rate_window_s=win,
                                   cash=1e9))
        u = venue.start()
        venue.advance(until=venue.timeline.hours.open + 60_000_000_000)
        ep = Endpoint(u.trading, u.trading_stream, u.data_stream, venue.cfg.key_id,
                      venue.cfg.secret_key, u.control)
        bucket = TokenBucket(limit=lim, window_s=win)
        gw = Gateway(trading_client(ep, bucket), bucket,
                     Journal(out / f"bench-{lim}.sqlite"), "bench")
        t0 = time.perf_counter()
        outcomes = {}
        for k in range(n):
            body = {"symbol": "SPY", "side": "buy" if k % 2 else "sell", "type": "limit",
                    "limit_price": 1.0 if k % 2 else 100_000.0, "time_in_force": "day",
                    "qty": 1.0, "client_order_id": f"bench-{lim}-{k}"}
            gw.prepare(k, body, 0)
            gw.journal.commit()
            o = gw.send(body).outcome
            outcomes[o] = outcomes.get(o, 0) + 1
        dt_s = time.perf_counter() - t0
        what = "unthrottled" if lim == 100_000 else f"limit {lim}/{win:g} s"
        print(f"  {what:<22} {n / dt_s:7.1f} orders/s  ({n} orders, {outcomes}, bucket "
              f"waited {bucket.waited_s:.1f} s, 429 replies {gw.throttled})")
        venue.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", type=Path)
    ap.add_argument("--skip-ml", action="store_true")
    ap.add_argument("--only", choices=sorted(CASES), help="one strategy's latency only")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--journal-sync", choices=("full", "normal", "both"), default="both",
                    help="the journal's durability (live.journal); both: one run each")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        lake = a.lake
        if lake is None:
            lake = out / "lake"
            make_lake(lake, train=not a.skip_ml)
        print("decision latency, us (per row that sent orders; network excluded)")
        for name in CASES:
            if (name == "ml_mr" and a.skip_ml) or a.only not in (None, name):
                continue
            for sync in (("full", "normal") if a.journal_sync == "both"
                         else (a.journal_sync,)):
                latency(name, lake, out, sync)
        if not a.skip_throughput:
            print(f"gateway throughput ({a.orders} orders, journal + alpaca-py + loopback "
                  "REST)")
            throughput(lake, out, a.orders, limit=200, window_s=10.0)


if __name__ == "__main__":
    main()
