"""The compiled decision rule (``framework.strategy.decision``) case by case: what one
symbol does at one bar's close for each state of position, working orders and signals,
and how an entry is sized. Expected values are the rule as docs/strategy.md states it."""

from __future__ import annotations

import numpy as np
import pytest

from framework.strategy.decision import (
    CANCEL_ENTRY,
    ENTER,
    EXIT,
    NONE,
    DecisionConfig,
    decide,
    entry_qty,
)

BIG = 1 << 40  # bars since an exit that never happened


def _decide(entry=0, exit_=False, pos=0.0, entry_open=False, exit_open=False, age=0,
            in_trade=0, since_exit=BIG, closing=False, paused=False, **cfg) -> int:
    return decide(entry, exit_, pos, entry_open, exit_open, age, in_trade, since_exit,
                  closing, paused, DecisionConfig(**cfg).as_array())


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
    ({"pos": 10.0, "in_trade": 4, "max_hold_bars": 5}, NONE),
    ({"pos": 10.0, "in_trade": 5, "max_hold_bars": 5}, EXIT),
])
def test_decide(state, expected):
    assert _decide(**state) == expected


@pytest.mark.parametrize(("cfg", "size_sig", "close", "equity", "expected"), [
    ({"size_mode": "shares", "size": 7.0}, np.nan, 50.0, 1e5, 7.0),
    ({"size_mode": "value", "size": 1000.0}, np.nan, 250.0, 1e5, 4.0),
    ({"size_mode": "equity_fraction", "size": 0.2}, np.nan, 400.0, 1e5, 50.0),
    ({"size_mode": "equity_fraction", "size": 0.2}, 0.5, 400.0, 1e5, 125.0),  # signal wins
    ({"size_mode": "equity_fraction", "size": 0.2}, np.nan, 333.0, 1e5, 2e4 / 333.0),
    ({"size_mode": "equity_fraction", "size": 0.2, "whole_shares": True}, np.nan, 333.0, 1e5,
     60.0),  # 60.06 shares: rounded down
    ({"size_mode": "shares", "size": 3.99, "whole_shares": True}, np.nan, 10.0, 1e5, 3.0),
    ({"size_mode": "shares", "size": 0.5, "whole_shares": True}, np.nan, 10.0, 1e5, 0.0),
    ({"size_mode": "equity_fraction", "size": 0.2}, np.nan, 100.0, -5.0, 0.0),  # no equity
])
def test_entry_qty(cfg, size_sig, close, equity, expected):
    q = entry_qty(size_sig, close, equity, DecisionConfig(**cfg).as_array())
    assert q == pytest.approx(expected, rel=1e-15)
