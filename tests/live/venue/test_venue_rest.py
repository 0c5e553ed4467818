"""The venue's trading REST through alpaca-py's real TradingClient."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.models import TradeActivity
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetAssetsRequest,
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopOrderRequest,
)

from tests.live.venue.venue_testkit import NS_MIN, trade_updates, trading_client

UTC = dt.UTC


def _limit(sym="SPY", qty=1, side="buy", px=100.0, **kw):
    return LimitOrderRequest(symbol=sym, qty=qty, side=side, time_in_force="day",
                             limit_price=px, **kw)


def test_account_clock_calendar_assets(make_venue):
    v = make_venue(cash=50_000)
    c = trading_client(v)
    acct = c.get_account()
    assert acct.status == "ACTIVE" and float(acct.cash) == 50_000.0
    assert float(acct.equity) == 50_000.0 and float(acct.buying_power) == 100_000.0
    clock = c.get_clock()  # the replay starts at the session's open
    assert clock.timestamp == dt.datetime(2024, 1, 3, 14, 30, tzinfo=UTC)
    assert clock.is_open
    assert clock.next_close == dt.datetime(2024, 1, 3, 21, 0, tzinfo=UTC)
    assert clock.next_open == dt.datetime(2024, 1, 4, 14, 30, tzinfo=UTC)
    cal = c.get_calendar(GetCalendarRequest(start=dt.date(2023, 12, 29), end=dt.date(2024, 1, 5)))
    # 2024-01-01 is a holiday; New York times
    assert [d.date for d in cal] == [dt.date(2023, 12, 29), dt.date(2024, 1, 2),
                                     dt.date(2024, 1, 3), dt.date(2024, 1, 4),
                                     dt.date(2024, 1, 5)]
    assert cal[0].open == dt.datetime(2023, 12, 29, 9, 30) and cal[0].close.hour == 16
    assets = c.get_all_assets(GetAssetsRequest(status="active"))
    assert sorted(a.symbol for a in assets) == ["AAPL", "SPY"]
    spy = c.get_asset("SPY")
    assert spy.fractionable and spy.tradable and c.get_asset(str(spy.id)).symbol == "SPY"
    with pytest.raises(APIError) as err:
        c.get_asset("ZZZZ")
    assert err.value.status_code == 404


def test_order_lifecycle(make_venue):
    v = make_venue()
    c = trading_client(v)
    o = c.submit_order(_limit(px=400.0, client_order_id="rest-1"))
    assert o.status == OrderStatus.ACCEPTED and o.client_order_id == "rest-1"
    assert float(o.qty) == 1 and float(o.filled_qty) == 0 and float(o.limit_price) == 400.0
    got = c.get_order_by_id(o.id)
    assert got.status == OrderStatus.NEW  # working after the accept
    assert c.get_order_by_client_id("rest-1").id == o.id
    assert [x.id for x in c.get_orders()] == [o.id]
    new = c.replace_order_by_id(o.id, ReplaceOrderRequest(qty=2, limit_price=401.5))
    assert new.id != o.id and new.replaces == o.id and float(new.qty) == 2
    assert float(new.limit_price) == 401.5
    old = c.get_order_by_id(o.id)
    assert old.status == OrderStatus.REPLACED and old.replaced_by == new.id
    c.cancel_order_by_id(new.id)
    assert c.get_order_by_id(new.id).status == OrderStatus.CANCELED
    with pytest.raises(APIError) as err:  # not open any more
        c.cancel_order_by_id(new.id)
    assert err.value.status_code == 422
    with pytest.raises(APIError) as err:
        c.replace_order_by_id(new.id, ReplaceOrderRequest(qty=1))
    assert err.value.status_code == 422
    with pytest.raises(APIError) as err:
        c.get_order_by_id("7f1a2d2e-0000-4000-8000-000000000000")
    assert err.value.status_code == 404
    a = c.submit_order(_limit(px=300.0))
    b = c.submit_order(_limit(sym="AAPL", px=100.0))
    out = c.cancel_orders()
    assert sorted(str(r.id) for r in out) == sorted([str(a.id), str(b.id)])
    assert all(r.status == 200 for r in out)
    assert c.get_orders() == []
    closed = c.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED, limit=2,
                                           direction="asc"))
    assert [x.id for x in closed] == [o.id, new.id]
    assert len(c.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))) == 4
    aapl = c.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, symbols=["AAPL"]))
    assert [x.id for x in aapl] == [b.id]


@pytest.mark.parametrize("req, status, words", [
    (dict(qty=1, limit_price=101.123), 422, "sub-penny"),
    (dict(qty=1, limit_price=0.50001), 422, "sub-penny"),
    (dict(qty=1.5, limit_price=100.0, time_in_force="gtc"), 422, "fractional orders must be DAY"),
    (dict(qty=1, extended_hours=True, type="market"), 422, "extended hours"),
    (dict(notional=100.0, limit_price=100.0), 422, "notional orders must be market"),
    (dict(qty=1, limit_price=100.0, order_class="bracket"), 422, "not supported"),
    (dict(qty=1, type="trailing_stop"), 422, "not supported"),
    (dict(qty=1, limit_price=100.0, symbol="ZZZZ"), 422, "not found"),
    (dict(qty=1, limit_price=100.0, client_order_id="x" * 49), 422, "48 characters"),
    (dict(qty=1, type="stop"), 422, "stop_price is required"),
    (dict(qty=10_000, limit_price=400.0), 403, "insufficient buying power"),
])
def test_order_rules(make_venue, req, status, words):
    """Alpaca's submit rules, sent as raw JSON (alpaca-py would refuse some client-side)."""
    v = make_venue()
    body = {"symbol": "SPY", "side": "buy", "type": "limit", "time_in_force": "day", **req}
    r = requests.post(v.urls.trading + "/v2/orders", json=body, timeout=10,
                      headers={"APCA-API-KEY-ID": v.cfg.key_id,
                               "APCA-API-SECRET-KEY": v.cfg.secret_key})
    assert r.status_code == status, r.text
    assert words in r.json()["message"] and isinstance(r.json()["code"], int)


