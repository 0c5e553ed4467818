"""``fw live --paper`` on the local venue (lockstep, bar fill model) gives exactly the
orders, fills and equity of ``fw backtest`` over the same session: the same compiled
loop decides, the venue's fills come back through alpaca-py's real clients into it."""

from __future__ import annotations

import json

import pytest

from live.runner import run_live
from tests.conftest import ML_MR_SMALL
from tests.live.conftest import ROOT, SMA, assert_same_run, backtest, session_overrides

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["sma_cross", "ml_mr"])
def test_live_replay_matches_backtest(name, request, live_venue, tmp_path):
    lake = request.getfixturevalue("ml_mr_lake" if name == "ml_mr" else "small_lake")
    ov = session_overrides(SMA if name == "sma_cross" else ML_MR_SMALL, tmp_path)
    bt = backtest(name, ov, lake)
    venue = live_venue(name, ov, lake)
    run = run_live(ROOT / "strategies" / f"{name}.toml", ov, lake=lake,
                   venue_url=venue.urls.trading, force_reason="test")
    assert_same_run(run.result, bt)
    summary = json.loads((run.out_dir / "live.json").read_text())
    assert summary["outcomes"] == {"confirmed": summary["submitted"]}
    assert summary["reconciliations"][0]["ok"]
    for f in ("orders.parquet", "fills.parquet", "equity.parquet", "manifest.json",
              "journal.sqlite"):
        assert (run.out_dir / f).is_file(), f
    # the venue has every order once, by client order id, and the account the run has
    orders = venue.core.orders.values()
    cids = [o.client_order_id for o in orders]
    assert len(cids) == len(set(cids)) == summary["submitted"]
    last = run.result.positions.row(-1, named=True)
    for sym, (qty, _avg) in venue.core.account.positions.items():
        assert qty == pytest.approx(last[sym], abs=1e-9)
