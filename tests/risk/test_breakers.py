"""Circuit breakers trip, pause entries, optionally flatten, and reset; the kill switch."""

from __future__ import annotations

import logging

import numpy as np
import polars as pl
import pytest

from framework.config import ConfigError, load_toml
from framework.risk import (
    Breaker,
    RiskAction,
    RiskConfig,
    drain_events,
    entries_paused,
    events_frame,
    kill_switch,
    log_risk_events,
    make_risk,
    on_latency,
    on_reference_price,
    on_timer,
    reset_breakers,
    reset_kill,
    start_session,
)
from framework.types import RejectReason as R

S = 1_000_000_000
ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _tripped(r, b):
    return bool(r.st["breakers"] & (1 << b))


def _assert_reset(r, b):
    assert (
        r.check(
            0,
            1,
            1,
            r.SS[0]["mark"] if np.isfinite(r.SS[0]["mark"]) else 100.0,
            ts=int(r.st["last_ts"]),
        )
        == R.CIRCUIT_BREAKER
    )
    reset_breakers(r.L, r.S, 1 << b, int(r.st["last_ts"]))
    assert not _tripped(r, b) and not entries_paused(r.S)


def test_daily_loss(new_risk):
    r = new_risk(max_daily_loss=500)
    r.fill(0, 1, 100, 100.0)
    assert r.mark(0, 95.01) == RiskAction.NONE
    assert r.mark(0, 95.0) == RiskAction.PAUSE_ENTRIES  # lost exactly 500
    assert _tripped(r, Breaker.DAILY_LOSS)
    assert r.mark(0, 94.0) == RiskAction.NONE  # reported once
    _assert_reset(r, Breaker.DAILY_LOSS)


def test_drawdown_from_intraday_peak_flattens(new_risk):
    r = new_risk(max_drawdown=0.01, flatten_on=["drawdown"])
    r.fill(0, 1, 100, 100.0)
    assert r.mark(0, 120.0) == RiskAction.NONE  # hwm 102000
    assert r.mark(0, 110.0) == RiskAction.NONE  # dd 0.0098
    assert r.mark(0, 109.0) == RiskAction.FLATTEN_ALL
    assert r.st["flatten"]
    _assert_reset(r, Breaker.DRAWDOWN)
    assert not r.st["flatten"]


def test_loss_rate_window(new_risk):
    r = new_risk(loss_window_s=64, max_loss_in_window=300)
    r.fill(0, 1, 100, 100.0, ts=0)
    # a slow bleed of 1 USD/share over 10 minutes never loses 300 in a minute
    for k in range(600):
        assert r.mark(0, 100.0 - k / 600, ts=k * S) == RiskAction.NONE
    base = 600 * S
    assert r.mark(0, 98.0, ts=base) == RiskAction.NONE  # 100 lost vs a minute ago
    # the window now starts at the 547 s bucket (price 99.088): 289 lost, then 319
    assert r.mark(0, 96.2, ts=base + 10 * S) == RiskAction.NONE
    assert r.mark(0, 95.9, ts=base + 10 * S) == RiskAction.PAUSE_ENTRIES
    _assert_reset(r, Breaker.LOSS_RATE)


def test_consecutive_rejects_reset(new_risk):
    r = new_risk(max_order_qty=1, max_consecutive_rejects=2)
    r.check(0, 1, 5, 100.0)
    assert r.check(0, 1, 1, 100.0) == 0  # an accept restarts the count
    r.check(0, 1, 5, 100.0)
    r.check(0, 1, 5, 100.0)
    assert _tripped(r, Breaker.CONSECUTIVE_REJECTS)
    assert r.mark(0, 100.0) == RiskAction.PAUSE_ENTRIES
    _assert_reset(r, Breaker.CONSECUTIVE_REJECTS)
    assert r.st["consecutive_rejects"] == 0


def test_stale_data_only_in_session(new_risk):
    r = new_risk(stale_data_s=5)
    start_session(r.L, r.S, r.SS, 100 * S, 200 * S)
    r.mark(0, 100.0, ts=101 * S)
    r.mark(1, 50.0, ts=101 * S)
    assert on_timer(r.L, r.SL, r.S, r.SS, 106 * S) == RiskAction.NONE
    assert on_timer(r.L, r.SL, r.S, r.SS, 250 * S) == RiskAction.NONE  # after the close
    r.mark(0, 100.0, ts=105 * S)
    assert on_timer(r.L, r.SL, r.S, r.SS, 106 * S + 1) == RiskAction.PAUSE_ENTRIES  # sym 1
    _assert_reset(r, Breaker.STALE_DATA)


def test_latency_spike_and_price_discrepancy(new_risk):
    r = new_risk(max_latency_ms=50, max_price_discrepancy=0.02, flatten_on=["price_discrepancy"])
    r.mark(0, 100.0)
    assert on_latency(r.L, r.S, 50_000_000, 1) == RiskAction.NONE
    assert on_latency(r.L, r.S, 50_000_001, 1) == RiskAction.PAUSE_ENTRIES
    _assert_reset(r, Breaker.LATENCY)
    assert on_reference_price(r.L, r.SL, r.S, r.SS, 0, 101.9, 2) == RiskAction.NONE
    assert on_reference_price(r.L, r.SL, r.S, r.SS, 0, 97.9, 2) == RiskAction.FLATTEN_ALL
    _assert_reset(r, Breaker.PRICE_DISCREPANCY)


