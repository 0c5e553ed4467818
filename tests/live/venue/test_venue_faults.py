"""Scripted faults, seen through alpaca-py's real clients: dropped and silent sockets,
429/5xx bursts, delayed / duplicated / reordered trade updates, an order booked whose
reply never comes."""

from __future__ import annotations

import time

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

from live.venue.orders import ApiError
from tests.live.venue.venue_testkit import (
    NS_MIN,
    market_data,
    trade_updates,
    trading_client,
    wait_for,
)


def _rest(c, px=300.0, **kw):
    return c.submit_order(LimitOrderRequest(symbol="SPY", qty=1, side="buy", limit_price=px,
                                            time_in_force="day", **kw))


def test_dropped_trade_socket_is_reconnected_by_the_client(make_venue):
    v = make_venue()
    c = trading_client(v)
    tu = trade_updates(v)
    _rest(c)
    tu.wait(1)
    v.fault(kind="drop", stream="trade_updates")
    wait_for(lambda: v.state()["streams"]["trade_updates"] is None, what="socket gone")
    # alpaca-py reconnects (after its back-off) and listens again: the slot was freed
    wait_for(lambda: (v.state()["streams"]["trade_updates"] or {}).get("listening"),
             timeout=15, what="reconnect")
    _rest(c, px=301.0)
    assert [u.event for u in tu.wait(2)] == ["new", "new"]
    tu.stop()


def test_silent_sockets_stay_open_and_lose_what_they_would_have_sent(make_venue):
    v = make_venue()
    c = trading_client(v)
    tu = trade_updates(v)
    md = market_data(v, bars=["SPY"])
    v.fault(kind="silence", stream="market_data", seconds=None)
    v.fault(kind="silence", stream="trade_updates", seconds=None)
    o = c.submit_order(MarketOrderRequest(symbol="SPY", qty=1, side="buy", time_in_force="day"))
    v.advance(until=v.timeline.hours.open + 3 * NS_MIN)
    time.sleep(0.3)
    assert md.items == [] and tu.items == []
    st = v.state()["streams"]  # both sockets still connected
    assert st["trade_updates"]["listening"] and "iex" in st["market_data"]
    assert c.get_order_by_id(o.id).status == "filled"  # REST tells the truth
    v.clear_faults()
    v.advance(until=v.timeline.hours.open + 4 * NS_MIN)
    assert len(md.wait(1)) == 1  # the 09:33 bar; the three before are lost
    tu.stop()
    md.stop()


def test_a_drop_after_part_of_a_batch_loses_the_rest_in_flight(make_venue):
    v = make_venue()
    md = market_data(v, bars=["SPY", "AAPL"])
    v.fault(kind="drop", stream="market_data", after=1)  # acts at the next batch of bars
    assert "iex" in v.state()["streams"]["market_data"]
    v.advance(until=v.timeline.hours.open + NS_MIN)  # the 09:30 bars of both symbols
    wait_for(lambda: "iex" not in v.state()["streams"]["market_data"], what="socket gone")
    time.sleep(0.3)
    assert len(md.items) == 1  # the other symbol's 09:30 bar was lost in flight
    md.stop()
    for bad in ({"after": 0, "stream": "market_data"}, {"after": 2, "stream": "trade_updates"}):
        with pytest.raises(ApiError, match="after must be an integer >= 1"):
            v.fault(kind="drop", **bad)


def test_silence_for_some_seconds_then_data_again(make_venue):
    v = make_venue()
    md = market_data(v, bars=["SPY"])
    v.fault(kind="silence", stream="market_data", seconds=1.0)
    v.advance(until=v.timeline.hours.open + NS_MIN)
    time.sleep(1.1)
    v.advance(until=v.timeline.hours.open + 2 * NS_MIN)
    md.wait(1)
    assert [b.timestamp.minute for b in md.items] == [31]
    md.stop()


