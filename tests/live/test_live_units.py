"""The adapter's small rules, each against hand-worked values or the local venue through
alpaca-py's real TradingClient: prices on the tick, the order body, client order ids,
the journal's idempotence, the token bucket, and the gateway's four outcomes."""

from __future__ import annotations

import math
import re
import time

import numpy as np
import pytest

from framework.execution.sizing import SIZE_SHARES, SIZE_VALUE
from framework.execution.state import PLAN_DTYPE
from framework.execution.ticks import on_tick
from framework.types import ORDER_DTYPE
from framework.types.codes import OrderType, TimeInForce
from live.adapter.gateway import order_body
from live.adapter.ratelimit import TokenBucket
from live.journal import Journal, client_order_id
from tests.live.conftest import trading_gateway


@pytest.mark.parametrize(("px", "side", "stop", "want"), [
    (101.2345, 1, False, 101.23),  # buy limit: down
    (101.2345, -1, False, 101.24),  # sell limit: up
    (101.2301, 1, True, 101.24),  # buy stop: up
    (101.2399, -1, True, 101.23),  # sell stop: down
    (101.25, 1, False, 101.25),  # on the tick: unchanged
    (0.123456, 1, False, 0.1234),  # below $1: 4 decimals
    (0.123456, -1, False, 0.1235),
])
def test_prices_go_on_the_tick_never_more_aggressive(px, side, stop, want):
    assert on_tick(px, side, stop) == want
    assert math.isnan(on_tick(float("nan"), 1, False))


def _order(otype, tif, qty, limit=np.nan, stop=np.nan, side=1):
    o = np.zeros(1, ORDER_DTYPE)[0]
    o["side"], o["type"], o["tif"], o["qty"] = side, otype, tif, qty
    o["limit_price"], o["stop_price"] = limit, stop
    return o


def _plan(mode=SIZE_SHARES, amount=np.nan):
    p = np.zeros(1, PLAN_DTYPE)[0]
    p["size_mode"], p["amount"] = mode, amount
    return p


def test_order_body():
    body = order_body(_order(OrderType.MARKET, TimeInForce.DAY, 41.5),
                      _plan(SIZE_VALUE, 19968.94444079838), "SPY", "c1")
    assert body == {"symbol": "SPY", "side": "buy", "type": "market", "time_in_force": "day",
                    "client_order_id": "c1", "notional": 19968.94444079838}
    body = order_body(_order(OrderType.STOP, TimeInForce.GTC, 2.5, stop=99.5, side=-1),
                      _plan(), "QQQ", "c2")
    assert body["time_in_force"] == "day"  # fractional: DAY only (Alpaca)
    assert body["qty"] == 2.5 and body["stop_price"] == 99.5 and body["side"] == "sell"
    body = order_body(_order(OrderType.LIMIT, TimeInForce.GTC, 3.0, limit=10.01),
                      _plan(), "QQQ", "c3")
    assert body["time_in_force"] == "gtc" and body["limit_price"] == 10.01
    assert "stop_price" not in body


def test_client_order_ids_are_deterministic_and_alpaca_valid():
    a = client_order_id("run-1", 1704724440000000000, "SPY", 17)
    assert a == client_order_id("run-1", 1704724440000000000, "SPY", 17)
    assert a != client_order_id("run-1", 1704724440000000000, "SPY", 18)
    assert a != client_order_id("run-2", 1704724440000000000, "SPY", 17)
    assert len(a) <= 48 and re.fullmatch(r"[A-Za-z0-9_-]+", a)


