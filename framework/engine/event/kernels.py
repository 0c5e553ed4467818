"""The numba event loop over bars of many symbols: fills, risk marks, decisions, equity.

``run_bars(t0, t1, ...)`` advances bars ``t0 .. t1-1``. The backtest driver calls it once
over the whole panel; the live driver calls it with ``(t, t + 1)`` as each bar closes —
the same compiled code, fed the same arrays. Per bar, in this order:

1. a new XNYS session: expire day orders, charge borrow on shorts, ``start_session``;
2. fills of every working order that reached the venue by the bar's start, under the
   bar fill model (``framework.execution.fills_bar``) and the participation cap;
3. ``on_mark`` at the bar's close for every symbol that printed; risk actions (stops,
   breakers, kill switch) are obeyed before the strategy speaks;
4. the strategy's decision per symbol (``framework.strategy.decision.decide``);
5. equity, cash and gross exposure at the close (positions valued at the last close).

Per-symbol counters ``ctr[s]``: 0 working entry order id, 1 working exit order id,
2 bar the position opened, 3 bar it last closed (-1 = never).
"""

from __future__ import annotations

import numpy as np

from framework.execution.costs import borrow_fee
from framework.execution.fills_bar import bar_fill_price
from framework.execution.fills_book import passive_fill, resting_depth, take_depth
from framework.execution.fills_quote import quote_fill
from framework.execution.orders import (
    add_bracket_legs,
    advance_first_open,
    cancel_oco,
    cancel_symbol,
    close_order,
    is_open,
    record_fill,
    submit,
)
from framework.marketdata.book import kernels as BK
from framework.marketdata.book import order_map
from framework.risk.dtypes import RiskAction
from framework.risk.hooks import entries_paused, on_mark, start_session
from framework.strategy import decision as D
from framework.types.codes import OrderStatus, OrderType, RejectReason, TimeInForce
from framework.types.jit import kernel
from framework.types.prefetch import prefetch

C_ENTRY = 0
C_EXIT = 1
C_OPENED = 2
C_CLOSED = 3

ROLE_ENTRY = 0
ROLE_EXIT = 1
ROLE_LEG = 2

X_PARTICIPATION = 0  # execution vector: fraction of bar volume an order may take (0 = off)
N_EXEC = 1

PREFETCH_BARS = 32  # rows ahead: ~2 us of loop, more than a DRAM round trip
NEED_TABLES = 3  # book model: the fill table might overflow at the next book event


@kernel
def _roll_session(t, session_open, session_close, prev_close, last_close, orders, book, limits,
                  sym_limits, rstate, rsym, costs) -> None:
    """Session change at bar ``t``: expire day orders, charge borrow, start the session.

    A day order expires when the session it reached the venue in has closed; one sent
    at or after a close (a daily bar's decision) is working for the next session.
    """
    open_ns = session_open[t]
    for i in range(book[0].first_open, book[0].n_orders):
        o = orders[i]
        if is_open(o.status) and o.tif == TimeInForce.DAY.value and o.ts_active < prev_close:
            close_order(orders, limits, sym_limits, rstate, rsym, i,
                        OrderStatus.EXPIRED.value, RejectReason.NONE.value, open_ns)
    short = 0.0
    for s in range(rsym.shape[0]):
        if rsym[s].position < 0.0 and last_close[s] > 0.0:
            short += -rsym[s].position * last_close[s]
    if short > 0.0:
        fee = borrow_fee(short, costs)
        rstate[0].cash -= fee
        rstate[0].fees += fee
        book[0].fees += fee
        book[0].borrow += fee
    start_session(limits, rstate, rsym, open_ns, session_close[t])