def test_http_bursts(make_venue):
    v = make_venue()
    c = trading_client(v, retry=3)
    v.fault(kind="http", status=504, count=2, method="GET", path="/v2/account")
    assert c.get_account().status == "ACTIVE"  # alpaca-py retried its way through
    v.fault(kind="http", status=429, count=4, path="/v2/clock")
    with pytest.raises(APIError) as err:  # 1 + 3 retries, all 429
        c.get_clock()
    assert err.value.status_code == 429
    v.fault(kind="http", status=500, count=1)
    with pytest.raises(APIError) as err:  # a 500 is not retried by alpaca-py
        c.get_clock()
    assert err.value.status_code == 500
    assert c.get_clock() is not None
    v.fault(kind="http", status=429, count=1)
    r = requests.get(v.urls.trading + "/v2/clock", timeout=10, headers={
        "APCA-API-KEY-ID": v.cfg.key_id, "APCA-API-SECRET-KEY": v.cfg.secret_key})
    assert r.status_code == 429 and r.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Reset" in r.headers and r.json()["message"] == "rate limit exceeded"
    v.fault(kind="http", status=429, count=1, seconds=30)  # a 429 naming its own window
    t = time.time()
    r = requests.get(v.urls.trading + "/v2/clock", timeout=10, headers={
        "APCA-API-KEY-ID": v.cfg.key_id, "APCA-API-SECRET-KEY": v.cfg.secret_key})
    assert r.status_code == 429 and t + 30 <= int(r.headers["X-RateLimit-Reset"]) <= t + 32
    with pytest.raises(ApiError):  # a bad spec is refused
        v.fault(kind="http", status=404)


def test_duplicated_delayed_and_reordered_trade_updates(make_venue):
    v = make_venue()
    c = trading_client(v)
    tu = trade_updates(v)
    v.fault(kind="duplicate", count=1)
    a = _rest(c, px=300.0)
    assert [(u.event, u.order.id) for u in tu.wait(2)] == [("new", a.id), ("new", a.id)]
    tu.items.clear()
    v.fault(kind="reorder", count=2)
    b = _rest(c, px=301.0)
    time.sleep(0.2)
    assert tu.items == []  # held until the second one
    c.cancel_order_by_id(b.id)
    assert [(u.event, u.order.id) for u in tu.wait(2)] == [("canceled", b.id), ("new", b.id)]
    tu.items.clear()
    v.fault(kind="delay", count=1, seconds=1.5)
    d = _rest(c, px=302.0)
    c.cancel_order_by_id(d.id)  # overtakes the delayed "new"
    assert [(u.event, u.order.id) for u in tu.wait(2)] == [("canceled", d.id), ("new", d.id)]
    tu.stop()


def test_order_booked_but_reply_lost(make_venue):
    v = make_venue()
    c = trading_client(v)
    v.fault(kind="order_timeout", count=1, seconds=0.2)
    with pytest.raises(requests.exceptions.ConnectionError):
        c.submit_order(MarketOrderRequest(symbol="SPY", qty=2, side="buy", time_in_force="day",
                                          client_order_id="ambiguous-1"))
    o = c.get_order_by_client_id("ambiguous-1")  # the venue has it: look it up, never resend
    assert o.status == "new"
    with pytest.raises(APIError) as err:  # a blind resend is refused
        c.submit_order(MarketOrderRequest(symbol="SPY", qty=2, side="buy", time_in_force="day",
                                          client_order_id="ambiguous-1"))
    assert err.value.status_code == 422
    v.advance(until=v.timeline.hours.open + NS_MIN)
    assert c.get_order_by_client_id("ambiguous-1").status == "filled"
    assert len(c.get_orders(filter=None)) == 0


def test_the_request_log_stamps_a_request_when_it_arrives(make_venue):
    """The chaos audit places each POST in the window of the client that sent it: a reply
    held 1.5 s (a kill fired mid-request looks the same) is logged at its arrival, not
    when the reply went out (an earlier run counted such a POST against the window of
    the client started meanwhile)."""
    v = make_venue()
    c = trading_client(v)
    v.fault(kind="order_timeout", count=1, seconds=1.5)
    t0 = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        c.submit_order(MarketOrderRequest(symbol="SPY", qty=1, side="buy", time_in_force="day",
                                          client_order_id="held-1"))
    assert time.monotonic() - t0 >= 1.5  # the reply was held
    (t,) = [r[0] for r in v.requests if r[1:3] == ("POST", "/v2/orders")]
    assert t0 <= t < t0 + 1.0


def test_faults_over_the_control_api(make_venue):
    v = make_venue()
    base = v.urls.control
    r = requests.post(base + "/faults", json=[{"kind": "duplicate", "count": 2},
                                              {"kind": "http", "status": 503, "count": 1}],
                      timeout=10)
    assert r.status_code == 200 and r.json()["duplicate"] == 2
    assert r.json()["http"] == [{"status": 503, "count": 1, "seconds": None, "method": None,
                                  "path": None}]
    assert requests.post(base + "/faults", json={"kind": "nope"}, timeout=10).status_code == 422
    assert requests.delete(base + "/faults", timeout=10).json()["duplicate"] == 0
    st = requests.post(base + "/advance", json={"steps": 3}, timeout=10).json()
    assert st["steps_done"] == 3
