"""The scripted sequences of live-trading.md §4 against the local venue, through
alpaca-py's real clients: a POST whose reply never comes (the order exists: resolved by
client order id, not resent), duplicated trade updates (fills counted once), the
trade_updates socket dropped mid-session (reconnect, reconcile, missed fills read back
from the FILL activities) -- and after all of them, still the backtest's orders and
fills. Then: a run stopped mid-session and resumed from its journal, and the kill
switch."""

from __future__ import annotations

import json

import pytest

from live.journal import Journal
from live.runner import run_live
from tests.live.conftest import ROOT, SMA, assert_same_run, backtest, session_overrides

pytestmark = pytest.mark.slow
TOML = ROOT / "strategies" / "sma_cross.toml"


def test_timeouts_duplicates_and_a_dropped_socket_change_nothing(small_lake, live_venue,
                                                                 tmp_path):
    ov = session_overrides(SMA, tmp_path)
    bt = backtest("sma_cross", ov, small_lake)
    venue = live_venue("sma_cross", ov, small_lake)
    venue.fault(kind="order_timeout", count=3, seconds=1.0)
    venue.fault(kind="duplicate", count=40)

    def drop_at(step: int) -> None:
        if step in (60, 200):
            venue.fault(kind="drop", stream="trade_updates")

    run = run_live(TOML, ov, lake=small_lake, venue_url=venue.urls.trading,
                   force_reason="test", request_timeout_s=0.3,
                   on_start=lambda s: s.step_hooks.append(drop_at))
    assert_same_run(run.result, bt)
    summary = json.loads((run.out_dir / "live.json").read_text())
    assert summary["duplicate_fills"] > 0
    assert summary["reconnects"] >= 4  # two first connects, then one per drop
    assert len(summary["reconciliations"]) >= 3 and all(
        r["ok"] for r in summary["reconciliations"])
    journal = Journal(run.out_dir / "journal.sqlite", create=False)
    timed_out = [cid for cid, detail in journal.db.execute("SELECT cid, detail FROM intents")
                 if "Timeout" in (detail or "")]
    assert len(timed_out) == 3
    assert all(journal.intent(cid).outcome == "confirmed" for cid in timed_out)
    cids = [o.client_order_id for o in venue.core.orders.values()]
    assert len(cids) == len(set(cids)) == summary["submitted"]  # nothing sent twice
    execs = {a["execution_id"] for a in venue.core.account.activities}
    assert {e[0] for e in journal.events() if e[2] == "fill"} == execs  # none lost / twice


def test_resume_from_the_journal_gives_the_uninterrupted_run(small_lake, live_venue,
                                                            tmp_path):
    ov = session_overrides(SMA, tmp_path)
    bt = backtest("sma_cross", ov, small_lake)
    venue = live_venue("sma_cross", ov, small_lake)
    first = run_live(TOML, ov, lake=small_lake, venue_url=venue.urls.trading,
                     force_reason="test", max_steps=150)
    assert 0 < first.result.fills.height < bt.fills.height
    again = run_live(TOML, ov, lake=small_lake, venue_url=venue.urls.trading,
                     force_reason="test", resume=first.run_id)
    assert again.out_dir == first.out_dir
    assert_same_run(again.result, bt)
    cids = [o.client_order_id for o in venue.core.orders.values()]
    journal = Journal(again.out_dir / "journal.sqlite", create=False)
    confirmed = [i for i in journal.intents() if i.outcome == "confirmed"]
    assert len(cids) == len(set(cids)) == len(confirmed)  # nothing sent twice
    assert json.loads((again.out_dir / "live.json").read_text())["reconciliations"][0]["ok"]


def test_kill_switch_cancels_and_flattens(small_lake, live_venue, tmp_path):
    ov = session_overrides(SMA, tmp_path)
    venue = live_venue("sma_cross", ov, small_lake)

    def kill_at(step: int) -> None:
        if step == 120:
            (run_dir / "stop.json").write_text(json.dumps(
                {"kill": True, "flatten": True, "reason": "test kill"}))

    def start(session):
        nonlocal run_dir
        run_dir = session.journal.path.parent

    run_dir = None
    run = run_live(TOML, ov, lake=small_lake, venue_url=venue.urls.trading,
                   force_reason="test",
                   on_start=lambda s: (start(s), s.step_hooks.append(kill_at)))
    stopped = json.loads((run.out_dir / "live.json").read_text())["stopped"]
    assert stopped["reason"] == "test kill" and stopped["kill"] and stopped["flatten"]
    assert not [o for o in venue.core.orders.values() if o.is_open
                and o.type != "market"]  # the flattening orders are market orders
    assert run.session.gw.blocked.startswith("kill switch")  # later sends: denied
    assert run.result.equity.height < 390  # it stopped mid-session