@kernel(inline="always")
def _fill_bar(t, bar_start, o, h, lo, v, orders, fills, book, role, ctr, used, limits,
              sym_limits, rstate, rsym, costs, dec, exe) -> None:
    """Step 2: fill working orders against bar ``t``."""
    used[:] = 0.0
    b = book[0]
    n = b.n_orders  # legs created by fills in this bar start working next bar
    for i in range(b.first_open, n):
        od = orders[i]
        if not is_open(od.status) or od.ts_active > bar_start:
            continue
        s = od.sym
        if od.status == OrderStatus.PENDING.value:
            od.status = OrderStatus.NEW.value
        if np.isnan(o[t, s]) or rsym[s].halted:
            continue
        remaining = od.qty - od.filled_qty
        px, trig, maker = bar_fill_price(od.type, od.side, od.limit_price, od.stop_price,
                                         False, remaining, o[t, s], h[t, s], lo[t, s],
                                         v[t, s], costs)
        if trig and od.type == OrderType.STOP_LIMIT.value:
            od.type = OrderType.LIMIT.value  # triggered: rests as a limit (stop_price kept)
        cap = remaining
        if exe[X_PARTICIPATION] > 0.0:
            cap = min(remaining, exe[X_PARTICIPATION] * v[t, s] - used[s])
        if np.isnan(px) or cap <= 0.0:
            if od.tif == TimeInForce.IOC.value or od.tif == TimeInForce.FOK.value:
                close_order(orders, limits, sym_limits, rstate, rsym, i,
                            OrderStatus.CANCELED.value, RejectReason.NONE.value, bar_start)
            continue
        if od.tif == TimeInForce.FOK.value and cap < remaining - 1e-9:
            close_order(orders, limits, sym_limits, rstate, rsym, i, OrderStatus.CANCELED.value,
                        RejectReason.FOK_UNFILLABLE.value, bar_start)
            continue
        before = rsym[s].position
        record_fill(orders, fills, book, limits, sym_limits, rstate, rsym, costs, i, cap, px,
                    bar_start, 1 if maker else 0)
        used[s] += cap
        _after_fill(t, i, bar_start, before, orders, book, role, ctr, limits, sym_limits,
                    rstate, rsym, dec)


@kernel
def _after_fill(t, i, ts_ns, before, orders, book, role, ctr, limits, sym_limits, rstate,
                rsym, dec) -> None:
    """Position bookkeeping, OCO and bracket legs after order ``i`` filled (partly)."""
    od = orders[i]
    s = od.sym
    after = rsym[s].position
    if before == 0.0 and after != 0.0:
        ctr[s, C_OPENED] = t
    if after == 0.0 and before != 0.0:
        ctr[s, C_CLOSED] = t
        cancel_symbol(orders, book, limits, sym_limits, rstate, rsym, s, True, ts_ns)
    if od.tif == TimeInForce.IOC.value and is_open(od.status):
        close_order(orders, limits, sym_limits, rstate, rsym, i,
                    OrderStatus.CANCELED.value, RejectReason.NONE.value, ts_ns)
    if od.status == OrderStatus.FILLED.value:
        if role[i] == ROLE_LEG:
            cancel_oco(orders, book, limits, sym_limits, rstate, rsym, i, ts_ns)
        elif role[i] == ROLE_ENTRY and after != 0.0:
            _legs(orders, book, role, i, dec, ts_ns)
    elif role[i] == ROLE_ENTRY and not is_open(od.status) and after != 0.0:
        _legs(orders, book, role, i, dec, ts_ns)


@kernel
def _fill_quotes(t, quotes, orders, fills, book, role, ctr, used, last_close, limits,
                 sym_limits, rstate, rsym, costs, dec, lat) -> None:
    """Step 2 under the quote model: walk the NBBO updates inside bar ``t`` in time order;
    each marks risk (stops and breakers act intrabar) and may fill working orders."""
    q_lo, q_hi, q_ts, q_sym, q_bid, q_bsz, q_ask, q_asz = quotes
    for k in range(q_lo[t], q_hi[t]):
        s = q_sym[k]
        qts = q_ts[k]
        _mark_and_exit(s, q_bid[k], q_ask[k], qts, lat, last_close, orders, book, role, ctr,
                       limits, sym_limits, rstate, rsym)
        used[s] = 0.0  # displayed size is fresh at every quote
        b = book[0]
        n = b.n_orders
        for i in range(b.first_open, n):
            od = orders[i]
            ready = _ready(od, s, qts, rsym)
            if ready < 0:
                continue
            arrival = ready == 1
            remaining = od.qty - od.filled_qty
            px, size, trig, maker = quote_fill(od.type, od.side, od.limit_price,
                                               od.stop_price, arrival, q_bid[k], q_bsz[k],
                                               q_ask[k], q_asz[k], costs)
            if trig:
                od.type = (OrderType.LIMIT.value if od.type == OrderType.STOP_LIMIT.value
                           else OrderType.MARKET.value)
            cap = min(remaining, size - used[s])
            if np.isnan(px) or cap <= 0.0:
                if arrival and (od.tif == TimeInForce.IOC.value
                                or od.tif == TimeInForce.FOK.value):
                    close_order(orders, limits, sym_limits, rstate, rsym, i,
                                OrderStatus.CANCELED.value, RejectReason.NONE.value, qts)
                continue
            if od.tif == TimeInForce.FOK.value and cap < remaining - 1e-9:
                close_order(orders, limits, sym_limits, rstate, rsym, i,
                            OrderStatus.CANCELED.value, RejectReason.FOK_UNFILLABLE.value, qts)
                continue
            before = rsym[s].position
            record_fill(orders, fills, book, limits, sym_limits, rstate, rsym, costs, i, cap,
                        px, qts, 1 if maker else 0)
            used[s] += cap
            _after_fill(t, i, qts, before, orders, book, role, ctr, limits, sym_limits,
                        rstate, rsym, dec)


