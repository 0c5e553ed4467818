"""Post-trade TCA of a parent worked out by hand, its parts summing to the shortfall the
paper-portfolio definition gives."""

from __future__ import annotations

import numpy as np
import pytest

from framework.analytics.tca import parent_tca, tca_summary
from framework.execution.costs import CostConfig
from framework.risk import RiskConfig
from tests.execution.algos.algo_kit import minute_panel, run_algo


def test_is_split_by_hand_and_sums_to_the_paper_portfolio_shortfall():
    # close = open = 100 + i at bar i; TWAP 100 shares in 5 slices of 20, 1 cent a share;
    # a 50-share position limit rejects the third child (40 + 20 > 50): the parent stops
    panel = minute_panel(100.0 + np.arange(30), np.full(30, 1000.0))
    res = run_algo(panel, [0], 100, algo="twap", horizon_min=10, interval_min=2,
                   risk=RiskConfig(max_position_shares=50),
                   costs=CostConfig(model="custom", per_share=0.01, slippage_bps=0.0))
    tca = parent_tca(res.state, panel)
    r = tca.row(0, named=True)
    # decided at bar 0's close (100); arrives at bar 1's open (101); fills 20 @ 101 and
    # 20 @ 103; stopped at bar 4's close (104)
    assert (r["decision_px"], r["arrival_px"], r["end_px"]) == (100.0, 101.0, 104.0)
    assert r["filled"] == 40.0 and r["avg_px"] == pytest.approx(102.0)
    assert r["delay_usd"] == pytest.approx(40 * 1.0)
    assert r["trading_usd"] == pytest.approx(20 * 0.0 + 20 * 2.0)
    assert r["opportunity_usd"] == pytest.approx(60 * 4.0)
    assert r["fees_usd"] == pytest.approx(0.4)
    # paper portfolio: 100 shares at 100 worth 104 at the end; the real one bought 40
    # for 4080 + 0.40 of fees
    paper, real = 100 * (104 - 100), 40 * 104 - (20 * 101 + 20 * 103) - 0.4
    assert r["is_usd"] == pytest.approx(paper - real)
    parts = r["delay_bps"] + r["trading_bps"] + r["opportunity_bps"] + r["fees_bps"]
    assert parts == pytest.approx(r["is_bps"]) and r["is_bps"] == pytest.approx(320.4)
    # bars 1..4, equal volume: VWAP 102.5; participation 40 / 4000
    assert r["vwap"] == pytest.approx(102.5)
    assert r["vs_vwap_bps"] == pytest.approx((102.0 - 102.5) / 102.5 * 1e4)
    assert r["participation"] == pytest.approx(0.01)
    assert tca_summary(tca)["is_bps"] == pytest.approx(320.4)


def test_sell_parent_signs_flip():
    # a short sale of 100 by TWAP (allow_short) on falling prices: selling lower is a cost
    panel = minute_panel(100.0 - np.arange(30) * 0.5, np.full(30, 1000.0))
    from framework.engine.event.engine import run_event
    from framework.execution.config import ExecutionConfig
    from framework.strategy.decision import DecisionConfig
    from framework.strategy.signals import Signals

    entry = np.zeros(panel.close.shape)
    entry[0, 0] = -1
    res = run_event(panel, Signals.of(entry, np.zeros(panel.close.shape, bool)),
                    decision=DecisionConfig(size_mode="shares", size=100, allow_short=True),
                    costs=CostConfig(slippage_bps=0.0), risk=RiskConfig(),
                    execution=ExecutionConfig(algo="twap", horizon_min=10, interval_min=2),
                    init_cash=1e6)
    r = parent_tca(res.state, panel).row(0, named=True)
    fills = res.fills
    assert r["side"] == -1 and r["filled"] == 100.0
    sold = float((fills["qty"] * fills["price"]).sum())
    # paper: sell 100 at 100 (the decision); real: what the fills brought in, less the
    # SEC and FINRA fees on the sales
    assert r["fees_usd"] == pytest.approx(float(fills["fee"].sum())) and r["fees_usd"] > 0
    assert r["is_usd"] == pytest.approx(100 * 100.0 - sold + r["fees_usd"])
    assert r["delay_usd"] == pytest.approx(-100 * (99.5 - 100.0))


def test_impact_fit_recovers_y_with_sigma_and_adv_of_the_run_bars():
    # one session, closes 100, 101, 100, ... (30 bars of 1,000 shares): ADV 30,000; sigma
    # the sample deviation of the 29 log returns (+-ln 1.01) times the last close (101)
    # per sqrt(60 s), times sqrt(390 min) over the decision price for a day's fraction
    import polars as pl

    from framework.analytics.tca import impact_fit

    px = np.where(np.arange(30) % 2 == 0, 100.0, 101.0)
    panel = minute_panel(px, np.full(30, 1000.0))
    r = np.log(1.01) * np.where(np.arange(29) % 2 == 0, 1.0, -1.0)
    sigma_daily = np.std(r, ddof=1) * 101.0 / np.sqrt(60.0) * np.sqrt(390 * 60.0) / 100.0
    q = np.array([300.0, 1200.0, 3000.0, 0.0])  # the unfilled parent is left out
    cost = 0.7 * sigma_daily * np.sqrt(q / 30_000.0) * 1e4
    tca = pl.DataFrame({"symbol": ["A"] * 4, "filled": q, "decision_px": [100.0] * 4,
                        "trading_bps": cost})
    fit = impact_fit(tca, panel)
    assert fit["parents"] == 3
    assert fit["y"] == pytest.approx(0.7, rel=1e-12)
    assert fit["ci95"] == pytest.approx([0.7, 0.7], rel=1e-12)
    assert impact_fit(tca.head(1), panel)["y"] is None  # one parent: no fit
