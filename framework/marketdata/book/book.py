"""``OrderBooks``: L3 order books for many symbols, with their L2 view.

The object layer over ``kernels``: it owns the arrays, grows them when a kernel asks
(more order slots, a wider price grid) and resumes, converts prices between USD at the
edges and 1e-4 USD units inside, and answers L2 questions (best bid/ask, top-N levels,
depth at a price, spread, mid, microprice) and L3 ones (an order's remaining size and
the shares queued ahead of it).

Events are ``framework.types.BOOK_EVENT_DTYPE`` rows; ``sym`` picks the book. Kinds
follow ``framework.types.BookEvent``: ADD, CANCEL (partial), DELETE, EXEC_VISIBLE
(shrink a resting order), EXEC_HIDDEN / CROSS / TRADE (prints: no visible volume
changes), HALT (LOBSTER price convention: -1 halt, 0 quoting resumes, 1 trading
resumes), REPLACE (ITCH 'U': the old id leaves, ``new_order_id`` joins at the back of
the queue at the new price and size) and LEVEL (snapshot: the level holds exactly
``size`` shares; orders known there are forgotten).
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from framework.marketdata.book import kernels as K
from framework.marketdata.book import order_map

PRICE_UNITS = K.PRICE_UNITS  # price units per USD inside the book
MAX_GRID = 1 << 22  # levels per book grid; prices beyond are kept per order, off the L2 view
_MARGIN = 2048  # levels of headroom added on each side when a grid grows
_FIRST_GRID = 1 << 20  # most levels of a first layout (32 MB of address space per book)
_FIRST_BUDGET = 1 << 24  # first-layout levels shared by all books (many books: narrower)


class BookError(ValueError):
    """A book was asked something it cannot answer (unknown book, bad depth...)."""


class TopLevels(NamedTuple):
    """Top-N levels after each event, ``[events, n]``: prices in USD (NaN where the side
    has fewer levels), sizes in shares."""

    ask_px: np.ndarray
    ask_sz: np.ndarray
    bid_px: np.ndarray
    bid_sz: np.ndarray


@dataclass(frozen=True)
class RestingOrder:
    """One order in the L3 book: price USD, sizes shares, ``ts`` ns UTC."""

    order_id: int
    book: int
    side: int  # +1 bid, -1 ask
    price: float
    size: float
    priority: int  # arrival sequence; lower is ahead
    ts: int
    queue_ahead: float  # shares ahead of it at its level


def to_units(price_usd: np.ndarray | float) -> np.ndarray:
    """USD -> int64 units of 1e-4 USD (exact for any price with at most 4 decimals)."""
    return np.rint(np.asarray(price_usd, np.float64) * PRICE_UNITS).astype(np.int64)


def _new_state(n_books: int, max_orders: int) -> K.BookState:
    cap = 1 << max(4, int(max_orders - 1).bit_length())
    z = np.zeros
    return K.BookState(
        p0=z(n_books, np.int64), tick=np.ones(n_books, np.int64), off=z(n_books, np.int64),
        size=z(n_books, np.int64), grid_full=z(n_books, np.int8),
        best=np.full((n_books, 2), -1, np.int64), ext=np.full((n_books, 2), -1, np.int64),
        cross=z(n_books, np.int8),
        halted=z(n_books, np.int8), vol=z((0, 2)), occ=z((0, 2), np.uint64),
        head=z((0, 2), np.int32), tail=z((0, 2), np.int32),  # slot + 1: fewer pages
        keys=np.full(2 * cap, order_map.EMPTY, np.int64), slots=z(2 * cap, np.int64),
        o_id=z(cap, np.int64), o_book=z(cap, np.int64), o_side=z(cap, np.int8),
        o_lvl=np.full(cap, -1, np.int64), o_px=z(cap, np.int64), o_size=z(cap),
        o_seq=z(cap, np.int64), o_ts=z(cap, np.int64), o_prev=np.full(cap, -1, np.int64),
        o_next=np.full(cap, -1, np.int64), free=np.arange(cap - 1, -1, -1, dtype=np.int64),
        counters=np.array([cap] + [0] * (K.C_TOUCH_BOOK - 1) + [-1]
                          + [0] * (K.N_COUNTERS - K.C_TOUCH_BOOK - 1), np.int64))


def _grow_slots(bk: K.BookState) -> K.BookState:
    cap = bk.o_id.shape[0]
    new = 2 * cap

    def ext(a: np.ndarray, fill) -> np.ndarray:
        out = np.full(new, fill, a.dtype)
        out[:cap] = a
        return out

    n_free = int(bk.counters[K.C_FREE])
    free = np.empty(new, np.int64)
    free[:n_free] = bk.free[:n_free]
    free[n_free:n_free + cap] = np.arange(new - 1, cap - 1, -1)
    live = bk.keys != order_map.EMPTY
    keys = np.empty(2 * new, np.int64)
    slots = np.zeros(2 * new, np.int64)
    order_map.rebuild(keys, slots, bk.keys[live], bk.slots[live])
    counters = bk.counters.copy()
    counters[K.C_FREE] = n_free + cap
    return bk._replace(
        keys=keys, slots=slots, o_id=ext(bk.o_id, 0), o_book=ext(bk.o_book, 0),
        o_side=ext(bk.o_side, 0), o_lvl=ext(bk.o_lvl, -1), o_px=ext(bk.o_px, 0),
        o_size=ext(bk.o_size, 0.0), o_seq=ext(bk.o_seq, 0), o_ts=ext(bk.o_ts, 0),
        o_prev=ext(bk.o_prev, -1), o_next=ext(bk.o_next, -1), free=free, counters=counters)


def _lazy_zeros(shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
    """A zero array on anonymous memory pages: the OS maps (and zeroes) a page on its
    first touch, so untouched levels cost neither memory nor time. ``np.zeros`` does not
    promise this: once a large block is freed, glibc serves the next one from its heap
    and clears every byte up front."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return np.frombuffer(mmap.mmap(-1, max(nbytes, 1)), dtype, int(np.prod(shape))).reshape(shape)