@kernel
def _ready(od, s, ts, rsym) -> int:
    """Whether working order ``od`` takes part in an intrabar update of symbol ``s`` at
    ``ts``: -1 no (other symbol, done, not at the venue yet, or halted), 1 yes and this
    is its arrival (PENDING becomes NEW), 0 yes, already resting."""
    if od.sym != s or not is_open(od.status) or od.ts_active > ts:
        return -1
    arrival = od.status == OrderStatus.PENDING.value
    if arrival:
        od.status = OrderStatus.NEW.value
    if rsym[s].halted:
        return -1
    return 1 if arrival else 0


@kernel
def _mark_and_exit(s, bid, ask, ts, lat, last_close, orders, book, role, ctr, limits,
                   sym_limits, rstate, rsym) -> None:
    """Risk mark at an intrabar (quote or book) update; obey stop / flatten actions."""
    act = on_mark(limits, sym_limits, rstate, rsym, s, bid, ask, np.nan, ts)
    if act == RiskAction.EXIT_POSITION.value:
        _exit(s, 0.5 * (bid + ask), ts, lat, orders, book, role, ctr, limits, sym_limits,
              rstate, rsym)
    elif act == RiskAction.FLATTEN_ALL.value:
        for j in range(rsym.shape[0]):
            if np.isfinite(last_close[j]):
                _exit(j, last_close[j], ts, lat, orders, book, role, ctr, limits,
                      sym_limits, rstate, rsym)


