"""SessionMetrics, its exporter and event log: values worked out by hand for a scripted
order life, drawdown, rolling Sharpe (against the stdlib and the batch form in
framework.analytics), fill ratio, reconciliation, risk state; the HTTP routes; the
docs' metric table equal to the catalog."""

from __future__ import annotations

import io
import json
import logging
import math
import statistics
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from framework.analytics.metrics import rolling_sharpe_vol
from framework.monitoring import (
    EventLog,
    MetricsServer,
    MetricsServerError,
    SessionMetrics,
    read_events,
)
from framework.monitoring.catalog import SESSION_METRICS, VENUE_METRICS, markdown_table
from framework.monitoring.eventlog import JsonLinesFormatter
from framework.monitoring.performance import TRADING_SECONDS_PER_YEAR, RollingSharpe
from framework.monitoring.status import bucket_quantile

ROOT = Path(__file__).resolve().parents[2]
S = 1_000_000_000  # ns per second


def value(m: SessionMetrics, name: str, **labels) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_an_order_life_counts_times_and_slippage(tmp_path):
    log = EventLog("live", "r1", tmp_path, stderr=False)
    m = SessionMetrics("r1", log=log)
    t0 = 1_700_000_000 * S
    rx = m.market_data("bar", event_ns=t0 - 5 * S, received_ns=t0)
    assert value(m, "fw_market_data_last_received_timestamp_seconds") == pytest.approx(1.7e9)
    assert value(m, "fw_market_data_last_event_timestamp_seconds") == pytest.approx(1.7e9 - 5)
    d = m.decision(rx, decided_ns=t0 + 150_000)  # 150 us: bucket (100 us, 250 us]
    m.order_sent("c1", "SPY", "buy", 100, type="limit", arrival_price=50.0, decided_ns=d,
                 sent_ns=d + 40_000)  # 40 us: bucket (25 us, 50 us]
    m.order_acked("c1", broker_id="b-1", acked_ns=d + 40_000 + 30_000_000)  # 30 ms
    ack = d + 40_000 + 30_000_000
    m.fill("c1", 60, 50.04, filled_ns=ack + 2 * S)  # 2 s after the ack; 8 bps worse
    assert value(m, "fw_working_orders") == 1
    m.fill("c1", 40, 50.00, filled_ns=ack + 3 * S)  # 0 bps; the order is complete

    def bucket(stage: str, le: str) -> float:
        return value(m, "fw_latency_seconds_bucket", stage=stage, le=le)

    assert (bucket("decision", "0.0001"), bucket("decision", "0.00025")) == (0, 1)
    assert (bucket("send", "2.5e-05"), bucket("send", "5e-05")) == (0, 1)
    assert (bucket("ack", "0.025"), bucket("ack", "0.05")) == (0, 1)
    assert (bucket("fill", "1.0"), bucket("fill", "2.5")) == (0, 1)  # first fill only
    assert value(m, "fw_latency_seconds_count", stage="fill") == 1
    assert value(m, "fw_slippage_bps_bucket", side="buy", le="5.0") == 1  # the 0 bps fill
    assert value(m, "fw_slippage_bps_bucket", side="buy", le="10.0") == 2
    assert value(m, "fw_slippage_bps_bucket", side="buy", le="0.0") == 1
    assert value(m, "fw_slippage_bps_count", side="buy") == 2  # no _sum: negative buckets
    assert value(m, "fw_orders_submitted_total", side="buy", type="limit") == 1
    assert value(m, "fw_orders_acked_total") == 1
    assert value(m, "fw_fills_total", side="buy") == 2
    assert value(m, "fw_filled_shares_total", side="buy") == 100
    assert value(m, "fw_orders_filled_total", side="buy") == 1
    assert value(m, "fw_fill_ratio") == 1.0 and value(m, "fw_working_orders") == 0

    m.order_sent("c2", "SPY", "sell", 10, sent_ns=t0)
    m.order_closed("c2", "canceled")  # nothing filled: 100 / 110
    assert value(m, "fw_orders_closed_total", status="canceled") == 1
    assert value(m, "fw_fill_ratio") == pytest.approx(100 / 110)
    m.order_sent("c3", "SPY", "buy", 5, sent_ns=t0)
    m.order_rejected("c3", "broker", detail="insufficient buying power")  # 100 / 115
    m.order_rejected(None, "max_order_qty", symbol="SPY")  # never left: not in the ratio
    assert value(m, "fw_fill_ratio") == pytest.approx(100 / 115)
    assert value(m, "fw_fill_ratio_orders") == 3
    assert value(m, "fw_orders_rejected_total", reason="broker") == 1
    assert value(m, "fw_orders_rejected_total", reason="max_order_qty") == 1
    assert value(m, "fw_orders_rejected_total", reason="kill_switch") == 0  # pre-created

    log.close()
    ev = read_events(tmp_path / "events.jsonl")
    orders = [(e["order_id"], e["state"]) for e in ev if e["event"] == "order"]
    assert orders == [("c1", "sent"), ("c1", "acked"), ("c1", "partially_filled"),
                      ("c1", "filled"), ("c2", "sent"), ("c2", "canceled"), ("c3", "sent")]
    rej = [e for e in ev if e["event"] == "order_rejected"]
    assert [(e["order_id"], e["reason"], e["level"]) for e in rej] == [
        ("c3", "broker", "warning"), (None, "max_order_qty", "warning")]
    first_fill = ev[2]
    assert first_fill["broker_id"] == "b-1" and first_fill["fill_price"] == 50.04
    for e in ev:
        assert {"ts", "ts_ns", "level", "component", "run_id", "event"} <= e.keys()
        assert e["component"] == "live" and e["run_id"] == "r1" and e["ts"].endswith("Z")


