"""Book fill model: depth walking for takers, queue position for resting limits (only
executions and cancels ahead of the order consume it), crossing arrivals, via the
engine on a hand-written L3 tape."""

from __future__ import annotations

import numpy as np
import pytest

from framework.engine.event.book_tape import BookTape
from framework.engine.event.engine import EngineError, run_event
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.execution.fill_models.book import passive_fill, take_depth
from framework.marketdata.book.book import OrderBooks
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Signals
from framework.types import BookEvent
from tests.engine.engine_testkit import daily_panel

B = BookEvent


def test_queue_rules() -> None:
    # executions ahead consume the queue; the excess fills us
    assert passive_fill(1, 10.0, 300.0, 50, B.EXEC_VISIBLE, 1, 10.0, 200.0, 7) == (0.0, 100.0)
    assert passive_fill(1, 10.0, 100.0, 50, B.EXEC_VISIBLE, 1, 10.0, 130.0, 7) == (30.0, 0.0)
    # an execution of an order that arrived after ours: ours would have traded first
    assert passive_fill(1, 10.0, 100.0, 50, B.EXEC_VISIBLE, 1, 10.0, 40.0, 60) == (40.0, 100.0)
    # cancels ahead shorten the queue, cancels behind do not; unknown priority is ahead
    assert passive_fill(1, 10.0, 100.0, 50, B.CANCEL, 1, 10.0, 30.0, 7) == (0.0, 70.0)
    assert passive_fill(1, 10.0, 100.0, 50, B.CANCEL, 1, 10.0, 30.0, 70) == (0.0, 100.0)
    assert passive_fill(1, 10.0, 100.0, 50, B.DELETE, 1, 10.0, 30.0, -1) == (0.0, 70.0)
    # a sweep through our price, a seller joining at our bid, events elsewhere
    assert passive_fill(1, 10.0, 500.0, 50, B.EXEC_VISIBLE, 1, 9.99, 80.0, 7) == (80.0, 0.0)
    assert passive_fill(1, 10.0, 500.0, 50, B.ADD, -1, 10.0, 25.0, -1) == (25.0, 500.0)
    assert passive_fill(1, 10.0, 500.0, 50, B.ADD, -1, 10.01, 25.0, -1) == (0.0, 500.0)
    assert passive_fill(1, 10.0, 500.0, 50, B.EXEC_VISIBLE, 1, 10.01, 80.0, 7) == (0.0, 500.0)
    assert passive_fill(1, 10.0, 500.0, 50, B.EXEC_HIDDEN, 1, 10.0, 80.0, -1) == (0.0, 500.0)
    # sells mirror
    assert passive_fill(-1, 10.0, 10.0, 50, B.EXEC_VISIBLE, -1, 10.0, 25.0, 1) == (15.0, 0.0)


def test_take_depth_walks_levels_up_to_the_limit() -> None:
    books = OrderBooks(1)
    z = np.zeros(3, np.int64)
    books.apply_units(z, [1, 1, 1], [-1, -1, -1], [1, 2, 3], [1_000_100, 1_000_200, 1_000_500],
                      [200.0, 500.0, 100.0], z, z)
    px, qty = np.zeros(8), np.zeros(8)
    n = take_depth(books.state, 0, 1, 600.0, np.nan, 0.0, px, qty)
    assert (px[:n].tolist(), qty[:n].tolist()) == ([100.01, 100.02], [200.0, 400.0])
    n = take_depth(books.state, 0, 1, 600.0, 100.01, 0.0, px, qty)
    assert (px[:n].tolist(), qty[:n].tolist()) == ([100.01], [200.0])
    n = take_depth(books.state, 0, 1, 1000.0, np.nan, 650.0, px, qty)  # 650 already taken
    assert (px[:n].tolist(), qty[:n].tolist()) == ([100.02, 100.05], [50.0, 100.0])