def test_rules_through_alpaca_py(make_venue):
    v = make_venue()
    c = trading_client(v)
    c.submit_order(_limit(px=0.5001, client_order_id="dup"))  # 4 decimals below $1: fine
    with pytest.raises(APIError) as err:
        c.submit_order(_limit(px=400.0, client_order_id="dup"))
    assert err.value.status_code == 422 and "unique" in err.value.message
    frac = c.submit_order(_limit(qty=1.5, px=400.0))  # fractional DAY: fine
    assert float(frac.qty) == 1.5
    with pytest.raises(APIError) as err:  # could cross our own resting buy at 400
        c.submit_order(_limit(side="sell", px=399.0))
    assert err.value.status_code == 403 and "wash trade" in err.value.message
    c.submit_order(_limit(side="sell", px=480.0))  # does not cross: fine
    c.submit_order(StopOrderRequest(symbol="SPY", qty=1, side="sell", stop_price=300.0,
                                    time_in_force="gtc"))
    bad = trading_client(v)
    bad._api_key = "wrong"
    with pytest.raises(APIError) as err:
        bad.get_account()
    assert err.value.status_code == 401


def test_rate_limit_429_with_headers(make_venue):
    v = make_venue(rate_limit=5)
    hdr = {"APCA-API-KEY-ID": v.cfg.key_id, "APCA-API-SECRET-KEY": v.cfg.secret_key}
    seen = []
    for _ in range(5):
        r = requests.get(v.urls.trading + "/v2/clock", headers=hdr, timeout=10)
        assert r.status_code == 200
        seen.append(int(r.headers["X-RateLimit-Remaining"]))
        assert r.headers["X-RateLimit-Limit"] == "5"
    assert seen == [4, 3, 2, 1, 0]
    r = requests.get(v.urls.trading + "/v2/clock", headers=hdr, timeout=10)
    assert r.status_code == 429 and r.headers["X-RateLimit-Remaining"] == "0"
    reset = int(r.headers["X-RateLimit-Reset"])
    assert 0 < reset - dt.datetime.now(UTC).timestamp() <= 61
    with pytest.raises(APIError) as err:  # alpaca-py surfaces it once retries are spent
        trading_client(v).get_clock()
    assert err.value.status_code == 429
    # the control plane is not rate limited
    assert requests.get(v.urls.control + "/state", timeout=10).status_code == 200


