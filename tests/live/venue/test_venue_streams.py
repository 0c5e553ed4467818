"""The two WebSockets: handshakes on the raw wire, and alpaca-py's real TradingStream and
StockDataStream receiving order events and the replayed session."""

from __future__ import annotations

import asyncio
import json
import uuid

import msgpack
import numpy as np
import polars as pl
import pytest
from alpaca.data.live.stock import StockDataStream
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest, ReplaceOrderRequest
from alpaca.trading.stream import TradingStream
from websockets.sync.client import connect

from framework.data import Lake
from tests.live.venue.conftest import SESSION
from tests.live.venue.venue_testkit import (
    NS_MIN,
    market_data,
    trade_updates,
    trading_client,
    wait_for,
)

MSGPACK = {"Content-Type": "application/msgpack"}


def _ns(dt_) -> int:
    return int(dt_.timestamp() * 1e6) * 1000


def test_trade_stream_handshake_on_the_wire(make_venue):
    v = make_venue()
    with connect(v.urls.trading_stream) as ws:  # listen before auth is refused
        ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        assert json.loads(ws.recv()) == {"stream": "authorization", "data": {
            "status": "unauthorized", "action": "listen"}}
        ws.send(json.dumps({"action": "authenticate", "data": {"key_id": "x", "secret_key": "y"}}))
        assert json.loads(ws.recv())["data"]["status"] == "unauthorized"
        ws.send(json.dumps({"action": "authenticate", "data": {
            "key_id": v.cfg.key_id, "secret_key": v.cfg.secret_key}}))
        reply = ws.recv()
        assert isinstance(reply, bytes)  # JSON in binary frames, as Alpaca paper sends it
        assert json.loads(reply) == {"stream": "authorization", "data": {
            "status": "authorized", "action": "authenticate"}}
        ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        assert json.loads(ws.recv()) == {"stream": "listening",
                                         "data": {"streams": ["trade_updates"]}}
        # one trade_updates connection per account
        with connect(v.urls.trading_stream, additional_headers=MSGPACK) as ws2:
            ws2.send(msgpack.packb({"action": "authenticate", "data": {
                "key_id": v.cfg.key_id, "secret_key": v.cfg.secret_key}}))
            r = msgpack.unpackb(ws2.recv())  # msgpack when asked for it
            assert r["data"]["status"] == "unauthorized" and r["data"]["code"] == 406
        second = TradingStream(v.cfg.key_id, v.cfg.secret_key, url_override=v.urls.trading_stream)
        with pytest.raises(ValueError, match="failed to authenticate"):
            asyncio.run(second._start_ws())
        trading_client(v).submit_order(LimitOrderRequest(
            symbol="SPY", qty=1, side="buy", limit_price=300.0, time_in_force="day"))
        msg = json.loads(ws.recv())
        assert msg["stream"] == "trade_updates" and msg["data"]["event"] == "new"
        assert msg["data"]["order"]["status"] == "new" and msg["data"]["timestamp"]


