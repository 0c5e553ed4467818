"""An iceberg under the book fill model: each refreshed display is a new order at the
back of its price's queue (the priority a displayed order loses), on a hand-written L3
tape."""

from __future__ import annotations

import numpy as np

from framework.engine.event.book_tape import BookTape
from framework.engine.event.engine import run_event
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.risk import RiskConfig
from framework.strategy import DecisionConfig, Signals
from framework.types import BookEvent as B
from tests.engine.engine_testkit import daily_panel

# (session, seconds after the open, kind, side, id, price, size)
EVENTS = [
    (0, 10, B.ADD, 1, 1, 100.00, 300), (0, 11, B.ADD, -1, 2, 100.05, 500),
    # session 1: the first display (100 @ 100.00) arrives behind bid 1's 300 shares
    (1, 5, B.ADD, -1, 4, 100.06, 10),
    (1, 20, B.EXEC_VISIBLE, 1, 1, 100.00, 300),  # bid 1, ahead of us, trades away
    (1, 30, B.ADD, 1, 5, 100.00, 400),  # a bid joins behind us
    (1, 40, B.EXEC_VISIBLE, 1, 5, 100.00, 100),  # it trades: we were first -> filled
    # session 2: the refreshed display arrives behind what is left of bid 5 (300)
    (2, 5, B.ADD, -1, 6, 100.07, 10),
    (2, 20, B.EXEC_VISIBLE, 1, 5, 100.00, 300),  # only the queue ahead trades
    (2, 40, B.ADD, -1, 7, 100.00, 100),  # a seller joins at our bid: fills us
]


def test_iceberg_refresh_joins_the_back_of_the_queue():
    panel = daily_panel(4, ["A"], seed=1)
    ts = np.array([int(panel.ts[s]) + int(sec * 1e9) for s, sec, *_ in EVENTS], np.int64)
    col = list(zip(*[e[2:] for e in EVENTS], strict=True))
    n = len(EVENTS)
    tape = BookTape(ts, np.zeros(n, np.int64), np.array(col[0], np.int8),
                    np.array(col[1], np.int8), np.array(col[2], np.int64),
                    np.rint(np.array(col[3]) * 1e4).astype(np.int64),
                    np.array(col[4], float), np.zeros(n, np.int64))
    entry = np.zeros(panel.close.shape, np.int8)
    entry[0, 0] = 1
    limit = np.full(panel.close.shape, np.nan)
    limit[0, 0] = 100.00
    res = run_event(panel, Signals.of(entry, np.zeros(panel.close.shape, bool), limit=limit),
                    decision=DecisionConfig(size_mode="shares", size=200),
                    costs=CostConfig(model="custom", slippage_bps=0.0), risk=RiskConfig(),
                    execution=ExecutionConfig(fill_model="book", algo="iceberg", display=100,
                                              horizon_min=5 * 1440),
                    init_cash=1e6, book_tape=tape)
    ch = res.orders.filter(res.orders["role"] == "algo_child")
    assert ch["qty"].to_list() == [100.0, 100.0]
    assert ch["limit_price"].to_list() == [100.0, 100.0]
    f = res.fills
    assert f["order_id"].to_list() == ch["order_id"].to_list()
    # the refreshed display waited behind the 300 shares that joined after the first:
    # the 300-share trade at 100.00 (event 7) did not reach it
    assert f["ts"].to_list() == [int(ts[5]), int(ts[8])]
    assert (f["maker"] == 1).all() and (f["price"] == 100.0).all()
    parent = res.orders.filter(res.orders["role"] == "entry").row(0, named=True)
    assert parent["status"] == "filled" and parent["filled_qty"] == 200.0
