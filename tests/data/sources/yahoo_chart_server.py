"""Loopback server answering Yahoo's chart API (``/v8/finance/chart/{sym}``) from a Lake.

Used by the yfinance tests: the real yfinance package talks to it through
``HostRewriteSession``. It also answers the cookie (``/``) and crumb
(``/v1/test/getcrumb``) requests yfinance makes first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import polars as pl

from framework.data import Lake
from live.simulator.loopback import LoopbackServer

NS = 1_000_000_000


class YahooChartServer(LoopbackServer):
    """``edit(symbol, quote)`` may rewrite the quote arrays (open/high/low/close/volume
    lists) before they are sent: values Yahoo can send and a lake never holds."""

    def __init__(self, lake: Lake, dividends: dict[str, dict[int, float]] | None = None,
                 edit: Callable[[str, dict], dict] | None = None):
        self.lake = lake
        self.dividends = dividends or {}  # symbol -> {ts seconds: cash amount}
        self.edit = edit
        self.paths: list[str] = []
        super().__init__(self._handler())

    def chart(self, sym: str, q: dict[str, str]) -> dict:
        interval = q.get("interval", "1d")
        # yfinance first asks range=1d (no period) only to learn the exchange time zone
        p1, p2 = int(q.get("period1", 0)), int(q.get("period2", 4_000_000_000))
        df = self.lake.bars(sym, p1 * NS, p2 * NS, "1d" if interval == "1d" else "1m")
        ts = (df["ts"] // NS).to_list()
        day = 86400
        meta = {
            "currency": "USD", "symbol": sym, "exchangeName": "PCX", "fullExchangeName": "NYSEArca",
            "instrumentType": "EQUITY", "firstTradeDate": 725846400, "regularMarketTime": p2,
            "hasPrePostMarketData": True, "gmtoffset": -18000, "timezone": "EST",
            "exchangeTimezoneName": "America/New_York",
            "regularMarketPrice": df["close"][-1] if df.height else 0.0,
            "chartPreviousClose": df["close"][0] if df.height else 0.0, "priceHint": 2,
            "currentTradingPeriod": {
                "pre": {"timezone": "EST", "start": p2 - day, "end": p2 - day + 1, "gmtoffset": -18000},
                "regular": {"timezone": "EST", "start": p2 - day + 1, "end": p2 - 1, "gmtoffset": -18000},
                "post": {"timezone": "EST", "start": p2 - 1, "end": p2, "gmtoffset": -18000},
            },
            "dataGranularity": interval, "range": "",
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "max"],
        }
        result = {
            "meta": meta, "timestamp": ts,
            "indicators": {
                "quote": [{c: df[c].to_list() for c in ("open", "high", "low", "close")}
                          | {"volume": df["volume"].cast(pl.Int64).to_list()}],
            },
        }
        if self.edit is not None:
            result["indicators"]["quote"] = [self.edit(sym, result["indicators"]["quote"][0])]
        if interval != "1d" and df.height:
            # Yahoo sends the regular trading period of each session for intraday requests
            import datetime as dt

            from framework.data.calendar import sessions

            d0 = dt.datetime.fromtimestamp(ts[0], dt.UTC).date()
            d1 = dt.datetime.fromtimestamp(ts[-1], dt.UTC).date()
            _, opens, closes = sessions(d0, d1)
            meta["tradingPeriods"] = [[{"timezone": "EST", "start": int(o // NS),
                                        "end": int(c // NS), "gmtoffset": -18000}]
                                      for o, c in zip(opens, closes, strict=True)]
        if interval == "1d":
            adj = (df["close"] * df["adj_factor"]).to_list()
            result["indicators"]["adjclose"] = [{"adjclose": adj}]
            divs = {str(t): {"amount": a, "date": t}
                    for t, a in self.dividends.get(sym, {}).items() if p1 <= t < p2}
            if divs:
                result["events"] = {"dividends": divs}
        return {"chart": {"result": [result], "error": None}}

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                server.paths.append(self.path)
                url = urlparse(self.path)
                q = {k: v[-1] for k, v in parse_qs(url.query).items()}
                if url.path.startswith("/v8/finance/chart/"):
                    body = json.dumps(server.chart(url.path.rsplit("/", 1)[1], q)).encode()
                    ctype = "application/json"
                elif url.path == "/v1/test/getcrumb":
                    body, ctype = b"loopbackcrumb", "text/plain"
                else:
                    body, ctype = b"ok", "text/plain"
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Set-Cookie", "A3=d=loopback; Domain=127.0.0.1; Path=/")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
