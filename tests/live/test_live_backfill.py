"""Bars missed across a market-data reconnect are fetched back: ``fw venue`` serves
Alpaca's ``GET /v2/stocks/bars`` (only what it has published), and a session whose data
socket is dropped twice mid-session still sees every bar -- the run equals the backtest."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests
from alpaca.data.enums import DataFeed
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame

from live.adapter.clients import Endpoint, data_client
from live.adapter.messages import ns_of
from live.journal import Journal
from live.runner import run_live
from tests.live.conftest import (
    ROOT,
    SESSION,
    SMA,
    assert_same_run,
    backtest,
    session_overrides,
)

TOML = ROOT / "strategies" / "sma_cross.toml"


def test_the_venue_serves_the_bars_it_has_published(small_lake, live_venue, tmp_path):
    venue = live_venue("sma_cross", session_overrides(SMA, tmp_path), small_lake)
    url, headers = venue.urls.trading, {"APCA-API-KEY-ID": venue.cfg.key_id,
                                        "APCA-API-SECRET-KEY": venue.cfg.secret_key}
    first = requests.get(f"{url}/v2/stocks/bars", headers=headers, timeout=10,
                         params={"symbols": "SPY", "timeframe": "1Min"}).json()
    assert first == {"bars": {}, "next_page_token": None}  # nothing played yet
    until = dt.datetime.combine(SESSION, dt.time(15, 0), dt.UTC)  # 10:00 New York
    r = requests.post(f"{venue.urls.control}/advance", timeout=10,
                      json={"until": int(until.timestamp()) * 1_000_000_000})
    clock = r.json()["clock"]
    ep = Endpoint(url, None, None, venue.cfg.key_id, venue.cfg.secret_key)
    got = data_client(ep).get_stock_bars(StockBarsRequest(
        symbol_or_symbols=["SPY", "QQQ"], timeframe=TimeFrame.Minute, feed=DataFeed.IEX))
    assert set(got) == {"SPY", "QQQ"}
    spy = [ns_of(b["t"]) for b in got["SPY"]]
    assert spy == sorted(spy) and len(spy) == 30  # 09:30 .. 09:59
    assert max(spy) + 60_000_000_000 <= clock  # a bar is served once it has ended
    # pages of 3 across symbols, in symbol order then time: the same bars
    pages, token = [], None
    while True:
        q = {"symbols": "SPY,QQQ", "timeframe": "1Min", "limit": 3}
        if token:
            q["page_token"] = token
        body = requests.get(f"{url}/v2/stocks/bars", headers=headers, params=q,
                            timeout=10).json()
        pages += [(s, b["t"]) for s, bars in body["bars"].items() for b in bars]
        token = body["next_page_token"]
        if token is None:
            break
    assert pages == [(s, b["t"]) for s in ("SPY", "QQQ") for b in got[s]]
    bad = requests.get(f"{url}/v2/stocks/bars", headers=headers, timeout=10,
                       params={"symbols": "SPY", "timeframe": "1Day"})
    assert bad.status_code == 422 and "1Min" in bad.json()["message"]


@pytest.mark.slow
def test_a_dropped_data_socket_loses_no_bar(small_lake, live_venue, tmp_path):
    ov = session_overrides(SMA, tmp_path)
    bt = backtest("sma_cross", ov, small_lake)
    venue = live_venue("sma_cross", ov, small_lake)

    def drop_at(step: int) -> None:
        if step in (60, 200):
            venue.fault(kind="drop", stream="market_data")

    run = run_live(TOML, ov, lake=small_lake, venue_url=venue.urls.trading,
                   force_reason="test", on_start=lambda s: s.step_hooks.append(drop_at))
    assert_same_run(run.result, bt)
    st = run.session.stats
    assert st.backfilled_bars > 0 and st.late_bars == 0
    assert run.session.data_stream.connects == 3  # the first connect, one per drop
    bars = Journal(run.out_dir / "journal.sqlite", create=False).bars()
    published = venue.timeline.played().bars
    assert len(bars) == len(published) == st.bars  # every bar the venue published, once
    summary = json.loads((run.out_dir / "live.json").read_text())
    assert summary["backfilled_bars"] == st.backfilled_bars
