"""Cost of monitoring a live session: ns per ``SessionMetrics`` call, against the live
decision it instruments.

Run: ``python benchmarks/bench_monitoring.py`` (~1 min). Reference, measured in the same
run: the live bar driver (``live.driver.bar_session.BarSession``) deciding on one more
bar -- ``sma_cross`` at 1-minute bars, 5 symbols, one XNYS session of a seeded random
walk fed bar row by bar row; the reference is the median time of ``on_bars`` for a row
(the strategy's signals over the bars so far, then the compiled engine advancing one
bar with risk and fills), the first 30 rows (JIT load, warm-up) left out.

Then each ``SessionMetrics`` method is timed over many calls (best of 5 rounds, ns per
call), without and with the JSON-lines event log (to a file; stderr off). The overhead
per decision is what ``fw live`` (``live.session.LiveSession``) calls for every row of
bars: ``market_data`` once per bar (5 symbols), ``decision``, ``mark`` and
``market_open`` (``positions`` only on rows that booked fills, ``risk_state`` only when
the breakers or the kill switch changed); per order ``order_sent`` + ``http_response``
+ ``order_acked`` + ``fill``. The issue's target: per-decision overhead < 5 % of the
decision's p50.
Nothing is asserted.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np

from framework.data.calendar import sessions
from framework.engine.run_config import load_strategy
from framework.monitoring import EventLog, SessionMetrics
from framework.types import BAR_DTYPE
from live.driver.bar_session import BarSession

ROOT = Path(__file__).resolve().parents[1]
SKIP_ROWS = 30
N_CALLS = 20_000
N_SYMBOLS = 5  # bars per row: sma_cross's universe


def decision_latency_ns() -> np.ndarray:
    """Wall ns of each bar row's decision in the live bar driver (see module doc)."""
    cfg, strat = load_strategy(ROOT / "strategies" / "sma_cross.toml",
                               {"data.timeframe": "1m", "params.fast": 5, "params.slow": 20})
    _, opens, closes = sessions(dt.date(2024, 3, 1), dt.date(2024, 3, 1))
    ts = np.arange(opens[0], closes[0], 60_000_000_000)
    S = len(cfg.symbols)
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 5e-4, (ts.size, S)), axis=0))
    sess = BarSession(cfg, strat, capacity=ts.size + 1)
    out = []
    for t in range(ts.size):
        rows = np.zeros(S, BAR_DTYPE)
        rows["ts"], rows["sym"] = ts[t], np.arange(S)
        o = close[t - 1] if t else close[0]
        rows["open"], rows["close"] = o, close[t]
        rows["high"], rows["low"] = np.maximum(o, close[t]), np.minimum(o, close[t])
        rows["volume"], rows["vwap"], rows["n"] = 1e5, close[t], 100
        t0 = time.perf_counter_ns()
        sess.on_bars(rows)  # closes (decides on) the previous row
        out.append(time.perf_counter_ns() - t0)
    return np.array(out[SKIP_ROWS + 1:])


def per_call_ns(fn, n: int = N_CALLS, rounds: int = 5) -> float:
    """Best-of-``rounds`` mean ns of ``fn(i)`` over ``n`` calls."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for i in range(n):
            fn(i)
        best = min(best, (time.perf_counter_ns() - t0) / n)
    return best


def call_costs(log: EventLog | None) -> dict[str, float]:
    m = SessionMetrics("bench", drawdown_limit=0.05, log=log)
    now = time.time_ns()
    m.positions({"SPY": 10.0})

    def order(i: int) -> str:
        cid = f"o{i}"
        m.order_sent(cid, "SPY", "buy", 10, arrival_price=100.0, decided_ns=now, sent_ns=now)
        return cid

    costs = {
        "market_data": per_call_ns(lambda i: m.market_data("quote", event_ns=now,
                                                           received_ns=now)),
        "decision": per_call_ns(lambda i: m.decision(now, now + 120_000)),
        "mark": per_call_ns(lambda i: m.mark(1e5 + (i % 7), cash=5e4, ts_ns=now + i * 10**9)),
        "market_open": per_call_ns(lambda i: m.market_open(True)),
        "http_response": per_call_ns(lambda i: m.http_response(
            "POST", "/v2/orders", 200, rate_limit_remaining=199, rate_limit_limit=200)),
        "risk_state": per_call_ns(lambda i: m.risk_state(breakers=(), kill_switch=False)),
    }
    costs["order_sent"] = per_call_ns(order, rounds=1)
    costs["order_acked"] = per_call_ns(lambda i: m.order_acked(f"o{i}", acked_ns=now + 1),
                                       rounds=1)
    costs["fill"] = per_call_ns(lambda i: m.fill(f"o{i}", 10, 100.01, filled_ns=now + 2),
                                rounds=1)
    costs["reconcile (1 symbol)"] = per_call_ns(lambda i: m.reconcile({"SPY": 10.0}), n=2000)
    costs["status() for the page"] = per_call_ns(lambda i: m.status(), n=200, rounds=3)
    return costs


def main() -> None:
    print("live decision (reference): BarSession.on_bars, sma_cross 1m, 5 symbols, 1 session")
    lat = decision_latency_ns()
    p50 = float(np.median(lat))
    print(f"  p50 {p50 / 1e3:8.1f} us   p90 {np.percentile(lat, 90) / 1e3:8.1f} us   "
          f"({lat.size} bars)")
    with tempfile.TemporaryDirectory() as d:
        log = EventLog("live", "bench", d, stderr=False)
        plain, logged = call_costs(None), call_costs(log)
        log.close()
    print(f"\nSessionMetrics calls, ns per call (best of 5 x {N_CALLS}); % of the p50 above")
    print(f"  {'call':<24s} {'no log':>9s} {'JSON log':>9s} {'% p50':>7s}")
    for k in plain:
        print(f"  {k:<24s} {plain[k]:9.0f} {logged[k]:9.0f} {100 * logged[k] / p50:6.2f}%")
    per_bar = (N_SYMBOLS * plain["market_data"] + plain["decision"] + plain["mark"]
               + plain["market_open"])
    order_calls = ("order_sent", "http_response", "order_acked", "fill")
    print(f"\n  per decision ({N_SYMBOLS} x market_data + decision + mark + market_open): "
          f"{per_bar:7.0f} ns = "
          f"{100 * per_bar / p50:.2f} % of the decision p50 (target < 5 %)")
    for name, costs in (("no log", plain), ("JSON log", logged)):
        per_order = sum(costs[k] for k in order_calls)
        print(f"  per order (sent + http + acked + fill), {name:<8s}: {per_order:7.0f} ns = "
              f"{100 * per_order / p50:.2f} % of the decision p50")


if __name__ == "__main__":
    main()
