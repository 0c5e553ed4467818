"""An order's life around its fills, one definition for every fill model and both drivers:
placing an order with its plan, sizing it when it reaches the venue, filling it under
the buying-power rule, and what a fill sets off (trade bookkeeping, bracket legs, OCO,
per-trade trailing stops, flattening).

Kernels over the state groups of ``framework.execution.state`` (``Orders`` ``od``,
``Risk`` ``rk``, ``Params`` ``par``, ``Work`` ``wk``). Units: ns UTC, shares, USD.
"""

from __future__ import annotations

import numpy as np

from framework.execution import state as X
from framework.execution.algos.parent import TABLE_FULL, algo_on, open_parent
from framework.execution.orders import (
    add_bracket_legs,
    cancel_oco,
    cancel_symbol,
    close_order,
    is_open,
    record_fill,
    submit,
)
from framework.execution.sizing import SIZE_SHARES, affordable, cash_floor, whole_shares
from framework.execution.ticks import on_tick
from framework.risk.dtypes import RiskAction
from framework.risk.hooks import on_mark, on_order_resized, set_trailing
from framework.strategy import decision as D
from framework.types.codes import Ignored, OrderStatus, OrderType, RejectReason, TimeInForce
from framework.types.jit import kernel

# typed constants for kernel arguments (a Python int compiles a callee per literal value)
MARKET = np.int64(OrderType.MARKET)
DAY = np.int64(TimeInForce.DAY)
NO_HOLD = np.int64(0)


@kernel(inline="always")
def latency(od, par) -> int:
    """Order-entry latency (ns) of the next order: draw ``n_orders mod len`` (seeded)."""
    return par.lat[od.tally[0].n_orders % par.lat.shape[0]]


@kernel
def place(od, rk, par, sym, side, otype, tif, qty, limit_px, stop_px, ref_px, ts_ns,
          latency_ns, role, size_mode, amount, stop_loss, take_profit, trail_pct, trail_atr,
          max_hold) -> int:
    """Risk-check and record an order of ``qty`` shares (an estimate when ``size_mode`` is
    VALUE: ``amount`` USD becomes shares at the first fill) with its plan; it reaches the
    venue at ``ts_ns + latency_ns``.
    Returns its id, -1 if not recorded (a REJECTED row keeps its reason). ``ref_px``
    prices the pre-trade check (USD).

    Under an ``[execution] algo`` an entry (or an on_bar order) without a stop price
    becomes an algo parent (``framework.execution.algos.parent``) whose children are
    placed here later, each through the pre-trade check; its shares are fixed now."""
    if par.exe[X.X_TICK] > 0.0:
        limit_px = on_tick(limit_px, side, False)
        stop_px = on_tick(stop_px, side, True)
    i = TABLE_FULL
    if (algo_on(par) and (role == X.ROLE_ENTRY or role == X.ROLE_ORDER)
            and np.isnan(stop_px) and qty > 0.0 and side != 0):
        i = open_parent(od, par, sym, side, otype, tif, qty, limit_px, ref_px, ts_ns)
        size_mode = SIZE_SHARES
    if i == TABLE_FULL:
        i = submit(od.orders, od.tally, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, sym,
                   side, otype, tif, qty, limit_px, stop_px, ref_px, ts_ns, latency_ns)
    if i >= 0:
        p = od.plan[i]
        p.role = role
        p.size_mode = size_mode
        p.amount = amount
        p.stop_loss = stop_loss
        p.take_profit = take_profit
        p.trail_pct = trail_pct
        p.trail_atr = trail_atr
        p.max_hold = max_hold
    return i


@kernel(inline="always")
def reference_price(otype: int, side: int, limit_px: float, stop_px: float,
                    px: float) -> float:
    """The price an order would fill at against ``px`` (the open, or the quote it takes)
    before slippage, for sizing it: ``px``, or its limit / stop where that is the better
    (limit) or later (stop) price. USD."""
    if otype == OrderType.LIMIT.value or otype == OrderType.STOP_LIMIT.value:
        return min(px, limit_px) if side > 0 else max(px, limit_px)
    if otype == OrderType.STOP.value:
        return max(px, stop_px) if side > 0 else min(px, stop_px)
    return px


