"""Several venues' L3 books of the same symbols in one ``BookState``: the NBBO across
them and the smart order router over their live depth (numba kernels).

Books are indexed venue x symbol: venue ``v``'s book of symbol ``s`` is book
``v * n_sym + s`` (:func:`book_of`). Order ids are one key space across all books
(``marketdata.book.order_map``), so a tape that merges venues keeps them distinct.

:func:`route_depth` is the in-loop form of ``routing.optimal_split``: the depth each
venue offers now (``fill_models.book.take_depth`` of its book) is the price/size arrays
the split weighs, after each venue's taker fee (a rebate is a negative fee), latency
penalty (USD/share: the adverse move expected while the order travels), lot and fixed
cost per order. :func:`best_outflow` measures, on a replayed tape, the shares each
book's best bid and ask lose per interval (executions and cancellations): the outflow
scenarios ``xi`` of Cont & Kukanov's placement (``routing.placement_split``). Units: USD,
shares.
"""

from __future__ import annotations

import numpy as np

from framework.execution.fill_models.book import take_depth
from framework.execution.routing import optimal_split
from framework.marketdata.book import kernels as BK
from framework.marketdata.book import order_map
from framework.marketdata.book.book import PRICE_UNITS, OrderBooks
from framework.types.codes import BookEvent
from framework.types.jit import kernel, njit


@kernel(inline="always")
def book_of(venue: int, sym: int, n_sym: int) -> int:
    """The book index of ``venue``'s book of ``sym`` (``n_sym`` symbols per venue)."""
    return venue * n_sym + sym


@kernel
def nbbo(bk, sym, n_sym, n_venues):
    """``(bid, bid venue, ask, ask venue)`` of ``sym`` across the venues' books (USD;
    NaN and -1 where no venue quotes that side). A tie goes to the lower venue index."""
    bid, ask = np.nan, np.nan
    bv, av = -1, -1
    for v in range(n_venues):
        b = book_of(v, sym, n_sym)
        g = bk.best[b, 0]
        if g >= 0:
            px = (bk.p0[b] + g * bk.tick[b]) / PRICE_UNITS
            if bv < 0 or px > bid:
                bid, bv = px, v
        g = bk.best[b, 1]
        if g >= 0:
            px = (bk.p0[b] + g * bk.tick[b]) / PRICE_UNITS
            if av < 0 or px < ask:
                ask, av = px, v
    return bid, bv, ask, av


@njit(cache=True)  # allocates the depth arrays and the split
def route_depth(bk, sym, n_sym, side, qty, limit_px, fee, penalty, lot, fixed,
                levels) -> np.ndarray:
    """Shares per venue ``[K]`` of the least-cost split of a marketable order for ``qty``
    shares of ``sym`` (``side`` +1 buy), each venue's depth walked up to ``limit_px``
    (USD, NaN = market) for at most ``levels`` levels; ``fee``, ``penalty``, ``fixed``
    USD per share / per share / per order, ``lot`` shares, each ``[K]`` by venue."""
    K = fee.shape[0]
    px = np.full((K, levels), np.nan)
    sz = np.zeros((K, levels))
    for v in range(K):
        take_depth(bk, book_of(v, sym, n_sym), side, qty, limit_px, 0.0, px[v], sz[v])
    return optimal_split(side, qty, px, sz, fee, penalty, lot, fixed)


@kernel
def _outflow_events(bk, start, book, kind, side, oid, px, qty, new_oid, ts, t0, interval,
                    out):
    """Apply events ``start ..`` and add to ``out[book, side (0 bid, 1 ask), interval]``
    the shares each execution, cancellation or deletion takes from an order resting at
    its book's best. Returns ``(next event, status)``: OK at the end, else the book's
    NEED_SLOTS / NEED_GRID with that event not applied."""
    for k in range(start, book.shape[0]):
        b = book[k]
        j = (ts[k] - t0) // interval
        kd = kind[k]
        if (kd == BookEvent.CANCEL or kd == BookEvent.DELETE or kd == BookEvent.EXEC_VISIBLE) \
                and 0 <= j < out.shape[2]:
            pos = order_map.find(bk.keys, oid[k])
            if pos >= 0:
                slot = bk.slots[pos]
                s = bk.o_side[slot]
                g = bk.best[b, s]
                if g >= 0 and bk.o_lvl[slot] == bk.off[b] + g:
                    left = bk.o_size[slot]
                    out[b, s, j] += left if kd == BookEvent.DELETE or qty[k] <= 0.0 \
                        else min(qty[k], left)
        st = BK.apply_event(bk, b, kd, side[k], oid[k], px[k], qty[k], new_oid[k], ts[k])
        if st != BK.OK:
            return k, st
    return book.shape[0], BK.OK


def best_outflow(tape, n_books: int, t0_ns: int, interval_ns: int,
                 n_intervals: int) -> np.ndarray:
    """Shares taken from the best bid ``[:, 0]`` and best ask ``[:, 1]`` of each book
    (``tape.sym`` is the book index: venue x symbol, :func:`book_of`) per interval of
    ``interval_ns`` ns from ``t0_ns`` (ns UTC): ``[n_books, 2, n_intervals]``. Visible
    executions, cancellations and deletions of orders resting at the best count, at the
    size they take; events before ``t0_ns`` only build the books. Column ``k`` of the bid
    side over the intervals is the outflow sample a buy's limit order at venue ``k``
    meets (a sell's: the ask side)."""
    out = np.zeros((n_books, 2, n_intervals))
    ob = OrderBooks(n_books)
    cols = tape.columns()  # sym, kind, side, order_id, price, size, new_order_id, ts
    i = 0
    while i < len(tape):
        i, st = _outflow_events(ob.state, i, *cols, np.int64(t0_ns), np.int64(interval_ns),
                                out)
        ob.grow(st)
    return out