def test_market_data_handshake_on_the_wire(make_venue):
    v = make_venue()
    with connect(v.urls.data_stream, additional_headers=MSGPACK) as ws:
        assert msgpack.unpackb(ws.recv()) == [{"T": "success", "msg": "connected"}]
        ws.send(msgpack.packb({"action": "subscribe", "bars": ["SPY"]}))
        assert msgpack.unpackb(ws.recv()) == [{"T": "error", "code": 401,
                                               "msg": "not authenticated"}]
        ws.send(msgpack.packb({"action": "auth", "key": "x", "secret": "y"}))
        assert msgpack.unpackb(ws.recv())[0]["code"] == 402
        ws.send(msgpack.packb({"action": "auth", "key": v.cfg.key_id, "secret": v.cfg.secret_key}))
        assert msgpack.unpackb(ws.recv()) == [{"T": "success", "msg": "authenticated"}]
        ws.send(msgpack.packb({"action": "subscribe", "trades": ["spy"], "bars": ["*"]}))
        sub = msgpack.unpackb(ws.recv())[0]
        assert sub["T"] == "subscription" and sub["trades"] == ["SPY"] and sub["bars"] == ["*"]
        assert sub["corrections"] == ["SPY"] and sub["cancelErrors"] == ["SPY"]
        ws.send(msgpack.packb({"action": "unsubscribe", "bars": ["*"]}))
        assert msgpack.unpackb(ws.recv())[0]["bars"] == []
        # a second connection of the account: 406, then closed
        with connect(v.urls.data_stream) as ws2:  # JSON text without the msgpack header
            assert json.loads(ws2.recv()) == [{"T": "success", "msg": "connected"}]
            ws2.send(json.dumps({"action": "auth", "key": v.cfg.key_id,
                                 "secret": v.cfg.secret_key}))
            assert json.loads(ws2.recv()) == [{"T": "error", "code": 406,
                                               "msg": "connection limit exceeded"}]
        second = StockDataStream(v.cfg.key_id, v.cfg.secret_key, url_override=v.urls.data_stream)
        with pytest.raises(ValueError, match="connection limit exceeded"):
            asyncio.run(second._start_ws())
        v.advance(until=v.timeline.hours.open + NS_MIN // 10)
        frame = msgpack.unpackb(ws.recv())  # data: an array of trades of SPY
        assert frame and all(m["T"] == "t" and m["S"] == "SPY" for m in frame)
        assert isinstance(frame[0]["t"], msgpack.Timestamp)


def test_order_events_through_trading_stream(make_venue):
    v = make_venue(fills="bar", participation=0.01)  # 1% of bar volume: partial fills
    c = trading_client(v)
    tu = trade_updates(v)
    big = c.submit_order(MarketOrderRequest(symbol="SPY", qty=5, side="buy",
                                            time_in_force="day"))
    rest = c.submit_order(LimitOrderRequest(symbol="AAPL", qty=2, side="buy", limit_price=100.0,
                                            time_in_force="gtc"))
    new = c.replace_order_by_id(rest.id, ReplaceOrderRequest(limit_price=101.0))
    c.cancel_order_by_id(new.id)
    v.advance(until=v.timeline.hours.open + 4 * NS_MIN)
    ups = tu.wait(7)
    mine = [(u.event, u.order.id) for u in ups]
    assert mine[:6] == [("new", big.id), ("new", rest.id), ("replaced", rest.id),
                        ("new", new.id), ("canceled", new.id),
                        ("partial_fill", big.id)]
    fills = [u for u in ups if u.order.id == big.id and u.event in ("fill", "partial_fill")]
    bars = Lake(v.cfg.lake).bars("SPY", SESSION, SESSION)
    # each fill takes 1% of its bar's volume, until the 5 shares are done
    caps = (bars["volume"].to_numpy()[:len(fills)] * 0.01).tolist()
    assert [u.qty for u in fills[:-1]] == pytest.approx(caps[:-1])
    assert sum(u.qty for u in fills) == pytest.approx(5.0)
    assert [u.event for u in fills] == ["partial_fill"] * (len(fills) - 1) + ["fill"]
    assert [u.position_qty for u in fills] == pytest.approx(np.cumsum([u.qty for u in fills]))
    assert len({u.execution_id for u in fills}) == len(fills)
    assert all(isinstance(u.execution_id, uuid.UUID) for u in fills)
    assert fills[-1].order.status == "filled" and float(fills[-1].order.filled_qty) == 5
    assert fills[0].timestamp.timestamp() * 1e9 == pytest.approx(v.timeline.hours.open)
    tu.stop()


def test_market_data_through_stock_data_stream(make_venue):
    v = make_venue()
    md = market_data(v, bars=["SPY"], quotes=["AAPL"], trades=["SPY"])
    until = v.timeline.hours.open + 2 * NS_MIN
    v.advance(until=until)
    lake = Lake(v.cfg.lake)
    o = v.timeline.hours.open
    bars = lake.bars("SPY", SESSION, SESSION).filter(pl.col("ts") + NS_MIN <= until)
    quotes = lake.quotes("AAPL", o, until + 1)
    trades = lake.trades("SPY", o, until + 1)
    n = bars.height + quotes.height + trades.height
    items = md.wait(n)
    wait_for(lambda: len(md.items) == n, what="exactly the session's messages")
    got_bars = [x for x in items if type(x).__name__ == "Bar"]
    got_quotes = [x for x in items if type(x).__name__ == "Quote"]
    got_trades = [x for x in items if type(x).__name__ == "Trade"]
    assert [b.open for b in got_bars] == bars["open"].to_list()
    assert [b.volume for b in got_bars] == bars["volume"].to_list()
    assert [b.vwap for b in got_bars] == bars["vwap"].to_list()
    assert [_ns(b.timestamp) for b in got_bars] == [t // 1000 * 1000 for t in bars["ts"]]
    assert [q.ask_price for q in got_quotes] == quotes["ask"].to_list()
    assert [q.bid_size for q in got_quotes] == quotes["bid_size"].to_list()
    assert [_ns(q.timestamp) for q in got_quotes] == [t // 1000 * 1000 for t in quotes["ts"]]
    assert [t.price for t in got_trades] == trades["price"].to_list()
    assert all(x.symbol == "SPY" for x in got_bars + got_trades)
    md.stop()
