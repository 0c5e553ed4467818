"""LOBSTER's N-level window made explicit as ``LEVEL`` events.

A LOBSTER message file only carries the events that touch the N price levels that
were requested (N = 1 for the AMZN/GOOG samples). When a visible level empties, the
next level slides in from beyond the window with no message; when a new price pushes
the N-th level out, what happens to it afterwards is not reported. Replaying the
messages alone therefore cannot reproduce LOBSTER's book. The orderbook file LOBSTER
ships with the messages is the snapshot that fills the gap.

``window_events`` replays the messages through the same L3 book kernels the rest of
fw uses, keeping exactly the N levels per side that the data describes:

* a level pushed to depth N+1 is forgotten: ``LEVEL(price, 0)``;
* when a side holds fewer than N levels and the orderbook row after the message shows
  more, the missing deeper levels are taken from that row: ``LEVEL(price, size)``
  (a side showing LOBSTER's dummy price is known to be exhausted: nothing to take);
* the book before the first message is the first row with the first message undone.

Nothing else is taken from the orderbook file: every level that was already visible
evolves by the messages alone, and the test in ``tests/marketdata/book`` checks the
result against every row of every shared sample. The added events let any consumer of
the lake's ``book_events`` (the replay feed, the book fill model) see LOBSTER's book.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from framework.data.schemas import DataError
from framework.data.sources.lobster import read_orderbook
from framework.marketdata.book import kernels as K
from framework.marketdata.book.book import PRICE_UNITS, OrderBooks, to_units
from framework.types.codes import BookEvent
from framework.types.jit import kernel


@kernel
def _count_levels(bk, s, limit):
    """Occupied levels on side ``s`` of book 0 from the best, counting up to ``limit``;
    also returns the grid index of the last one counted."""
    g = bk.best[0, s]
    k = 0
    last = -1
    while g >= 0 and k < limit:
        k += 1
        last = g
        g = K.next_level(bk, 0, s, g)
    return k, last


@kernel  # no allocation; see kernels' docstring
def _window_pass(bk, start, kind, side, oid, px, qty, ts, ob_px, ob_sz, exhausted,
                 m, out_msg, out_side, out_px, out_sz):
    """Apply messages ``start..``; after each, clear depth N+1 and reveal missing levels
    from the orderbook row, appending the added LEVEL events (message row, side, price,
    size) at ``m``. Returns (events added so far, message reached, status); the grid
    is reserved beforehand, so only a message's own ADD can stop the pass."""
    n_lv = ob_px.shape[2]
    for i in range(start, kind.shape[0]):
        st = K.apply_event(bk, 0, kind[i], side[i], oid[i], px[i], qty[i], 0, ts[i])
        if st != K.OK:
            return m, i, st
        for s in range(2):
            sgn = 1 if s == 0 else -1
            k, last = _count_levels(bk, s, n_lv + 1)
            if k > n_lv:
                p = bk.p0[0] + last * bk.tick[0]
                K.apply_event(bk, 0, K.LEVEL, sgn, 0, p, 0.0, 0, ts[i])
                out_msg[m], out_side[m], out_px[m], out_sz[m] = i, sgn, p, 0.0
                m += 1
                exhausted[s] = False
            elif k < n_lv and not exhausted[s]:
                for j in range(k, n_lv):
                    p = ob_px[i, s, j]
                    if p < 0:
                        exhausted[s] = True
                        break
                    if m == out_msg.shape[0]:
                        return m, i, -1  # cannot happen (one reveal per side per message)
                    K.apply_event(bk, 0, K.LEVEL, sgn, 0, p, ob_sz[i, s, j], 0, ts[i])
                    out_msg[m], out_side[m], out_px[m], out_sz[m] = i, sgn, p, ob_sz[i, s, j]
                    m += 1
    return m, kind.shape[0], K.OK


def seed_levels(ob_px: np.ndarray, ob_sz: np.ndarray, kind: int, side: int, px: int,
                qty: float) -> list[tuple[int, int, float]]:
    """The book before the first message as (side, price units, shares) levels: the
    first orderbook row with the first message undone. A level that the undo pushes
    to depth N+1 is left out (it is unknown until it shows again)."""
    n_lv = ob_px.shape[1]
    out = []
    for s, sgn in ((0, 1), (1, -1)):
        lv = {int(p): float(z) for p, z in zip(ob_px[s], ob_sz[s], strict=True) if p >= 0}
        if side == sgn and kind in (BookEvent.ADD, BookEvent.CANCEL, BookEvent.DELETE,
                                    BookEvent.EXEC_VISIBLE):
            lv[px] = lv.get(px, 0.0) + (-qty if kind == BookEvent.ADD else qty)
            if lv[px] <= 0:
                del lv[px]
        best_first = sorted(lv, reverse=(sgn == 1))[:n_lv]
        out += [(sgn, p, lv[p]) for p in best_first]
    return out


