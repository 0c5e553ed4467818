"""The numba event loop over bars of many symbols: fills, risk marks, decisions, equity.

``run_bars(t0, t1, ...)`` advances bars ``t0 .. t1-1``. The backtest driver calls it once
over the whole panel; the live driver calls it with ``(t, t + 1)`` as each bar closes —
the same compiled code, fed the same arrays. Per bar, in this order:

1. a new XNYS session: expire day orders, charge borrow on shorts, ``start_session``;
2. the fill model's step (``framework.execution.fill_models``): targets due trade, and
   every working order that reached the venue fills if the bar / quotes / book allow;
3. ``on_mark`` at the bar's close for every symbol that printed; risk actions (stops,
   breakers, kill switch) are obeyed before the strategy speaks;
4. the strategy speaks, in its form: the decision rule per symbol
   (``framework.strategy.decision.decide``) on its signals, its targets recorded for
   the next fill opportunity, or its ``on_bar`` hook called and the intents it wrote
   placed;
5. the algo parents (``framework.execution.algos.machine``) send their children;
6. equity, cash, gross exposure and positions at the close (at the last closes).

State is the groups of ``framework.execution.state``; ``feed`` is the fill model's.

One definition, compiled per configuration: numba compiles a specialisation of the loop
for each combination of argument types, and the types say what a run uses. The fill
model is the feed's type, an on_bar strategy the hook's (None without one), and a
feature the run cannot use is a None field of its group (``engine.loop_view``: the
parent-order algorithm in ``Params``, targets in ``Work``), whose steps
(``framework.types.jit.needs``) then compile to nothing: a signals-mode bar-model run
types, compiles and caches neither the algo machine nor target trading.
"""

from __future__ import annotations

import numpy as np

from framework.execution import state as X
from framework.execution.algos.machine import algo_step
from framework.execution.algos.params import PC_FIRST, PC_USED
from framework.execution.costs import borrow_fee
from framework.execution.curves import mark_curves
from framework.execution.fill_models import fill_step
from framework.execution.lifecycle import exit_position, latency, legs, place
from framework.execution.orders import advance_first_open, close_order, is_open, n_working
from framework.execution.rebalance import set_target
from framework.execution.sizing import (
    SIZE_SHARES,
    SIZE_VALUE,
    decision_amount,
    shares_for,
    target_lot,
    whole_shares,
)
from framework.risk.dtypes import RiskAction
from framework.risk.hooks import entries_paused, on_mark, set_atr, start_session
from framework.strategy import decision as D
from framework.strategy.intents import IN_CANCEL, IN_CLOSE, IN_TARGET
from framework.types.codes import Ignored, OrderStatus, OrderType, RejectReason, TimeInForce
from framework.types.jit import kernel, needs
from framework.types.prefetch import prefetch

PREFETCH_BARS = 32  # rows ahead: ~2 us of loop, more than a DRAM round trip
HOOK_FAILED = -1  # what an on_bar hook returns when the strategy raised
LIMIT = np.int64(OrderType.LIMIT)


@kernel
def _roll_session(t, mkt, od, rk, par, wk) -> None:
    """Session change at bar ``t``: expire day orders, charge borrow, start the session.

    A day order expires when the session it reached the venue in has closed; one sent
    at or after a close (a daily bar's decision) is working for the next session.
    """
    open_ns = mkt.session_open[t]
    prev_close = wk.clock[1]
    tally = od.tally[0]
    for i in range(tally.first_open, tally.n_orders):
        o = od.orders[i]
        if is_open(o.status) and o.tif == TimeInForce.DAY.value and o.ts_active < prev_close:
            close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, i,
                        OrderStatus.EXPIRED.value, RejectReason.NONE.value, open_ns)
    short = 0.0
    for s in range(rk.rsym.shape[0]):
        if rk.rsym[s].position < 0.0 and wk.last_close[s] > 0.0:
            short += -rk.rsym[s].position * wk.last_close[s]
    if short > 0.0:
        fee = borrow_fee(short, par.costs)
        rk.rstate[0].cash -= fee
        rk.rstate[0].fees += fee
        tally.fees += fee
        tally.borrow += fee
    start_session(rk.limits, rk.rstate, rk.rsym, open_ns, mkt.session_close[t])


