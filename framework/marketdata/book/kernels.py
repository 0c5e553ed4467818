"""Numba kernels of the L3 order book: one event applied to a set of books.

Layout (``BookState``, plain arrays so kernels cache and the Python layer can grow them):

* prices inside are int64 units of 1e-4 USD (LOBSTER's and ITCH's own unit);
* each book has a dense price grid: ``grid index = (price - p0) // tick``, the book's
  levels living at ``off[b] .. off[b] + size[b]`` of the flat level arrays;
  ``vol[l, 0]`` / ``vol[l, 1]`` are the bid / ask shares resting at level ``l``;
* every known order has a slot: id, book, side, level, price, remaining shares, arrival
  sequence (time priority) and its neighbours in the level's FIFO queue, so queue
  position is exact; ``order_map`` finds the slot from the id;
* volume a level holds without a known order (a snapshot ``LEVEL`` event, or an order
  that rested before the data began) is kept in ``vol`` only and counts as ahead of
  every known order in the queue.

The event loops are compiled with ``_nrt=False``: they allocate nothing, and numba's
reference counting of every array taken out of ``BookState`` cost ~90 ns per event
(atomic increments the refcount pruner does not remove; measured 95 ns -> 2.4 ns per
level update). Helpers are inlined into those loops so the flag reaches them.

A kernel never raises: faults are counted in ``counters`` (see the ``C_*`` indices) and the
event is skipped, except the two that the Python layer can fix and resume from — the
slot table is full (``NEED_SLOTS``) and a price falls outside its book's grid
(``NEED_GRID``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from framework.marketdata.book import order_map
from framework.types.bits import ctlz, cttz
from framework.types.codes import BookEvent
from framework.types.jit import kernel

LEVEL = BookEvent.LEVEL
# BookState.counters indices
# C_TOUCH_*: scratch of ``apply_events``' maintained view, what the current event changed
# in book C_TOUCH_BOOK (-1 outside ``apply_events``: nothing is noted): the best-most grid
# index whose volume changed on each side (NO_TOUCH_* when none), in C_TOUCH_WIDE bit s
# when side s changed at two levels; C_TOUCH_STRAY is set once an event changed another
# book than its own (an order id shared by two books), after which views are walked
C_FREE, C_SEQ, C_UNKNOWN_ID, C_DUPLICATE_ID, C_OFF_GRID, C_OVERFILL, C_LOCKED, C_CROSSED, \
    C_NEED_BOOK, C_NEED_PX, C_EVENTS, C_TRADES, C_TOUCH_BOOK, C_TOUCH_BID, C_TOUCH_ASK, \
    C_TOUCH_WIDE, C_TOUCH_STRAY = range(17)
N_COUNTERS = 17
NO_TOUCH_BID, NO_TOUCH_ASK = -1, 1 << 62
OK, NEED_SLOTS, NEED_GRID = 0, 1, 2
# BookState.cross: the best bid against the best ask
MARKET_NORMAL, MARKET_LOCKED, MARKET_CROSSED = 0, 1, 2
NO_REDUCE = 0  # _apply_event: a REPLACE of an unknown id takes nothing off the book
PENNY = 100  # price units per cent: the tick of every price >= $1 (Reg NMS rule 612)
PRICE_UNITS = 10_000  # price units per USD (the L2 outputs are written in USD)


class BookState(NamedTuple):
    p0: np.ndarray  # int64[nb] price units at grid index 0
    tick: np.ndarray  # int64[nb] price units per grid step
    off: np.ndarray  # int64[nb] first level of the book in the flat level arrays
    size: np.ndarray  # int64[nb] grid length (0 until the book sees a price)
    grid_full: np.ndarray  # int8[nb] 1: grid at its cap, prices outside are off-grid
    best: np.ndarray  # int64[nb, 2] grid index of best bid [:, 0] / best ask [:, 1], -1
    ext: np.ndarray  # int64[nb, 2] bound of scans: no level is occupied beyond it, -1
    cross: np.ndarray  # int8[nb] MARKET_NORMAL / _LOCKED / _CROSSED after the last event
    halted: np.ndarray  # int8[nb] trading halt from HALT events
    vol: np.ndarray  # float64[L, 2] shares at level: bids [:, 0], asks [:, 1]
    occ: np.ndarray  # uint64[L // 64, 2] bit l % 64 of word l // 64 set <=> vol[l] > 0
    head: np.ndarray  # int32[L, 2] oldest order slot at level + 1, 0 = none
    tail: np.ndarray  # int32[L, 2] newest order slot at level + 1, 0 = none
    keys: np.ndarray  # int64[H] order_map keys
    slots: np.ndarray  # int64[H] order_map values
    o_id: np.ndarray  # int64[C]
    o_book: np.ndarray  # int64[C]
    o_side: np.ndarray  # int8[C] 0 bid, 1 ask
    o_lvl: np.ndarray  # int64[C] flat level, -1 off grid
    o_px: np.ndarray  # int64[C] price units
    o_size: np.ndarray  # float64[C] remaining shares
    o_seq: np.ndarray  # int64[C] arrival sequence: lower = earlier in the queue
    o_ts: np.ndarray  # int64[C] ns of arrival
    o_prev: np.ndarray  # int64[C] slot ahead in the level queue, -1
    o_next: np.ndarray  # int64[C] slot behind, -1
    free: np.ndarray  # int64[C] stack of free slots, counters[C_FREE] of them
    counters: np.ndarray  # int64[N_COUNTERS]


@kernel(inline="always")
def _s(side):
    return 0 if side > 0 else 1


@kernel(inline="always")
def grid_index(bk, b, px):
    """Grid index of ``px`` in book ``b``, -1 off the grid, -2 when the grid must grow."""
    t = bk.tick[b]
    if bk.size[b] == 0:
        return -2
    d = px - bk.p0[b]
    if d % t != 0:
        return -1  # sub-tick price in a penny grid
    g = d // t
    if 0 <= g < bk.size[b]:
        return g
    return -1 if bk.grid_full[b] else -2


@kernel(inline="always")
def _touch(bk, b, s, g):
    """Note that the event changed the volume of level ``g`` on side ``s`` of book ``b``
    (only book C_TOUCH_BOOK's changes are noted: the one whose view is maintained)."""
    if b != bk.counters[C_TOUCH_BOOK]:
        if bk.counters[C_TOUCH_BOOK] >= 0:
            bk.counters[C_TOUCH_STRAY] = 1
        return
    c = C_TOUCH_BID if s == 0 else C_TOUCH_ASK
    t = bk.counters[c]
    if t == g:
        return
    if t != (NO_TOUCH_BID if s == 0 else NO_TOUCH_ASK):
        bk.counters[C_TOUCH_WIDE] |= 1 << s
    if (s == 0 and g > t) or (s == 1 and g < t):
        bk.counters[c] = g


@kernel(inline="always")
def _add_volume(bk, b, s, g, qty):
    _touch(bk, b, s, g)
    lv = bk.off[b] + g
    bk.vol[lv, s] += qty
    bk.occ[lv >> 6, s] |= np.uint64(1) << np.uint64(lv & 63)
    bst = bk.best[b, s]
    if bst < 0 or (s == 0 and g > bst) or (s == 1 and g < bst):
        bk.best[b, s] = g
    e = bk.ext[b, s]
    if e < 0 or (s == 0 and g < e) or (s == 1 and g > e):
        bk.ext[b, s] = g


@kernel(inline="always")
def _take_volume(bk, b, s, g, qty):
    """Remove ``qty`` shares from a level; moves the best price when it empties."""
    _touch(bk, b, s, g)
    lv = bk.off[b] + g
    v = bk.vol[lv, s] - qty
    if v <= 1e-9:
        v = 0.0
    bk.vol[lv, s] = v
    if v == 0.0:
        bk.occ[lv >> 6, s] &= ~(np.uint64(1) << np.uint64(lv & 63))
        if bk.best[b, s] == g:
            nxt = next_level(bk, b, s, g)
            bk.best[b, s] = nxt
            if nxt < 0:
                bk.ext[b, s] = -1


@kernel(inline="always")
def next_level(bk, b, s, g):
    """Grid index of the next occupied level worse than ``g`` on side ``s`` (lower
    for bids, higher for asks) within the side's extent, or -1. Skips 64 empty levels
    per read of the occupancy bitmap, so sparse books cost little."""
    e = bk.ext[b, s]
    if e < 0:
        return -1
    o = bk.off[b]
    ones = ~np.uint64(0)
    if s == 1:
        lv = o + g + 1
        last = o + e
        if lv > last:
            return -1
        w = lv >> 6
        x = bk.occ[w, 1] & (ones << np.uint64(lv & 63))
        while x == 0:
            w += 1
            if (w << 6) > last:
                return -1
            x = bk.occ[w, 1]
        k = (w << 6) + cttz(x) - o
        return k if k <= e else -1
    lv = o + g - 1
    first = o + e
    if lv < first:
        return -1
    w = lv >> 6
    x = bk.occ[w, 0] & (ones >> np.uint64(63 - (lv & 63)))
    while x == 0:
        w -= 1
        if ((w + 1) << 6) - 1 < first:
            return -1
        x = bk.occ[w, 0]
    k = (w << 6) + 63 - ctlz(x) - o
    return k if k >= e else -1


@kernel(inline="always")
def _unlink(bk, slot):
    lv = bk.o_lvl[slot]
    s = bk.o_side[slot]
    p = bk.o_prev[slot]
    n = bk.o_next[slot]
    if lv >= 0:
        if p >= 0:
            bk.o_next[p] = n
        else:
            bk.head[lv, s] = n + 1
        if n >= 0:
            bk.o_prev[n] = p
        else:
            bk.tail[lv, s] = p + 1


@kernel(inline="always")
def _free_order(bk, pos, slot):
    """Drop an order from its queue and the id map (its volume is handled by the caller)."""
    _unlink(bk, slot)
    order_map.remove_at(bk.keys, bk.slots, pos)
    bk.free[bk.counters[C_FREE]] = slot
    bk.counters[C_FREE] += 1


@kernel(inline="always")
def _add_order(bk, b, s, oid, px, qty, ts):
    """New order at the back of its level's queue. Returns OK / NEED_SLOTS / NEED_GRID."""
    if order_map.find(bk.keys, oid) >= 0:
        bk.counters[C_DUPLICATE_ID] += 1
        return OK
    g = grid_index(bk, b, px)
    if g == -2:
        bk.counters[C_NEED_BOOK] = b
        bk.counters[C_NEED_PX] = px
        return NEED_GRID
    if bk.counters[C_FREE] == 0:
        return NEED_SLOTS
    bk.counters[C_FREE] -= 1
    slot = bk.free[bk.counters[C_FREE]]
    order_map.insert(bk.keys, bk.slots, oid, slot)
    bk.o_id[slot] = oid
    bk.o_book[slot] = b
    bk.o_side[slot] = s
    bk.o_px[slot] = px
    bk.o_size[slot] = qty
    bk.o_seq[slot] = bk.counters[C_SEQ]
    bk.counters[C_SEQ] += 1
    bk.o_ts[slot] = ts
    bk.o_next[slot] = -1
    if g < 0:
        bk.counters[C_OFF_GRID] += 1
        bk.o_lvl[slot] = -1
        bk.o_prev[slot] = -1
        return OK
    lv = bk.off[b] + g
    bk.o_lvl[slot] = lv
    t = bk.tail[lv, s] - 1
    bk.o_prev[slot] = t
    if t >= 0:
        bk.o_next[t] = slot
    else:
        bk.head[lv, s] = slot + 1
    bk.tail[lv, s] = slot + 1
    _add_volume(bk, b, s, g, qty)
    return OK


@kernel(inline="always")
def _reduce_order(bk, b, kind, s, oid, px, qty):
    """Cancel / delete / execute shares of a resting order. An id the book does not
    know (it rested before the data began, or its level was replaced by a snapshot) is
    applied to the level at the message's price when the message carries one."""
    pos = order_map.find(bk.keys, oid)
    if pos < 0:
        if px > 0:
            g = grid_index(bk, b, px)
            if g == -2:
                bk.counters[C_NEED_BOOK] = b
                bk.counters[C_NEED_PX] = px
                return NEED_GRID
            if g >= 0:
                _take_volume(bk, b, s, g, qty)
            else:
                bk.counters[C_OFF_GRID] += 1
        bk.counters[C_UNKNOWN_ID] += 1
        return OK
    slot = bk.slots[pos]
    left = bk.o_size[slot]
    take = left if (kind == BookEvent.DELETE or qty <= 0.0) else qty
    if take > left + 1e-9:
        bk.counters[C_OVERFILL] += 1
        take = left
    lv = bk.o_lvl[slot]
    if lv >= 0:
        _take_volume(bk, bk.o_book[slot], bk.o_side[slot], lv - bk.off[bk.o_book[slot]], take)
    bk.o_size[slot] = left - take
    if bk.o_size[slot] <= 1e-9:
        _free_order(bk, pos, slot)
    return OK


@kernel(inline="always")
def _set_level(bk, b, s, px, qty):
    """Snapshot semantics: the level at ``px`` holds exactly ``qty`` shares, of orders
    the book cannot name; known orders resting there are forgotten."""
    g = grid_index(bk, b, px)
    if g == -2:
        bk.counters[C_NEED_BOOK] = b
        bk.counters[C_NEED_PX] = px
        return NEED_GRID
    if g < 0:
        bk.counters[C_OFF_GRID] += 1
        return OK
    lv = bk.off[b] + g
    slot = bk.head[lv, s] - 1
    while slot >= 0:
        nxt = bk.o_next[slot]
        _free_order(bk, order_map.find(bk.keys, bk.o_id[slot]), slot)
        slot = nxt
    _take_volume(bk, b, s, g, bk.vol[lv, s])
    if qty > 0.0:
        _add_volume(bk, b, s, g, qty)
    return OK


@kernel(inline="always")
def _check_cross(bk, b):
    bb = bk.best[b, 0]
    ba = bk.best[b, 1]
    state = MARKET_NORMAL
    if bb >= 0 and ba >= 0 and bb >= ba:
        state = MARKET_LOCKED if bb == ba else MARKET_CROSSED
    if state != bk.cross[b] and state != MARKET_NORMAL:
        bk.counters[C_LOCKED if state == MARKET_LOCKED else C_CROSSED] += 1
    bk.cross[b] = state


@kernel(inline="always")
def _apply_event(bk, b, kind, side, oid, px, qty, new_oid, ts):
    s = _s(side)
    st = OK
    reduce_kind = kind
    add_side = s
    add_id = oid
    if kind == BookEvent.REPLACE:  # = DELETE old id, then ADD the new one on its side
        pos = order_map.find(bk.keys, oid)
        if pos < 0:
            bk.counters[C_UNKNOWN_ID] += 1
            reduce_kind = NO_REDUCE
        elif grid_index(bk, b, px) == -2:
            bk.counters[C_NEED_BOOK] = b
            bk.counters[C_NEED_PX] = px
            return NEED_GRID
        elif bk.counters[C_FREE] == 0:
            return NEED_SLOTS
        else:
            add_side = bk.o_side[bk.slots[pos]]
            add_id = new_oid
            reduce_kind = BookEvent.DELETE
    if reduce_kind == BookEvent.CANCEL or reduce_kind == BookEvent.DELETE \
            or reduce_kind == BookEvent.EXEC_VISIBLE:
        rpx = 0 if kind == BookEvent.REPLACE else px
        st = _reduce_order(bk, b, reduce_kind, s, oid, rpx, qty)
    if kind == BookEvent.ADD or (kind == BookEvent.REPLACE and reduce_kind != NO_REDUCE):
        st = _add_order(bk, b, add_side, add_id, px, qty, ts)
    elif kind == LEVEL:
        st = _set_level(bk, b, s, px, qty)
    elif kind == BookEvent.HALT:
        bk.halted[b] = 0 if px > 0 else 1  # LOBSTER: -1 halt, 0 quoting, 1 trading resumes
    elif kind == BookEvent.EXEC_HIDDEN or kind == BookEvent.CROSS or kind == BookEvent.TRADE:
        bk.counters[C_TRADES] += 1  # a print, no resting visible volume changes
    if st == OK:
        bk.counters[C_EVENTS] += 1
        _check_cross(bk, b)
    return st


@kernel
def apply_event(bk, b, kind, side, oid, px, qty, new_oid, ts):
    """Apply one book event to book ``b`` (price ``px`` in 1e-4 USD units, ``qty`` shares).
    Returns OK, or NEED_SLOTS / NEED_GRID with the book untouched."""
    return _apply_event(bk, b, kind, side, oid, px, qty, new_oid, ts)


@kernel(inline="always")
def apply_event_inline(bk, b, kind, side, oid, px, qty, new_oid, ts):
    """``apply_event`` compiled into the calling kernel: a per-event caller (the book fill
    model's step) then passes no ``BookState`` across a call (~200 scalars a call)."""
    return _apply_event(bk, b, kind, side, oid, px, qty, new_oid, ts)


@kernel
def top_levels(bk, b, n, ask_px, ask_sz, bid_px, bid_sz, row):
    """Write the best ``n`` occupied levels of each side of book ``b`` into ``row`` of the
    ``[rows, n]`` outputs (prices USD, NaN and 0 shares where the side has fewer)."""
    _top_levels(bk, b, n, ask_px, ask_sz, bid_px, bid_sz, row)


@kernel(inline="always")
def _side_levels(bk, b, s, n, px_out, sz_out, row):
    """Best ``n`` levels of side ``s`` into ``row``; tightens the side's extent when the
    walk saw the whole side."""
    g = bk.best[b, s]
    k = 0
    last = -1
    while g >= 0 and k < n:
        px_out[row, k] = (bk.p0[b] + g * bk.tick[b]) / PRICE_UNITS
        sz_out[row, k] = bk.vol[bk.off[b] + g, s]
        k += 1
        last = g
        g = next_level(bk, b, s, g)
    if k < n:
        bk.ext[b, s] = last
    for j in range(k, n):
        px_out[row, j] = np.nan
        sz_out[row, j] = 0.0


@kernel(inline="always")
def _top_levels(bk, b, n, ask_px, ask_sz, bid_px, bid_sz, row):
    _side_levels(bk, b, 1, n, ask_px, ask_sz, row)
    _side_levels(bk, b, 0, n, bid_px, bid_sz, row)


@kernel(inline="always")
def _beyond_view(bk, b, s, g, n, px_out, row):
    """True when level ``g`` of side ``s`` is worse than the ``n``-th level shown in
    ``row`` (so a change there leaves the view as it is); False when the side shows
    fewer than ``n`` levels."""
    last = px_out[row, n - 1]
    if np.isnan(last):
        return False
    g_last = (np.int64(np.rint(last * PRICE_UNITS)) - bk.p0[b]) // bk.tick[b]
    return g < g_last if s == 0 else g > g_last


@kernel(inline="always")
def _patch_side(bk, b, s, g, n, px_out, sz_out, row):
    """Bring side ``s`` of ``row`` (book ``b``'s shown top ``n``) up to date after a change
    at level ``g`` only: a shown level's size is rewritten, a new level is inserted and a
    vanished one removed (the level below the view moving up), and a level beyond the
    ``n``-th shown one changes nothing; no walk of the side."""
    p = (bk.p0[b] + g * bk.tick[b]) / PRICE_UNITS
    lv = bk.off[b] + g
    on = (bk.occ[lv >> 6, s] >> np.uint64(lv & 63)) & np.uint64(1)
    last = px_out[row, n - 1]
    if last < p if s == 1 else last > p:  # beyond the view (False when last is NaN)
        return
    k = 0
    while k < n:  # first shown level not better than p (prices are exact: same formula)
        q = px_out[row, k]
        if np.isnan(q) or (q >= p if s == 1 else q <= p):
            break
        k += 1
    if k == n:
        return
    if px_out[row, k] == p:
        if on:
            sz_out[row, k] = bk.vol[lv, s]
            return
        for j in range(k, n - 1):
            px_out[row, j] = px_out[row, j + 1]
            sz_out[row, j] = sz_out[row, j + 1]
        nxt = -1
        if not np.isnan(last):
            nxt = next_level(bk, b, s,
                             (np.int64(np.rint(last * PRICE_UNITS)) - bk.p0[b]) // bk.tick[b])
        if nxt >= 0:
            px_out[row, n - 1] = (bk.p0[b] + nxt * bk.tick[b]) / PRICE_UNITS
            sz_out[row, n - 1] = bk.vol[bk.off[b] + nxt, s]
        else:
            px_out[row, n - 1] = np.nan
            sz_out[row, n - 1] = 0.0
    elif on:
        for j in range(n - 1, k, -1):
            px_out[row, j] = px_out[row, j - 1]
            sz_out[row, j] = sz_out[row, j - 1]
        px_out[row, k] = p
        sz_out[row, k] = bk.vol[lv, s]


@kernel(inline="always")
def _refresh_view(bk, b, n, ask_px, ask_sz, bid_px, bid_sz, row):
    """Bring ``row`` (book ``b``'s maintained top ``n``) up to date after an event: a side
    the event did not touch is left as it is, a side it touched at one level is patched
    (``_patch_side``), a side it touched at two (a replace) is walked again unless both
    lie beyond the view (a deep book's events mostly land there). Once an event has
    changed another book than its own, that book's view would miss the change at its
    next patch: from then on both sides are walked at every event, as without patches."""
    if bk.counters[C_TOUCH_STRAY]:
        _top_levels(bk, b, n, ask_px, ask_sz, bid_px, bid_sz, row)
        return
    _refresh_side(bk, b, 1, n, ask_px, ask_sz, row)
    _refresh_side(bk, b, 0, n, bid_px, bid_sz, row)


@kernel(inline="always")
def _refresh_side(bk, b, s, n, px_out, sz_out, row):
    """``_refresh_view`` for side ``s`` (0 bid, 1 ask): untouched, patched at its one
    touched level, or walked again after a two-level touch within the view."""
    t = bk.counters[C_TOUCH_BID if s == 0 else C_TOUCH_ASK]
    if t == (NO_TOUCH_BID if s == 0 else NO_TOUCH_ASK):
        return
    if bk.counters[C_TOUCH_WIDE] & (1 << s) == 0:  # bit 0: the bid side, bit 1: the ask
        _patch_side(bk, b, s, t, n, px_out, sz_out, row)
    elif not _beyond_view(bk, b, s, t, n, px_out, row):
        _side_levels(bk, b, s, n, px_out, sz_out, row)


@kernel
def apply_events(bk, start, book, kind, side, oid, px, qty, new_oid, ts,
                 top_n, per_event, ask_px, ask_sz, bid_px, bid_sz):
    """Apply events ``start..`` in order. When ``top_n > 0`` the top ``top_n`` levels of
    the book event ``i`` touched are written after it: into row ``i`` of the outputs
    (``per_event``), else into row ``b`` of that book (the maintained current view).
    Returns ``(next event, status)``: ``(len, OK)`` when done, else the event to resume
    from once the Python layer has grown the slots or the grid."""
    n = kind.shape[0]
    for i in range(start, n):
        b = book[i]
        bk.counters[C_TOUCH_BOOK] = b
        bk.counters[C_TOUCH_BID] = NO_TOUCH_BID
        bk.counters[C_TOUCH_ASK] = NO_TOUCH_ASK
        bk.counters[C_TOUCH_WIDE] = 0
        st = _apply_event(bk, b, kind[i], side[i], oid[i], px[i], qty[i], new_oid[i], ts[i])
        if st != OK:
            bk.counters[C_TOUCH_BOOK] = -1
            return i, st
        if top_n > 0:
            if per_event:
                _top_levels(bk, b, top_n, ask_px, ask_sz, bid_px, bid_sz, i)
            else:
                _refresh_view(bk, b, top_n, ask_px, ask_sz, bid_px, bid_sz, b)
    bk.counters[C_TOUCH_BOOK] = -1
    return n, OK


@kernel
def queue_ahead(bk, slot):
    """Shares ahead of the order in ``slot`` at its level: known orders that arrived
    earlier plus the level's anonymous volume (unknown priority counts as ahead)."""
    lv = bk.o_lvl[slot]
    if lv < 0:
        return np.nan
    s = bk.o_side[slot]
    known = 0.0
    ahead = 0.0
    k = bk.head[lv, s] - 1
    while k >= 0:
        known += bk.o_size[k]
        if k == slot:
            break
        ahead += bk.o_size[k]
        k = bk.o_next[k]
    k = bk.o_next[slot]
    while k >= 0:
        known += bk.o_size[k]
        k = bk.o_next[k]
    return ahead + max(bk.vol[lv, s] - known, 0.0)


@kernel
def apply_and_sample(bk, start, book, kind, side, oid, px, qty, new_oid, ts, t0, at,
                     top_n, ask_px, ask_sz, bid_px, bid_sz):
    """Apply events ``start..`` while they are older than instant ``at[t]``, then write the
    top ``top_n`` levels of every book into row ``t * n_books + b`` of the outputs; next
    ``t``. Events at or after the last instant stay unapplied.
    Returns ``(next event, next instant, status)``; a status other than OK means resume
    from there once the Python layer has grown the slots or the grid."""
    n = kind.shape[0]
    nb = bk.size.shape[0]
    i = start
    for t in range(t0, at.shape[0]):
        while i < n and ts[i] < at[t]:
            st = _apply_event(bk, book[i], kind[i], side[i], oid[i], px[i], qty[i],
                              new_oid[i], ts[i])
            if st != OK:
                return i, t, st
            i += 1
        for b in range(nb):
            _top_levels(bk, b, top_n, ask_px, ask_sz, bid_px, bid_sz, t * nb + b)
    return i, at.shape[0], OK
