"""Target-mode strategies through ``fw live`` on the local venue (lockstep, bar fills)
give exactly the orders, fills and equity of ``fw backtest`` over the same session: the
loop records the targets at the decision, the broker model trades the difference right
away (``fill_models.broker.trade_targets``), so the orders reach the venue when a
backtest's rebalance trades them, at the next bar's open. Both target forms: a
``[decision] mode = "target"`` strategy (the rebalancer, every session) and an on_bar
strategy whose legs are USD targets (pairs)."""

from __future__ import annotations

import pytest

from live.runner import run_live
from tests.live.conftest import ROOT, assert_same_run, backtest, session_overrides

pytestmark = pytest.mark.slow

CASES = {
    # weights well under 1: the backtest's cash cap at the fill must not bind (a broker
    # fills what it accepted; docs/live.md, "parity")
    "rebalance": {"data.timeframe": "1m", "params.every": "session",
                  "params.weights": {"SPY": 0.3, "QQQ": 0.2, "AAPL": 0.1, "MSFT": 0.05}},
    # short windows so the small lake's session trades several times
    "pairs": {"params.window": 10, "params.entry_z": 1.0, "params.exit_z": 0.3,
              "params.leg": 0.2, "params.cooldown": 2},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_targets_replay_matches_backtest(name, small_lake, live_venue, tmp_path):
    ov = session_overrides(CASES[name], tmp_path)
    bt = backtest(name, ov, small_lake)
    venue = live_venue(name, ov, small_lake)
    run = run_live(ROOT / "strategies" / f"{name}.toml", ov, lake=small_lake,
                   venue_url=venue.urls.trading, force_reason="test")
    assert_same_run(run.result, bt)
    roles = set(bt.orders["role"])
    assert "target" in roles, roles  # the orders are the rebalance's, not entries
    cids = [o.client_order_id for o in venue.core.orders.values()]
    assert len(cids) == len(set(cids)) == run.session.stats.submitted