def test_session_start_resets_daily_breakers(new_risk):
    r = new_risk(max_daily_loss=100)
    r.fill(0, 1, 100, 100.0)
    r.mark(0, 98.0)
    assert _tripped(r, Breaker.DAILY_LOSS)
    start_session(r.L, r.S, r.SS, 10 * S, 20 * S)
    assert not _tripped(r, Breaker.DAILY_LOSS)
    assert r.st["day_start_equity"] == pytest.approx(r.st["equity"])


def test_kill_switch_flattens_and_resets(new_risk):
    r = new_risk()
    r.fill(0, 1, 10, 100.0)
    kill_switch(r.S)
    assert r.mark(0, 100.0, ts=5) == RiskAction.FLATTEN_ALL
    assert r.check(0, 1, 1, 100.0, ts=6) == R.KILL_SWITCH
    assert r.check(0, -1, 10, 100.0, ts=6) == 0  # the flatten goes through
    reset_kill(r.S, 7)
    assert r.check(0, 1, 1, 100.0, ts=8) == 0
    kinds = events_frame(r.S)["kind"].to_list()
    assert kinds[:2] == ["kill", "reject"] and "kill_reset" in kinds


def test_events_frame_labels_every_row_like_the_log(new_risk, caplog):
    """The frame's vectorized labels equal the per-event log lines' labels, for events
    with and without a reason, portfolio-wide (sym -1) and beyond the symbol list."""
    r = new_risk(n_symbols=3, max_order_qty=1, max_drawdown=0.01)
    r.check(1, 1, 2, 100.0)  # reject, reason max_order_qty, sym 1
    r.check(2, 1, 2, 100.0)  # sym 2: not in the two names given below
    r.fill(0, 1, 100, 100.0)
    r.mark(0, 10.0, ts=5)  # drawdown breaker: portfolio-wide
    kill_switch(r.S)
    frame = events_frame(r.S, ["AAA", "BBB"])
    with caplog.at_level(logging.INFO, logger="fw.risk"):
        assert log_risk_events(r.S, ["AAA", "BBB"]) == frame.height
    assert frame["kind"].to_list() == [rec.risk_kind for rec in caplog.records]
    assert frame["reason"].to_list() == [rec.risk_reason for rec in caplog.records]
    assert frame["symbol"].to_list()[:2] == ["BBB", "2"]
    assert "" in frame["symbol"].to_list()  # sym -1
    assert {"reject", "breaker_trip", "kill"} <= set(frame["kind"].to_list())
    assert frame.filter(pl.col("kind") == "breaker_trip")["reason"].to_list() == ["drawdown"]
    assert frame.filter(pl.col("kind") == "kill")["reason"].to_list() == [""]


def test_events_are_structured_log_lines(new_risk, caplog):
    r = new_risk(max_order_qty=1)
    r.check(1, 1, 2, 100.0)
    with caplog.at_level(logging.INFO, logger="fw.risk"):
        assert log_risk_events(r.S, ["AAA", "BBB"]) == 1
        assert log_risk_events(r.S, ["AAA", "BBB"]) == 0  # each event logged once
    rec = caplog.records[0]
    assert rec.risk_kind == "reject" and rec.risk_reason == "max_order_qty"
    assert rec.symbol == "BBB" and rec.threshold == 1.0


def test_default_toml_and_symbol_overrides(tmp_path):
    cfg = load_toml(ROOT / "config" / "risk.toml", RiskConfig)
    limits, sym_limits, state, _ = make_risk(cfg, 2, 1e5)
    assert limits[0]["max_order_qty"] == cfg.max_order_qty
    p = tmp_path / "r.toml"
    p.write_text(
        "max_position_shares = 10\nstale_data_s = 2.5\nflatten_on = ['drawdown']\n"
        "[symbols.BBB]\nmax_position_shares = 3\nshortable = false\n"
    )
    cfg = load_toml(p, RiskConfig)
    limits, sym_limits, _, _ = make_risk(cfg, 2, 1e5, symbols=["AAA", "BBB"])
    assert list(sym_limits["max_position_shares"]) == [10, 3]
    assert list(sym_limits["shortable"]) == [True, False]
    assert limits[0]["stale_data_ns"] == 2_500_000_000
    assert limits[0]["flatten_mask"] == 1 << Breaker.DRAWDOWN
    p.write_text("max_order_qtty = 5\n")
    with pytest.raises(ConfigError, match="max_order_qtty"):
        load_toml(p, RiskConfig)
    p.write_text("[symbols.ZZZ]\nshortable = false\n")
    with pytest.raises(ConfigError, match="ZZZ"):
        make_risk(load_toml(p, RiskConfig), 2, 1e5, symbols=["AAA", "BBB"])


def test_rejection_flood_keeps_room_for_breakers(new_risk):
    from framework.risk.dtypes import EVENT_CAP, EVENT_RESERVE

    r = new_risk(max_order_qty=1, max_latency_ms=1)
    for _ in range(EVENT_CAP):
        r.check(0, 1, 2, 100.0)
    assert r.st["ev_n"] == EVENT_CAP - EVENT_RESERVE
    assert r.st["reject_counts"][R.MAX_ORDER_QTY] == EVENT_CAP  # counts stay exact
    on_latency(r.L, r.S, 2_000_000, 5)
    assert events_frame(r.S)["kind"][-1] == "breaker_trip"
    assert len(drain_events(r.S)) == EVENT_CAP - EVENT_RESERVE + 1
    assert r.st["ev_n"] == 0