def test_equity_drawdown_and_limit():
    m = SessionMetrics("r", drawdown_limit=0.05)
    for eq in (100.0, 110.0, 99.0):
        m.mark(eq, cash=50.0, ts_ns=0)
    assert value(m, "fw_high_water_usd") == 110.0
    assert value(m, "fw_drawdown_ratio") == pytest.approx(0.1)  # 1 - 99/110
    m.mark(105.0, ts_ns=0)
    assert value(m, "fw_drawdown_ratio") == pytest.approx(1 - 105 / 110)
    assert value(m, "fw_drawdown_limit_ratio") == 0.05
    assert value(m, "fw_equity_usd") == 105.0 and value(m, "fw_cash_usd") == 50.0


def test_rolling_sharpe_by_hand_and_against_the_batch_form():
    # period ends: 100 -> 101 (+1 %), -> 99.99 (-1 %), -> 101.9898 (+2 %)
    rs = RollingSharpe(period_s=60, window=390)
    marks = [(10, 99.0), (50, 100.0), (70, 100.5), (119, 101.0), (130, 99.99),
             (200, 101.9898), (250, 50.0)]  # the last opens period 4: closes period 3
    for t, eq in marks:
        rs.update(t * S, eq)
    r = [0.01, -0.01, 0.02]
    assert list(rs.returns) == pytest.approx(r)
    ann = math.sqrt(252 * 6.5 * 3600 / 60)
    assert rs.value == pytest.approx(statistics.mean(r) / statistics.stdev(r) * ann)

    rng = np.random.default_rng(7)
    eq = 1e5 * np.cumprod(1 + rng.normal(2e-5, 1e-3, 500))
    rs = RollingSharpe(period_s=1, window=50)
    for i, e in enumerate(eq):
        rs.update(i * S, float(e))
    rs.update(len(eq) * S, 0.0)  # closes the last period
    batch, _ = rolling_sharpe_vol(eq[1:] / eq[:-1] - 1, 50)
    scale = math.sqrt(TRADING_SECONDS_PER_YEAR / 1) / math.sqrt(252)  # batch: sqrt(252)
    assert rs.value == pytest.approx(batch[-1] * scale, rel=1e-9)


