"""The order table: submit (through the risk check), cancel, fill, expire, OCO and
bracket legs — numba kernels over ``ORDER_DTYPE``/``FILL_DTYPE`` arrays.

The event engine and the live driver's simulated venue call exactly these functions.
Portfolio accounting (cash, positions, lots, P&L) is the risk stage's state, updated by
``framework.risk.hooks.on_fill``: one ledger, not two.

``tally`` is a 1-record ``framework.execution.state.TALLY_DTYPE`` array: counters and
capacity flags. Units: ns UTC, shares, USD.
"""

from __future__ import annotations

import numpy as np

from framework.execution.costs import trade_fee
from framework.risk.hooks import on_fill, on_order_closed, pre_trade_check
from framework.types.codes import OrderStatus, OrderType, RejectReason, TimeInForce
from framework.types.jit import kernel

# "no parent / no OCO group": a typed -1, since a literal -1 argument would make numba
# compile a second add_order beside the one the bracket legs call with int64 ids
NO_ORDER = np.int64(-1)

@kernel(inline="always")
def is_open(status: int) -> bool:
    """True for an order that can still fill (pending, new, partially filled)."""
    return (status == OrderStatus.NEW.value or status == OrderStatus.PARTIALLY_FILLED.value
            or status == OrderStatus.PENDING.value)


@kernel
def add_order(orders, tally, sym, side, otype, tif, qty, limit_px, stop_px, ts_created,
              ts_active, parent_id, oco_id) -> int:
    """Append an order row (status PENDING) and return its index (= id); -1 if full."""
    i = tally[0].n_orders
    if i >= orders.shape[0]:
        tally[0].overflow = 1
        return -1
    o = orders[i]
    o.id = i
    o.sym = sym
    o.side = side
    o.type = otype
    o.tif = tif
    o.status = OrderStatus.PENDING.value
    o.qty = qty
    o.limit_price = limit_px
    o.stop_price = stop_px
    o.ts_created = ts_created
    o.ts_active = ts_active
    o.ts_done = 0
    o.filled_qty = 0.0
    o.avg_price = 0.0
    o.parent_id = parent_id
    o.oco_id = oco_id
    o.reject_reason = RejectReason.NONE.value
    tally[0].n_orders = i + 1
    return i


@kernel
def submit(orders, tally, limits, sym_limits, rstate, rsym, sym, side, otype, tif, qty,
           limit_px, stop_px, ref_px, ts_ns, latency_ns) -> int:
    """Risk-check and record a new order; returns its id (a REJECTED row keeps the reason).

    ``ref_px``: USD price the risk checks use (limit price, else the last mark);
    ``latency_ns``: order-entry latency, the order reaches the venue at ts + latency.
    """
    if not (qty > 0.0) or side == 0:
        return -1
    ref = limit_px if otype == OrderType.LIMIT.value or otype == OrderType.STOP_LIMIT.value else ref_px
    i = add_order(orders, tally, sym, side, otype, tif, qty, limit_px, stop_px, ts_ns,
                  ts_ns + latency_ns, NO_ORDER, NO_ORDER)
    if i < 0:
        return -1
    reason = pre_trade_check(limits, sym_limits, rstate, rsym, sym, side, qty, ref, ts_ns)
    if reason != RejectReason.NONE.value:
        orders[i].status = OrderStatus.REJECTED.value
        orders[i].reject_reason = reason
        orders[i].ts_done = ts_ns
    return i


@kernel
def close_order(orders, limits, sym_limits, rstate, rsym, i, status, reason, ts_ns) -> None:
    """Cancel / expire order ``i`` (no-op if already done); releases its risk reservation
    unless it is a bracket leg (legs are never reserved)."""
    o = orders[i]
    if not is_open(o.status):
        return
    o.status = status
    o.reject_reason = reason
    o.ts_done = ts_ns
    if o.parent_id < 0:
        on_order_closed(limits, sym_limits, rstate, rsym, o.sym, o.side, o.qty - o.filled_qty, ts_ns)


@kernel
def cancel_symbol(orders, tally, limits, sym_limits, rstate, rsym, sym, legs, ts_ns) -> None:
    """Cancel every open order of ``sym`` (``legs``: bracket legs too)."""
    for i in range(tally[0].first_open, tally[0].n_orders):
        o = orders[i]
        if o.sym == sym and is_open(o.status) and (legs or o.parent_id < 0):
            close_order(orders, limits, sym_limits, rstate, rsym, i,
                        OrderStatus.CANCELED.value, RejectReason.NONE.value, ts_ns)