def test_journal_is_idempotent_and_durable(tmp_path):
    j = Journal(tmp_path / "journal.sqlite")
    assert j.intend("c1", 0, "submit", {"symbol": "SPY"}, 5)
    assert not j.intend("c1", 0, "submit", {"symbol": "SPY"}, 5)
    assert j.add_event("exec-1", "c1", "fill", 7, 0, 2.0, 10.0)
    assert not j.add_event("exec-1", "c1", "fill", 7, 0, 2.0, 10.0)  # duplicate update
    bars = np.zeros(2, j.bars().dtype)
    bars["ts"], bars["close"] = (1, 2), (10.5, 11.25)
    j.add_bars(bars)
    j.resolve("c1", "confirmed", "id-1", "new")
    j.close()
    again = Journal(tmp_path / "journal.sqlite", create=False)
    assert again.filled_qty("c1") == 2.0
    assert again.intent("c1").outcome == "confirmed"
    np.testing.assert_array_equal(again.bars(), bars)
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_token_bucket_takes_the_brokers_headers_and_waits_for_the_reset():
    b = TokenBucket(limit=200)
    b.update({"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0",
              "X-RateLimit-Reset": str(time.time() + 0.3)})
    t = time.monotonic()
    b.acquire()
    assert 0.2 < time.monotonic() - t < 2.0
    assert b.remaining == 199


@pytest.mark.parametrize("bad", [
    {"X-RateLimit-Remaining": "lots", "X-RateLimit-Reset": "1"},
    {"X-RateLimit-Limit": "nan", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"},
    {"X-RateLimit-Remaining": "-3", "X-RateLimit-Reset": "1"},
    {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "inf"},
    {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "99999999999"},  # year 5138
], ids=["word", "nan", "negative", "inf", "far_reset"])
def test_token_bucket_skips_malformed_headers_by_name(bad, caplog):
    b = TokenBucket(limit=200)
    before = (b.limit, b.remaining, b.reset_at)
    b.update(bad)
    assert (b.limit, b.remaining, b.reset_at) == before
    assert "rate-limit headers skipped" in caplog.text and "X-RateLimit-Reset" in caplog.text
    t = time.monotonic()
    b.acquire()  # the bucket neither raises nor stalls
    assert time.monotonic() - t < 0.5 and b.remaining == 199


@pytest.fixture
def gateway(make_venue, tmp_path):
    venue = make_venue(rate_window_s=0.5)
    _, gw = trading_gateway(venue, tmp_path / "j.sqlite", timeout_s=0.3)
    return venue, gw


def _send(gw, cid, qty=1.0, **kw):
    body = {"symbol": "SPY", "side": "buy", "type": "market", "time_in_force": "day",
            "qty": qty, "client_order_id": cid, **kw}
    assert gw.prepare(0, body, 0)
    gw.journal.commit()
    return gw.send(body)


def test_gateway_outcomes(gateway):
    venue, gw = gateway
    assert _send(gw, "ok-1").outcome == "confirmed"
    # the reply never comes, the order exists: resolved by client order id, not resent
    venue.fault(kind="order_timeout", count=1, seconds=1.0)
    out = _send(gw, "timeout-1")
    assert out.outcome == "confirmed" and out.order["client_order_id"] == "timeout-1"
    assert "Timeout" in gw.journal.db.execute(
        "SELECT detail FROM intents WHERE cid='timeout-1'").fetchone()[0]
    # a 5xx before the venue took it: looked up, not there -> rejected, never resent
    venue.fault(kind="http", status=503, count=1, method="POST", path="/v2/orders")
    assert _send(gw, "5xx-1").outcome == "rejected"
    # 429: not processed; waits for the window the headers name and goes again
    venue.fault(kind="http", status=429, count=1, method="POST", path="/v2/orders")
    assert _send(gw, "429-1").outcome == "confirmed"
    # the broker refuses: 403 buying power -> rejected
    assert _send(gw, "big-1", qty=1e7).outcome == "rejected"
    # blocked (kill switch / failed reconciliation): denied, never sent
    gw.blocked = "test"
    assert _send(gw, "blocked-1").outcome == "denied"
    cids = sorted(o.client_order_id for o in venue.core.orders.values())
    assert cids == ["429-1", "ok-1", "timeout-1"]
