"""Target positions into orders: at the first fill opportunity after a target is decided,
trade the difference between it and the position, sells before buys, each order
through the pre-trade check and filled like any other.

A target is a number of shares (``framework.execution.sizing``: weights and USD are
converted at the decision) waiting in ``Work.tgt`` (NaN = none) until ``Work.tgt_ts``
(its decision time plus order-entry latency) and a price for its symbol; a newer target
replaces it. A difference smaller than ``Work.tgt_lot`` (the no-trade band, the minimum
order value) is not traded. What is left working of an earlier rebalance of the symbol
is cancelled first (the new difference already counts the position it built).

A run that can set no target (signals mode without an on_bar hook) may leave ``Work.tgt``
None in the loop's view (``framework.engine.event.engine.loop_view``): ``rebalance_due``
is then typed away.
"""

from __future__ import annotations

import numpy as np

from framework.execution import state as X
from framework.execution.lifecycle import DAY, MARKET, NO_HOLD, place
from framework.execution.orders import close_order, is_open
from framework.execution.sizing import SIZE_SHARES
from framework.types.codes import Ignored, OrderStatus, RejectReason
from framework.types.jit import kernel, needs

EITHER = np.int64(0)  # rebalance_symbol: trade whichever side the difference needs


@kernel
def set_target(s, want, lot, active_ns, wk) -> None:
    """Symbol ``s`` should hold ``want`` shares from ``active_ns``; a difference of less
    than ``lot`` shares is not worth trading."""
    if np.isnan(wk.tgt[s]):
        wk.flags[X.F_PENDING] += 1
    wk.tgt[s] = want
    wk.tgt_lot[s] = lot
    wk.tgt_ts[s] = active_ns


@kernel(inline="always")
def due(s, ts_ns, wk) -> bool:
    """A target of ``s`` is waiting and active at ``ts_ns``."""
    return not np.isnan(wk.tgt[s]) and wk.tgt_ts[s] <= ts_ns


@kernel
def rebalance_symbol(s, side, ref_px, ts_ns, od, rk, par, wk) -> None:
    """Trade ``s`` toward its due target (an order for the difference, priced for the
    pre-trade check at ``ref_px`` USD); only if the difference is on ``side`` (+1 buy, -1
    sell, EITHER). The target is consumed."""
    delta = wk.tgt[s] - rk.rsym[s].position
    if side != EITHER and delta * side < 0.0:
        return  # the other pass trades it
    wk.tgt[s] = np.nan
    wk.flags[X.F_PENDING] -= 1
    o = od.orders
    for i in range(od.tally[0].first_open, od.tally[0].n_orders):
        if o[i].sym == s and od.plan[i].role == X.ROLE_TARGET and is_open(o[i].status):
            close_order(o, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, i,
                        OrderStatus.CANCELED.value, RejectReason.NONE.value, ts_ns)
    q = abs(delta)
    if q == 0.0 or q < wk.tgt_lot[s]:
        wk.ignored[Ignored.TARGET_IN_BAND.value] += 1
        return
    nan = np.nan
    place(od, rk, par, s, np.int64(1 if delta > 0.0 else -1), MARKET, DAY, q, nan, nan, ref_px,
          ts_ns, NO_HOLD, X.ROLE_TARGET, SIZE_SHARES, nan, nan, nan, nan, nan, NO_HOLD)


@needs("wk", "tgt")
@kernel
def rebalance_due(ts_ns, px, od, rk, par, wk) -> None:
    """Trade every target due by ``ts_ns`` (ns UTC) of a symbol with a price in ``px``
    (``[S]`` USD, NaN = no price: it waits) and not halted: sells, then buys, each
    order priced for the pre-trade check at its symbol's ``px``."""
    for side in (-1, 1):
        for s in range(rk.rsym.shape[0]):
            if due(s, ts_ns, wk) and np.isfinite(px[s]) and not rk.rsym[s].halted:
                rebalance_symbol(s, side, px[s], ts_ns, od, rk, par, wk)