@kernel
def size_at_fill(i, ref_px, ts_ns, od, rk, par, wk) -> bool:
    """Order ``i`` can fill for the first time: an order for a USD amount
    (``framework.execution.sizing``) gets its shares now, the amount over ``ref_px`` (the
    price it would fill at before slippage, USD), and is in shares from then on. Returns
    False when that is no share at all (the order is cancelled and counted)."""
    p = od.plan[i]
    if p.size_mode == SIZE_SHARES:
        return True
    return sized(i, whole_shares(p.amount / ref_px, par.dec[D.D_WHOLE_SHARES] > 0.0), ts_ns,
                 od, rk, wk)


@kernel
def sized(i, q, ts_ns, od, rk, wk) -> bool:
    """Order ``i`` (for a USD amount) is ``q`` shares from now on (``size_at_fill``'s, or
    the broker's, who sized it at its fill); no share at all cancels it and is counted."""
    if not (q > 0.0):
        wk.ignored[Ignored.ZERO_QUANTITY.value] += 1
        close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, i,
                    OrderStatus.CANCELED.value, RejectReason.NONE.value, ts_ns)
        return False
    o = od.orders[i]
    on_order_resized(rk.limits, rk.sym_limits, rk.rstate, rk.rsym, o.sym, o.side, q - o.qty,
                     ts_ns)
    o.qty = q
    od.plan[i].size_mode = SIZE_SHARES  # sized: the amount stays as the decision's record
    return True


@kernel
def record(i, qty, px, ts_ns, maker, od, rk, par, wk) -> float:
    """Book a fill of up to ``qty`` shares of order ``i`` at ``px`` USD under the
    buying-power rule: a buy that grows a long position keeps cash at or above
    ``sizing.cash_floor`` (fees included); what does not fit is cancelled. Returns the
    shares filled (the trade bookkeeping is ``after_fill``'s)."""
    o = od.orders[i]
    q = qty
    if o.side > 0 and rk.rsym[o.sym].position >= 0.0:
        st = rk.rstate[0]
        room = st.cash - cash_floor(rk.limits[0].buying_power_multiple, st.equity)
        q = affordable(qty, px, room, par.costs, par.dec[D.D_WHOLE_SHARES] > 0.0)
        if q < qty - 1e-9:
            wk.ignored[Ignored.CASH_CAPPED_FILLS.value] += 1
    if q > 0.0:
        record_fill(od.orders, od.fills, od.tally, rk.limits, rk.sym_limits, rk.rstate,
                    rk.rsym, par.costs, i, q, px, ts_ns, maker)
    if q < qty - 1e-9 and is_open(o.status):
        close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, i,
                    OrderStatus.CANCELED.value, RejectReason.BUYING_POWER.value, ts_ns)
    return q


@kernel
def fill(t, i, qty, px, ts_ns, maker, od, rk, par, wk) -> float:
    """``record`` a fill of order ``i`` in bar ``t``, then ``after_fill``; returns the
    shares filled."""
    before = rk.rsym[od.orders[i].sym].position
    q = record(i, qty, px, ts_ns, maker, od, rk, par, wk)
    if q > 0.0:
        after_fill(t, i, ts_ns, before, od, rk, par)
    return q


@kernel
def after_fill(t, i, ts_ns, before, od, rk, par) -> None:
    """Trade bookkeeping, OCO, per-trade exits and bracket legs after order ``i`` filled
    (partly) at bar ``t``, the position having been ``before`` shares."""
    o = od.orders[i]
    s = o.sym
    after = rk.rsym[s].position
    p = od.plan[i]
    dec = par.dec
    if before == 0.0 and after != 0.0:
        od.slot[s, X.SLOT_OPENED] = t
        hold = p.max_hold if p.max_hold > 0 else int(dec[D.D_MAX_HOLD])
        od.slot[s, X.SLOT_HOLD] = hold
        if p.role == X.ROLE_ENTRY or p.role == X.ROLE_ORDER or p.role == X.ROLE_CHILD:
            set_trailing(rk.rsym, s, _or(p.trail_pct, dec[D.D_TRAIL_PCT]),
                         _or(p.trail_atr, dec[D.D_TRAIL_ATR]))
    if after == 0.0 and before != 0.0:
        od.slot[s, X.SLOT_CLOSED] = t
        cancel_symbol(od.orders, od.tally, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, s,
                      True, ts_ns)
    if o.tif == TimeInForce.IOC.value and is_open(o.status):
        close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, i,
                    OrderStatus.CANCELED.value, RejectReason.NONE.value, ts_ns)
    if o.status == OrderStatus.FILLED.value:
        if p.role == X.ROLE_LEG:
            cancel_oco(od.orders, od.tally, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, i,
                       ts_ns)
        elif p.role == X.ROLE_ENTRY and after != 0.0:
            legs(i, ts_ns, od, par)
    elif p.role == X.ROLE_ENTRY and not is_open(o.status) and after != 0.0:
        legs(i, ts_ns, od, par)


