"""L2 snapshot + delta feed: each fault (gap, duplicate, out of order, crossed, locked,
deltas before the first snapshot) handled as documented, and recovery by resync."""

from __future__ import annotations

import numpy as np

from framework.marketdata.book.l2_feed import (
    DELTA,
    L2_MSG_DTYPE,
    SNAPSHOT,
    STATUS_NAMES,
    L2Feed,
)


def msgs(*rows) -> np.ndarray:
    """rows of (kind 'S'/'D', seq, side, price, size[, sym])."""
    out = np.zeros(len(rows), L2_MSG_DTYPE)
    for i, r in enumerate(rows):
        out[i] = (i, r[5] if len(r) > 5 else 0, r[1], SNAPSHOT if r[0] == "S" else DELTA,
                  r[2], r[3], r[4])
    return out


SNAP = [("S", 10, 1, 99.99, 300), ("S", 10, 1, 99.98, 100), ("S", 10, -1, 100.01, 200)]


def names(res) -> list[str]:
    return [STATUS_NAMES[s] for s in res.status]


def test_snapshot_then_deltas_in_sequence() -> None:
    feed = L2Feed()
    res = feed.apply(msgs(("D", 9, 1, 99.99, 5), *SNAP, ("D", 11, 1, 99.99, 250),
                          ("D", 12, -1, 100.01, 0), ("D", 13, -1, 100.03, 40)))
    assert names(res) == ["stale", "snapshot", "snapshot", "snapshot", "applied", "applied",
                          "applied"]
    assert res.live.tolist() == [False, False, False, True, True, True, True]
    assert np.isnan(res.top.bid_px[0, 0]) and res.top.bid_px[3, 0] == 99.99
    assert (res.top.bid_sz[4, 0], res.top.ask_px[6, 0]) == (250, 100.03)
    assert feed.books.best_ask() == (100.03, 40) and not feed.is_stale()


def test_gap_goes_stale_until_the_next_snapshot() -> None:
    feed = L2Feed()
    res = feed.apply(msgs(*SNAP, ("D", 11, 1, 99.99, 1), ("D", 13, 1, 99.99, 2),
                          ("D", 14, 1, 99.99, 3),
                          ("S", 20, 1, 99.95, 10), ("S", 20, -1, 100.05, 10),
                          ("D", 21, 1, 99.96, 7)))
    assert names(res)[3:] == ["applied", "gap", "stale", "snapshot", "snapshot", "applied"]
    assert not res.live[4] and not res.live[5] and np.isnan(res.top.bid_px[5, 0])
    # the resync replaced the whole book: the old 99.99 / 99.98 levels are gone
    assert feed.books.top(3).bid_px[:2].tolist() == [99.96, 99.95]
    c = feed.counters
    assert (c["gap"], c["stale"], c["snapshots"], c["resyncs"]) == (1, 1, 2, 1)


def test_duplicate_and_out_of_order() -> None:
    feed = L2Feed()
    res = feed.apply(msgs(*SNAP, ("D", 11, 1, 99.99, 1), ("D", 11, 1, 99.99, 999),
                          ("D", 13, 1, 99.99, 3), ("D", 12, 1, 99.99, 2)))
    # the duplicate is dropped; 13 before 12 is a gap, then 12 arrives late on a stale book
    assert names(res)[3:] == ["applied", "duplicate", "gap", "stale"]
    assert feed.is_stale() and feed.books.best_bid() == (99.99, 1)


def test_crossed_is_reported_and_stale_locked_is_reported_and_kept() -> None:
    feed = L2Feed()
    res = feed.apply(msgs(*SNAP, ("D", 11, 1, 100.01, 50), ("D", 12, 1, 100.01, 0),
                          ("D", 13, 1, 100.02, 50), ("D", 14, 1, 100.02, 0)))
    assert names(res)[3:] == ["locked", "applied", "crossed", "stale"]
    assert res.live[3] and not res.live[5]
    assert feed.counters["crossed"] == 1 and feed.is_stale()
    res = feed.apply(msgs(("S", 30, 1, 101.0, 1), ("S", 30, -1, 100.0, 1)))  # crossed snapshot
    assert names(res) == ["snapshot", "crossed"] and feed.is_stale()


def test_books_are_independent() -> None:
    feed = L2Feed(2)
    res = feed.apply(msgs(("S", 5, 1, 10.0, 1, 0), ("S", 7, 1, 20.0, 1, 1),
                          ("D", 6, 1, 10.01, 2, 0), ("D", 9, 1, 20.01, 2, 1),
                          ("D", 7, -1, 10.05, 2, 0)))
    assert names(res) == ["snapshot", "snapshot", "applied", "gap", "applied"]
    assert not feed.is_stale(0) and feed.is_stale(1)
    assert feed.books.best_bid(0) == (10.01, 2)
