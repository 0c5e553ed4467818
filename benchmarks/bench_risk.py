"""Cost of the risk hooks inside numba code (warm), and of calling them from Python.

Prints one table: ns per call for a full pre-trade check (every limit enabled), a fill
(FIFO, LIFO and average-cost books are all updated by the same call), and a mark
(re-mark, equity, breakers, stops). Peers in the same run: a bare numba loop, the
same hook called from Python (the live driver's path), and a plain-Python FIFO ledger.
Run: ``.venv/bin/python benchmarks/bench_risk.py`` (about 10 s).
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
from numba import njit

from framework.risk import (
    RiskConfig,
    make_risk,
    on_fill,
    on_mark,
    on_order_closed,
    pre_trade_check,
    start_session,
)

N = 2_000_000
N_SYM = 10
MS = 1_000_000


def _config() -> RiskConfig:
    """Every check and breaker on, with limits loose enough that orders are accepted."""
    return RiskConfig(
        max_order_qty=1e6,
        max_order_notional=1e9,
        price_collar=0.9,
        max_orders_per_sec=1000,
        max_orders_per_min=1000,
        max_position_shares=1e7,
        max_position_notional=1e10,
        max_gross_exposure=1e12,
        max_net_exposure=1e12,
        max_open_positions=100,
        max_concentration=1e3,
        buying_power_multiple=1e3,
        stale_data_s=1e7,
        stop_loss_pct=0.9,
        take_profit_pct=9.0,
        trailing_pct=0.9,
        time_stop_s=1e9,
        max_daily_loss=1e12,
        max_drawdown=0.99,
        loss_window_s=60,
        max_loss_in_window=1e12,
        max_consecutive_rejects=1000,
        max_latency_ms=1e6,
        max_price_discrepancy=0.5,
    )


@njit(cache=True)
def loop_baseline(sym, px, ts) -> float:
    acc = 0.0
    for i in range(sym.shape[0]):
        acc += px[i] * (sym[i] + 1) + ts[i] * 1e-18
    return acc


@njit(cache=True)
def loop_check(L, SL, S, SS, sym, px, ts) -> int:
    """pre_trade_check (accepted, every rule evaluated) + release of the order."""
    acc = 0
    for i in range(sym.shape[0]):
        side = 1 if i & 1 else -1
        acc += pre_trade_check(L, SL, S, SS, sym[i], side, 10.0, px[i], ts[i])
        on_order_closed(L, SL, S, SS, sym[i], side, 10.0, ts[i])
    return acc


@njit(cache=True)
def loop_release(L, SL, S, SS, sym, px, ts) -> int:
    for i in range(sym.shape[0]):
        on_order_closed(L, SL, S, SS, sym[i], 1, 0.0, ts[i])
    return 0


@njit(cache=True)
def loop_fill(L, SL, S, SS, sym, px, ts, scale_in: int) -> None:
    """Fills that open ``scale_in`` lots and close them with one fill, round and round."""
    k = 0
    for i in range(sym.shape[0]):
        if k < scale_in:
            on_fill(L, SL, S, SS, sym[i], 1, 10.0, px[i], 0.01, ts[i])
            k += 1
        else:
            on_fill(L, SL, S, SS, sym[i], -1, 10.0 * scale_in, px[i], 0.01, ts[i])
            k = 0


@njit(cache=True)
def loop_mark(L, SL, S, SS, sym, px, ts) -> int:
    acc = 0
    for i in range(sym.shape[0]):
        acc += on_mark(L, SL, S, SS, sym[i], px[i] - 0.01, px[i] + 0.01, px[i], ts[i])
    return acc


def _fresh(positions: bool = False):
    """New arrays with every symbol quoted at 100 (so the collar rule is live), and
    optionally a long position per symbol (so on_mark evaluates its stops)."""
    a = make_risk(_config(), N_SYM, 1e7)
    start_session(a[0], a[2], a[3], 0, 10**18)
    for s in range(N_SYM):
        on_mark(*a, s, 99.99, 100.01, 100.0, 1)
        if positions:
            on_fill(*a, s, 1, 100.0, 100.0, 0.0, 1)
    return a


def _data(n: int):
    rng = np.random.default_rng(7)
    sym = np.zeros(n, np.int64)  # one symbol: the fill loop must close what it opens
    sym_multi = rng.integers(0, N_SYM, n).astype(np.int64)
    px = 100.0 + np.cumsum(rng.normal(0, 0.01, n))
    ts = np.arange(n, dtype=np.int64) * 100 * MS  # 10 orders/s: under the throttle
    return sym, sym_multi, px, ts


def _time(fn, *data, positions: bool = False) -> tuple[float, tuple]:
    """Best of 3 in ns per call, each repetition on fresh risk arrays; returns the last arrays."""
    best = np.inf
    for _ in range(3):
        a = _fresh(positions)
        t = time.perf_counter()
        fn(*a, *data)
        best = min(best, time.perf_counter() - t)
    return best / len(data[0]) * 1e9, a


def _python_fifo(sides, qtys, pxs) -> float:
    lots: deque = deque()
    pos = realized = 0.0
    for side, q, p in zip(sides, qtys, pxs, strict=True):
        if pos >= 0 and side > 0:
            lots.append([q, p])
            pos += q
            continue
        left = q
        while left > 0 and lots:
            lot = lots[0]
            take = min(left, lot[0])
            realized += take * (p - lot[1])
            lot[0] -= take
            left -= take
            if lot[0] <= 0:
                lots.popleft()
        pos -= q
    return realized


def main() -> None:
    sym, sym_multi, px, ts = _data(N)
    t0 = time.perf_counter()
    a = _fresh()
    for fn, extra in ((loop_check, ()), (loop_release, ()), (loop_mark, ()), (loop_fill, (5,))):
        fn(*a, sym[:10], px[:10], ts[:10], *extra)
    loop_baseline(sym[:10], px[:10], ts[:10])
    compile_s = time.perf_counter() - t0

    rows = []
    t = time.perf_counter()
    loop_baseline(sym_multi, px, ts)
    rows.append(("bare numba loop (peer floor)", (time.perf_counter() - t) / N * 1e9))
    chk, a = _time(loop_check, sym_multi, px, ts)
    assert a[2][0]["n_rejected"] == 0, "benchmark orders must all be accepted"
    rel, _ = _time(loop_release, sym_multi, px, ts)
    rows.append(("pre_trade_check + on_order_closed", chk))
    rows.append(("on_order_closed alone", rel))
    rows.append(("=> pre_trade_check, all rules (target < 100)", chk - rel))
    for k, label in ((1, "round trip, 1 lot"), (5, "scale-in 5 lots, 1 exit")):
        ns, _ = _time(loop_fill, sym, px, ts, k)
        rows.append((f"on_fill, FIFO+LIFO+avg books ({label})", ns))
    ns, _ = _time(loop_mark, sym_multi, px, ts, positions=True)
    rows.append(("on_mark (mark, equity, breakers, stops)", ns))

    # peers: the same hook from Python (live driver path), plain-Python FIFO ledger
    a = _fresh()
    n_py = 50_000
    t = time.perf_counter()
    for i in range(n_py):
        pre_trade_check(
            a[0], a[1], a[2], a[3], int(sym_multi[i]), 1, 10.0, float(px[i]), int(ts[i])
        )
        on_order_closed(a[0], a[1], a[2], a[3], int(sym_multi[i]), 1, 10.0, int(ts[i]))
    rows.append(("peer: check+release called from Python", (time.perf_counter() - t) / n_py * 1e9))
    sides = np.where(np.arange(N) % 2 == 0, 1, -1).tolist()
    t = time.perf_counter()
    _python_fifo(sides[: n_py * 4], [10.0] * (n_py * 4), px[: n_py * 4].tolist())
    rows.append(
        ("peer: plain-Python FIFO ledger per fill", (time.perf_counter() - t) / (n_py * 4) * 1e9)
    )

    print(
        f"risk hooks, {N:,} calls per numba row, warm, best of 3; "
        f"JIT compile / cache load: {compile_s:.2f} s"
    )
    print(f"{'what':<52}{'ns/call':>10}")
    for name, ns in rows:
        print(f"{name:<52}{ns:>10.1f}")


if __name__ == "__main__":
    main()
