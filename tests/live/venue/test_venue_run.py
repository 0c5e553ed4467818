"""The venue as a process and over time: ``fw venue`` from a shell, the replay paced at
speed 0 and in real-time multiples, and a restart from the state file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import polars as pl
import pytest
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

from framework.data import Lake
from live.venue import Venue, VenueConfig
from live.venue.cli import config_from_options
from live.venue.clock import SimClock
from live.venue.config import VenueConfigError
from tests.conftest import PROJECT_ROOT
from tests.live.venue.conftest import SESSION
from tests.live.venue.venue_testkit import (
    NS_MIN,
    market_data,
    trade_updates,
    trading_client,
    wait_for,
)


def test_sim_clock_pacing():
    wall = [100.0]
    clock = SimClock(1_000, speed=60.0, wall=lambda: wall[0])
    assert clock.now() == 1_000  # stands still until started
    clock.start()
    wall[0] += 1.5  # 1.5 wall seconds at 60x: 90 simulated seconds
    assert clock.now() == 1_000 + 90 * 10**9
    assert clock.wait_s(1_000 + 120 * 10**9) == pytest.approx(0.5)
    clock.set(5)  # a paced clock is not moved by hand
    assert clock.now() == 1_000 + 90 * 10**9
    fast = SimClock(1_000, speed=0.0)
    fast.set(2_000)
    fast.set(1_500)  # never backwards
    assert fast.now() == 2_000 and fast.wait_s(10**12) == 0.0


def test_speed_zero_replays_the_whole_session_to_a_subscriber(make_venue, venue_lake):
    v = make_venue(step=False, speed=0.0)
    c = trading_client(v)
    assert v.state()["steps_done"] == 0  # waits for a market-data subscriber
    day = c.submit_order(LimitOrderRequest(symbol="SPY", qty=1, side="buy", limit_price=300.0,
                                           time_in_force="day"))
    md = market_data(v, bars=["SPY"])
    n = Lake(venue_lake).bars("SPY", SESSION, SESSION).height
    wait_for(lambda: v.state()["ended"], timeout=60, what="end of session")
    assert len(md.wait(n, timeout=30)) == n
    assert v.state()["clock"] == v.timeline.hours.ext_close
    assert c.get_order_by_id(day.id).status == "expired"
    md.stop()


def test_paced_replay_runs_at_speed(make_venue):
    v = make_venue(step=False, speed=600.0, autostart=True)  # 10 simulated minutes a second
    c = trading_client(v)
    t0 = time.monotonic()
    c0 = c.get_clock().timestamp.timestamp()
    time.sleep(0.5)
    c1 = c.get_clock().timestamp.timestamp()
    wall = time.monotonic() - t0
    assert 0 < c1 - c0 <= 600 * wall + 1
    wait_for(lambda: v.state()["steps_done"] > 0, what="events due")


def test_restart_from_the_state_file(make_venue, tmp_path):
    state = tmp_path / "venue.json"
    v = make_venue(state_path=state)
    c = trading_client(v)
    tu = trade_updates(v)
    c.submit_order(MarketOrderRequest(symbol="SPY", qty=5, side="buy", time_in_force="day",
                                      client_order_id="keep-1"))
    rest = c.submit_order(LimitOrderRequest(symbol="AAPL", qty=1, side="buy", limit_price=100.0,
                                            time_in_force="gtc", client_order_id="keep-2"))
    v.advance(until=v.timeline.hours.open + NS_MIN)
    tu.wait(3)
    before = (c.get_account(), c.get_all_positions(), c.get_clock(),
              c.get("/account/activities/FILL", {}))
    steps = v.state()["steps_done"]
    tu.stop()
    v.stop()  # a kill after the last write loses nothing: every reply was persisted first

    v2 = make_venue(state_path=state)
    c2 = trading_client(v2)
    acct, pos, clock, acts = before
    assert c2.get_account().id == acct.id and c2.get_account().cash == acct.cash
    assert [(p.symbol, p.qty, p.avg_entry_price) for p in c2.get_all_positions()] == \
        [(p.symbol, p.qty, p.avg_entry_price) for p in pos]
    assert c2.get_clock().timestamp == clock.timestamp and v2.state()["steps_done"] == steps
    assert c2.get("/account/activities/FILL", {}) == acts
    assert c2.get_order_by_client_id("keep-2").status == "new"
    with pytest.raises(Exception, match="unique"):
        c2.submit_order(MarketOrderRequest(symbol="SPY", qty=1, side="buy",
                                           time_in_force="day", client_order_id="keep-1"))
    # the replay goes on from where it stopped: a new order fills at the next bar's open
    m = c2.submit_order(MarketOrderRequest(symbol="SPY", qty=1, side="sell", time_in_force="day"))
    v2.advance(until=v2.timeline.hours.open + 2 * NS_MIN)
    bar = Lake(v2.cfg.lake).bars("SPY", SESSION, SESSION).filter(
        pl.col("ts") == v2.timeline.hours.open + NS_MIN).row(0, named=True)
    fill = c2.get_order_by_id(m.id)
    assert fill.status == "filled"
    assert float(fill.filled_avg_price) == pytest.approx(bar["open"] * (1 - 1e-4), rel=1e-12)
    assert c2.get_order_by_id(rest.id).status == "new"  # still resting, with its id


def test_state_file_of_another_session_is_refused(make_venue, tmp_path, venue_lake):
    import datetime as dt

    state = tmp_path / "s.json"
    make_venue(state_path=state).persist()
    with pytest.raises(VenueConfigError, match="state file .* is for session 2024-01-03"):
        Venue(VenueConfig(lake=venue_lake, session=dt.date(2024, 1, 2), state_path=state))


def test_fw_venue_command(venue_lake):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "framework.cli.app", "venue", "--lake", str(venue_lake), "--step",
         "--fills", "quote", "--key", "k1", "--secret", "s1"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while not any(ln.startswith("Ctrl-C") for ln in lines):
            line = proc.stdout.readline()
            assert line, "fw venue exited: " + "".join(lines)
            lines.append(line)
        text = "".join(lines)
        assert "session 2024-01-03, 2 symbols (AAPL SPY), fills quote, lockstep" in text
        url = next(ln.split()[-1] for ln in lines if "trading REST" in ln)
        from alpaca.trading.client import TradingClient

        c = TradingClient("k1", "s1", url_override=url)
        assert c.get_account().status == "ACTIVE"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    with pytest.raises(VenueConfigError, match="--speed"):
        config_from_options(lake=venue_lake, speed=-1.0)
