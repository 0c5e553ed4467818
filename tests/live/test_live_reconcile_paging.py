"""Reconciliation reads every order of the account, also those that share their
``submitted_at`` with the last order of a page.

A row's orders reach a lockstep venue at one instant, and ``GET /v2/orders``'s
``after`` is exclusive: paging from the last order's instant skipped the rest of a tie
cut by the page's end. The chaos run found it (seeds 2008 and 2010, 501 orders each):
the 501st order shared 18:50:00 with the 500th, one of its fills was missed on the
stream, reconciliation never saw the order, so the fill was never journalled and the
position mismatch blocked trading for the rest of the session."""

from __future__ import annotations

import pytest

from live.adapter.clients import Endpoint, trading_client
from live.adapter.gateway import Gateway
from live.adapter.ratelimit import TokenBucket
from live.journal import Journal
from live.reconcile import PAGE, reconcile

pytestmark = pytest.mark.slow  # PAGE + 1 orders POSTed on loopback (seconds)

SECOND = 1_000_000_000  # ns


def test_an_order_tied_with_a_page_end_has_its_missed_fill_read_back(make_venue, tmp_path):
    venue = make_venue(rate_limit=100_000)  # Alpaca's 200/min would take minutes
    t0 = venue.timeline.hours.open + 60 * SECOND
    venue.advance(until=t0)  # trading, prices known
    u = venue.urls
    ep = Endpoint(u.trading, u.trading_stream, u.data_stream, venue.cfg.key_id,
                  venue.cfg.secret_key, u.control)
    bucket = TokenBucket(limit=100_000)
    journal = Journal(tmp_path / "j.sqlite", sync="normal")  # no fsync per order
    gw = Gateway(trading_client(ep, bucket, timeout_s=5.0), bucket, journal, "run-1")

    def place(k: int, **kw) -> str:
        body = {"symbol": "SPY", "side": "buy", "type": "limit", "limit_price": 1.0,
                "time_in_force": "day", "qty": 1.0, "client_order_id": f"o-{k}", **kw}
        body = {key: v for key, v in body.items() if v is not None}
        assert gw.prepare(k, body, 0)
        journal.commit()
        assert gw.send(body).outcome == "confirmed"
        return body["client_order_id"]

    for k in range(PAGE - 2):  # far below the market: they stay open
        place(k)
    venue.advance(until=t0 + 60 * SECOND)  # one instant for the last three
    place(PAGE - 2)
    place(PAGE - 1)  # the first page ends here, inside the tie
    last = place(PAGE, type="market", limit_price=None)
    venue.advance(until=t0 + 180 * SECOND)  # it fills; its update is never read
    (tie,) = {o.submitted_at for o in venue.core.orders.values()
              if o.client_order_id in (f"o-{PAGE - 1}", last)}  # the same instant
    filled = venue.core.by_client_id[last].filled_qty
    assert filled == 1.0

    booked: dict[str, float] = {}

    def on_fill(cid, execution_id, ts, qty, price, order_qty) -> bool:
        if not journal.add_event(execution_id, cid, "fill", ts, 0, qty, price, order_qty):
            return False
        booked[cid] = booked.get(cid, 0.0) + qty
        return True

    rep = reconcile(gw, lambda: {"SPY": sum(booked.values())}, on_fill,
                    lambda cid, status, ts: False)
    assert rep.orders == PAGE + 1  # every order, none twice
    assert booked == {last: 1.0}  # the missed fill of the order past the page's end
    assert rep.ok, rep.problems  # so the positions agree
    assert journal.filled_qty(last) == 1.0