@kernel(inline="always")
def _at(a, t, s) -> float:
    """``a[t, s]`` of a ``[T, S]`` override, or its one value when it is ``[1, 1]``."""
    return a[t if a.shape[0] != 1 else 0, s if a.shape[1] != 1 else 0]


@kernel(inline="always")
def _mark_close(t, mkt, sig, od, rk, par, wk) -> None:
    """Step 3: mark every symbol that printed at its close; obey the risk actions."""
    S = mkt.close.shape[1]
    ts_ns = mkt.dec_ts[t]
    atr_set = sig.atr.shape[0] != 1 or sig.atr.shape[1] != 1
    for s in range(S):
        px = mkt.close[t, s]
        if np.isnan(px):
            continue
        wk.last_close[s] = px
        if atr_set:
            a = sig.atr[t, s]
            if np.isfinite(a):
                set_atr(rk.rsym, s, a)
        act = on_mark(rk.limits, rk.sym_limits, rk.rstate, rk.rsym, s, np.nan, np.nan, px,
                      ts_ns)
        if act == RiskAction.FLATTEN_ALL.value:
            for k in range(S):
                if np.isfinite(wk.last_close[k]):
                    exit_position(k, wk.last_close[k], ts_ns, od, rk, par)
        elif act == RiskAction.EXIT_POSITION.value:
            exit_position(s, px, ts_ns, od, rk, par)
        elif act == RiskAction.PAUSE_ENTRIES.value:
            for k in range(S):
                e = od.slot[k, X.SLOT_ENTRY]
                if e >= 0 and is_open(od.orders[e].status):
                    close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, e,
                                OrderStatus.CANCELED.value, RejectReason.NONE.value, ts_ns)


@kernel(inline="always")
def _close_equity(rk, wk) -> float:
    """Cash plus every position at its last close (USD): the decision's equity."""
    eq = rk.rstate[0].cash
    for k in range(rk.rsym.shape[0]):
        if np.isfinite(wk.last_close[k]):
            eq += rk.rsym[k].position * wk.last_close[k]
    return eq


@kernel(inline="always")
def _sized(mode, size, px, limit_order, equity, whole):
    """``(estimated shares, plan mode, USD amount)`` of an order of ``size`` in ``mode``
    decided with ``equity`` USD and priced ``px`` (its limit for a limit order, else the
    last close): shares as given; a USD amount over a limit order's limit price now; a
    USD amount for a market / stop order, its shares fixed at the fill
    (``framework.execution.sizing``)."""
    if mode == SIZE_SHARES:
        return whole_shares(size, whole), SIZE_SHARES, np.nan
    usd = decision_amount(mode, size, equity)
    q = whole_shares(usd / px, whole)
    return q, SIZE_SHARES if limit_order else SIZE_VALUE, usd


@kernel
def _enter(t, s, side, px, ts_ns, sig, od, rk, par, wk) -> None:
    """Send the entry the decision rule asked for: the signal's size / limit / exits where
    set, else the ``[decision]`` defaults."""
    dec = par.dec
    size = sig.size[t, s]
    if not np.isfinite(size):
        size = dec[D.D_SIZE]
    lp = sig.limit[t, s]
    otype = LIMIT if np.isfinite(lp) else np.int64(dec[D.D_ORDER_TYPE])
    if otype == LIMIT and not np.isfinite(lp):
        lp = px * (1.0 - side * dec[D.D_LIMIT_OFFSET_BPS] * 1e-4)
    q, mode, amount = _sized(np.int64(dec[D.D_SIZE_MODE]), size, lp if otype == LIMIT else px,
                             otype == LIMIT, _close_equity(rk, wk),
                             dec[D.D_WHOLE_SHARES] > 0.0)
    if not (q > 0.0):
        wk.ignored[Ignored.ZERO_QUANTITY.value] += 1
        return
    hold = _at(sig.max_hold, t, s)
    i = place(od, rk, par, s, side, otype, np.int64(dec[D.D_TIF]), q, lp, np.nan, px, ts_ns,
              latency(od, par), X.ROLE_ENTRY, mode, amount, _at(sig.stop_loss, t, s),
              _at(sig.take_profit, t, s), _at(sig.trail_pct, t, s), _at(sig.trail_atr, t, s),
              np.int64(hold) if hold > 0.0 else np.int64(0))
    if i >= 0:
        od.slot[s, X.SLOT_ENTRY] = i


