"""Broker fill model: the fills are a broker's executions, not a simulation.

Live trading runs the backtest's compiled loop unchanged; only the venue differs. The
live driver sends the orders the loop placed to the broker and writes what the broker
reported back (its executions, and the orders it closed on its own: cancelled, expired,
refused) into an inbox; this model's step books that inbox into the same state with the
same rules as every other model (``framework.execution.lifecycle``: the fill, the trade
bookkeeping, bracket legs, OCO, per-trade stops), at the bar the driver hands it to.

Differences from the simulated models, each because the fill already happened:

* no buying-power cap at the fill (the broker checked it when it accepted the order);
* an order for a USD amount gets the shares the broker sized it to (``order_qty``);
* a fill of an order the loop had already closed (a cancel that lost the race) is still
  booked: the position is what the broker says it is;
* ``maker`` is inferred (Alpaca does not say): a limit order filled at its own price
  while the bar opened beyond it rested, as the bar model decides.

An order is NEW once it may work at the bar's start (as in the bar model), so the order
tables of a live run and a backtest read alike.

``settle`` books what the broker reported after the session's last row (no next row's
step will): the executions, into that last row, whose curves are marked again.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from framework.execution import state as X
from framework.execution.curves import mark_curves
from framework.execution.lifecycle import after_fill, sized
from framework.execution.orders import (
    advance_first_open,
    close_order,
    n_working,
    record_fill,
    working_order,
)
from framework.execution.rebalance import rebalance_due
from framework.execution.sizing import SIZE_SHARES
from framework.execution.state import STEP_OK
from framework.types.codes import OrderStatus, OrderType
from framework.types.jit import kernel

EV_FILL = 0  # an execution: ``qty`` shares at ``price`` USD
EV_CLOSE = 1  # the broker closed the order: ``status`` (CANCELED / EXPIRED / REJECTED)

# One broker event for the loop: ``bar`` the bar whose step books it, ``order`` the
# loop's order id, ``ts`` ns UTC of the execution / close, ``order_qty`` the order's
# shares as the broker sized it (NaN when it did not), ``reason`` a RejectReason code;
# ``maker`` is set by the step.
BROKER_EVENT_DTYPE = np.dtype([
    ("bar", "i8"), ("kind", "i8"), ("order", "i8"), ("ts", "i8"), ("qty", "f8"),
    ("price", "f8"), ("order_qty", "f8"), ("maker", "i8"), ("status", "i8"),
    ("reason", "i8"),
])


class BrokerFeed(NamedTuple):
    """The inbox: ``events`` (``BROKER_EVENT_DTYPE`` rows, in the order received)."""

    events: np.ndarray


@kernel
def _execution(t, i, qty, px, ts_ns, order_qty, maker, od, rk, par, wk) -> None:
    """Book one execution of order ``i`` (``lifecycle``'s bookkeeping after it)."""
    if od.plan[i].size_mode != SIZE_SHARES and np.isfinite(order_qty):
        sized(i, order_qty, ts_ns, od, rk, wk)
    before = rk.rsym[od.orders[i].sym].position
    record_fill(od.orders, od.fills, od.tally, rk.limits, rk.sym_limits, rk.rstate, rk.rsym,
                par.costs, i, qty, px, ts_ns, maker)
    after_fill(t, i, ts_ns, before, od, rk, par)


@kernel(inline="always")
def _maker(o, px, bar_open) -> int:
    """1 when a limit order filled at its own price ``px`` after the bar opened beyond it
    (it rested: passive), else 0."""
    if o.type != OrderType.LIMIT.value or px != o.limit_price:
        return 0
    return 1 if (bar_open > px if o.side > 0 else bar_open < px) else 0


@kernel(inline="always")
def step(t, feed, mkt, od, rk, par, wk) -> int:
    """Book the inbox rows of bar ``t`` (see the module docstring); returns ``STEP_OK``."""
    bar_start = mkt.ts[t]
    tally = od.tally[0]
    for j in range(n_working(od.tally, tally.n_orders)):
        o = od.orders[working_order(od.working, od.tally, j)]
        if o.status == OrderStatus.PENDING.value and o.ts_active <= bar_start:
            o.status = OrderStatus.NEW.value
    ev = feed.events
    for k in range(ev.shape[0]):
        e = ev[k]
        i = e.order
        if e.bar != t or not 0 <= i < tally.n_orders:
            continue
        if e.kind == EV_FILL:
            _execution(t, i, e.qty, e.price, e.ts, e.order_qty,
                       _maker(od.orders[i], e.price, mkt.open[t, od.orders[i].sym]),
                       od, rk, par, wk)
        else:
            close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, i,
                        e.status, e.reason, e.ts)
    return STEP_OK


@kernel
def settle(t, feed, mkt, od, rk, par, wk, cur) -> int:
    """After the last row ``t`` was stepped: book the inbox rows stamped ``t`` (``step``'s
    rules) and write row ``t`` of ``cur`` (``Curves``) again; returns ``STEP_OK``. The caller
    leaves room in the order and fill tables, as the loop does before a step."""
    step(t, feed, mkt, od, rk, par, wk)
    advance_first_open(od.orders, od.tally, od.working)
    mark_curves(t, rk, wk, cur)
    return STEP_OK


@kernel
def trade_targets(t, mkt, od, rk, par, wk) -> None:
    """Target mode, live: right after bar ``t``'s decision, trade the targets due by its
    decision instant (``framework.execution.rebalance``, each priced for the pre-trade
    check at the bar's close), so the orders go to the broker with the row's and reach
    it when a backtest's rebalance trades them (at the next bar's open). A target
    decided at the session's close, or not active yet (order-entry latency), waits for
    a later row's decision."""
    dec = mkt.dec_ts[t]
    if wk.flags[X.F_PENDING] > 0 and dec < mkt.session_close[t]:
        rebalance_due(dec, mkt.close[t], od, rk, par, wk)