@kernel
def _fill_book(t, feed, orders, fills, book, role, ctr, last_close, limits, sym_limits, rstate,
               rsym, costs, dec, lat) -> int:
    """Step 2 under the book model (``framework.execution.fills_book``): apply every book
    event not yet applied up to the end of bar ``t`` (``b_hi[t]``; ``bcur[0]`` is the
    next one) to the L3 book, mark risk at the new best bid/ask, then fill.

    Returns OK, or with event ``bcur[0]`` not applied: NEED_SLOTS / NEED_GRID (the book
    needs room) or NEED_TABLES (a sweep could fill past the fill table), also left in
    ``bcur[1]``; the caller grows what is asked and resumes the bar from there."""
    b_hi, b_ts, b_sym, b_kind, b_side, b_oid, b_px, b_qty, b_new, bk, bcur, qa, qs, lvl_px, \
        lvl_qty = feed
    while bcur[0] < b_hi[t]:
        b = book[0]
        if (b.n_orders + 4 * rsym.shape[0] + 8 > orders.shape[0] or b.n_fills
                + (b.n_orders - b.first_open + 1) * (lvl_px.shape[0] + 1) > fills.shape[0]):
            bcur[1] = NEED_TABLES
            return NEED_TABLES
        k = bcur[0]
        s = b_sym[k]
        ts = b_ts[k]
        kind = b_kind[k]
        # what the event touches, read before the book forgets the order
        ev_side = 1 if b_side[k] > 0 else -1
        ev_px = b_px[k] / 1e4
        ev_qty = b_qty[k]
        ev_seq = -1
        pos = order_map.find(bk.keys, b_oid[k])
        if pos >= 0 and (kind == BK.BookEvent.CANCEL or kind == BK.BookEvent.DELETE
                         or kind == BK.BookEvent.EXEC_VISIBLE):
            slot = bk.slots[pos]
            ev_side = 1 if bk.o_side[slot] == 0 else -1
            ev_px = bk.o_px[slot] / 1e4
            ev_seq = bk.o_seq[slot]
            left = bk.o_size[slot]
            ev_qty = left if kind == BK.BookEvent.DELETE or ev_qty <= 0.0 else min(ev_qty, left)
        status = BK.apply_event(bk, s, kind, b_side[k], b_oid[k], b_px[k], b_qty[k],
                                b_new[k], ts)
        if status != BK.OK:
            bcur[1] = status
            return status
        bcur[0] = k + 1
        gb = bk.best[s, 0]
        ga = bk.best[s, 1]
        bid = (bk.p0[s] + gb * bk.tick[s]) / 1e4 if gb >= 0 else np.nan
        ask = (bk.p0[s] + ga * bk.tick[s]) / 1e4 if ga >= 0 else np.nan
        if np.isfinite(bid) and np.isfinite(ask):
            _mark_and_exit(s, bid, ask, ts, lat, last_close, orders, book, role, ctr, limits,
                           sym_limits, rstate, rsym)
        taken_buy = 0.0  # displayed depth our orders took at this event, per side
        taken_sell = 0.0
        given = 0.0  # shares of this event's execution already given to our resting orders
        for i in range(b.first_open, b.n_orders):
            od = orders[i]
            ready = _ready(od, s, ts, rsym)
            if ready < 0:
                continue
            arrival = ready == 1
            side = od.side
            if od.type == OrderType.STOP.value or od.type == OrderType.STOP_LIMIT.value:
                touch = ask if side > 0 else bid
                if not (np.isfinite(touch) and (touch >= od.stop_price if side > 0
                                                else touch <= od.stop_price)):
                    continue
                od.type = (OrderType.LIMIT.value if od.type == OrderType.STOP_LIMIT.value
                           else OrderType.MARKET.value)
                arrival = True
            remaining = od.qty - od.filled_qty
            limit_px = od.limit_price if od.type == OrderType.LIMIT.value else np.nan
            before = rsym[s].position
            if od.type == OrderType.MARKET.value or arrival:
                skip = taken_buy if side > 0 else taken_sell
                n = take_depth(bk, s, side, remaining, limit_px, skip, lvl_px, lvl_qty)
                got = 0.0
                for j in range(n):
                    got += lvl_qty[j]
                if od.tif == TimeInForce.FOK.value and got < remaining - 1e-9:
                    close_order(orders, limits, sym_limits, rstate, rsym, i,
                                OrderStatus.CANCELED.value, RejectReason.FOK_UNFILLABLE.value, ts)
                    continue
                for j in range(n):
                    record_fill(orders, fills, book, limits, sym_limits, rstate, rsym, costs,
                                i, lvl_qty[j], lvl_px[j], ts, 0)
                if side > 0:
                    taken_buy += got
                else:
                    taken_sell += got
                if od.type == OrderType.LIMIT.value and is_open(od.status):
                    if od.tif == TimeInForce.IOC.value:
                        close_order(orders, limits, sym_limits, rstate, rsym, i,
                                    OrderStatus.CANCELED.value, RejectReason.NONE.value, ts)
                    else:  # rests: everything at its price now is ahead of it
                        qa[i] = resting_depth(bk, s, side, limit_px)
                        qs[i] = bk.ctr[BK.C_SEQ]
                if n > 0:
                    _after_fill(t, i, ts, before, orders, book, role, ctr, limits, sym_limits,
                                rstate, rsym, dec)
                continue
            fill, qa[i] = passive_fill(side, limit_px, qa[i], qs[i], kind, ev_side, ev_px,
                                       ev_qty - given, ev_seq)
            q = min(fill, remaining)
            if q > 1e-9:
                given += q
                record_fill(orders, fills, book, limits, sym_limits, rstate, rsym, costs, i, q,
                            limit_px, ts, 1)
                _after_fill(t, i, ts, before, orders, book, role, ctr, limits, sym_limits,
                            rstate, rsym, dec)
    return BK.OK


@kernel
def _legs(orders, book, role, i, dec, ts_ns) -> None:
    """Attach the bracket legs to entry ``i`` once it is done (filled or the rest canceled)."""
    if dec[D.D_STOP_PCT] > 0.0 or dec[D.D_TAKE_PCT] > 0.0:
        n0 = book[0].n_orders
        add_bracket_legs(orders, book, i, dec[D.D_STOP_PCT], dec[D.D_TAKE_PCT], ts_ns)
        for k in range(n0, book[0].n_orders):
            role[k] = ROLE_LEG


