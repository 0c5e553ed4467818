"""The streams are read while the session is blocked, and an order follows a gap only
after a reconciliation.

The first: a 429 whose window lasts seconds
makes the gateway's bucket wait (``time.sleep``, on the session's loop), and a venue
that pings its sockets (``ws_heartbeat_s``, as a server that pings does) drops a client
that does not answer. With the sockets on ``live.adapter.stream_thread.StreamThread``
the pongs go out during the wait, the socket stays up, and the fill update the venue
sends during the wait is handled once, after the wait, in order. With the streams on
the session's loop (before) the venue dropped the socket within a second of the wait
and the client reconnected.

The second: a send that ended unresolved (or a socket closed, counted on the streams'
thread at once) is followed by a reconciliation before the next POST, even within one
row (an order POSTed to a venue restarted mid-row was counted as sent unreconciled by
an earlier chaos run)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from live.adapter.clients import HookedTradingStream
from live.adapter.stream_thread import StreamThread
from live.journal import Journal
from live.runner import run_live
from tests.live.conftest import ROOT, SMA, session_overrides, trading_gateway

pytestmark = pytest.mark.slow  # a venue's rate window waited for (seconds), a session

WAIT_S = 4.0  # a 429 names a reset this far ahead: the bucket waits about as long
SECOND = 1_000_000_000  # ns
HEARTBEAT_S = 1.0  # the venue pings every second, drops a socket silent for 0.5 s


async def _until(pred, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_trade_updates_are_read_during_a_429_wait(make_venue, tmp_path):
    venue = make_venue(ws_heartbeat_s=HEARTBEAT_S)
    ep, gw = trading_gateway(venue, tmp_path / "j.sqlite", timeout_s=5.0)
    handled: list[tuple[str, float]] = []  # (event, monotonic s when handled)

    async def on_update(msg: dict) -> None:
        handled.append((msg["data"]["event"], time.monotonic()))

    async def session() -> tuple[float, float, bool, int]:
        st = StreamThread()
        stream = HookedTradingStream(ep)
        stream.subscribe_trade_updates(st.relay(on_update))
        await st.start([stream])
        try:
            await _until(lambda: (venue.state()["streams"]["trade_updates"] or {}).get(
                "listening"))
            body = {"symbol": "SPY", "side": "buy", "type": "market",
                    "time_in_force": "day", "qty": 1.0, "client_order_id": "during-429"}
            assert gw.prepare(0, body, 0)
            gw.journal.commit()
            assert gw.send(body).outcome == "confirmed"
            await _until(lambda: [e for e, _ in handled] == ["new"])
            socket = stream._ws
            venue.fault(kind="http", status=429, count=1, path="/v2/clock", seconds=WAIT_S)
            # the venue fills the order (the next minute bar) 0.5 s into the wait
            fill_at = venue.timeline.hours.open + 180 * SECOND
            threading.Timer(0.5, venue.advance, kwargs={"until": fill_at}).start()
            t0 = time.monotonic()
            assert gw._call(gw.client.get, "/clock")["is_open"]  # sleeps for the window
            t1 = time.monotonic()
            await _until(lambda: len(handled) >= 2)
            # a socket the venue dropped would be seen closed by now (and reconnecting)
            await asyncio.sleep(1.0)
            return t0, t1, stream._ws is socket and socket.open, stream.connects
        finally:
            await st.stop()

    t0, t1, same_socket, connects = asyncio.run(session())
    assert gw.throttled == 1 and t1 - t0 >= 2 * HEARTBEAT_S  # it did wait, several pings
    assert same_socket and connects == 1  # every ping answered during the wait: not dropped
    assert [e for e, _ in handled] == ["new", "fill"]  # once each, in order
    assert handled[1][1] >= t1  # handled on the session's loop once the wait ended


def test_a_session_keeps_its_sockets_through_429_waits(small_lake, live_venue, tmp_path):
    """The whole session: a 429 on an order POST (the bucket waits for the window it
    names) while the venue pings both sockets: no reconnect."""
    ov = session_overrides(SMA, tmp_path)
    venue = live_venue("sma_cross", ov, small_lake, ws_heartbeat_s=HEARTBEAT_S)

    def burst_at(step: int) -> None:
        if step == 20:
            venue.fault(kind="http", status=429, count=1, method="POST", path="/v2/orders",
                        seconds=WAIT_S)

    run = run_live(ROOT / "strategies" / "sma_cross.toml", ov, lake=small_lake,
                   venue_url=venue.urls.trading, force_reason="test", max_steps=40,
                   on_start=lambda s: s.step_hooks.append(burst_at))
    summary = json.loads((run.out_dir / "live.json").read_text())
    assert summary["rate_limit_waited_s"] >= 2 * HEARTBEAT_S  # the bucket waited
    assert summary["reconnects"] == 2  # the two first connects, no drop
    assert all(r["ok"] for r in summary["reconciliations"])


def test_after_a_failed_send_the_next_order_waits_for_a_reconciliation(small_lake,
                                                                       live_venue,
                                                                       tmp_path):
    """A POST answered 503 whose look-up by client order id fails too ends unresolved
    (the broker may be restarting): the session reads the broker back (a
    reconciliation, ending with ``GET /v2/account``) before its next ``POST``, and that
    reconciliation neither looks up nor closes the row's orders not yet sent."""
    ov = session_overrides(SMA, tmp_path)
    venue = live_venue("sma_cross", ov, small_lake)

    def fail_at(step: int) -> None:
        if step == 20:
            venue.fault(kind="http", status=503, count=1, method="POST", path="/v2/orders")
            venue.fault(kind="http", status=503, count=1, method="GET",
                        path="/v2/orders:by_client_order_id")

    run = run_live(ROOT / "strategies" / "sma_cross.toml", ov, lake=small_lake,
                   venue_url=venue.urls.trading, force_reason="test", max_steps=60,
                   on_start=lambda s: s.step_hooks.append(fail_at))
    log = [r[1:] for r in sorted(venue.requests)]
    failed = log.index(("POST", "/v2/orders", 503))
    after = log[failed + 1:]
    assert after[0] == ("GET", "/v2/orders:by_client_order_id", 503)  # unresolved
    nxt = after.index(("POST", "/v2/orders", 200))
    assert ("GET", "/v2/account", 200) in after[:nxt]  # reconciled before the next order
    journal = Journal(run.out_dir / "journal.sqlite", create=False)
    booked = {o.client_order_id for o in venue.core.orders.values()}
    outcomes = {it.cid: it.outcome for it in journal.intents("submit")}
    assert booked and all(outcomes[c] == "confirmed" for c in booked)
    # the 503'd one: looked up at the reconciliation, not there (404) -> rejected
    assert any(o == "rejected" and c not in booked for c, o in outcomes.items())
    closed_rejected = {e[1] for e in journal.events() if e[2] == "close"
                       and e[7] == "rejected"}
    assert not closed_rejected & booked  # no order the venue has was closed in the loop
