"""The L3 book: every event kind, time priority, the L2 view, faults counted, growth,
and the numba book equal to the plain-Python reference on random event streams."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.marketdata.book.book import BookError, OrderBooks
from framework.marketdata.book.reference import ReferenceBook
from framework.types import BOOK_EVENT_DTYPE, BookEvent

B = BookEvent


def ev(*rows) -> np.ndarray:
    """rows of (kind, side, order_id, price USD, size[, new_order_id[, sym]])."""
    out = np.zeros(len(rows), BOOK_EVENT_DTYPE)
    for i, r in enumerate(rows):
        out[i]["kind"], out[i]["side"], out[i]["order_id"], out[i]["price"], out[i]["size"] = r[:5]
        out[i]["new_order_id"] = r[5] if len(r) > 5 else 0
        out[i]["sym"] = r[6] if len(r) > 6 else 0
        out[i]["ts"] = i
    return out


def test_add_cancel_delete_execute_and_l2_view() -> None:
    bk = OrderBooks(1)
    bk.apply(ev((B.ADD, 1, 1, 100.00, 300), (B.ADD, 1, 2, 100.00, 200), (B.ADD, 1, 3, 99.99, 50),
                (B.ADD, -1, 4, 100.02, 100), (B.ADD, -1, 5, 100.05, 400)))
    assert bk.best_bid() == (100.00, 500) and bk.best_ask() == (100.02, 100)
    assert bk.spread() == pytest.approx(0.02) and bk.mid() == pytest.approx(100.01)
    # microprice leans to the thin ask: (100*100 + 100.02*500) / 600
    assert bk.microprice() == pytest.approx((100.0 * 100 + 100.02 * 500) / 600)
    top = bk.top(3)
    np.testing.assert_array_equal(top.bid_px, [100.00, 99.99, np.nan])
    np.testing.assert_array_equal(top.ask_sz, [100, 400, 0])
    assert bk.depth_at(99.99, +1) == 50 and bk.depth_at(99.98, +1) == 0
    bk.apply(ev((B.CANCEL, 1, 1, 100.00, 100),  # partial cancel keeps priority
                (B.EXEC_VISIBLE, 1, 1, 100.00, 50),
                (B.EXEC_HIDDEN, -1, 0, 100.01, 70),  # a print: no visible change
                (B.DELETE, -1, 4, 100.02, 100)))  # best ask level empties -> next level
    assert bk.order(1).size == 150 and bk.order(1).queue_ahead == 0
    assert bk.order(2).queue_ahead == 150
    assert bk.best_ask() == (100.05, 400) and bk.order(4) is None
    assert bk.counters["trades"] == 1 and bk.counters["resting_orders"] == 4


def test_replace_moves_to_the_back_and_level_snapshot_forgets_orders() -> None:
    bk = OrderBooks(1)
    bk.apply(ev((B.ADD, 1, 1, 10.00, 100), (B.ADD, 1, 2, 10.00, 100),
                (B.REPLACE, 0, 1, 10.00, 80, 7)))  # ITCH 'U' carries no side
    assert bk.order(1) is None
    assert bk.order(7).side == 1 and bk.order(7).queue_ahead == 100  # lost its priority
    assert bk.best_bid() == (10.00, 180)
    bk.apply(ev((B.LEVEL, 1, 0, 10.00, 500)))
    assert bk.order(7) is None and bk.best_bid() == (10.00, 500)
    bk.apply(ev((B.ADD, 1, 9, 10.00, 10), (B.LEVEL, 1, 0, 10.00, 0)))
    assert np.isnan(bk.best_bid()[0]) and bk.counters["resting_orders"] == 0


def test_faults_are_counted_not_fatal() -> None:
    bk = OrderBooks(1)
    bk.apply(ev((B.ADD, 1, 1, 50.00, 100), (B.ADD, 1, 1, 50.00, 100),  # duplicate id
                (B.CANCEL, 1, 99, 0.0, 10),  # unknown id, no price: skipped
                (B.CANCEL, 1, 98, 50.00, 30),  # unknown id with a price: applied to the level
                (B.EXEC_VISIBLE, 1, 1, 50.00, 500),  # more than the order holds
                (B.REPLACE, 0, 97, 50.00, 5, 96)))
    c = bk.counters
    assert (c["duplicate_id"], c["unknown_id"], c["overfill"]) == (1, 3, 1)
    assert np.isnan(bk.best_bid()[0])


def test_locked_and_crossed_books_are_reported() -> None:
    bk = OrderBooks(1)
    bk.apply(ev((B.ADD, 1, 1, 20.00, 100), (B.ADD, -1, 2, 20.01, 100)))
    assert bk.condition() == "normal"
    bk.apply(ev((B.ADD, 1, 3, 20.01, 100)))
    assert bk.condition() == "locked"
    bk.apply(ev((B.ADD, 1, 4, 20.03, 100)))
    assert bk.condition() == "crossed"
    bk.apply(ev((B.DELETE, 1, 4, 0, 0)))
    assert bk.condition() == "locked"  # back to locked: a second locked episode
    bk.apply(ev((B.DELETE, 1, 3, 0, 0)))
    assert bk.condition() == "normal"
    assert (bk.counters["locked"], bk.counters["crossed"]) == (2, 1)


def test_halt_and_many_books() -> None:
    bk = OrderBooks(2)
    bk.apply(ev((B.ADD, 1, 1, 5.00, 10, 0, 0), (B.ADD, 1, 2, 700.00, 20, 0, 1),
                (B.HALT, -1, 0, -0.0001, 0, 0, 1)))
    assert bk.best_bid(0) == (5.00, 10) and bk.best_bid(1) == (700.00, 20)
    assert bk.halted(1) and not bk.halted(0)
    bk.apply(ev((B.HALT, -1, 0, 0.0001, 0, 0, 1)))
    assert not bk.halted(1)
    with pytest.raises(BookError, match="out of range"):
        bk.best_bid(2)


def test_grid_and_slots_grow_while_keeping_state() -> None:
    bk = OrderBooks(1, max_orders=16)
    rows = [(B.ADD, 1, i, 100.00 - 0.01 * (i % 7), 1 + i) for i in range(200)]
    rows += [(B.ADD, -1, 1000, 3000.00, 5), (B.ADD, 1, 1001, 1.00, 7)]  # far outside the grid
    bk.apply(ev(*rows))
    assert bk.best_bid() == (100.00, sum(1 + i for i in range(0, 200, 7)))
    assert bk.best_ask() == (3000.00, 5) and bk.depth_at(1.00, 1) == 7
    assert bk.order(150).queue_ahead == sum(1 + i for i in range(150 % 7, 150, 7))
    assert bk.counters["resting_orders"] == 202



def test_a_regrid_keeps_every_book_and_every_queue() -> None:
    """A re-layout copies only the levels in use: levels whose volume went to zero under
    a known order (an unknown-id cancel took it), anonymous snapshot volume, and the
    other books' levels must all come through, queues included."""
    bk = OrderBooks(2, max_orders=16)
    bk.apply(ev((B.ADD, 1, 1, 100.00, 10, 0, 0), (B.ADD, 1, 2, 100.00, 4, 0, 0),
                (B.CANCEL, 1, 99, 100.00, 14, 0, 0),  # unknown id: level volume -> 0
                (B.LEVEL, 1, 0, 99.00, 30, 0, 0),
                (B.ADD, -1, 3, 50.00, 5, 0, 1), (B.ADD, -1, 4, 50.00, 6, 0, 1),
                (B.ADD, -1, 5, 1000.00, 8, 0, 0)))  # beyond 4x book 0's first price
    assert bk.state.size[0] > 40_064  # re-laid out past its first grid (0 to USD 400)
    assert bk.best_bid(0) == (99.00, 30) and bk.best_ask(0) == (1000.00, 8)
    assert bk.best_ask(1) == (50.00, 11) and bk.order(4).queue_ahead == 5
    assert bk.order(2).queue_ahead == 10  # its level's queue survived with zero volume
    bk.apply(ev((B.DELETE, 1, 1, 0, 0, 0, 0), (B.DELETE, 1, 2, 0, 0, 0, 0),
                (B.DELETE, -1, 3, 0, 0, 0, 1), (B.ADD, -1, 6, 50.00, 1, 0, 1)))
    assert bk.order(4).queue_ahead == 0 and bk.order(6).queue_ahead == 6
    assert bk.counters["resting_orders"] == 3 and bk.best_bid(0) == (99.00, 30)


