"""Helpers for the venue tests: alpaca-py's real clients pointed at a loopback venue."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from alpaca.data.live.stock import StockDataStream
from alpaca.trading.client import TradingClient
from alpaca.trading.stream import TradingStream

NS_MIN = 60_000_000_000


def wait_for(pred: Callable[[], object], timeout: float = 10.0, what: str = "condition"):
    """Poll ``pred`` until truthy; its value, or AssertionError after ``timeout`` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def trading_client(venue, retry: int = 0) -> TradingClient:
    """alpaca-py's TradingClient on the venue (retries of 429/504 only if ``retry``)."""
    c = TradingClient(venue.cfg.key_id, venue.cfg.secret_key, url_override=venue.urls.trading)
    c._retry = retry
    c._retry_wait = 0.01
    return c


class Collected:
    """An alpaca-py stream run in a daemon thread; its handler appends to ``items``."""

    def __init__(self, stream):
        self.stream = stream
        self.items: list = []
        self.thread = threading.Thread(target=stream.run, daemon=True)

    async def handler(self, item) -> None:
        self.items.append(item)

    def start(self) -> Collected:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.stream._loop is not None and self.stream._loop.is_running():
            self.stream.stop()

    def wait(self, n: int, timeout: float = 10.0) -> list:
        wait_for(lambda: len(self.items) >= n, timeout, f"{n} stream messages")
        return self.items


def trade_updates(venue, raw: bool = False) -> Collected:
    """A listening TradingStream (waits until the venue has it listening)."""
    s = TradingStream(venue.cfg.key_id, venue.cfg.secret_key, raw_data=raw,
                      url_override=venue.urls.trading_stream)
    c = Collected(s)
    s.subscribe_trade_updates(c.handler)
    c.start()
    wait_for(lambda: (venue.state()["streams"]["trade_updates"] or {}).get("listening"),
             what="trade_updates listening")
    return c


def market_data(venue, bars=(), quotes=(), trades=(), raw: bool = False) -> Collected:
    """A subscribed StockDataStream (waits until the venue holds the subscription)."""
    s = StockDataStream(venue.cfg.key_id, venue.cfg.secret_key, raw_data=raw,
                        url_override=venue.urls.data_stream)
    c = Collected(s)
    if bars:
        s.subscribe_bars(c.handler, *bars)
    if quotes:
        s.subscribe_quotes(c.handler, *quotes)
    if trades:
        s.subscribe_trades(c.handler, *trades)
    c.start()
    wait_for(lambda: venue.state()["streams"]["market_data"].get("iex", {}).get(
        "subscriptions"), what="market-data subscription")
    return c