@kernel(inline="always")
def _or(x: float, default: float) -> float:
    """``x`` when set (finite), else ``default``."""
    return x if np.isfinite(x) else default


@kernel
def legs(i, ts_ns, od, par) -> None:
    """Attach the bracket legs to entry ``i`` once it is done (filled, or the rest
    cancelled): its own stop-loss / take-profit fractions, else the ``[decision]`` ones."""
    p = od.plan[i]
    stop = _or(p.stop_loss, par.dec[D.D_STOP_PCT])
    take = _or(p.take_profit, par.dec[D.D_TAKE_PCT])
    if stop > 0.0 or take > 0.0:
        n0 = od.tally[0].n_orders
        add_bracket_legs(od.orders, od.tally, i, stop, take, ts_ns)
        for k in range(n0, od.tally[0].n_orders):
            if par.exe[X.X_TICK] > 0.0:
                leg = od.orders[k]
                leg.limit_price = on_tick(leg.limit_price, leg.side, False)
                leg.stop_price = on_tick(leg.stop_price, leg.side, True)
            od.plan[k].role = X.ROLE_LEG
            od.plan[k].size_mode = SIZE_SHARES
            od.plan[k].amount = np.nan


@kernel
def exit_position(s, px, ts_ns, od, rk, par) -> None:
    """Cancel everything working on ``s`` and send a market order that flattens it."""
    cancel_symbol(od.orders, od.tally, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, s, True,
                  ts_ns)
    pos = rk.rsym[s].position
    if pos == 0.0:
        return
    nan = np.nan
    i = place(od, rk, par, s, np.int64(-1 if pos > 0 else 1), MARKET, DAY, abs(pos), nan, nan,
              px, ts_ns, latency(od, par), X.ROLE_EXIT, SIZE_SHARES, nan, nan, nan, nan,
              nan, NO_HOLD)
    if i >= 0:
        od.slot[s, X.SLOT_EXIT] = i


@kernel
def ready(i, s, ts_ns, od, rk) -> int:
    """Whether working order ``i`` takes part in an intrabar update of symbol ``s`` at
    ``ts_ns``: -1 no (other symbol, done, not at the venue yet, or halted), 1 yes and this
    is its arrival (PENDING becomes NEW), 0 yes, already resting."""
    o = od.orders[i]
    if o.sym != s or not is_open(o.status) or o.ts_active > ts_ns:
        return -1
    arrival = o.status == OrderStatus.PENDING.value
    if arrival:
        o.status = OrderStatus.NEW.value
    if rk.rsym[s].halted:
        return -1
    return 1 if arrival else 0


@kernel
def mark_and_act(s, bid, ask, ts_ns, od, rk, par, wk) -> None:
    """Risk mark of ``s`` at an intrabar (quote or book) update (USD); obey a stop (exit
    ``s`` at the mid) or a flatten-all (every symbol at its last close)."""
    act = on_mark(rk.limits, rk.sym_limits, rk.rstate, rk.rsym, s, bid, ask, np.nan, ts_ns)
    if act == RiskAction.EXIT_POSITION.value:
        exit_position(s, 0.5 * (bid + ask), ts_ns, od, rk, par)
    elif act == RiskAction.FLATTEN_ALL.value:
        for j in range(rk.rsym.shape[0]):
            if np.isfinite(wk.last_close[j]):
                exit_position(j, wk.last_close[j], ts_ns, od, rk, par)
