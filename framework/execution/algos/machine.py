"""The parent-order state machine, advanced once per bar at the decision time (after the
strategy spoke) by the event loop — the backtest's and the live driver's alike.

Per active parent, in this order:

1. fold the working child: its fills count toward the parent's ``filled_qty`` /
   ``avg_price``; a done child is forgotten;
2. a parent closed from outside (the decision rule's timeout, an exit, a risk action,
   an ``on_bar`` cancel) cancels its working child and stops;
3. filled: the parent is FILLED (an entry's bracket legs attach now);
4. at the horizon the residual is cancelled, swept (one market child) or carried (a new
   schedule of the same length);
5. else the schedule (``schedules``) says how many shares should have been sent by now;
   the difference with what is filled becomes the one working child (a working child is
   cancelled and replaced, i.e. re-targeted). A rejected child cancels the parent with
   the child's reason (a breaker or the kill switch stops the algo too).

Children are market orders, or limits (``child_limit``, the iceberg, or a parent with a
limit price) at the parent's limit, else at the last close ``limit_offset_bps`` on the
passive side. Units: ns UTC, shares, USD.
"""

from __future__ import annotations

import numpy as np

from framework.execution import state as X
from framework.execution.algos import params as A
from framework.execution.algos import schedules as S
from framework.execution.algos.parent import start_schedule
from framework.execution.lifecycle import DAY, MARKET, NO_HOLD, latency, legs, place
from framework.execution.orders import close_order, is_open
from framework.execution.sizing import SIZE_SHARES
from framework.types.codes import OrderStatus, OrderType, RejectReason
from framework.types.jit import kernel, needs

LIMIT = np.int64(OrderType.LIMIT)
SWEPT = np.int64(-2)  # parent.sent after its residual was swept
HALF_DAY_NS = 6 * 3600 * 1_000_000_000  # a shorter session uses the half-day profile


@needs("par", "algo")
@kernel
def algo_step(t, mkt, od, rk, par) -> None:
    """Advance every active parent at bar ``t``'s decision time (see the module
    docstring)."""
    pc = od.pcount
    for k in range(pc[A.PC_FIRST], pc[A.PC_USED]):
        if od.parents[k].active != 0:
            _advance(k, t, mkt, od, rk, par)
    while pc[A.PC_FIRST] < pc[A.PC_USED] and od.parents[pc[A.PC_FIRST]].active == 0:
        pc[A.PC_FIRST] += 1


@kernel
def _fold(p, od) -> float:
    """Fold parent ``p``'s working child into its record; returns the shares filled."""
    c = p.child
    if c < 0:
        return p.done_qty
    ch = od.orders[c]
    if is_open(ch.status):
        return p.done_qty + ch.filled_qty
    p.done_qty += ch.filled_qty
    p.done_cost += ch.filled_qty * ch.avg_price
    p.child = -1
    return p.done_qty


@kernel
def _cancel_child(p, ts_ns, od, rk) -> None:
    """Cancel parent ``p``'s working child (if any) and fold it."""
    if p.child >= 0:
        close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, p.child,
                    OrderStatus.CANCELED.value, RejectReason.NONE.value, ts_ns)
        _fold(p, od)


@kernel
def _finish(p, status, reason, ts_ns, od, rk, par) -> None:
    """The parent is done with ``status``: cancel its child, close its row, attach an
    entry's bracket legs to what it filled."""
    _cancel_child(p, ts_ns, od, rk)
    i = p.order
    o = od.orders[i]
    _book(p, o)
    if is_open(o.status):
        o.status = status
        o.reject_reason = reason
        o.ts_done = ts_ns
    p.active = 0
    if od.plan[i].role == X.ROLE_ENTRY and o.filled_qty > 0.0:
        legs(i, ts_ns, od, par)


@kernel(inline="always")
def _book(p, o) -> None:
    """The parent row shows what its closed children filled."""
    if p.done_qty > 0.0:
        o.filled_qty = p.done_qty
        o.avg_price = p.done_cost / p.done_qty