def test_many_books_share_a_bounded_first_layout() -> None:
    """Each book's first grid is wide (0 to 4x its first price) when it is one of few, and
    narrower when thousands share the arrays (a whole ITCH file), so the address space the
    lazily zeroed level arrays reserve stays bounded."""
    n = 200
    bk = OrderBooks(n)
    bk.apply(ev(*[(B.ADD, 1, i + 1, 300.00 + i, 10, 0, i) for i in range(n)]))
    assert all(bk.best_bid(i) == (300.00 + i, 10) for i in range(n))
    assert int(bk.state.size.sum()) <= (1 << 24) + 64 * n
    one = OrderBooks(1)
    one.apply(ev((B.ADD, 1, 1, 300.00, 10)))
    assert int(one.state.size[0]) >= 4 * 300 * 100  # cents from 0 to 4x the first price

_KINDS = [B.ADD] * 5 + [B.CANCEL, B.DELETE, B.EXEC_VISIBLE, B.EXEC_HIDDEN, B.REPLACE, B.LEVEL]


@st.composite
def streams(draw):
    n = draw(st.integers(1, 120))
    rows = []
    next_id = 1
    for _ in range(n):
        kind = draw(st.sampled_from(_KINDS))
        side = draw(st.sampled_from([1, -1]))
        # bids below 100.10, asks above, with the odd far price that forces a regrid
        base = 10_000 if side > 0 else 10_020
        px = base + side * -draw(st.integers(0, 8)) * 1 + 0
        if draw(st.integers(0, 30)) == 0:
            px = draw(st.integers(1, 4_000)) * 100
        px = px * 100 // 100
        size = float(draw(st.integers(1, 400)))
        if kind == B.ADD or kind == B.REPLACE:
            oid = next_id if kind == B.ADD else draw(st.integers(1, next_id))
            new = next_id + 1 if kind == B.REPLACE else 0
            next_id += 2
            if draw(st.integers(0, 20)) == 0:
                oid = draw(st.integers(1, next_id))  # duplicate id
        else:
            oid = draw(st.integers(0, next_id + 3))  # sometimes unknown
            new = 0
        if kind in (B.CANCEL, B.EXEC_VISIBLE, B.DELETE) and draw(st.booleans()):
            px = 0  # ITCH-style: no price
        rows.append((int(kind), side, oid, px * 100, size, new))
    return rows