def window_events(kind: np.ndarray, side: np.ndarray, oid: np.ndarray, px: np.ndarray,
                  qty: np.ndarray, ts: np.ndarray, ob_ask_px: np.ndarray, ob_ask_sz: np.ndarray,
                  ob_bid_px: np.ndarray, ob_bid_sz: np.ndarray
                  ) -> tuple[list[tuple[int, int, float]], np.ndarray]:
    """The LEVEL events that make a LOBSTER message file self-contained.

    Inputs are the message columns (prices in 1e-4 USD units) and the orderbook file
    as ``framework.data.sources.lobster.read_orderbook`` returns it. Returns the seed
    levels (before the first message) and a structured array of the events added after
    message ``msg`` (fields ``msg``, ``side`` +1/-1, ``price`` units, ``size`` shares).
    """
    n = kind.shape[0]
    if n == 0:
        return [], np.empty(0, _ADDED)
    ob_px = np.stack([ob_bid_px, ob_ask_px], axis=1)  # [rows, side 0 bid / 1 ask, level]
    ob_sz = np.stack([ob_bid_sz, ob_ask_sz], axis=1)
    seed = seed_levels(ob_px[0], ob_sz[0], int(kind[0]), int(side[0]), int(px[0]), float(qty[0]))
    books = OrderBooks(1)
    quoted = np.concatenate([px[kind <= 5], ob_px[ob_px >= 0].ravel()])
    books.reserve(0, int(quoted.min()), int(quoted.max()))
    z = np.zeros(len(seed), np.int64)
    books.apply_units(z, np.full(len(seed), K.LEVEL, np.int8), [s for s, _, _ in seed], z,
                      [p for _, p, _ in seed], [q for _, _, q in seed], z, np.full(len(seed), ts[0]))
    exhausted = np.array([(ob_px[0, s] < 0).any() for s in range(2)])
    cap = 2 * n + 4 * ob_px.shape[2] + 16  # after the seed, at most one per side per message
    out = [np.zeros(cap, np.int64), np.zeros(cap, np.int8), np.zeros(cap, np.int64),
           np.zeros(cap)]
    cols = [np.ascontiguousarray(c, dt) for c, dt in ((kind, np.int8), (side, np.int8),
            (oid, np.int64), (px, np.int64), (qty, np.float64), (ts, np.int64))]
    m, i = 0, 0
    while i < n:
        m, i, st = _window_pass(books.state, i, *cols, ob_px, ob_sz, exhausted, m, *out)
        if st < 0:
            raise DataError("LOBSTER window: more LEVEL events than one per side per message")
        books.grow(st)
    added = np.empty(m, _ADDED)
    for name, col in zip(_ADDED.names, out, strict=True):
        added[name] = col[:m]
    return seed, added


def with_window_events(events: pl.DataFrame, orderbook_path: Path) -> pl.DataFrame:
    """LOBSTER ``book_events`` (``framework.data.sources.lobster.load_lobster``) with the
    window's LEVEL events inserted after the message that caused them (same ``ts``;
    the seed before the first message), so that the book they build equals LOBSTER's
    orderbook file after every message."""
    ask_px, ask_sz, bid_px, bid_sz = read_orderbook(orderbook_path)
    if ask_px.shape[0] != events.height:
        raise DataError(f"{orderbook_path}: {ask_px.shape[0]} rows for {events.height} messages")
    ts = events["ts"].to_numpy()
    seed, added = window_events(events["kind"].to_numpy(), events["side"].to_numpy(),
                                events["order_id"].to_numpy(), to_units(events["price"].to_numpy()),
                                events["size"].to_numpy(), ts, ask_px, ask_sz, bid_px, bid_sz)
    msg = np.concatenate([np.full(len(seed), -1), added["msg"]])
    lv = pl.DataFrame({
        "ts": ts[np.maximum(msg, 0)], "kind": np.full(msg.size, K.LEVEL, np.int8),
        "side": np.concatenate([[s for s, _, _ in seed], added["side"]]).astype(np.int8),
        "order_id": np.zeros(msg.size, np.int64),
        "price": np.concatenate([[p for _, p, _ in seed], added["price"]]) / PRICE_UNITS,
        "size": np.concatenate([[q for _, _, q in seed], added["size"]]).astype(np.float64),
        "new_order_id": np.zeros(msg.size, np.int64), "_msg": msg, "_sub": np.ones(msg.size)})
    lv = lv.with_columns(local_ts=pl.col("ts"))
    ev = events.with_columns(_msg=pl.int_range(events.height, dtype=pl.Int64),
                             _sub=pl.lit(0.0))
    return (pl.concat([ev, lv.select(ev.columns)], how="vertical_relaxed")
            .sort(["_msg", "_sub"], maintain_order=True).drop("_msg", "_sub"))


_ADDED = np.dtype([("msg", "i8"), ("side", "i1"), ("price", "i8"), ("size", "f8")])
