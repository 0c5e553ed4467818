"""The local venue's exporter and event log (``metrics_port``, ``log_dir``), driven through
alpaca-py's real clients: requests by route template and code, 429s by source,
connections, faults, orders and fills, one JSON line per order state change."""

from __future__ import annotations

import urllib.request

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import MarketOrderRequest
from prometheus_client.parser import text_string_to_metric_families

from framework.monitoring import read_events
from tests.live.venue.venue_testkit import NS_MIN, trade_updates, trading_client, wait_for


def scrape(url: str) -> dict[tuple, float]:
    """``{(name, (label pairs)): value}`` of one scrape, parsed by prometheus-client."""
    text = urllib.request.urlopen(url).read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_venue_exports_requests_connections_faults_and_fills(make_venue, tmp_path):
    v = make_venue(metrics_port=0, log_dir=tmp_path)
    assert v.urls.metrics.endswith("/metrics")
    c = trading_client(v)
    tu = trade_updates(v)
    od = c.submit_order(MarketOrderRequest(symbol="SPY", qty=3, side="buy", time_in_force="day",
                                           client_order_id="m-1"))
    c.get_order_by_id(od.id)
    with pytest.raises(APIError):  # 422: a fractional order must be DAY
        c.submit_order(MarketOrderRequest(symbol="SPY", qty=0.5, side="buy",
                                          time_in_force="gtc"))
    with pytest.raises(APIError):  # 401
        TradingClient("bad", "keys", url_override=v.urls.trading).get_account()
    v.fault(kind="http", status=429, count=1, path="/v2/account")
    with pytest.raises(APIError):  # the injected 429
        c.get_account()
    v.advance(until=v.timeline.hours.open + 2 * NS_MIN)  # opens, then fills at a bar's open
    tu.wait(2)
    m = scrape(v.urls.metrics)

    def val(name, **labels):
        return m.get((name, tuple(sorted(labels.items()))))

    req = "fw_venue_http_requests_total"
    assert val(req, method="POST", endpoint="/v2/orders", code="200") == 1
    assert val(req, method="POST", endpoint="/v2/orders", code="422") == 1
    assert val(req, method="GET", endpoint="/v2/orders/{id}", code="200") == 1
    assert val(req, method="GET", endpoint="/v2/account", code="401") == 1
    assert val(req, method="GET", endpoint="/v2/account", code="429") == 1
    assert val("fw_venue_rate_limited_total", source="fault") == 1
    assert val("fw_venue_rate_limited_total", source="limit") == 0
    assert val("fw_venue_faults_injected_total", kind="http") == 1
    assert val("fw_venue_orders_accepted_total") == 1
    assert val("fw_venue_trade_updates_total", event="new") == 1
    assert val("fw_venue_trade_updates_total", event="fill") == 1
    assert val("fw_venue_filled_shares_total", side="buy") == 3
    assert val("fw_venue_connections_total", stream="trade_updates") == 1
    assert val("fw_venue_open_connections", stream="trade_updates") == 1
    assert val("fw_venue_open_connections", stream="market_data") == 0
    assert val("fw_venue_clock_timestamp_seconds") == (v.timeline.hours.open + 2 * NS_MIN) / 1e9
    assert val("fw_venue_replay_steps_done") == v.state()["steps_done"] > 0
    assert val("fw_venue_info", session="2024-01-03", fills="bar", speed="0") == 1
    tu.stop()
    wait_for(lambda: scrape(v.urls.metrics)[("fw_venue_open_connections",
                                             (("stream", "trade_updates"),))] == 0,
             what="connection closed")
    v.stop()

    ev = read_events(tmp_path / "events.jsonl")
    orders = [(e["client_order_id"], e["state"]) for e in ev if e["event"] == "order"]
    assert orders == [("m-1", "new"), ("m-1", "fill")]
    fill = next(e for e in ev if e.get("state") == "fill")
    assert fill["order_id"] == str(od.id) and fill["fill_qty"] == "3" and fill["execution_id"]
    kinds = [e["event"] for e in ev]
    assert kinds.count("connection") == 2 and "fault_injected" in kinds
    assert next(e for e in ev if e["event"] == "rate_limited")["injected"] is True
    assert {e["component"] for e in ev} == {"venue"} and len({e["run_id"] for e in ev}) == 1


def test_venue_without_monitoring_serves_no_metrics(make_venue):
    v = make_venue()
    assert v.urls.metrics is None and v.metrics is None