@settings(max_examples=150, deadline=None)
@given(streams(), st.sampled_from([1, 3, 5]))
def test_numba_book_equals_the_reference(rows, n) -> None:
    ref = ReferenceBook()
    got = OrderBooks(1, max_orders=16)
    cols = list(zip(*rows, strict=True))
    z = np.zeros(len(rows), np.int64)
    top = got.apply_units(z, np.array(cols[0]), np.array(cols[1]), np.array(cols[2]),
                          np.array(cols[3]), np.array(cols[4]), np.array(cols[5]), z, top_n=n)
    for i, r in enumerate(rows):
        ref.apply(*r)
        asks, bids = ref.top(n)
        for (px_arr, sz_arr), lv in (((top.ask_px, top.ask_sz), asks), ((top.bid_px, top.bid_sz), bids)):
            want_px = [p / 1e4 for p, _ in lv] + [np.nan] * (n - len(lv))
            want_sz = [q for _, q in lv] + [0.0] * (n - len(lv))
            np.testing.assert_array_equal(px_arr[i], want_px, err_msg=f"event {i}: {r}")
            np.testing.assert_allclose(sz_arr[i], want_sz, atol=1e-9, err_msg=f"event {i}: {r}")
    c = got.counters
    assert {k: c[k] for k in ref.counters} == ref.counters
    assert c["resting_orders"] == len(ref.orders)
    for oid in ref.orders:
        assert got.order(oid).queue_ahead == pytest.approx(ref.queue_ahead(oid))


def test_maintained_view_equals_the_last_row_of_each_book() -> None:
    rng = np.random.default_rng(3)
    ev = np.zeros(400, BOOK_EVENT_DTYPE)
    ev["sym"] = rng.integers(0, 3, 400)
    ev["kind"] = BookEvent.ADD
    ev["side"] = rng.choice([-1, 1], 400)
    ev["order_id"] = np.arange(1, 401)
    ev["price"] = np.where(ev["side"] > 0, 10.0 - rng.integers(0, 20, 400) * 0.01,
                           10.01 + rng.integers(0, 20, 400) * 0.01)
    ev["size"] = rng.integers(1, 9, 400) * 100
    ev["kind"][300:] = BookEvent.DELETE  # later events remove orders placed earlier
    ev["order_id"][300:] = rng.choice(np.arange(1, 301), 100, replace=False)
    every = OrderBooks(4).apply(ev, top_n=5)
    last = OrderBooks(4).apply(ev, top_n=5, every=False)
    for b in range(3):
        i = np.nonzero(ev["sym"] == b)[0][-1]
        for got, want in zip(last, every, strict=True):
            np.testing.assert_array_equal(got[b], want[i])
    assert np.isnan(last.bid_px[3]).all() and (last.ask_sz[3] == 0).all()  # never touched


@settings(max_examples=150, deadline=None)
@given(streams(), st.sampled_from([1, 3, 10]), st.lists(st.integers(1, 60), min_size=1))
def test_patched_view_equals_a_fresh_walk_after_every_chunk(rows, n, chunks) -> None:
    """The maintained view (``every=False``) is patched per event (a size rewritten, a
    level inserted or removed, a change beyond the n-th level ignored), not walked: on
    random streams (replaces, snapshots, unknown and duplicate ids, regrids) applied in
    random chunks, the view after each chunk equals the plain-Python reference's top n."""
    ref = ReferenceBook()
    got = OrderBooks(1, max_orders=16)
    cols = [np.array(c) for c in zip(*rows, strict=True)]
    i = 0
    k = 0
    while i < len(rows):
        j = min(i + chunks[k % len(chunks)], len(rows))
        z = np.zeros(j - i, np.int64)
        view = got.apply_units(z, *(c[i:j] for c in cols), z, top_n=n, every=False)
        for r in rows[i:j]:
            ref.apply(*r)
        asks, bids = ref.top(n)
        for (px_arr, sz_arr), lv in (((view.ask_px, view.ask_sz), asks),
                                     ((view.bid_px, view.bid_sz), bids)):
            want_px = [p / 1e4 for p, _ in lv] + [np.nan] * (n - len(lv))
            want_sz = [q for _, q in lv] + [0.0] * (n - len(lv))
            np.testing.assert_array_equal(px_arr[0], want_px, err_msg=f"events {i}..{j}")
            np.testing.assert_allclose(sz_arr[0], want_sz, atol=1e-9, err_msg=f"events {i}..{j}")
        i = j
        k += 1