def test_positions_close_and_fill_activities(make_venue, venue_lake):
    v = make_venue(fills="bar")
    c = trading_client(v)
    tu = trade_updates(v)
    buy = c.submit_order(MarketOrderRequest(symbol="SPY", qty=10, side="buy",
                                            time_in_force="day"))
    c.submit_order(MarketOrderRequest(symbol="AAPL", qty=4, side="sell", time_in_force="day"))
    v.advance(until=v.timeline.hours.open + NS_MIN)  # the 09:30 bars complete
    assert c.get_order_by_id(buy.id).status == OrderStatus.FILLED
    for call in (lambda: c.cancel_order_by_id(buy.id),
                 lambda: c.replace_order_by_id(buy.id, ReplaceOrderRequest(qty=1))):
        with pytest.raises(APIError) as err:  # a filled order can be neither
            call()
        assert err.value.status_code == 422 and "filled" in err.value.message
    pos = {p.symbol: p for p in c.get_all_positions()}
    assert float(pos["SPY"].qty) == 10 and pos["SPY"].side == "long"
    assert float(pos["AAPL"].qty) == -4 and pos["AAPL"].side == "short"
    assert c.get_open_position("SPY").symbol == "SPY"
    part = c.close_position("SPY", ClosePositionRequest(qty="3"))
    assert part.side == OrderSide.SELL and float(part.qty) == 3
    v.advance(until=v.timeline.hours.open + 2 * NS_MIN)
    assert float(c.get_open_position("SPY").qty) == 7
    out = c.close_all_positions(cancel_orders=True)
    assert sorted(r.symbol for r in out) == ["AAPL", "SPY"] and all(r.status == 200 for r in out)
    v.advance(until=v.timeline.hours.open + 3 * NS_MIN)
    assert c.get_all_positions() == []
    with pytest.raises(APIError) as err:
        c.get_open_position("SPY")
    assert err.value.status_code == 404
    raw = c.get("/account/activities/FILL", {"direction": "asc"})
    acts = [TradeActivity(**a) for a in raw]
    # bars of one instant fill in symbol order (AAPL, SPY)
    assert [(a.symbol, a.side, a.qty) for a in acts] == [
        ("AAPL", "sell", 4), ("SPY", "buy", 10), ("SPY", "sell", 3), ("AAPL", "buy", 4),
        ("SPY", "sell", 7)]
    fills = [u for u in tu.wait(10) if u.event in ("fill", "partial_fill")]
    assert [str(u.execution_id) for u in fills] == [a["execution_id"] for a in raw]
    assert [a.id.split("::")[1] for a in acts] == [a["execution_id"] for a in raw]
    page = c.get("/account/activities", {"activity_types": "FILL", "page_size": 2})
    nxt = c.get("/account/activities", {"activity_types": "FILL", "page_size": 2,
                                        "page_token": page[-1]["id"]})
    assert [a["id"] for a in page + nxt] == [a["id"] for a in raw[::-1]][:4]
    tu.stop()


def test_session_close_expires_day_orders_and_queues_later_ones(make_venue):
    v = make_venue()
    c = trading_client(v)
    day = c.submit_order(_limit(px=300.0))
    gtc = c.submit_order(LimitOrderRequest(symbol="SPY", qty=1, side="buy", limit_price=300.0,
                                           time_in_force=TimeInForce.GTC))
    v.advance(until=v.timeline.hours.close)
    assert not c.get_clock().is_open
    assert c.get_order_by_id(day.id).status == OrderStatus.EXPIRED
    assert c.get_order_by_id(gtc.id).status == OrderStatus.NEW
    late = c.submit_order(_limit(px=300.0))  # market closed: accepted, queued
    assert c.get_order_by_id(late.id).status == OrderStatus.ACCEPTED
    with pytest.raises(APIError) as err:  # not replaceable until it works
        c.replace_order_by_id(late.id, ReplaceOrderRequest(limit_price=301.0))
    assert err.value.status_code == 422
    st = v.advance(steps=10 ** 6)  # to the end of the data and of the session
    assert st["ended"] and st["clock"] == v.timeline.hours.ext_close
    clock = c.get_clock()  # 20:00 New York
    assert clock.timestamp == dt.datetime(2024, 1, 4, 1, 0, tzinfo=UTC) and not clock.is_open
    assert clock.next_open == dt.datetime(2024, 1, 4, 14, 30, tzinfo=UTC)
