"""Bad input on the wire, frame by frame through the streams' checks (the venue's own
fault builders make the bad messages from good ones): each is named in the log, counted
by kind and skipped; the good messages of the same frame go on."""

from __future__ import annotations

import json
import logging

import msgpack
import pytest

from live.adapter.clients import Endpoint, HookedDataStream, HookedTradingStream
from live.venue.faults import BAD_INPUTS, bad_bar, bad_trade_update

EP = Endpoint("http://127.0.0.1:9", "ws://127.0.0.1:9/stream", "ws://127.0.0.1:9/v2/iex",
              "k", "s")
T0 = 1704724200 * 10**9  # 2024-01-08 14:30 UTC
BAR = {"T": "b", "S": "SPY", "o": 470.0, "h": 471.0, "l": 469.5, "c": 470.5, "v": 1200,
       "vw": 470.2, "n": 12, "t": msgpack.Timestamp.from_unix_nano(T0 + 60 * 10**9)}
FILL = {"stream": "trade_updates", "data": {
    "event": "fill", "timestamp": "2024-01-08T14:31:00Z", "execution_id": "e-1",
    "price": "470.5", "qty": "10", "position_qty": "10",
    "order": {"id": "o-1", "client_order_id": "fw-x-1", "status": "filled", "qty": "10"}}}
KIND = {"malformed": "malformed", "unknown_type": "unknown_type", "price_zero": "bad_price",
        "price_nan": "bad_price", "price_negative": "bad_price",
        "unsubscribed": "unsubscribed", "ts_backwards": "ts_backwards"}


async def _noop(_msg) -> None:
    return None


def _data_stream() -> HookedDataStream:
    s = HookedDataStream(EP)
    s.subscribe_bars(_noop, "SPY")
    s._check(msgpack.packb([{**BAR, "t": msgpack.Timestamp.from_unix_nano(T0)}]))  # earlier bar
    return s


@pytest.mark.parametrize("what", BAD_INPUTS["market_data"])
def test_bad_market_data_is_named_counted_and_skipped(what, caplog):
    s = _data_stream()
    bad = bad_bar(BAR, what)
    frame = bad if isinstance(bad, bytes) else msgpack.packb([bad, BAR])
    with caplog.at_level(logging.WARNING, logger="fw.live"):
        out = s._check(frame)
    assert s.bad_input == {KIND[what]: 1}
    assert f"market data: skipped {KIND[what]}" in caplog.text
    if what == "malformed":
        assert out is None  # nothing readable in it
    else:
        assert msgpack.unpackb(out) == [BAR]  # the good bar of the frame goes on


def test_good_frames_pass_untouched():
    s = _data_stream()
    frame = msgpack.packb([{"T": "subscription", "bars": ["SPY"]}, BAR])
    assert s._check(frame) is frame and s.bad_input == {}


@pytest.mark.parametrize("what", BAD_INPUTS["trade_updates"])
def test_bad_trade_updates_are_named_counted_and_skipped(what, caplog):
    s = HookedTradingStream(EP)
    bad = bad_trade_update(FILL, what)
    frame = bad if isinstance(bad, bytes) else json.dumps(bad).encode()
    with caplog.at_level(logging.WARNING, logger="fw.live"):
        assert s._check(frame) is None
    kind = {"malformed": "malformed", "unknown_type": "unknown_type"}.get(what, "bad_fill")
    assert s.bad_input == {kind: 1}
    assert f"trade_updates: skipped {kind}" in caplog.text
    good = json.dumps(FILL).encode()
    assert s._check(good) is good  # the real fill after it is booked


def test_an_unreadable_update_is_skipped():
    s = HookedTradingStream(EP)
    assert s._check(json.dumps({"stream": "trade_updates", "data": {"event": "fill"}})
                    .encode()) is None
    assert s.bad_input == {"unreadable": 1}
