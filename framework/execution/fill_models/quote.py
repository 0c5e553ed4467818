"""Quote fill model: orders fill against the NBBO stream, one quote at a time.

Rules (stated, conservative where the queue is unknown):

* an order reaches the venue at ``ts_active``; the first quote at or after that instant
  is its *arrival* quote;
* market: the ask (buys) / bid (sells), at most the displayed size per quote; the rest
  keeps crossing on later quotes;
* limit buy ``L``: marketable at arrival if ``ask <= L`` (taker, at the ask); once
  resting it fills at ``L`` only when the ask moves *through* it (``ask < L``): a touch
  is not a fill, the queue ahead is unknown; sells mirror with the bid;
* stop buy ``S``: triggers when ``ask >= S`` and then crosses like a market order;
  stop-limit triggers the same way and then behaves as a limit;
* size per quote is the displayed size on the side taken, shared by every order of the
  symbol at that quote; IOC and FOK are decided at the arrival quote;
* fixed-bps slippage (``[costs] slippage_bps``) is added on top of the quoted price;
* an order for a USD amount (``framework.execution.sizing``) gets its shares at its
  first fill, at the quoted price it takes; a target due for the quote's symbol trades
  at that quote.

Every quote also marks the risk stage (stops and breakers act intrabar).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from framework.execution.costs import slipped_price
from framework.execution.lifecycle import (
    fill,
    mark_and_act,
    ready,
    reference_price,
    size_at_fill,
)
from framework.execution.orders import close_order, n_working, working_order
from framework.execution.rebalance import EITHER, due, rebalance_symbol
from framework.execution.sizing import SIZE_SHARES
from framework.execution.state import STEP_OK
from framework.types.codes import OrderStatus, OrderType, RejectReason, TimeInForce
from framework.types.jit import kernel


class QuoteFeed(NamedTuple):
    """The NBBO stream, time-ordered across symbols: ``lo[t]:hi[t]`` the quotes inside bar
    ``t``; ``ts`` ns UTC, ``sym`` symbol index, ``bid``/``ask`` USD, sizes shares."""

    lo: np.ndarray
    hi: np.ndarray
    ts: np.ndarray
    sym: np.ndarray
    bid: np.ndarray
    bid_size: np.ndarray
    ask: np.ndarray
    ask_size: np.ndarray


@kernel
def quote_fill(otype: int, side: int, limit_px: float, stop_px: float, arrival: bool,
               bid: float, bid_size: float, ask: float, ask_size: float,
               costs: np.ndarray) -> tuple[float, float, bool, bool]:
    """One order against one quote: ``(price USD or NaN, max shares, triggered, maker)``.

    ``triggered`` is True when a stop or stop-limit triggers at this quote (the caller
    turns it into a market / limit order).
    """
    touch = ask if side > 0 else bid
    size = ask_size if side > 0 else bid_size
    if not (touch > 0.0) or not (size > 0.0):
        return np.nan, 0.0, False, False
    trig = False
    if otype == OrderType.STOP.value or otype == OrderType.STOP_LIMIT.value:
        hit = touch >= stop_px if side > 0 else touch <= stop_px
        if not hit:
            return np.nan, 0.0, False, False
        trig = True
        if otype == OrderType.STOP.value:
            return slipped_price(touch, side, costs), size, True, False
        arrival = True  # a triggered stop-limit is a fresh limit order now
    if otype == OrderType.MARKET.value:
        return slipped_price(touch, side, costs), size, trig, False
    marketable = touch <= limit_px if side > 0 else touch >= limit_px
    if arrival and marketable:
        return min(slipped_price(touch, side, costs), limit_px) if side > 0 else \
            max(slipped_price(touch, side, costs), limit_px), size, trig, False
    through = touch < limit_px if side > 0 else touch > limit_px
    if not arrival and through:
        return limit_px, size, trig, True
    return np.nan, 0.0, trig, False


@kernel(inline="always")
def step(t, feed, mkt, od, rk, par, wk) -> int:
    """Walk the NBBO updates inside bar ``t`` in time order; each marks risk, trades a due
    target of its symbol, and may fill working orders. Returns ``STEP_OK``."""
    for k in range(feed.lo[t], feed.hi[t]):
        s = np.int64(feed.sym[k])  # int64 like every symbol index: one compiled signature
        qts = feed.ts[k]
        bid, ask = feed.bid[k], feed.ask[k]
        mark_and_act(s, bid, ask, qts, od, rk, par, wk)
        wk.used[s] = 0.0  # displayed size is fresh at every quote
        if due(s, qts, wk) and bid > 0.0 and ask > 0.0 and not rk.rsym[s].halted:
            rebalance_symbol(s, EITHER, 0.5 * (bid + ask), qts, od, rk, par, wk)
        tally = od.tally[0]
        n = tally.n_orders  # legs created by fills at this quote work from the next one
        for j in range(n_working(od.tally, n)):
            i = working_order(od.working, od.tally, j)
            r = ready(i, s, qts, od, rk)
            if r < 0:
                continue
            arrival = r == 1
            o = od.orders[i]
            touch = ask if o.side > 0 else bid
            if touch > 0.0 and od.plan[i].size_mode != SIZE_SHARES and not size_at_fill(
                    i, reference_price(o.type, o.side, o.limit_price, o.stop_price, touch),
                    qts, od, rk, par, wk):
                continue
            remaining = o.qty - o.filled_qty
            px, size, trig, maker = quote_fill(o.type, o.side, o.limit_price, o.stop_price,
                                               arrival, bid, feed.bid_size[k], ask,
                                               feed.ask_size[k], par.costs)
            if trig:
                o.type = (OrderType.LIMIT.value if o.type == OrderType.STOP_LIMIT.value
                          else OrderType.MARKET.value)
            cap = min(remaining, size - wk.used[s])
            if np.isnan(px) or cap <= 0.0:
                if arrival and (o.tif == TimeInForce.IOC.value
                                or o.tif == TimeInForce.FOK.value):
                    close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, i,
                                OrderStatus.CANCELED.value, RejectReason.NONE.value, qts)
                continue
            if o.tif == TimeInForce.FOK.value and cap < remaining - 1e-9:
                close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, i,
                            OrderStatus.CANCELED.value, RejectReason.FOK_UNFILLABLE.value, qts)
                continue
            wk.used[s] += fill(t, i, cap, px, qts, 1 if maker else 0, od, rk, par, wk)
    return STEP_OK
