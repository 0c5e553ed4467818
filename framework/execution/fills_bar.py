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
"""

from __future__ import annotations

import numpy as np

from framework.execution.costs import fill_price
from framework.types.codes import OrderType
from framework.types.jit import kernel


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
