"""Backtest/live parity of algo parents: the SMA cross with TWAP entries replayed
through ``fw live`` against the lockstep local venue sends exactly the backtest's
children and gets exactly its fills."""

from __future__ import annotations

import json

import pytest

from live.runner import run_live
from tests.live.conftest import ROOT, SMA, assert_same_run, backtest, session_overrides

pytestmark = pytest.mark.slow

TWAP = {"execution.algo": "twap", "execution.horizon_min": 6,
        "execution.interval_min": 2}


def test_twap_children_same_under_both_drivers(small_lake, live_venue, tmp_path):
    ov = session_overrides({**SMA, **TWAP}, tmp_path)
    bt = backtest("sma_cross", ov, small_lake)
    children = bt.orders.filter(bt.orders["role"] == "algo_child")
    assert children.height > bt.orders.filter(bt.orders["role"] == "entry").height
    venue = live_venue("sma_cross", ov, small_lake)
    run = run_live(ROOT / "strategies" / "sma_cross.toml", ov, lake=small_lake,
                   venue_url=venue.urls.trading, force_reason="test")
    assert_same_run(run.result, bt)
    summary = json.loads((run.out_dir / "live.json").read_text())
    # the venue saw the children and the exits, never a parent
    parents = bt.orders.filter(bt.orders["role"] == "entry").height
    assert len(venue.core.orders) == summary["submitted"] == bt.orders.height - parents