def _run(panel, events, limit=np.nan, size=100.0, side=1):
    """One entry decided at the close of session 0 (working in session 1) on ``events``
    rows (session, seconds after the open, kind, side, id, price, size)."""
    ts = np.array([int(panel.ts[s]) + int(sec * 1e9) for s, sec, *_ in events], np.int64)
    col = list(zip(*[e[2:] for e in events], strict=True))
    tape = BookTape(ts, np.zeros(len(events), np.int64), np.array(col[0], np.int8),
                    np.array(col[1], np.int8), np.array(col[2], np.int64),
                    np.rint(np.array(col[3]) * 1e4).astype(np.int64), np.array(col[4], float),
                    np.zeros(len(events), np.int64))
    entry = np.zeros(panel.close.shape, np.int8)
    entry[0, 0] = side
    lim = np.full(panel.close.shape, np.nan)
    lim[0, 0] = limit
    return run_event(panel, Signals.of(entry, np.zeros(panel.close.shape, bool), limit=lim),
                     decision=DecisionConfig(size_mode="shares", size=size),
                     costs=CostConfig(model="custom", slippage_bps=0.0), risk=RiskConfig(),
                     execution=ExecutionConfig(fill_model="book"), init_cash=1e6,
                     book_tape=tape)


BOOK0 = [(0, 10, B.ADD, 1, 1, 99.99, 300), (0, 11, B.ADD, -1, 2, 100.01, 200),
         (0, 12, B.ADD, -1, 3, 100.02, 500)]


def test_resting_limit_fills_only_when_the_queue_ahead_is_gone() -> None:
    panel = daily_panel(3, ["A"], 5)
    res = _run(panel, BOOK0 + [
        (1, 1, B.ADD, 1, 9, 99.98, 10),  # our order arrives here: 300 shares ahead at 99.99
        (1, 2, B.EXEC_VISIBLE, 1, 1, 99.99, 200),  # ahead 300 -> 100
        (1, 3, B.CANCEL, 1, 1, 99.99, 50),  # ahead 100 -> 50
        (1, 4, B.ADD, 1, 5, 99.99, 100),  # behind us
        (1, 5, B.CANCEL, 1, 5, 99.99, 20),  # behind: our queue does not move
        (1, 6, B.EXEC_VISIBLE, 1, 1, 99.99, 50),  # ahead 50 -> 0, nothing left for us
        (1, 7, B.EXEC_VISIBLE, 1, 5, 99.99, 30),  # an order behind us traded: we did first
        (1, 8, B.ADD, -1, 6, 99.99, 200),  # a seller joins at our bid: the rest fills
    ], limit=99.99)
    f = res.fills
    assert f["qty"].to_list() == [30.0, 70.0] and set(f["price"].to_list()) == {99.99}
    assert f["maker"].to_list() == [1, 1]
    base = int(panel.ts[1])
    assert f["ts"].to_list() == [base + 7 * 10**9, base + 8 * 10**9]


def test_market_and_marketable_limit_walk_the_depth() -> None:
    panel = daily_panel(3, ["A"], 5)
    res = _run(panel, BOOK0 + [(1, 1, B.ADD, 1, 9, 99.98, 10)], size=600)
    f = res.fills
    assert f["price"].to_list() == [100.01, 100.02] and f["qty"].to_list() == [200.0, 400.0]
    assert f["maker"].to_list() == [0, 0]
    res = _run(panel, BOOK0 + [(1, 1, B.ADD, 1, 9, 99.98, 10), (1, 2, B.ADD, 1, 10, 99.97, 5)],
               limit=100.01, size=300)
    # takes the 200 at 100.01; the other 100 rest at 100.01 unfilled until the day ends
    assert res.fills["qty"].to_list() == [200.0] and res.fills["price"][0] == 100.01
    assert res.orders["filled_qty"][0] == 200.0 and res.orders["status"][0] == "expired"


def test_book_model_needs_a_tape() -> None:
    panel = daily_panel(3, ["A"], 5)
    with pytest.raises(EngineError, match="needs a BookTape"):
        run_event(panel, Signals.of(np.zeros(panel.close.shape, np.int8),
                                    np.zeros(panel.close.shape, bool)),
                  decision=DecisionConfig(), costs=CostConfig(), risk=RiskConfig(),
                  execution=ExecutionConfig(fill_model="book"))