@kernel
def _exit(s, px, ts_ns, lat, orders, book, role, ctr, limits, sym_limits, rstate, rsym):
    """Cancel everything working on ``s`` and send a market order that flattens it."""
    cancel_symbol(orders, book, limits, sym_limits, rstate, rsym, s, True, ts_ns)
    pos = rsym[s].position
    if pos == 0.0:
        return
    i = submit(orders, book, limits, sym_limits, rstate, rsym, s, -1 if pos > 0 else 1,
               OrderType.MARKET.value, TimeInForce.DAY.value, abs(pos), np.nan, np.nan, px,
               ts_ns, lat[book[0].n_orders % lat.shape[0]])
    if i >= 0:
        role[i] = ROLE_EXIT
        ctr[s, C_EXIT] = i


@kernel
def _working(orders, i) -> bool:
    return i >= 0 and is_open(orders[i].status)


@kernel(inline="always")
def _risk_and_decide(t, dec_ts, session_close, bar_ns, c, entry, exit_, size, limit, orders,
                     book, role, ctr, last_close, limits, sym_limits, rstate, rsym, dec,
                     lat) -> None:
    """Steps 3 and 4 for every symbol that printed at bar ``t``."""
    S = c.shape[1]
    ts_ns = dec_ts[t]
    closing = ts_ns + bar_ns >= session_close[t]
    for s in range(S):
        px = c[t, s]
        if np.isnan(px):
            continue
        last_close[s] = px
        act = on_mark(limits, sym_limits, rstate, rsym, s, np.nan, np.nan, px, ts_ns)
        if act == RiskAction.FLATTEN_ALL.value:
            for k in range(S):
                if np.isfinite(last_close[k]):
                    _exit(k, last_close[k], ts_ns, lat, orders, book, role, ctr, limits,
                          sym_limits, rstate, rsym)
        elif act == RiskAction.EXIT_POSITION.value:
            _exit(s, px, ts_ns, lat, orders, book, role, ctr, limits, sym_limits, rstate, rsym)
        elif act == RiskAction.PAUSE_ENTRIES.value:
            for k in range(S):
                if _working(orders, ctr[k, C_ENTRY]):
                    close_order(orders, limits, sym_limits, rstate, rsym, ctr[k, C_ENTRY],
                                OrderStatus.CANCELED.value, RejectReason.NONE.value, ts_ns)
    paused = entries_paused(rstate)
    for s in range(S):
        px = c[t, s]
        if np.isnan(px):
            continue
        pos = rsym[s].position
        e_open = _working(orders, ctr[s, C_ENTRY])
        x_open = _working(orders, ctr[s, C_EXIT])
        age = t - _bar_of(orders, ctr[s, C_ENTRY], dec_ts, t) if e_open else 0
        in_trade = t - ctr[s, C_OPENED] if pos != 0.0 else 0
        since_exit = t - ctr[s, C_CLOSED] if ctr[s, C_CLOSED] >= 0 else 1 << 40
        sig = int(entry[t, s])
        action = D.decide(sig, exit_[t, s], pos, e_open, x_open, age, in_trade, since_exit,
                          closing, paused, dec)
        if action == D.EXIT:
            _exit(s, px, ts_ns, lat, orders, book, role, ctr, limits, sym_limits, rstate, rsym)
        elif action == D.CANCEL_ENTRY:
            i = ctr[s, C_ENTRY]
            close_order(orders, limits, sym_limits, rstate, rsym, i,
                        OrderStatus.CANCELED.value, RejectReason.NONE.value, ts_ns)
            if orders[i].filled_qty > 0.0:
                _legs(orders, book, role, i, dec, ts_ns)
        elif action == D.ENTER:
            eq = rstate[0].cash
            for k in range(S):
                if np.isfinite(last_close[k]):
                    eq += rsym[k].position * last_close[k]
            q = D.entry_qty(size[t, s], px, eq, dec)
            if q <= 0.0:
                continue
            lp = limit[t, s]
            otype = OrderType.LIMIT.value if np.isfinite(lp) else int(dec[D.D_ORDER_TYPE])
            if otype == OrderType.LIMIT.value and not np.isfinite(lp):
                lp = px * (1.0 - sig * dec[D.D_LIMIT_OFFSET_BPS] * 1e-4)
            i = submit(orders, book, limits, sym_limits, rstate, rsym, s, 1 if sig > 0 else -1,
                       otype, int(dec[D.D_TIF]), q, lp, np.nan, px, ts_ns,
                       lat[book[0].n_orders % lat.shape[0]])
            if i >= 0:
                role[i] = ROLE_ENTRY
                ctr[s, C_ENTRY] = i


