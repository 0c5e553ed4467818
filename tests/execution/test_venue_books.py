"""Two venues' L3 books of two symbols in one book state (book = venue x 2 + symbol),
written event by event: the NBBO across venues and the router over their live depth,
every answer worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from framework.engine.event.book_tape import BookTape
from framework.execution.routing import split_cost
from framework.execution.venue_books import best_outflow, nbbo, route_depth
from framework.marketdata.book.book import OrderBooks
from framework.types.codes import BookEvent
from framework.types.dtypes import BOOK_EVENT_DTYPE

N_SYM = 2
NONE = np.zeros(2)
ONES = np.ones(2)


def _events(rows):
    ev = np.zeros(len(rows), BOOK_EVENT_DTYPE)
    for i, (book, kind, side, oid, px, size) in enumerate(rows):
        ev[i] = (1_000 + i, 1_000 + i, book, kind, side, oid, px, size, 0)
    return ev


@pytest.fixture
def books():
    ob = OrderBooks(4)
    add = BookEvent.ADD
    ob.apply(_events([
        # symbol 1 at venue 0 (book 1) and venue 1 (book 3): the same asks
        (1, add, -1, 1, 100.00, 100), (1, add, -1, 2, 100.01, 300), (1, add, 1, 3, 99.97, 500),
        (3, add, -1, 11, 100.00, 100), (3, add, -1, 12, 100.01, 300), (3, add, 1, 13, 99.98, 100),
        # symbol 0: an ask at venue 0 (book 0), a bid at venue 1 (book 2)
        (0, add, -1, 21, 50.00, 100), (2, add, 1, 22, 49.99, 100),
    ]))
    return ob


def _route(ob, side, qty, fee=NONE, penalty=NONE, fixed=NONE, limit=math.nan, sym=1):
    return route_depth(ob.state, sym, N_SYM, side, qty, limit, fee, penalty, ONES, fixed, 8)


def test_nbbo_across_venues(books):
    assert nbbo(books.state, 1, N_SYM, 2) == (99.98, 1, 100.00, 0)  # ask tie: venue 0
    assert nbbo(books.state, 0, N_SYM, 2) == (49.99, 1, 50.00, 0)
    books.apply(_events([(1, BookEvent.DELETE, -1, 1, 100.00, 100)]))
    assert nbbo(books.state, 1, N_SYM, 2) == (99.98, 1, 100.00, 1)


def test_fees_choose_the_venue_at_equal_prices(books):
    # 100 shares at 100.00 from either: 10,000 + 0.1 at the 0.1 c venue, + 0.3 at the other
    np.testing.assert_array_equal(_route(books, 1, 100.0, fee=np.array([0.003, 0.001])), [0, 100])
    np.testing.assert_array_equal(_route(books, 1, 100.0, fee=np.array([0.001, 0.003])), [100, 0])
    # 200: both venues' 100.00 (20,000.40) beat one venue's two levels (20,001.20)
    fee = np.array([0.003, 0.001])
    a = _route(books, 1, 200.0, fee=fee)
    np.testing.assert_array_equal(a, [100, 100])
    px = np.array([[100.00, 100.01], [100.00, 100.01]])
    sz = np.array([[100.0, 300.0], [100.0, 300.0]])
    assert split_cost(1, a, px, sz, fee, NONE, NONE) == pytest.approx(20_000.40)


def test_better_price_loses_to_its_costs_only_when_they_exceed_the_tick(books):
    books.apply(_events([(3, BookEvent.DELETE, -1, 11, 100.00, 100)]))  # venue 1: 100.01
    fee = np.array([0.003, 0.0])
    # venue 0: 100 x 100.00 + 0.30 fee + 1.00 per order = 10,001.30 > venue 1's 10,001.00
    np.testing.assert_array_equal(_route(books, 1, 100.0, fee=fee, fixed=np.array([1.0, 0.0])),
                                  [0, 100])
    # 0.50 per order: 10,000.80 < 10,001.00, the better price wins
    np.testing.assert_array_equal(_route(books, 1, 100.0, fee=fee, fixed=np.array([0.5, 0.0])),
                                  [100, 0])
    # a latency penalty of 0.8 c/share does the same as the 1.00 fixed cost: 10,001.10
    np.testing.assert_array_equal(
        _route(books, 1, 100.0, fee=fee, penalty=np.array([0.008, 0.0])), [0, 100])


def test_depth_limit_and_sells(books):
    books.apply(_events([(3, BookEvent.DELETE, -1, 11, 100.00, 100)]))
    # 300 with no fees: 100 x 100.00 at venue 0, then 100.01 from either; the 0.1 c fee
    # at venue 1 sends the rest to venue 0 too
    np.testing.assert_array_equal(_route(books, 1, 300.0, fee=np.array([0.0, 0.001])), [300, 0])
    # a limit of 100.00 leaves only venue 0's first level
    np.testing.assert_array_equal(_route(books, 1, 300.0, limit=100.00), [100, 0])
    # sell 150: venue 1's 99.98 x 100, then 50 at venue 0's 99.97
    np.testing.assert_array_equal(_route(books, -1, 150.0), [50, 100])
    # symbol 0: only venue 0 offers
    np.testing.assert_array_equal(_route(books, 1, 50.0, sym=0), [50, 0])


def test_best_outflow_by_hand():
    # venue 0 (book 0): bids 10.00 x 100 (id 1), 10.00 x 200 (id 2), 9.99 x 300 (id 3);
    # venue 1 (book 1): ask 10.01 x 400 (id 4). Intervals of 1 s from t = 10 s.
    s = 1_000_000_000
    rows = [
        (0, 0, BookEvent.ADD, 1, 1, 10.00, 100), (1, 0, BookEvent.ADD, 1, 2, 10.00, 200),
        (2, 0, BookEvent.ADD, 1, 3, 9.99, 300), (3, 1, BookEvent.ADD, -1, 4, 10.01, 400),
        (5 * s, 0, BookEvent.EXEC_VISIBLE, 1, 1, 10.00, 10),  # before t0: not counted
        (10 * s, 0, BookEvent.EXEC_VISIBLE, 1, 1, 10.00, 50),  # at the best: 50
        (10 * s + 1, 0, BookEvent.CANCEL, 1, 3, 9.99, 100),  # behind the best: 0
        (10 * s + 2, 1, BookEvent.CANCEL, -1, 4, 10.01, 150),  # best ask: 150
        (11 * s, 0, BookEvent.DELETE, 1, 1, 10.00, 0),  # its 40 left: 40
        (11 * s + 1, 0, BookEvent.EXEC_VISIBLE, 1, 2, 10.00, 200),  # 200
        (11 * s + 2, 0, BookEvent.EXEC_VISIBLE, 1, 3, 9.99, 500),  # 9.99 now best: its 200
        (13 * s, 1, BookEvent.DELETE, -1, 4, 10.01, 0),  # past the 3rd interval: 0
    ]
    ev = np.zeros(len(rows), BOOK_EVENT_DTYPE)
    for i, (ts, book, kind, side, oid, px, size) in enumerate(rows):
        ev[i] = (ts, ts, book, kind, side, oid, px, size, 0)
    out = best_outflow(BookTape.from_events(ev), 2, 10 * s, s, 3)
    np.testing.assert_array_equal(out[0, 0], [50.0, 440.0, 0.0])  # venue 0's bid
    np.testing.assert_array_equal(out[1, 1], [150.0, 0.0, 0.0])  # venue 1's ask
    assert out[0, 1].sum() == 0.0 and out[1, 0].sum() == 0.0