@kernel(inline="always")
def _decide(t, mkt, sig, od, rk, par, wk) -> None:
    """Step 4 in signals mode: the decision rule for every symbol that printed."""
    S = mkt.close.shape[1]
    dec = par.dec
    ts_ns = mkt.dec_ts[t]
    closing = ts_ns + mkt.bar_ns >= mkt.session_close[t]
    paused = entries_paused(rk.rstate)
    for s in range(S):
        px = mkt.close[t, s]
        if np.isnan(px):
            continue
        pos = rk.rsym[s].position
        e = od.slot[s, X.SLOT_ENTRY]
        x = od.slot[s, X.SLOT_EXIT]
        e_open = e >= 0 and is_open(od.orders[e].status)
        x_open = x >= 0 and is_open(od.orders[x].status)
        age = t - _bar_of(od.orders, e, mkt.dec_ts, t) if e_open else 0
        in_trade = t - od.slot[s, X.SLOT_OPENED] if pos != 0.0 else 0
        closed = od.slot[s, X.SLOT_CLOSED]
        since_exit = t - closed if closed >= 0 else 1 << 40
        sg = np.int64(sig.entry[t, s])
        action, why = D.decide(sg, sig.exit[t, s], pos, e_open, x_open, age, in_trade,
                               od.slot[s, X.SLOT_HOLD], since_exit, closing, paused, dec)
        if why >= 0:
            wk.ignored[why] += 1
        if action == D.EXIT:
            exit_position(s, px, ts_ns, od, rk, par)
        elif action == D.CANCEL_ENTRY:
            close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, e,
                        OrderStatus.CANCELED.value, RejectReason.NONE.value, ts_ns)
            if od.orders[e].filled_qty > 0.0:
                legs(e, ts_ns, od, par)
        elif action == D.ENTER:
            _enter(t, s, 1 if sg > 0 else -1, px, ts_ns, sig, od, rk, par, wk)


@kernel
def _target(s, target, unit, ts_ns, od, rk, par, wk) -> None:
    """Record a target of ``s`` (``unit`` SizeMode) as shares now: weights and USD at the
    last close and the equity then (``framework.execution.sizing``)."""
    dec = par.dec
    px = wk.last_close[s]
    if unit != SIZE_SHARES and not (px > 0.0):
        return  # the symbol never printed: no price to size a weight or an amount with
    eq = _close_equity(rk, wk)
    want = whole_shares(shares_for(unit, target, px, eq), dec[D.D_WHOLE_SHARES] > 0.0)
    lot = target_lot(px, eq, dec[D.D_BAND], dec[D.D_MIN_ORDER]) if px > 0.0 else 0.0
    set_target(s, want, lot, ts_ns + latency(od, par), wk)


@needs("wk", "tgt")
@kernel
def _targets(t, mkt, sig, od, rk, par, wk) -> None:
    """Step 4 in target mode: record this bar's targets for the next fill opportunity."""
    unit = np.int64(par.dec[D.D_TARGET_UNIT])
    for s in range(mkt.close.shape[1]):
        tg = sig.target[t, s]
        if not np.isnan(tg):
            _target(s, tg, unit, mkt.dec_ts[t], od, rk, par, wk)


@kernel
def _intents(t, n, mkt, od, rk, par, wk) -> None:
    """Step 4 for on_bar strategies: place the ``n`` intents the hook wrote."""
    ts_ns = mkt.dec_ts[t]
    whole = par.dec[D.D_WHOLE_SHARES] > 0.0
    for k in range(n):
        it = wk.intents[k]
        s = it.sym
        mode = np.int64(it.size_mode)  # int64 codes: the signatures the other steps use
        if it.kind == IN_TARGET:
            _target(s, it.size, mode, ts_ns, od, rk, par, wk)
        elif it.kind == IN_CANCEL:
            i = it.order_id
            if 0 <= i < od.tally[0].n_orders and is_open(od.orders[i].status):
                close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, i,
                            OrderStatus.CANCELED.value, RejectReason.NONE.value, ts_ns)
        elif it.kind == IN_CLOSE:
            exit_position(s, wk.last_close[s], ts_ns, od, rk, par)
        else:
            limit_order = np.isfinite(it.limit)
            ref = it.limit if limit_order else (
                it.stop if np.isfinite(it.stop) else wk.last_close[s])
            q, pmode, amount = _sized(mode, it.size, ref, limit_order, _close_equity(rk, wk),
                                      whole)
            if not (q > 0.0):
                wk.ignored[Ignored.ZERO_QUANTITY.value] += 1
                continue
            place(od, rk, par, s, np.int64(it.side), np.int64(it.type), np.int64(it.tif), q,
                  it.limit, it.stop, ref, ts_ns, latency(od, par), X.ROLE_ENTRY, pmode, amount,
                  it.stop_loss, it.take_profit, it.trail_pct, it.trail_atr, it.max_hold)