def test_reconcile_risk_state_and_broker_link():
    out = io.StringIO()
    m = SessionMetrics("r", log=EventLog("live", "r", stderr=True, stream=out))
    m.positions({"SPY": 10.0, "AAPL": -5.0})
    assert m.reconcile({"SPY": 10.0, "AAPL": -3.0, "MSFT": 2.0}) == {"AAPL": -2.0, "MSFT": -2.0}
    assert value(m, "fw_position_mismatch_shares", symbol="AAPL") == -2.0
    assert value(m, "fw_position_mismatch_shares", symbol="SPY") == 0.0
    assert value(m, "fw_reconciliations_total", result="mismatch") == 1
    m.positions({"SPY": 10.0, "AAPL": -3.0, "MSFT": 2.0})
    assert m.reconcile({"SPY": 10.0, "AAPL": -3.0, "MSFT": 2.0}) == {}
    assert value(m, "fw_position_mismatch_shares", symbol="MSFT") == 0.0
    assert value(m, "fw_reconciliations_total", result="ok") == 1
    m.positions({"SPY": 10.0})  # AAPL and MSFT went flat
    assert value(m, "fw_position_shares", symbol="AAPL") == 0.0

    m.risk_state(breakers=["drawdown"])
    m.risk_state(breakers=["drawdown"])  # still tripped: one trip
    assert value(m, "fw_breaker_tripped", breaker="drawdown") == 1
    assert value(m, "fw_breaker_trips_total", breaker="drawdown") == 1
    assert value(m, "fw_breaker_tripped", breaker="latency") == 0
    m.risk_state(kill_switch=True)
    assert value(m, "fw_breaker_tripped", breaker="drawdown") == 0
    assert value(m, "fw_kill_switch_engaged") == 1

    m.http_response("GET", "/v2/account", 200, rate_limit_remaining=199, rate_limit_limit=200)
    m.http_response("POST", "/v2/orders", 429, rate_limit_remaining=0)
    assert value(m, "fw_broker_http_responses_total", method="POST", endpoint="/v2/orders",
                 code="429") == 1
    assert value(m, "fw_broker_rate_limited_total") == 1
    assert (value(m, "fw_rate_limit_remaining"), value(m, "fw_rate_limit_limit")) == (0, 200)
    m.stream_state("trade_updates", False)
    assert value(m, "fw_stream_connected", stream="trade_updates") == 0
    m.reconnect("trade_updates")
    assert value(m, "fw_stream_connected", stream="trade_updates") == 1
    assert value(m, "fw_stream_reconnects_total", stream="trade_updates") == 1
    assert value(m, "fw_stream_reconnects_total", stream="market_data") == 0

    m.log.flush()
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    kinds = [(e["event"], e.get("event_kind") or e.get("result") or e.get("stream"))
             for e in lines]
    assert kinds == [("reconciliation", "mismatch"), ("reconciliation", "ok"),
                     ("risk", "breakers"), ("risk", "breakers"), ("risk", "kill_switch"),
                     ("stream", "trade_updates"), ("reconnect", "trade_updates")]
    assert lines[0]["level"] == "error" and lines[0]["mismatch"] == {"AAPL": -2.0, "MSFT": -2.0}
    assert lines[4]["level"] == "critical" and lines[4]["engaged"] is True


def test_bucket_quantile_by_hand():
    bounds, cum = [1.0, 2.0, 4.0, math.inf], [2.0, 6.0, 8.0, 10.0]
    assert bucket_quantile(0.5, bounds, cum) == pytest.approx(1.75)  # rank 5 in (1, 2]
    assert bucket_quantile(0.1, bounds, cum) == pytest.approx(0.5)  # rank 1 in (0, 1]
    assert bucket_quantile(0.95, bounds, cum) == 4.0  # in +Inf: the highest finite bound
    assert math.isnan(bucket_quantile(0.5, bounds, [0.0] * 4))


def test_one_registry_per_session_and_the_http_routes():
    a, b = SessionMetrics("a"), SessionMetrics("b")
    a.mark(1.0, ts_ns=0)
    assert math.isnan(b.registry.get_sample_value("fw_equity_usd"))  # not marked yet
    a.order_sent("x", "SPY", "buy", 3, arrival_price=10.0, sent_ns=0)
    with MetricsServer(a.registry, status=a.status) as srv:
        url = srv.start(0)
        text = urllib.request.urlopen(url + "/metrics").read().decode()
        assert 'fw_session_info{broker="alpaca",mode="paper",run_id="a",strategy=""} 1.0' in text
        assert "fw_equity_usd 1.0" in text
        page = urllib.request.urlopen(url + "/").read().decode()
        assert "<title>fw session status</title>" in page and "__REFRESH_MS__" not in page
        st = json.loads(urllib.request.urlopen(url + "/status.json").read())
        assert st["working_orders"][0]["order_id"] == "x" and st["equity"] == 1.0
        assert st["sharpe"] is None and [x["stage"] for x in st["latency"]] == [
            "decision", "send", "ack", "fill"]
        assert urllib.request.urlopen(url + "/healthz").read() == b"ok\n"
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(url + "/nope")
        with pytest.raises(MetricsServerError, match=f"127.0.0.1:{srv.port}"):
            MetricsServer(b.registry).start(srv.port)
    with MetricsServer(b.registry) as bare:  # metrics only: no page
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(bare.start(0) + "/")


