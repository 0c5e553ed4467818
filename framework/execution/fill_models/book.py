"""Book fill model: orders fill against the replayed L3 book, one book event at a time.

Rules (the historical book is never altered by simulated orders: no market impact
beyond walking the displayed depth; stated in docs/order-books.md):

* an order reaches the venue at ``ts_active``; the first book event of its symbol at
  or after that instant is its *arrival*;
* market (and a triggered stop): walks the opposite side's displayed levels from the
  best, one fill per level, each at that level's price; what the depth cannot fill
  keeps crossing on later events. Depth taken by one of our orders at an event is not
  offered again to another of ours at the same event;
* limit, at arrival: the marketable part walks the opposite levels up to the limit
  (taker); the rest rests at the limit with a **queue position**: every share resting
  at that price on its side when it arrives is ahead of it, and every order arriving
  later is behind it (the book's arrival sequence);
* a resting limit fills (maker, at its limit) only when
  - a visible execution at its price consumes the shares ahead of it: executions of
    orders ahead (or of volume whose priority is unknown) reduce the queue ahead, and
    what they execute beyond it fills ours; an execution of an order that arrived
    *after* ours means ours would have traded first: it fills ours;
  - a visible execution at a worse price on its side (the aggressor swept through it);
  - a new order on the opposite side arrives at or through its price (a seller
    joining at our bid would have hit us), up to that order's size;
  cancels and deletions of orders ahead reduce the queue ahead; those behind do not;
  hidden executions do not touch a displayed queue;
* stop buy ``S`` triggers when the best ask reaches ``S`` (sell: best bid), then acts as
  a market order; a stop-limit then acts as a limit arriving now;
* IOC and FOK are decided at arrival; fixed-bps slippage is *not* added: the depth walk
  is the price impact;
* an order for a USD amount (``framework.execution.sizing``) gets its shares at its
  first fill opportunity, at the best price it would take; a target due for the event's
  symbol trades at that event.

Every event that leaves both sides quoted also marks the risk stage at the new best
bid/ask (stops and breakers act intrabar).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from framework.execution.lifecycle import (
    after_fill,
    mark_and_act,
    ready,
    record,
    reference_price,
    size_at_fill,
)
from framework.execution.orders import close_order, is_open, n_working, working_order
from framework.execution.rebalance import EITHER, due, rebalance_symbol
from framework.execution.sizing import SIZE_SHARES
from framework.execution.state import STEP_OK
from framework.marketdata.book import kernels as BK
from framework.marketdata.book import order_map
from framework.marketdata.book.book import PRICE_UNITS
from framework.types.codes import BookEvent, OrderStatus, OrderType, RejectReason, TimeInForce
from framework.types.jit import kernel

NEED_TABLES = 3  # step: the fill table might overflow at the next book event


class BookFeed(NamedTuple):
    """The L3 book events (prices in 1e-4 USD units), time-ordered across symbols:
    ``hi[t]`` the end of the events before bar ``t``'s close (every event up to there is
    applied in bar ``t``; events between bars and before the first build the book too);
    ``bk`` the books (one per symbol, ``marketdata.book.kernels.BookState``); ``cur`` =
    [next event to apply, status of the last stop]; ``lvl_px``/``lvl_qty`` scratch."""

    hi: np.ndarray
    ts: np.ndarray
    sym: np.ndarray
    kind: np.ndarray
    side: np.ndarray
    order_id: np.ndarray
    price: np.ndarray
    size: np.ndarray
    new_order_id: np.ndarray
    bk: BK.BookState
    cur: np.ndarray
    lvl_px: np.ndarray
    lvl_qty: np.ndarray


@kernel
def take_depth(bk, b, side, qty, limit_px, skip, out_px, out_qty):
    """Walk the side opposite to ``side`` (+1 buy takes asks) of book ``b`` from the best,
    for up to ``qty`` shares at prices no worse than ``limit_px`` (USD, NaN = none),
    skipping the first ``skip`` shares (already taken by our orders at this event).
    Writes one (price USD, shares) per level into ``out_*``; returns how many levels."""
    s = 1 if side > 0 else 0
    g = bk.best[b, s]
    n = 0
    left = qty
    while g >= 0 and left > 1e-9 and n < out_px.shape[0]:
        px = (bk.p0[b] + g * bk.tick[b]) / PRICE_UNITS
        if np.isfinite(limit_px) and ((side > 0 and px > limit_px + 1e-9)
                                      or (side < 0 and px < limit_px - 1e-9)):
            break
        avail = bk.vol[bk.off[b] + g, s]
        if skip >= avail:
            skip -= avail
        else:
            take = min(avail - skip, left)
            skip = 0.0
            out_px[n] = px
            out_qty[n] = take
            n += 1
            left -= take
        g = BK.next_level(bk, b, s, g)
    return n


@kernel
def resting_depth(bk, b, side, price_px):
    """Shares resting on ``side`` (+1 bid) of book ``b`` at ``price_px`` USD."""
    g = BK.grid_index(bk, b, np.int64(np.rint(price_px * PRICE_UNITS)))
    if g < 0:
        return 0.0
    return bk.vol[bk.off[b] + g, 0 if side > 0 else 1]


@kernel
def passive_fill(side, limit_px, ahead, queue_seq, ev_kind, ev_side, ev_px, ev_qty, ev_seq):
    """One book event against a resting limit order: ``(shares filled, new queue ahead)``.

    ``ev_*``: the event's kind, the side (+1 bid) and price (USD) of the order it adds
    or touches, the shares it adds or removes and that order's arrival sequence (-1
    unknown).
    """
    if ev_qty <= 0.0:
        return 0.0, ahead
    if ev_side != side:  # a new order on the other side priced at or through ours trades with it
        reaches = ev_px <= limit_px + 1e-9 if side > 0 else ev_px >= limit_px - 1e-9
        if ev_kind == BookEvent.ADD and reaches:
            return ev_qty, ahead
        return 0.0, ahead
    at_price = abs(ev_px - limit_px) < 1e-9
    if ev_kind == BookEvent.EXEC_VISIBLE:
        if at_price:
            if ev_seq >= 0 and ev_seq >= queue_seq:
                return ev_qty, ahead  # the executed order arrived after ours
            left = ahead - ev_qty
            if left < 0.0:
                return -left, 0.0
            return 0.0, left
        through = ev_px < limit_px if side > 0 else ev_px > limit_px
        if through:
            return ev_qty, 0.0
        return 0.0, ahead
    if (ev_kind == BookEvent.CANCEL or ev_kind == BookEvent.DELETE) and at_price \
            and (ev_seq < 0 or ev_seq < queue_seq):
        return 0.0, max(ahead - ev_qty, 0.0)
    return 0.0, ahead


@kernel
def step(t, feed, mkt, od, rk, par, wk) -> int:
    """Apply every book event not yet applied up to the end of bar ``t`` (``hi[t]``;
    ``cur[0]`` is the next) to the L3 book, mark risk at the new best bid/ask, trade a due
    target of the event's symbol, then fill.

    Returns ``STEP_OK``, or with event ``cur[0]`` not applied: NEED_SLOTS / NEED_GRID (the book
    needs room) or NEED_TABLES (a sweep could fill past the fill table), also left in
    ``cur[1]``; the caller grows what is asked and resumes the bar from there."""
    bk = feed.bk
    cur = feed.cur
    lvl_px, lvl_qty = feed.lvl_px, feed.lvl_qty
    S = rk.rsym.shape[0]
    while cur[0] < feed.hi[t]:
        tally = od.tally[0]
        if (tally.n_orders + 4 * S + 8 > od.orders.shape[0] or tally.n_fills
                + (n_working(od.tally, tally.n_orders) + 1) * (lvl_px.shape[0] + 1)
                > od.fills.shape[0]):
            cur[1] = NEED_TABLES
            return NEED_TABLES
        k = cur[0]
        s = feed.sym[k]
        ts = feed.ts[k]
        kind = feed.kind[k]
        # what the event touches, read before the book forgets the order
        ev_side = 1 if feed.side[k] > 0 else -1
        ev_px = feed.price[k] / 1e4
        ev_qty = feed.size[k]
        ev_seq = -1
        pos = order_map.find(bk.keys, feed.order_id[k])
        if pos >= 0 and (kind == BK.BookEvent.CANCEL or kind == BK.BookEvent.DELETE
                         or kind == BK.BookEvent.EXEC_VISIBLE):
            slot = bk.slots[pos]
            ev_side = 1 if bk.o_side[slot] == 0 else -1
            ev_px = bk.o_px[slot] / 1e4
            ev_seq = bk.o_seq[slot]
            left = bk.o_size[slot]
            ev_qty = left if kind == BK.BookEvent.DELETE or ev_qty <= 0.0 else min(ev_qty, left)
        status = BK.apply_event_inline(bk, s, kind, feed.side[k], feed.order_id[k],
                                       feed.price[k], feed.size[k], feed.new_order_id[k], ts)
        if status != BK.OK:
            cur[1] = status
            return status
        cur[0] = k + 1
        gb = bk.best[s, 0]
        ga = bk.best[s, 1]
        bid = (bk.p0[s] + gb * bk.tick[s]) / 1e4 if gb >= 0 else np.nan
        ask = (bk.p0[s] + ga * bk.tick[s]) / 1e4 if ga >= 0 else np.nan
        if np.isfinite(bid) and np.isfinite(ask):
            mark_and_act(s, bid, ask, ts, od, rk, par, wk)
            if due(s, ts, wk) and not rk.rsym[s].halted:
                rebalance_symbol(s, EITHER, 0.5 * (bid + ask), ts, od, rk, par, wk)
        taken_buy = 0.0  # displayed depth our orders took at this event, per side
        taken_sell = 0.0
        given = 0.0  # shares of this event's execution already given to our resting orders
        for j in range(n_working(od.tally, tally.n_orders)):
            i = working_order(od.working, od.tally, j)
            r = ready(i, s, ts, od, rk)
            if r < 0:
                continue
            arrival = r == 1
            o = od.orders[i]
            side = o.side
            if o.type == OrderType.STOP.value or o.type == OrderType.STOP_LIMIT.value:
                touch = ask if side > 0 else bid
                if not (np.isfinite(touch) and (touch >= o.stop_price if side > 0
                                                else touch <= o.stop_price)):
                    continue
                o.type = (OrderType.LIMIT.value if o.type == OrderType.STOP_LIMIT.value
                          else OrderType.MARKET.value)
                arrival = True
            touch = ask if side > 0 else bid
            if np.isfinite(touch) and od.plan[i].size_mode != SIZE_SHARES and not size_at_fill(
                    i, reference_price(o.type, side, o.limit_price, o.stop_price, touch),
                    ts, od, rk, par, wk):
                continue
            remaining = o.qty - o.filled_qty
            limit_px = o.limit_price if o.type == OrderType.LIMIT.value else np.nan
            before = rk.rsym[s].position
            if o.type == OrderType.MARKET.value or arrival:
                skip = taken_buy if side > 0 else taken_sell
                n = take_depth(bk, s, side, remaining, limit_px, skip, lvl_px, lvl_qty)
                got = 0.0
                for j in range(n):
                    got += lvl_qty[j]
                if o.tif == TimeInForce.FOK.value and got < remaining - 1e-9:
                    close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym, i,
                                OrderStatus.CANCELED.value, RejectReason.FOK_UNFILLABLE.value,
                                ts)
                    continue
                filled = 0.0
                for j in range(n):
                    filled += record(i, lvl_qty[j], lvl_px[j], ts, 0, od, rk, par, wk)
                    if not is_open(o.status):
                        break
                if side > 0:
                    taken_buy += got
                else:
                    taken_sell += got
                if o.type == OrderType.LIMIT.value and is_open(o.status):
                    if o.tif == TimeInForce.IOC.value:
                        close_order(od.orders, rk.limits, rk.sym_limits, rk.rstate, rk.rsym,
                                    i, OrderStatus.CANCELED.value, RejectReason.NONE.value, ts)
                    else:  # rests: everything at its price now is ahead of it
                        od.queue_ahead[i] = resting_depth(bk, s, side, limit_px)
                        od.queue_seq[i] = bk.counters[BK.C_SEQ]
                if filled > 0.0:
                    after_fill(t, i, ts, before, od, rk, par)
                continue
            q_fill, od.queue_ahead[i] = passive_fill(side, limit_px, od.queue_ahead[i],
                                                     od.queue_seq[i], kind, ev_side, ev_px,
                                                     ev_qty - given, ev_seq)
            q = min(q_fill, remaining)
            if q > 1e-9:
                given += q
                if record(i, q, limit_px, ts, 1, od, rk, par, wk) > 0.0:
                    after_fill(t, i, ts, before, od, rk, par)
    return STEP_OK
