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
  is the price impact.
"""

from __future__ import annotations

import numpy as np

from framework.marketdata.book import kernels as BK
from framework.marketdata.book.book import PRICE_UNITS
from framework.types.codes import BookEvent
from framework.types.jit import kernel


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