def test_docs_show_the_catalog():
    doc = (ROOT / "docs" / "monitoring.md").read_text()
    assert markdown_table(SESSION_METRICS) in doc
    assert markdown_table(VENUE_METRICS) in doc


def test_event_log_lines_levels_and_writer_thread(tmp_path):
    out_a, out_b = io.StringIO(), io.StringIO()
    a = EventLog("live", "run-a", tmp_path / "a", level="warning", stream=out_a)
    b = EventLog("venue", "run-b", None, stream=out_b)
    a.event("quiet", level="info", x=1)  # below the log's level: not written
    a.event("loud", level="error", px=math.nan, inf=-math.inf, ok=1.5, ids=["o1"])
    b.event("hello", n=2)
    a.flush()
    b.flush()
    (line,) = out_a.getvalue().splitlines()
    e = json.loads(line)
    assert e["event"] == "loud" and e["level"] == "error" and e["component"] == "live"
    assert e["run_id"] == "run-a" and e["px"] is None and e["inf"] is None and e["ok"] == 1.5
    assert e["ids"] == ["o1"]
    # ts is the RFC 3339 UTC form of ts_ns, to the microsecond
    assert e["ts"] == np.datetime_as_string(np.datetime64(e["ts_ns"] // 1000, "us")) + "Z"
    assert [json.loads(x)["run_id"] for x in out_b.getvalue().splitlines()] == ["run-b"]
    a.event("after", level="critical")
    a.close()
    a.close()  # idempotent
    b.close()
    assert [x["event"] for x in read_events(tmp_path / "a" / "events.jsonl")] == ["loud", "after"]


def test_event_time_is_truncated_to_the_microsecond():
    # 1_700_000_000 s after the epoch is 2023-11-14 22:13:20 UTC; a float of the ns
    # would round .999999999 up to the next second
    rec = logging.LogRecord("x", logging.INFO, "", 0, "e", None, None)
    rec.fw_ts_ns = 1_700_000_000_999_999_999
    e = json.loads(JsonLinesFormatter("live", "r").format(rec))
    assert e["ts"] == "2023-11-14T22:13:20.999999Z" and e["ts_ns"] == 1_700_000_000_999_999_999


def test_algo_parent_tca_is_observed_per_algo(tmp_path):
    log = EventLog("live", "r9", tmp_path)
    m = SessionMetrics("r9", log=log)
    m.algo_parent(3, "SPY", "vwap", 125.0, 12.5, 0.04)
    m.algo_parent(7, "SPY", "vwap", -25.0, -2.5, 0.01)
    m.algo_parent(9, "QQQ", "vwap", 0.0, float("nan"), float("nan"))  # no price: no bps
    log.close()
    assert value(m, "fw_algo_parents_total", algo="vwap") == 3
    assert value(m, "fw_algo_shortfall_bps_count", algo="vwap") == 2
    assert value(m, "fw_algo_shortfall_usd", algo="vwap") == 100.0
    # 12.5 falls in the (10, 20] bucket, -2.5 in (-5, -2]
    assert value(m, "fw_algo_shortfall_bps_bucket", algo="vwap", le="10.0") == 1
    assert value(m, "fw_algo_shortfall_bps_bucket", algo="vwap", le="20.0") == 2
    assert value(m, "fw_algo_participation_ratio_sum", algo="vwap") == pytest.approx(0.05)
    assert value(m, "fw_algo_participation_ratio_bucket", algo="vwap", le="0.01") == 1
    events = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    tca = [e for e in events if e["event"] == "algo_parent"]
    assert len(tca) == 3 and tca[2]["shortfall_bps"] is None
