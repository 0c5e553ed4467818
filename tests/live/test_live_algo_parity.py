"""Backtest/live parity of algo parents: the SMA cross with TWAP, VWAP and IS entries
replayed through ``fw live`` against the lockstep local venue sends exactly the
backtest's children and gets exactly its fills. VWAP and IS learn their profile and
Almgren–Chriss estimates from the lake's sessions before the replayed one under both
drivers (``calibrate.learn_before``)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from framework.analytics.tca import parent_tca
from framework.engine.backtest import run_backtest
from framework.execution.algos.calibrate import AlgoInputs
from live.runner import run_live
from tests.live.conftest import ROOT, SMA, assert_same_run, session_overrides

pytestmark = pytest.mark.slow

ALGOS = {
    "twap": {"execution.algo": "twap", "execution.horizon_min": 6,
             "execution.interval_min": 2},
    # 1-minute buckets: a child re-targeted each minute of the 6, by the learnt profile
    "vwap": {"execution.algo": "vwap", "execution.horizon_min": 6,
             "execution.vwap_bucket_min": 1, "execution.vwap_sessions": 3},
    # Almgren-Chriss slices by sigma, eta, gamma learnt from the three sessions before
    "is": {"execution.algo": "is", "execution.horizon_min": 6, "execution.interval_min": 1,
           "execution.risk_aversion": 1e-2, "execution.vwap_sessions": 3},
}


@pytest.mark.parametrize("algo", list(ALGOS))
def test_algo_children_same_under_both_drivers(algo, small_lake, live_venue, tmp_path):
    ov = session_overrides({**SMA, **ALGOS[algo]}, tmp_path)
    bt_run = run_backtest(ROOT / "strategies" / "sma_cross.toml", ov, lake_root=small_lake,
                          write=False)
    bt = bt_run.result
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
    # each finished parent's TCA reached the session's Prometheus metrics as it finished,
    # with the backtest's numbers
    used = int(bt.state.orders.pcount[0])  # parent rows (PC_USED)
    done = np.flatnonzero(bt.state.orders.parents["active"][:used] == 0)
    tca = parent_tca(bt.state, bt_run.panel, done)
    reg = run.session.m.registry
    assert done.size > 0
    assert reg.get_sample_value("fw_algo_parents_total", {"algo": algo}) == done.size
    finite = tca.filter(pl.col("is_bps").is_finite())
    assert reg.get_sample_value("fw_algo_shortfall_bps_count", {"algo": algo}) == finite.height
    assert reg.get_sample_value("fw_algo_shortfall_usd", {"algo": algo}) == pytest.approx(
        tca["is_usd"].sum(), rel=1e-9, abs=1e-9)
    if algo == "twap":
        assert "algo_inputs" not in run.manifest
        return
    # both drivers learnt the same inputs from the sessions before the replayed one,
    # and they are not the flat defaults
    learnt = run.manifest["algo_inputs"]
    assert learnt == bt_run.manifest["algo_inputs"]
    assert learnt["sessions"] == 3 and learnt["last"] < ov["data.start"]
    par = run.session.driver.state.params
    flat = AlgoInputs.flat(len(bt_run.config.symbols), int(ov.get(
        "execution.vwap_bucket_min", 5)))
    if algo == "vwap":
        assert not np.allclose(par.vprof, flat.vprof)
    else:
        assert np.isfinite(par.algo_sym).all()
