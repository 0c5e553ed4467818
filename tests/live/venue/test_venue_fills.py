"""Fill models at the venue on a replayed lake session, against prices read straight from
the lake: the project's bar, quote and book rules, and Alpaca paper's (touch fills, seeded
partial fills) -- the gap a user can see between them."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

from framework.data import Lake
from framework.execution.costs import CostConfig
from framework.marketdata.book.book import OrderBooks
from framework.marketdata.replay import records
from framework.types import BOOK_EVENT_DTYPE
from live.venue import Venue, VenueConfig
from live.venue.config import VenueConfigError
from tests.conftest import BOOK_LAKE_DAYS
from tests.live.venue.conftest import SESSION
from tests.live.venue.venue_testkit import NS_MIN, trading_client


def _fills(v, order_id=None) -> list[dict]:
    """FILL activities (oldest first) of the venue, optionally of one order."""
    acts = trading_client(v).get("/account/activities/FILL", {"direction": "asc"})
    return [a for a in acts if order_id is None or a["order_id"] == str(order_id)]


def _market(c, sym, qty, side="buy", tif="day"):
    return c.submit_order(MarketOrderRequest(symbol=sym, qty=qty, side=side, time_in_force=tif))


def _limit(c, sym, px, qty=1, side="buy", tif="day"):
    return c.submit_order(LimitOrderRequest(symbol=sym, qty=qty, side=side, limit_price=px,
                                            time_in_force=tif))


def test_bar_model(make_venue, venue_lake):
    v = make_venue(fills="bar", costs=CostConfig(slippage_bps=2.0))
    c = trading_client(v)
    o = v.timeline.hours.open
    bars = Lake(venue_lake).bars(["SPY", "AAPL"], SESSION, SESSION)
    spy0 = bars.filter(pl.col("symbol") == "SPY").row(0, named=True)
    m = _market(c, "SPY", 3)  # at the open: fills at the 09:30 bar's open, plus slippage
    v.advance(until=o + NS_MIN)  # the 09:30 bars complete
    (fm,) = _fills(v, m.id)
    assert float(fm["price"]) == pytest.approx(spy0["open"] * (1 + 2e-4), rel=1e-12)
    assert fm["transaction_time"].startswith("2024-01-03T14:30:00.000000000")
    # a later bar whose low is at least 2 cents under its open: a limit 1 cent above the
    # low is traded through (fills at the limit), a limit at the low is only touched
    b = bars.filter((pl.col("ts") > o) & (pl.col("open") - pl.col("low") >= 0.0199)).row(
        0, named=True)
    v.advance(until=b["ts"])  # the clock at the bar's start
    through = _limit(c, b["symbol"], round(b["low"] + 0.01, 2))
    touch = _limit(c, b["symbol"], round(b["low"], 2))
    ioc = c.submit_order(LimitOrderRequest(symbol=b["symbol"], qty=1, side="buy",
                                           time_in_force="ioc", limit_price=round(b["low"] - 0.5, 2)))
    v.advance(until=b["ts"] + NS_MIN)
    (fl,) = _fills(v, through.id)
    assert float(fl["price"]) == round(b["low"] + 0.01, 2)  # maker, at its limit, no slippage
    assert _fills(v, touch.id) == []
    assert c.get_order_by_id(ioc.id).status == "canceled"
    acct = c.get_account()  # cash: notional (the alpaca preset charges fees on sells only)
    spent = 3 * float(fm["price"]) + float(fl["price"])
    assert float(acct.cash) == pytest.approx(100_000.0 - spent, rel=1e-12)


def test_quote_model_crosses_the_spread_up_to_the_displayed_size(make_venue, venue_lake):
    v = make_venue(fills="quote", costs=CostConfig(slippage_bps=0.0))
    c = trading_client(v)
    o = v.timeline.hours.open
    q = Lake(venue_lake).quotes("SPY", SESSION, SESSION).filter(pl.col("ts") >= o)
    arrival = q.row(0, named=True)
    size = arrival["ask_size"]
    m = _market(c, "SPY", size + 5)  # more than the arrival quote shows
    v.advance(until=arrival["ts"])
    f = _fills(v, m.id)
    assert [float(x["qty"]) for x in f][:1] == [size]
    assert float(f[0]["price"]) == arrival["ask"]
    assert f[0]["type"] == "partial_fill"
    nxt = q.row(1, named=True)  # the rest crosses on the next quote
    v.advance(until=nxt["ts"])
    f = _fills(v, m.id)
    assert float(f[1]["qty"]) == min(5.0, nxt["ask_size"]) and float(f[1]["price"]) == nxt["ask"]


def test_paper_fills_a_touch_the_quote_model_does_not(make_venue, venue_lake):
    """Alpaca paper fills a resting limit when the ask reaches it; the project's quote model
    only when the ask trades through it (the queue ahead is unknown)."""
    o = None
    q = Lake(venue_lake).quotes("AAPL", SESSION, SESSION)
    out = {}
    for fills in ("alpaca-paper", "quote"):
        v = make_venue(fills=fills, partial_rate=0.0, costs=CostConfig(slippage_bps=0.0))
        o = v.timeline.hours.open
        c = trading_client(v)
        start = NS_MIN  # decide one minute in
        v.advance(until=o + start)
        later = q.filter(pl.col("ts") > o + start).head(60)
        now = q.filter(pl.col("ts") <= o + start).row(-1, named=True)
        px = float(later["ask"].min())
        assert px < now["ask"] and later["ask"][0] > px  # not marketable on arrival
        lim = _limit(c, "AAPL", px, qty=2)
        v.advance(until=int(later["ts"][-1]))
        out[fills] = _fills(v, lim.id)
    touch = later.filter(pl.col("ask") <= px).row(0, named=True)
    (f,) = out["alpaca-paper"]
    assert float(f["price"]) == px and float(f["qty"]) == 2
    assert f["transaction_time"] == dt.datetime.fromtimestamp(
        touch["ts"] // 10**9, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{touch['ts'] % 10**9:09d}Z"
    assert out["quote"] == []


def test_paper_market_order_fills_at_once_at_the_quote_size_unchecked(make_venue, venue_lake):
    v = make_venue(fills="alpaca-paper", partial_rate=0.0, cash=1e8)
    c = trading_client(v)
    o = v.timeline.hours.open
    v.advance(until=o + NS_MIN)
    last = Lake(venue_lake).quotes("SPY", SESSION, SESSION).filter(
        pl.col("ts") <= o + NS_MIN).row(-1, named=True)
    big = 50 * last["ask_size"]
    m = _market(c, "SPY", big)  # no advance: fills on arrival against the current NBBO
    (f,) = _fills(v, m.id)
    assert float(f["qty"]) == big and float(f["price"]) == last["ask"]
    assert float(c.get_account().accrued_fees) == 0.0  # paper charges no fees


def _paper_run(make_venue, seed, rate, n=40):
    v = make_venue(fills="alpaca-paper", partial_rate=rate, seed=seed, rate_limit=10_000,
                   cash=1e7)
    c = trading_client(v)
    v.advance(until=v.timeline.hours.open + NS_MIN)
    ids = [_market(c, "SPY", 10).id for _ in range(n)]
    v.advance(until=v.timeline.hours.open + 3 * NS_MIN)
    acts = _fills(v)
    return ids, [(a["order_id"], a["type"], a["qty"], a["price"]) for a in acts]


def test_paper_partial_fills_are_seeded(make_venue):
    ids, a = _paper_run(make_venue, seed=11, rate=1.0, n=3)
    _, b = _paper_run(make_venue, seed=11, rate=1.0, n=3)
    _, other = _paper_run(make_venue, seed=12, rate=1.0, n=3)
    assert [x[1:] for x in a] == [x[1:] for x in b]  # same seed, same fills
    assert [x[2] for x in a] != [x[2] for x in other]
    for oid in ids:  # every fill but the last of an order is a random part of what is left
        mine = [x for x in a if x[0] == str(oid)]
        assert [x[1] for x in mine] == ["partial_fill"] * (len(mine) - 1) + ["fill"]
        assert len(mine) >= 2 and sum(float(x[2]) for x in mine) == 10
    _, ten = _paper_run(make_venue, seed=3, rate=0.1, n=60)
    partial_orders = {x[0] for x in ten if x[1] == "partial_fill"}
    assert 1 <= len(partial_orders) <= 18  # ~10 % of 60 (binomial, > 99.9 % inside)


def test_book_model_walks_the_replayed_book(book_lake):
    day = BOOK_LAKE_DAYS[1]
    v = Venue(VenueConfig(lake=book_lake, step=True, fills="book", symbols=("SPY",)))
    v.start()
    try:
        c = trading_client(v)
        t = v.timeline.hours.open + 2 * NS_MIN
        v.advance(until=t)
        m = _market(c, "SPY", 1)
        ev = Lake(book_lake).book_events("SPY", day, day)
        nxt = int(ev.filter(pl.col("ts") > t)["ts"][0])
        v.advance(until=nxt)
        arr = records(ev.filter(pl.col("ts") <= nxt).with_columns(sym=pl.lit(0)),
                      BOOK_EVENT_DTYPE)
        ob = OrderBooks(1)
        ob.apply(arr)
        ask, size = ob.best_ask()
        assert size >= 1
        (f,) = _fills(v, m.id)
        assert float(f["price"]) == pytest.approx(ask) and float(f["qty"]) == 1
    finally:
        v.stop()


def test_fill_model_needs_its_data(venue_lake):
    with pytest.raises(VenueConfigError, match="book_events"):
        Venue(VenueConfig(lake=venue_lake, fills="book"))
    with pytest.raises(VenueConfigError, match="not an XNYS session|has none"):
        Venue(VenueConfig(lake=venue_lake, session=dt.date(2024, 1, 6)))


def test_order_entry_latency(make_venue, venue_lake):
    """90 s of latency: an order sent at the open works from 09:31:30, so the first bar
    starting after that, 09:32, fills it (the event engine's ``latency_ms`` rule)."""
    v = make_venue(fills="bar", latency_ms=90_000.0, costs=CostConfig(slippage_bps=0.0))
    c = trading_client(v)
    m = _market(c, "SPY", 1)
    v.advance(until=v.timeline.hours.open + 3 * NS_MIN)
    bar = Lake(venue_lake).bars("SPY", SESSION, SESSION).row(2, named=True)
    (f,) = _fills(v, m.id)
    assert float(f["price"]) == bar["open"]
    assert f["transaction_time"].startswith("2024-01-03T14:32:00")
