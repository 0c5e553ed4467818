"""Several venues' L3 books of the same symbols in one ``BookState``: the NBBO across
them and the smart order router over their live depth (numba kernels).

Books are indexed venue x symbol: venue ``v``'s book of symbol ``s`` is book
``v * n_sym + s`` (:func:`book_of`). Order ids are one key space across all books
(``marketdata.book.order_map``), so a tape that merges venues keeps them distinct.

:func:`route_depth` is the in-loop form of ``routing.optimal_split``: the depth each
venue offers now (``fill_models.book.take_depth`` of its book) is the price/size arrays
the split weighs, after each venue's taker fee (a rebate is a negative fee), latency
penalty (USD/share: the adverse move expected while the order travels), lot and fixed
cost per order. Units: USD, shares.
"""

from __future__ import annotations

import numpy as np

from framework.execution.fill_models.book import take_depth
from framework.execution.routing import optimal_split
from framework.marketdata.book.book import PRICE_UNITS
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
