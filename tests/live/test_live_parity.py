"""``fw live --paper`` on the local venue (lockstep, bar fill model) gives exactly the
orders, fills and equity of ``fw backtest`` over the same session: the same compiled
loop decides, the venue's fills come back through alpaca-py's real clients into it.
sma_cross runs against a venue the test holds (to count its orders); the flagship runs
through the command itself, which starts its own venue (Alpaca's rate limit and all)."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from framework.cli.app import app
from live.runner import run_live
from tests.conftest import ML_MR_SMALL
from tests.live.conftest import (
    ROOT,
    SESSION,
    SMA,
    assert_same_run,
    backtest,
    session_overrides,
)

pytestmark = pytest.mark.slow


def test_sma_cross_replay_matches_backtest(small_lake, live_venue, tmp_path):
    ov = session_overrides(SMA, tmp_path)
    bt = backtest("sma_cross", ov, small_lake)
    venue = live_venue("sma_cross", ov, small_lake)
    run = run_live(ROOT / "strategies" / "sma_cross.toml", ov, lake=small_lake,
                   venue_url=venue.urls.trading, force_reason="test")
    assert_same_run(run.result, bt)
    summary = json.loads((run.out_dir / "live.json").read_text())
    assert summary["outcomes"] == {"confirmed": summary["submitted"]}
    assert summary["reconciliations"][0]["ok"]
    # the venue has every order once, by client order id, and the run's positions
    cids = [o.client_order_id for o in venue.core.orders.values()]
    assert len(cids) == len(set(cids)) == summary["submitted"]
    last = run.result.positions.row(-1, named=True)
    for sym, (qty, _avg) in venue.core.account.positions.items():
        assert qty == pytest.approx(last[sym], abs=1e-9)


def test_sma_cross_quote_fills_replay_matches_backtest(small_lake, live_venue, tmp_path):
    """The quote fill model on both sides: the venue fills the orders against the lake's
    NBBO as the backtest's quote model does (arrival quote, displayed size)."""
    ov = session_overrides({**SMA, "execution.fill_model": "quote"}, tmp_path)
    bt = backtest("sma_cross", ov, small_lake)
    venue = live_venue("sma_cross", ov, small_lake)
    assert venue.cfg.fills == "quote"
    run = run_live(ROOT / "strategies" / "sma_cross.toml", ov, lake=small_lake,
                   venue_url=venue.urls.trading, force_reason="test")
    assert_same_run(run.result, bt)


def test_flagship_through_fw_live_matches_backtest(ml_mr_lake, tmp_path):
    ov = session_overrides(ML_MR_SMALL, tmp_path)
    bt = backtest("ml_mr", ov, ml_mr_lake)
    sets = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in ov.items()
            if k != "backtest.reports"]
    args = ["live", "--paper", str(ROOT / "strategies" / "ml_mr.toml"), "--lake",
            str(ml_mr_lake), "--session", SESSION.isoformat(), "--out", str(tmp_path),
            "--force", "test"] + [x for s in sets for x in ("--set", s)]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output + repr(out.exception)
    run_dir = next(tmp_path.glob("ml_mr-live-*"))
    for f in ("orders.parquet", "fills.parquet", "equity.parquet", "positions.parquet",
              "manifest.json", "journal.sqlite", "live.json"):
        assert (run_dir / f).is_file(), f
    orders = pl.read_parquet(run_dir / "orders.parquet")
    fills = pl.read_parquet(run_dir / "fills.parquet")
    assert bt.fills.height > 0
    assert orders.equals(bt.orders) and fills.equals(bt.fills)
    assert pl.read_parquet(run_dir / "equity.parquet")["equity"].equals(bt.equity["equity"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["promotion"]["forced"] == "test" and manifest["local_venue"]["fills"] == "bar"