@kernel
def record_fill(orders, fills, tally, limits, sym_limits, rstate, rsym, costs, i, qty, px,
                ts_ns, maker) -> None:
    """Fill ``qty`` shares of order ``i`` at ``px`` USD: fee, fill row, order state, ledger."""
    o = orders[i]
    fee = trade_fee(o.side, qty, px, costs)
    k = tally[0].n_fills
    if k >= fills.shape[0]:
        tally[0].overflow = 1
        return
    f = fills[k]
    f.order_id = o.id
    f.sym = o.sym
    f.ts = ts_ns
    f.side = o.side
    f.qty = qty
    f.price = px
    f.fee = fee
    f.maker = maker
    tally[0].n_fills = k + 1
    tally[0].fees += fee
    o.avg_price = (o.avg_price * o.filled_qty + px * qty) / (o.filled_qty + qty)
    o.filled_qty += qty
    on_fill(limits, sym_limits, rstate, rsym, o.sym, o.side, qty, px, fee, ts_ns)
    if o.filled_qty >= o.qty - 1e-9:
        o.status = OrderStatus.FILLED.value
        o.ts_done = ts_ns
    else:
        o.status = OrderStatus.PARTIALLY_FILLED.value


@kernel
def cancel_oco(orders, tally, limits, sym_limits, rstate, rsym, i, ts_ns) -> None:
    """Order ``i`` (a bracket leg) filled: cancel the other legs of its OCO group."""
    g = orders[i].oco_id
    if g < 0:
        return
    for j in range(tally[0].first_open, tally[0].n_orders):
        if j != i and orders[j].oco_id == g and is_open(orders[j].status):
            close_order(orders, limits, sym_limits, rstate, rsym, j,
                        OrderStatus.CANCELED.value, RejectReason.NONE.value, ts_ns)


@kernel
def add_bracket_legs(orders, tally, i, stop_pct, take_pct, ts_ns) -> None:
    """Entry ``i`` is done with ``filled_qty`` > 0: add its stop-loss (STOP) and take-profit
    (LIMIT) exit legs, GTC, one OCO group; ``*_pct`` fractions of the entry's average price."""
    o = orders[i]
    q = o.filled_qty
    if q <= 0.0:
        return
    side = -o.side
    long = o.side > 0
    if stop_pct > 0.0:
        sp = o.avg_price * (1.0 - stop_pct if long else 1.0 + stop_pct)
        add_order(orders, tally, o.sym, side, OrderType.STOP.value, TimeInForce.GTC.value, q,
                  np.nan, sp, ts_ns, ts_ns, o.id, o.id)
    if take_pct > 0.0:
        tp = o.avg_price * (1.0 + take_pct if long else 1.0 - take_pct)
        add_order(orders, tally, o.sym, side, OrderType.LIMIT.value, TimeInForce.GTC.value, q,
                  tp, np.nan, ts_ns, ts_ns, o.id, o.id)


@kernel
def advance_first_open(orders, tally, working) -> None:
    """Move the scan start past orders that are done and rebuild the index of working
    orders (``working``: ids of the open orders that can reach the venue, ascending;
    ``tally.n_working`` of them, covering rows before ``tally.working_end``). An algo
    parent (its ``parent_id`` is its own id, ``algos.parent``) never reaches the venue and
    stays open for its whole horizon: it holds ``first_open`` back but is not indexed,
    so the fill models' scans (``working_order``) cost what is working now. Called once
    per bar."""
    while (tally[0].first_open < tally[0].n_orders
           and not is_open(orders[tally[0].first_open].status)):
        tally[0].first_open += 1
    k = 0
    for j in range(tally[0].n_working):
        i = working[j]
        if is_open(orders[i].status):
            working[k] = i
            k += 1
    for i in range(max(tally[0].working_end, tally[0].first_open), tally[0].n_orders):
        if is_open(orders[i].status) and orders[i].parent_id != i:
            working[k] = i
            k += 1
    tally[0].n_working = k
    tally[0].working_end = tally[0].n_orders


@kernel(inline="always")
def n_working(tally, n) -> int:
    """Rows a fill scan visits when the table holds ``n`` orders: the indexed working
    orders, then every row added since the index was built."""
    return tally[0].n_working + max(n - tally[0].working_end, 0)


@kernel(inline="always")
def working_order(working, tally, j) -> int:
    """The ``j``-th order id of a fill scan (``j < n_working(tally, n)``), ascending."""
    return working[j] if j < tally[0].n_working else tally[0].working_end + j - tally[0].n_working