@kernel
def _advance(k, t, mkt, od, rk, par) -> None:
    p = od.parents[k]
    i = p.order
    o = od.orders[i]
    ts = mkt.dec_ts[t]
    filled = _fold(p, od)
    if not is_open(o.status):  # closed from outside
        _cancel_child(p, ts, od, rk)
        _book(p, o)
        p.active = 0
        return
    if filled >= o.qty - 1e-9:
        _finish(p, np.int64(OrderStatus.FILLED.value), np.int64(RejectReason.NONE.value), ts,
                od, rk, par)
        return
    if filled > 0.0:
        cost = p.done_cost
        if p.child >= 0:
            cost += od.orders[p.child].filled_qty * od.orders[p.child].avg_price
        o.filled_qty = filled
        o.avg_price = cost / filled
        o.status = OrderStatus.PARTIALLY_FILLED.value
    s = o.sym
    px = mkt.close[t, s]
    if np.isnan(px) or rk.rsym[s].halted:
        return
    a = par.algo
    kind = int(a[A.A_KIND])
    if kind == A.Algo.POV.value and mkt.ts[t] >= p.t0:  # the bar traded after the decision
        # the bars' volume never holds the run's own fills (simulated fills and Alpaca
        # paper fills do not print), so it is the others' volume as it stands
        v = mkt.volume[t, s]
        if np.isfinite(v):
            p.mvol += v
    if ts >= p.t_end:
        res = int(a[A.A_RESIDUAL])
        if res == A.Residual.CARRY.value:
            start_schedule(p, o.qty - filled, filled, ts, a)
        elif res == A.Residual.SWEEP.value and p.sent != SWEPT:
            _cancel_child(p, ts, od, rk)
            p.sent = SWEPT
            _send(p, o.qty - _fold(p, od), MARKET, np.nan, px, ts, od, rk, par)
            return
        elif p.child < 0 or res == A.Residual.CANCEL.value:
            _finish(p, np.int64(OrderStatus.CANCELED.value), np.int64(RejectReason.NONE.value),
                    ts, od, rk, par)
            return
        else:
            return  # the sweep's child is still working
    want = _want(p, k, t, kind, filled, mkt, od, par)
    if want < 0.0:
        return  # nothing new is due
    lot = a[A.A_LOT]
    left = o.qty - filled
    q = min(want - filled, left)
    if q < left - 1e-9:
        q = S.on_lot(q, lot)
    if a[A.A_MAX_CHILD] > 0.0:
        q = min(q, a[A.A_MAX_CHILD])
    if q <= 1e-9 or (kind == A.Algo.POV.value and q < a[A.A_MIN_CHILD] and q < left - 1e-9):
        return
    _cancel_child(p, ts, od, rk)
    otype = MARKET
    lp = np.nan
    if a[A.A_CHILD_LIMIT] > 0.0 or kind == A.Algo.ICEBERG.value or np.isfinite(p.limit):
        otype = LIMIT
        lp = p.limit if np.isfinite(p.limit) else px * (
            1.0 - o.side * a[A.A_LIMIT_OFFSET_BPS] * 1e-4)
    _send(p, q, otype, lp, px, ts, od, rk, par)


@kernel
def _want(p, k, t, kind, filled, mkt, od, par) -> float:
    """Shares the schedule wants filled once the next child is (-1: nothing new due)."""
    a = par.algo
    i = p.order
    if kind == A.Algo.ICEBERG.value:
        if p.child >= 0:
            return -1.0  # the displayed part is still working
        d = a[A.A_DISPLAY]
        r = a[A.A_DISPLAY_RAND]
        if r > 0.0:
            d = S.on_lot(d * (1.0 + (2.0 * S.uniform(np.int64(a[A.A_SEED]), i, p.n_child)
                                     - 1.0) * r), a[A.A_LOT])
        return filled + max(d, 1.0)
    if kind == A.Algo.POV.value:
        return p.base + S.pov_target(a[A.A_RATE], p.mvol)
    ts = mkt.dec_ts[t]
    if kind == A.Algo.VWAP.value:
        open_ns = mkt.session_open[t]
        bucket = max(np.int64(a[A.A_BUCKET_NS]), 1)
        b = (ts - open_ns) // bucket
        if b <= p.sent:
            return -1.0
        p.sent = b
        close_ns = mkt.session_close[t]
        row = 1 if close_ns - open_ns < HALF_DAY_NS else 0
        b_last = (min(p.t_end, close_ns) - 1 - open_ns) // bucket
        return filled + S.vwap_bucket(p.base + p.qty - filled, par.vprof[row], b, b_last)
    interval = np.int64(a[A.A_INTERVAL_NS])
    n = S.n_slices(p.t_end - p.t0, interval)
    seed = np.int64(a[A.A_SEED])
    kd = S.slice_due(ts, p.t0, interval, n, a[A.A_RAND_TIME], seed, i)
    if kd <= p.sent:
        return -1.0
    p.sent = kd
    if kind == A.Algo.TWAP.value:
        return p.base + S.twap_cum(kd, n, p.qty, a[A.A_LOT], a[A.A_RAND_SIZE], seed, i)
    tau = interval / S.NS
    sy = par.algo_sym[od.orders[i].sym]
    kappa = S.ac_kappa(a[A.A_LAMBDA], sy[A.AS_SIGMA], sy[A.AS_ETA], sy[A.AS_GAMMA], tau)
    if not np.isfinite(kappa):
        kappa = 0.0  # no usable impact estimate: the risk-neutral (TWAP) trajectory
    return p.base + S.is_cum(kd, n, p.qty, a[A.A_LOT], kappa, tau)


@kernel
def _send(p, q, otype, lp, px, ts, od, rk, par) -> None:
    """Send a child of ``q`` shares; a rejected child cancels the parent with its
    reason."""
    i = p.order
    o = od.orders[i]
    pl = od.plan[i]
    nan = np.nan
    c = place(od, rk, par, o.sym, np.int64(o.side), otype, DAY, q, lp, nan, px, ts,
              latency(od, par), X.ROLE_CHILD, SIZE_SHARES, nan, nan, nan, pl.trail_pct,
              pl.trail_atr, NO_HOLD)
    if c < 0:
        _finish(p, np.int64(OrderStatus.CANCELED.value),
                np.int64(RejectReason.NONE.value), ts, od, rk, par)
        return
    od.plan[c].algo_parent = i + 1
    p.n_child += 1
    if od.orders[c].status == OrderStatus.REJECTED.value:
        _finish(p, np.int64(OrderStatus.CANCELED.value), np.int64(od.orders[c].reject_reason),
                ts, od, rk, par)
        return
    p.child = c
