"""Bar fill model: where an order fills inside one OHLCV bar, stated and conservative.

Only the bar's open, high, low and volume are known, not the path inside it, so:

* market: the open (plus the slippage model);
* limit buy ``L``: the open if ``open <= L``; else ``L`` only if the low traded *through*
  it (``low < L``) — touching is not enough, the queue ahead is unknown; sells mirror;
* stop buy ``S``: the open if it gapped through (``open >= S``); else ``S`` if
  ``high >= S`` (plus slippage, never better than the stop); sells mirror;
* stop-limit: triggers like the stop; if it gapped through at the open it becomes a
  limit at the open (fills only if the open satisfies the limit); if triggered inside
  the bar it fills at the stop only when the limit is at or beyond the stop, otherwise
  it rests as a limit from the next bar;
* a stop-loss and a take-profit of one OCO bracket that could both fill in a bar: the
  stop is evaluated first (the worse outcome).

Quantity is capped by ``participation * bar volume`` (0 = no cap) shared by all orders
of the symbol in the bar; the rest stays open (IOC cancels it, FOK refuses the order).
An order for a USD amount (``framework.execution.sizing``) gets its shares at its first
fill, at the price it fills at before slippage; targets due by the bar's start trade at
its open, sells before buys.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from framework.execution import state as X
from framework.execution.costs import fill_price
from framework.execution.lifecycle import fill, reference_price, size_at_fill
from framework.execution.orders import close_order, is_open, n_working, working_order
from framework.execution.rebalance import rebalance_due
from framework.execution.sizing import SIZE_SHARES
from framework.types.codes import OrderStatus, OrderType, RejectReason, TimeInForce
from framework.types.jit import kernel


class BarFeed(NamedTuple):
    """The bar model reads the run's bars (``Market``); ``model`` is ``FillModel.BAR``."""

    model: int


@kernel
def bar_fill_price(otype: int, side: int, limit_px: float, stop_px: float, triggered: bool,
                   qty: float, o: float, h: float, lo: float, v: float,
                   costs: np.ndarray) -> tuple[float, bool, bool]:
    """Fill price of one order in one bar: ``(price USD or NaN, triggered, maker)``.

    ``triggered`` in: a stop-limit already triggered in an earlier bar (acts as a limit);
    out: whether it is triggered after this bar. ``maker``: a resting limit filled at
    its own price (passive) rather than at the open.
    """
    if np.isnan(o):
        return np.nan, triggered, False
    if otype == OrderType.MARKET.value:
        return fill_price(o, side, qty, h, lo, v, costs), triggered, False
    if otype == OrderType.STOP_LIMIT.value and not triggered:
        gap = o >= stop_px if side > 0 else o <= stop_px
        inside = h >= stop_px if side > 0 else lo <= stop_px
        if gap:
            ok = o <= limit_px if side > 0 else o >= limit_px
            return (o if ok else np.nan), True, False
        if inside:
            ok = limit_px >= stop_px if side > 0 else limit_px <= stop_px
            return (stop_px if ok else np.nan), True, False
        return np.nan, False, False
    if otype == OrderType.LIMIT.value or otype == OrderType.STOP_LIMIT.value:
        if side > 0:
            if o <= limit_px:
                return min(fill_price(o, side, qty, h, lo, v, costs), limit_px), triggered, False
            if lo < limit_px:
                return limit_px, triggered, True
        else:
            if o >= limit_px:
                return max(fill_price(o, side, qty, h, lo, v, costs), limit_px), triggered, False
            if h > limit_px:
                return limit_px, triggered, True
        return np.nan, triggered, False
    # STOP
    if side > 0:
        if o >= stop_px:
            return fill_price(o, side, qty, h, lo, v, costs), True, False
        if h >= stop_px:
            return max(fill_price(stop_px, side, qty, h, lo, v, costs), stop_px), True, False
    else:
        if o <= stop_px:
            return fill_price(o, side, qty, h, lo, v, costs), True, False
        if lo <= stop_px:
            return min(fill_price(stop_px, side, qty, h, lo, v, costs), stop_px), True, False
    return np.nan, False, False


@kernel(inline="always")
def step(t, feed, mkt, od, rk, par, wk) -> int:
    """Fill working orders against bar ``t`` (see the module docstring); returns ``STEP_OK``."""
    wk.used[:] = 0.0
    if wk.flags[X.F_PENDING] > 0:
        rebalance_due(mkt.ts[t], mkt.open[t], od, rk, par, wk)  # at the bar's open
    bar_start = mkt.ts[t]
    part = par.exe[X.X_PARTICIPATION]
    tally = od.tally[0]
    n = tally.n_orders  # legs created by fills in this bar start working next bar
    for j in range(n_working(od.tally, n)):
        i = working_order(od.working, od.tally, j)
        od_ = od.orders[i]
        if not is_open(od_.status) or od_.ts_active > bar_start:
            continue
        s = od_.sym
        if od_.status == OrderStatus.PENDING.value:
            od_.status = OrderStatus.NEW.value
        o = mkt.open[t, s]
        if np.isnan(o) or rk.rsym[s].halted:
            continue
        if od.plan[i].size_mode != SIZE_SHARES and not size_at_fill(
                i, reference_price(od_.type, od_.side, od_.limit_price, od_.stop_price, o),
                bar_start, od, rk, par, wk):
            continue
        remaining = od_.qty - od_.filled_qty
        v = mkt.volume[t, s]
        px, trig, maker = bar_fill_price(od_.type, od_.side, od_.limit_price, od_.stop_price,
                                         False, remaining, o, mkt.high[t, s], mkt.low[t, s], v,
                                         par.costs)
        if trig and od_.type == OrderType.STOP_LIMIT.value:
            od_.type = OrderType.LIMIT.value  # triggered: rests as a limit (stop_price kept)
        cap = remaining
        if part > 0.0:
            cap = min(remaining, part * v - wk.used[s])
        if np.isnan(px) or cap <= 0.0:
            if od_.tif == TimeInForce.IOC.value or od_.tif == TimeInForce.FOK.value:
                close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, i,
                            OrderStatus.CANCELED.value, RejectReason.NONE.value, bar_start)
            continue
        if od_.tif == TimeInForce.FOK.value and cap < remaining - 1e-9:
            close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, i,
                        OrderStatus.CANCELED.value, RejectReason.FOK_UNFILLABLE.value,
                        bar_start)
            continue
        wk.used[s] += fill(t, i, cap, px, bar_start, 1 if maker else 0, od, rk, par, wk)
    return X.STEP_OK
