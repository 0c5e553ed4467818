"""``fw live``'s monitoring, end to end on the local venue: the session's exporter, read
over HTTP as Prometheus reads it, counts what the venue and the journal hold (orders =
the venue's orders, fills = the journal's executions = the venue's, 429s = the burst
the venue was told to send, reconnects = the sockets it dropped); the event log, the
terminal panel and the tearsheet land in the run folder."""

from __future__ import annotations

import io
import json
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from framework.monitoring import read_events
from live.journal import Journal
from live.panel import Panel
from live.runner import run_live
from tests.live.conftest import ROOT, SMA, session_overrides

pytestmark = pytest.mark.slow
TOML = ROOT / "strategies" / "sma_cross.toml"


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    """``{(sample name, sorted labels): value}`` of an exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def _sum(samples: dict, name: str, **labels) -> float:
    return sum(v for (n, lab), v in samples.items()
               if n == name and all((k, x) in lab for k, x in labels.items()))


def test_the_exporter_counts_what_the_venue_and_the_journal_hold(small_lake, live_venue,
                                                                 tmp_path):
    ov = session_overrides(SMA, tmp_path)
    # a 1 s rate-limit window: a 429's reset is at most a second away
    venue = live_venue("sma_cross", ov, small_lake, rate_window_s=1.0)

    def faults(step: int) -> None:
        if step == 40:  # the next two order POSTs are refused for rate
            venue.fault(kind="http", status=429, count=2, method="POST", path="/v2/orders")
        if step in (60, 200):
            venue.fault(kind="drop", stream="trade_updates")

    scraped: dict = {}

    def scrape(live) -> None:  # after the results are written, while still served
        with urllib.request.urlopen(f"{live.metrics_url}/metrics", timeout=10) as r:
            scraped["metrics"] = _samples(r.read().decode())
        with urllib.request.urlopen(f"{live.metrics_url}/status.json", timeout=10) as r:
            scraped["status"] = json.load(r)

    out = io.StringIO()
    run = run_live(TOML, ov, lake=small_lake, venue_url=venue.urls.trading,
                   force_reason="test", metrics_port=0, panel=Panel(out, every_s=0.0),
                   on_start=lambda s: s.step_hooks.append(faults), on_end=scrape)
    m = scraped["metrics"]
    summary = json.loads((run.out_dir / "live.json").read_text())
    journal = Journal(run.out_dir / "journal.sqlite", create=False)
    fills = [e for e in journal.events() if e[2] == "fill"]
    execs = {a["execution_id"] for a in venue.core.account.activities}

    assert summary["outcomes"] == {"confirmed": summary["submitted"]}
    assert _sum(m, "fw_orders_submitted_total") == len(venue.core.orders) \
        == summary["submitted"] > 10
    assert _sum(m, "fw_orders_acked_total") == summary["submitted"]
    assert _sum(m, "fw_fills_total") == len(fills) == len(execs) == run.result.fills.height
    assert _sum(m, "fw_filled_shares_total") == pytest.approx(sum(e[4] for e in fills))
    assert _sum(m, "fw_orders_rejected_total") == 0
    # every order ended: filled, or closed at the broker (nothing left working)
    ended = _sum(m, "fw_orders_filled_total") + _sum(m, "fw_orders_closed_total")
    assert ended + _sum(m, "fw_working_orders") == summary["submitted"]
    # USD orders are sent with shares estimated at the row's close; the broker's count at
    # the fill replaces it, so a filled order counts exactly 1 in the ratio
    assert 0.9 < _sum(m, "fw_fill_ratio") <= 1.0
    assert _sum(m, "fw_broker_rate_limited_total") == 2
    assert _sum(m, "fw_broker_http_responses_total", method="POST", endpoint="/v2/orders",
                code="429") == 2
    assert _sum(m, "fw_broker_http_responses_total", method="POST", endpoint="/v2/orders",
                code="200") == summary["submitted"]
    assert _sum(m, "fw_stream_reconnects_total", stream="trade_updates") == 2
    assert _sum(m, "fw_stream_reconnects_total", stream="market_data") == 0
    recs = summary["reconciliations"]
    assert _sum(m, "fw_reconciliations_total", result="ok") == len(recs) >= 3
    assert _sum(m, "fw_market_data_messages_total", kind="bar") == summary["bars"]
    assert _sum(m, "fw_latency_seconds_count", stage="decision") == run.session.driver.n
    assert _sum(m, "fw_latency_seconds_count", stage="ack") == summary["submitted"]
    assert _sum(m, "fw_equity_usd") == pytest.approx(run.result.equity["equity"][-1])
    assert _sum(m, "fw_kill_switch_engaged") == 0
    for sym, q in run.session.positions().items():
        assert _sum(m, "fw_position_shares", symbol=sym) == q
    assert scraped["status"]["equity"] == pytest.approx(run.result.equity["equity"][-1])

    events = read_events(run.out_dir / "events.jsonl")
    sent = [e for e in events if e["event"] == "order" and e["state"] == "sent"]
    assert len(sent) == summary["submitted"]
    assert {e["order_id"] for e in sent} == {o.client_order_id
                                             for o in venue.core.orders.values()}
    assert sum(e["event"] == "reconnect" for e in events) == 2

    lines = out.getvalue().splitlines()
    assert len(lines) >= run.session.driver.n  # one per step, plus the final one
    assert f"orders {summary['submitted']} sent" in lines[-1]
    assert f"{len(fills)} fills" in lines[-1]
    assert "md up  tu up" in lines[-2] and "md DOWN  tu DOWN" in lines[-1]  # closed at the end
    for f in ("tearsheet.html", "metrics.json", "trades.parquet"):
        assert (run.out_dir / f).is_file(), f