@kernel
def _bar_of(orders, i, dec_ts, t) -> int:
    """Bar index whose decision created order ``i`` (searching back from ``t``)."""
    ts = orders[i].ts_created
    k = t
    while k > 0 and dec_ts[k] > ts:
        k -= 1
    return k


@kernel
def run_bars(t0, t1, ts, dec_ts, session, session_open, session_close, bar_ns, o, h, lo, c, v,
             quotes, book_feed, entry, exit_, size, limit, dec, exe, costs, lat, orders, fills,
             book, role, ctr, clock, last_close, used, limits, sym_limits, rstate, rsym, equity,
             cash, gross, positions) -> int:
    """Advance bars ``t0 .. t1-1`` (see the module docstring); all state is in the arrays.

    Returns the bar it stopped before: ``t1`` when done, less when the order or fill
    table might overflow in the next bar, or when the L3 book needs more room
    (``bcur[1]`` = NEED_SLOTS / NEED_GRID); the caller grows them and calls again from
    that bar, which resumes where it stopped.

    The fill model is chosen by which feed is given (the other is ``None``; numba
    compiles one loop per combination and prunes the unused steps, so a bar-model run
    never compiles the book replay):

    * ``quotes`` = ``(lo, hi, ts, sym, bid, bid_size, ask, ask_size)``: the NBBO stream
      (time-ordered, all symbols) and ``lo[t]:hi[t]`` the quotes inside bar ``t``;
    * ``book_feed`` = ``(hi, ts, sym, kind, side, order_id, price, size, new_order_id,
      bk, bcur, qa, qs, lvl_px, lvl_qty)``: the book events (prices in 1e-4 USD units),
      ``hi[t]`` the end of the events before bar ``t``'s close: every event up to there
      is applied in bar ``t`` (events between bars and before the first one build the book
      too), ``bcur[0]`` the next event to apply; ``bk`` the L3 books (one per symbol),
      ``qa``/``qs`` each order's queue ahead and queue sequence, ``lvl_*`` scratch;
    * neither: OHLC bars.

    ``clock``: [session of the previous bar (-1 before the first), its close ns UTC].
    Writes ``equity``/``cash``/``gross`` (USD) and ``positions[t, s]`` (shares) at each
    bar's close.
    """
    S = c.shape[1]
    T = c.shape[0]
    for t in range(t0, t1):
        # a fill or an entry reads these rows only now and then, too sparsely for the
        # hardware prefetcher: each read was a DRAM miss (~16 % of the loop, 1 M bars)
        ahead = min(t + PREFETCH_BARS, T - 1)
        for s in range(0, S, 8):
            prefetch(o, ahead, s)
            prefetch(h, ahead, s)
            prefetch(lo, ahead, s)
            prefetch(v, ahead, s)
            prefetch(size, ahead, s)
            prefetch(limit, ahead, s)
        b = book[0]
        working = b.n_orders - b.first_open
        if (b.n_orders + 4 * S + 8 > orders.shape[0]
                or b.n_fills + working + 4 * S + 8 > fills.shape[0]):
            return t
        if session[t] != clock[0]:
            _roll_session(t, session_open, session_close, clock[1], last_close, orders, book,
                          limits, sym_limits, rstate, rsym, costs)
            clock[0] = session[t]
            clock[1] = session_close[t]
        if book_feed is not None:
            if _fill_book(t, book_feed, orders, fills, book, role, ctr, last_close, limits,
                          sym_limits, rstate, rsym, costs, dec, lat) != BK.OK:
                return t
        elif quotes is not None:
            _fill_quotes(t, quotes, orders, fills, book, role, ctr, used, last_close, limits,
                         sym_limits, rstate, rsym, costs, dec, lat)
        else:
            _fill_bar(t, ts[t], o, h, lo, v, orders, fills, book, role, ctr, used, limits,
                      sym_limits, rstate, rsym, costs, dec, exe)
        _risk_and_decide(t, dec_ts, session_close, bar_ns, c, entry, exit_, size, limit,
                         orders, book, role, ctr, last_close, limits, sym_limits, rstate, rsym,
                         dec, lat)
        advance_first_open(orders, book)
        eq = rstate[0].cash
        gr = 0.0
        for s in range(S):
            positions[t, s] = rsym[s].position
            if np.isfinite(last_close[s]):
                eq += rsym[s].position * last_close[s]
                gr += abs(rsym[s].position) * last_close[s]
        equity[t] = eq
        cash[t] = rstate[0].cash
        gross[t] = gr
    return t1