def _first_span(px: int, t: int, n_books: int) -> tuple[int, int]:
    """Price range (units) of a book's first grid: 0 to 4x its first price, at most
    ``_FIRST_GRID`` levels (and a share of ``_FIRST_BUDGET`` among ``n_books`` books, so a
    whole ITCH file's thousands of books keep a sane address space) around it. Wide on
    purpose: the level arrays are lazily zeroed pages (``_lazy_zeros``), so levels never
    used cost nothing, and a book rarely needs a second layout (each one copies)."""
    levels = max(2 * _MARGIN, min(_FIRST_GRID, _FIRST_BUDGET // n_books))
    lo, hi = px % t, 4 * px
    if (hi - lo) // t + 1 > levels:
        lo = max(px - (levels // 2) * t, px % t)
        hi = lo + (levels - 64) * t
    return lo, hi


def _used_levels(bk: K.BookState, live: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per book, grid indices ``[a, z]`` of the levels that hold anything (volume or a
    known order; ``a > z`` if none): everything outside is still zero."""
    n = bk.size.shape[0]
    lo, hi = np.full(n, np.iinfo(np.int64).max), np.full(n, -1)
    for marks in (bk.best, bk.ext):
        for s in (0, 1):
            used = marks[:, s] >= 0
            lo[used] = np.minimum(lo[used], marks[used, s])
            hi[used] = np.maximum(hi[used], marks[used, s])
    ob = bk.o_book[live]
    lv = bk.o_lvl[live] - bk.off[ob]
    np.minimum.at(lo, ob, lv)
    np.maximum.at(hi, ob, lv)
    return lo, hi


def _grow_grid(bk: K.BookState, b: int, px: int, tick: int | None) -> K.BookState:
    """Re-lay the flat level arrays so book ``b``'s grid covers ``px`` (units). Only the
    levels each book uses are copied; the rest of the new arrays stays untouched."""
    size = bk.size.copy()
    p0 = bk.p0.copy()
    ticks = bk.tick.copy()
    if size[b] == 0:
        t = tick or (K.PENNY if px % K.PENNY == 0 else 1)
        lo, hi = _first_span(px, t, len(size))
        margin = 0
    else:
        t = int(ticks[b])
        lo, hi = min(int(p0[b]), px), max(int(p0[b] + (size[b] - 1) * t), px)
        span = (hi - lo) // t + 1
        if span > MAX_GRID:
            grid_full = bk.grid_full.copy()
            grid_full[b] = 1
            return bk._replace(grid_full=grid_full)
        margin = min(max(span // 2, _MARGIN), (MAX_GRID - span) // 2)
    new_lo = max(lo - margin * t, lo % t)
    shift = (int(p0[b]) - new_lo) // t if size[b] else 0
    old_off, old_size = bk.off.copy(), bk.size.copy()
    ticks[b], p0[b] = t, new_lo
    size[b] = -(-((hi + margin * t - new_lo) // t + 1) // 64) * 64  # whole bitmap words
    off = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    n_levels = int(size.sum())
    arrays = {name: _lazy_zeros((n_levels, 2), getattr(bk, name).dtype)
              for name in ("vol", "head", "tail")}
    occ = _lazy_zeros((n_levels // 64, 2), np.uint64)
    live = bk.slots[bk.keys != order_map.EMPTY]
    live = live[bk.o_lvl[live] >= 0]
    used_lo, used_hi = _used_levels(bk, live)
    for j in np.flatnonzero((old_size > 0) & (used_lo <= used_hi)):
        g0, g1 = int(used_lo[j]), int(used_hi[j])
        src = slice(old_off[j] + g0, old_off[j] + g1 + 1)
        d0 = off[j] + (shift if j == b else 0) + g0
        for name, out in arrays.items():
            out[d0:d0 + g1 - g0 + 1] = getattr(bk, name)[src]
        lv, side = np.nonzero(arrays["vol"][d0:d0 + g1 - g0 + 1] > 0.0)
        lv += d0
        bits = np.left_shift(np.uint64(1), (lv & 63).astype(np.uint64))
        np.bitwise_or.at(occ, (lv >> 6, side), bits)
    o_lvl = bk.o_lvl.copy()
    ob = bk.o_book[live]
    o_lvl[live] = off[ob] + (o_lvl[live] - old_off[ob]) + np.where(ob == b, shift, 0)
    best, ext = bk.best.copy(), bk.ext.copy()
    best[b] = np.where(best[b] >= 0, best[b] + shift, -1)
    ext[b] = np.where(ext[b] >= 0, ext[b] + shift, -1)
    return bk._replace(p0=p0, tick=ticks, off=off, size=size, best=best, ext=ext, o_lvl=o_lvl,
                       occ=occ, **arrays)


class OrderBooks:
    """L3 books for ``n_books`` symbols (book ``i`` = ``sym`` ``i`` of the events).

    ``max_orders`` is a starting capacity, doubled as needed; ``tick`` (price units of
    1e-4 USD) fixes the grid step, else it is a cent when a book's first price is a
    whole cent and 1e-4 USD otherwise; prices off that grid are counted (``off_grid``)
    and kept per order but not in the L2 view.
    """

    def __init__(self, n_books: int = 1, *, max_orders: int = 1 << 14, tick: int | None = None):
        if n_books < 1:
            raise BookError(f"n_books must be >= 1, got {n_books}")
        self.n_books = n_books
        self._tick = tick
        self._bk = _new_state(n_books, max_orders)

    # -- feeding ---------------------------------------------------------------------
    def apply(self, events: np.ndarray, top_n: int = 0, *,
              every: bool = True) -> TopLevels | None:
        """Apply ``BOOK_EVENT_DTYPE`` rows in order (prices USD). With ``top_n`` > 0 the
        top-N levels of the touched book are maintained after every event and returned:
        one row per event (``every``), or one row per book, its view after the last event
        that touched it (books not touched: their current view)."""
        return self.apply_units(events["sym"].astype(np.int64), events["kind"],
                                events["side"], events["order_id"], to_units(events["price"]),
                                events["size"].astype(np.float64), events["new_order_id"],
                                events["ts"], top_n, every=every)

    def apply_units(self, book, kind, side, order_id, price_units, size, new_order_id, ts,
                    top_n: int = 0, *, every: bool = True) -> TopLevels | None:
        """``apply`` on plain columns with prices already in 1e-4 USD units (the
        parsers' and benchmarks' path: no conversion)."""
        book = np.ascontiguousarray(book, np.int64)
        if book.size and (book.min() < 0 or book.max() >= self.n_books):
            raise BookError(f"event book index out of range 0..{self.n_books - 1}")
        n = book.shape[0]
        rows = (n if every else self.n_books) if top_n > 0 else 0
        out = tuple(np.empty((rows, max(top_n, 1))) for _ in range(4))
        if top_n > 0 and not every:
            for b in range(self.n_books):
                K.top_levels(self._bk, b, top_n, *out, b)
            self._bk.counters[K.C_TOUCH_STRAY] = 0  # every view just walked: patch again
        cols = (np.ascontiguousarray(kind, np.int8), np.ascontiguousarray(side, np.int8),
                np.ascontiguousarray(order_id, np.int64),
                np.ascontiguousarray(price_units, np.int64),
                np.ascontiguousarray(size, np.float64),
                np.ascontiguousarray(new_order_id, np.int64), np.ascontiguousarray(ts, np.int64))
        i = 0
        while i < n:
            i, st = K.apply_events(self._bk, i, book, *cols, top_n, every, *out)
            self.grow(st)
        if top_n <= 0:
            return None
        return TopLevels(*out)

    @property
    def state(self) -> K.BookState:
        """The kernel arrays (for numba code that drives the book itself)."""
        return self._bk

    def grow(self, status: int) -> None:
        """Act on a kernel's stop status: double the order slots (``NEED_SLOTS``) or
        widen the grid of the book and price the kernel recorded (``NEED_GRID``)."""
        if status == K.NEED_SLOTS:
            self._bk = _grow_slots(self._bk)
        elif status == K.NEED_GRID:
            self._bk = _grow_grid(self._bk, int(self._bk.counters[K.C_NEED_BOOK]),
                                  int(self._bk.counters[K.C_NEED_PX]), self._tick)

    def reserve(self, book: int, lo_units: int, hi_units: int) -> None:
        """Lay out book ``book``'s grid to cover [lo, hi] (1e-4 USD units) up front."""
        self._check(book)
        for p in (lo_units, hi_units):
            if K.grid_index(self._bk, book, p) == -2:
                self._bk = _grow_grid(self._bk, book, p, self._tick)

    # -- L2 view -----------------------------------------------------------------------
    def top(self, n: int = 10, book: int = 0) -> TopLevels:
        """Top ``n`` levels now, as one row."""
        self._check(book)
        if n < 1:
            raise BookError(f"top: n must be >= 1, got {n}")
        out = tuple(np.empty((1, n)) for _ in range(4))
        K.top_levels(self._bk, book, n, *out, 0)
        return TopLevels(*(a[0] for a in out))

    def best_bid(self, book: int = 0) -> tuple[float, float]:
        """(price USD, shares) of the best bid; (NaN, 0) when there is none."""
        t = self.top(1, book)
        return float(t.bid_px[0]), float(t.bid_sz[0])

    def best_ask(self, book: int = 0) -> tuple[float, float]:
        """(price USD, shares) of the best ask; (NaN, 0) when there is none."""
        t = self.top(1, book)
        return float(t.ask_px[0]), float(t.ask_sz[0])

    def spread(self, book: int = 0) -> float:
        """Best ask minus best bid, USD (NaN when a side is empty; <= 0 when locked/crossed)."""
        return self.best_ask(book)[0] - self.best_bid(book)[0]

    def mid(self, book: int = 0) -> float:
        """(best bid + best ask) / 2, USD."""
        return (self.best_ask(book)[0] + self.best_bid(book)[0]) / 2.0

    def microprice(self, book: int = 0) -> float:
        """Size-weighted mid, USD: ``(bid * ask_size + ask * bid_size) / (bid_size + ask_size)``,
        which leans toward the side with less size (the side about to be taken)."""
        (bp, bs), (ap, a_s) = self.best_bid(book), self.best_ask(book)
        return (bp * a_s + ap * bs) / (bs + a_s) if bs + a_s > 0 else float("nan")

    def depth_at(self, price: float, side: int, book: int = 0) -> float:
        """Shares resting at ``price`` (USD) on ``side`` (+1 bid, -1 ask)."""
        self._check(book)
        g = K.grid_index(self._bk, book, int(to_units(price)))
        if g < 0:
            return 0.0
        return float(self._bk.vol[self._bk.off[book] + g, 0 if side > 0 else 1])

    def condition(self, book: int = 0) -> str:
        """'normal', 'locked' (best bid == best ask) or 'crossed' after the last event."""
        self._check(book)
        return ("normal", "locked", "crossed")[int(self._bk.cross[book])]

    def halted(self, book: int = 0) -> bool:
        """True while a HALT event without a later resumption holds the book."""
        self._check(book)
        return bool(self._bk.halted[book])

    # -- L3 view -----------------------------------------------------------------------
    def order(self, order_id: int) -> RestingOrder | None:
        """The resting order ``order_id``, or None when the book does not hold it."""
        pos = order_map.find(self._bk.keys, np.int64(order_id))
        if pos < 0:
            return None
        bk = self._bk
        s = int(bk.slots[pos])
        return RestingOrder(int(order_id), int(bk.o_book[s]), 1 if bk.o_side[s] == 0 else -1,
                            bk.o_px[s] / PRICE_UNITS, float(bk.o_size[s]), int(bk.o_seq[s]),
                            int(bk.o_ts[s]), float(K.queue_ahead(bk, s)))

    @property
    def counters(self) -> dict[str, int]:
        """Events applied, prints seen, and every fault counted: unknown / duplicate
        order ids, off-grid prices, executions larger than the order, locked and
        crossed episodes."""
        c = self._bk.counters
        names = {"events": K.C_EVENTS, "trades": K.C_TRADES, "unknown_id": K.C_UNKNOWN_ID,
                 "duplicate_id": K.C_DUPLICATE_ID, "off_grid": K.C_OFF_GRID,
                 "overfill": K.C_OVERFILL, "locked": K.C_LOCKED, "crossed": K.C_CROSSED}
        out = {k: int(c[i]) for k, i in names.items()}
        out["resting_orders"] = int(self._bk.o_id.shape[0] - c[K.C_FREE])
        return out

    def _check(self, book: int) -> None:
        if not 0 <= book < self.n_books:
            raise BookError(f"book {book} out of range 0..{self.n_books - 1}")
