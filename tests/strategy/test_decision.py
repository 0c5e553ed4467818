"""The compiled decision rule (``framework.strategy.decision``) case by case: what one
symbol does at one bar's close for each state of position, working orders and signals,
and how an entry is sized. Expected values are the rule as docs/strategy.md states it.
(The cash and buying-power rules at the fill: tests/execution/test_sizing.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from framework.execution.sizing import (
    SIZE_EQUITY,
    SIZE_SHARES,
    SIZE_VALUE,
    shares_for,
    whole_shares,
)
from framework.strategy.decision import (
    CANCEL_ENTRY,
    ENTER,
    EXIT,
    NONE,
    DecisionConfig,
    decide,
)

BIG = 1 << 40  # bars since an exit that never happened


def _decide(entry=0, exit_=False, pos=0.0, entry_open=False, exit_open=False, age=0,
            in_trade=0, hold=0, since_exit=BIG, closing=False, paused=False, **cfg) -> int:
    return decide(entry, exit_, pos, entry_open, exit_open, age, in_trade, hold, since_exit,
                  closing, paused, DecisionConfig(**cfg).as_array())[0]


@pytest.mark.parametrize(("state", "expected"), [
    # flat, nothing working
    ({"entry": 1}, ENTER),
    ({"entry": 0}, NONE),
    ({"entry": 1, "exit_": True}, NONE),  # entry and exit on one bar cancel out
    ({"entry": -1}, NONE),  # shorts not allowed by default
    ({"entry": -1, "allow_short": True}, ENTER),
    ({"entry": 1, "paused": True}, NONE),
    ({"entry": 1, "exit_open": True}, NONE),
    ({"entry": 1, "closing": True, "flat_at_close": True}, NONE),
    ({"entry": 1, "closing": True}, ENTER),
    # cool-down: N bars after the exit before the next entry
    ({"entry": 1, "since_exit": 2, "cooldown_bars": 3}, NONE),
    ({"entry": 1, "since_exit": 3, "cooldown_bars": 3}, ENTER),
    ({"entry": 1, "since_exit": 0, "cooldown_bars": 0}, ENTER),
    # an entry order working, still flat
    ({"entry": 1, "entry_open": True}, NONE),
    ({"entry_open": True, "paused": True}, CANCEL_ENTRY),
    ({"entry_open": True, "closing": True, "flat_at_close": True}, CANCEL_ENTRY),
    ({"entry_open": True, "age": 2, "entry_timeout_bars": 3}, NONE),
    ({"entry_open": True, "age": 3, "entry_timeout_bars": 3}, CANCEL_ENTRY),
    # in a position
    ({"pos": 10.0, "exit_": True}, EXIT),
    ({"pos": 10.0, "exit_": True, "exit_open": True}, NONE),  # one exit at a time
    ({"pos": 10.0, "exit_": True, "entry": 1}, NONE),  # conflicting signals: hold
    ({"pos": 10.0, "entry": 1}, NONE),  # already long
    ({"pos": 10.0, "entry": -1}, EXIT),  # reversal: close first
    ({"pos": -10.0, "entry": 1}, EXIT),
    ({"pos": 10.0, "closing": True, "flat_at_close": True}, EXIT),
    ({"pos": 10.0, "closing": True}, NONE),
    ({"pos": 10.0, "in_trade": 4, "hold": 5}, NONE),  # the trade's hold limit
    ({"pos": 10.0, "in_trade": 5, "hold": 5}, EXIT),
])
def test_decide(state, expected):
    assert _decide(**state) == expected


@pytest.mark.parametrize(("mode", "size", "px", "equity", "whole", "expected"), [
    (SIZE_SHARES, 7.0, 50.0, 1e5, False, 7.0),
    (SIZE_VALUE, 1000.0, 250.0, 1e5, False, 4.0),
    (SIZE_EQUITY, 0.2, 400.0, 1e5, False, 50.0),
    (SIZE_EQUITY, 0.5, 400.0, 1e5, False, 125.0),
    (SIZE_EQUITY, 0.2, 333.0, 1e5, False, 2e4 / 333.0),
    (SIZE_EQUITY, 0.2, 333.0, 1e5, True, 60.0),  # 60.06 shares: rounded down
    (SIZE_SHARES, 3.99, 10.0, 1e5, True, 3.0),
    (SIZE_SHARES, 0.5, 10.0, 1e5, True, 0.0),
    (SIZE_SHARES, -3.99, 10.0, 1e5, True, -3.0),  # toward zero for a short too
])
def test_shares_for(mode, size, px, equity, whole, expected):
    q = whole_shares(shares_for(np.int64(mode), size, px, equity), whole)
    assert q == pytest.approx(expected, rel=1e-15)