@kernel
def _bar_of(orders, i, dec_ts, t) -> int:
    """Bar index whose decision created order ``i`` (searching back from ``t``)."""
    ts = orders[i].ts_created
    k = t
    while k > 0 and dec_ts[k] > ts:
        k -= 1
    return k


@kernel
def run_bars(t0, t1, feed, mkt, sig, par, od, rk, wk, cur, hook) -> int:
    """Advance bars ``t0 .. t1-1`` (see the module docstring); all state is in the groups.

    ``feed``: the fill model's (its type picks the model); ``sig``:
    ``framework.strategy.signals.SignalArrays``; ``cur``: ``Curves``; ``hook``: None, or
    for an on_bar strategy a C callback ``int64(int64 t)`` that runs the strategy at bar
    ``t``'s close and returns how many intents it wrote to ``wk.intents`` (HOOK_FAILED if
    it raised: ``wk.flags[F_STOP]`` is set and the loop stops).

    Returns the bar it stopped before: ``t1`` when done, less when the order or fill
    table might overflow in the next bar, when the fill model asks for room (the book's
    ``feed.cur[1]``), or after a failed hook; the caller grows what is asked and calls
    again from that bar, which resumes where it stopped.
    """
    S = mkt.close.shape[1]
    T = mkt.close.shape[0]
    room = 4 * S + 8
    if hook is not None:
        room += 3 * wk.intents.shape[0]
    sig_rows = sig.size.shape[0] == T and sig.limit.shape[0] == T
    mode = int(par.dec[D.D_MODE])
    for t in range(t0, t1):
        # a fill or an entry reads these rows only now and then, too sparsely for the
        # hardware prefetcher: each read was a DRAM miss (~16 % of the loop, 1 M bars)
        ahead = min(t + PREFETCH_BARS, T - 1)
        for s in range(0, S, 8):
            prefetch(mkt.open, ahead, s)
            prefetch(mkt.high, ahead, s)
            prefetch(mkt.low, ahead, s)
            prefetch(mkt.volume, ahead, s)
            if sig_rows:
                prefetch(sig.size, ahead, s)
                prefetch(sig.limit, ahead, s)
        tally = od.tally[0]
        parents = od.pcount[PC_USED] - od.pcount[PC_FIRST]  # each sends <= 1 child a bar
        if (tally.n_orders + room + parents > od.orders.shape[0]
                or tally.n_fills + n_working(od.tally, tally.n_orders) + room > od.fills.shape[0]):
            return t
        if mkt.session[t] != wk.clock[0]:
            _roll_session(t, mkt, od, rk, par, wk)
            wk.clock[0] = mkt.session[t]
            wk.clock[1] = mkt.session_close[t]
        if fill_step(t, feed, mkt, od, rk, par, wk) != X.STEP_OK:
            return t
        _mark_close(t, mkt, sig, od, rk, par, wk)
        if hook is not None:
            n = hook(t)
            if n == HOOK_FAILED:
                wk.flags[X.F_STOP] = 1
                return t
            _intents(t, n, mkt, od, rk, par, wk)
        elif mode == D.MODE_TARGET:
            _targets(t, mkt, sig, od, rk, par, wk)
        else:
            _decide(t, mkt, sig, od, rk, par, wk)
        if od.pcount[PC_USED] > od.pcount[PC_FIRST]:
            algo_step(t, mkt, od, rk, par)
        advance_first_open(od.orders, od.tally, od.working)
        mark_curves(t, rk, wk, cur)
    return t1
