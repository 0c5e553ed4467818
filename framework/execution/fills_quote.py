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
* fixed-bps slippage (``[costs] slippage_bps``) is added on top of the quoted price.
"""

from __future__ import annotations

import numpy as np

from framework.execution.costs import slipped_price
from framework.types.codes import OrderType
from framework.types.jit import kernel


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
