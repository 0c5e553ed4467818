"""A loopback HTTP server answering Polygon.io's (now Massive's) stock REST from a ``Lake``.

Shapes follow the official ``massive`` client's models and its recorded test responses
(``test_rest/mocks`` of massive-com/client-python) and Massive's docs:

* ``GET /v2/aggs/ticker/{T}/range/1/{minute|day}/{from}/{to}``: ``results`` of
  ``{t (ms, bar start; midnight ET for days), o, h, l, c, v, vw, n}``, ``ticker``,
  ``queryCount``, ``resultsCount``, ``count``, ``adjusted``, ``status``, ``request_id``,
  ``next_url`` (path ``from`` = next bar's ``t``, ``cursor`` = base64 of the query) while
  more remain; ``from``/``to`` are New York dates or ms, inclusive; ``adjusted`` (default
  true) scales prices by later splits and volume by their inverse. No ``results`` key when
  nothing matches - also for an unknown ticker, as the real API does.
* ``GET /v3/trades/{T}``, ``/v3/quotes/{T}``: ``timestamp.gte/.lt`` (ns), ``limit``,
  ``results`` with ``sip_timestamp``/``participant_timestamp`` (ns), ids as integers,
  cursor pagination.
* ``GET /stocks/v1/splits``, ``/stocks/v1/dividends`` (``ticker``, ``*.gte``),
  ``GET /v3/reference/tickers/{T}`` (404 ``NOT_FOUND`` for a ticker it does not know).
* Errors as JSON ``{status, request_id, error|message}``: 401 (missing/unknown key),
  403 ``NOT_AUTHORIZED`` (data outside ``entitled``), 429, 5xx.

``faults`` answers the first requests, in order: an int sends that HTTP status, ``"hang"``
accepts and never answers (until the server closes), ``None`` answers normally.
``requests`` records (monotonic time, path with query, status; 0 for a hang).
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
import uuid
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

import polars as pl

from framework.data import Lake
from live.simulator.loopback import JsonHandler, LoopbackServer

NY = ZoneInfo("America/New_York")
_ERRORS = {
    429: ("ERROR", "error", "You've exceeded the maximum requests per minute, please wait or "
          "upgrade your subscription to continue. https://massive.com/pricing"),
    403: ("NOT_AUTHORIZED", "message", "You are not entitled to this data. Please upgrade "
          "your plan at https://massive.com/pricing"),
}


def _b64(q: dict) -> str:
    return base64.urlsafe_b64encode(urlencode(q).encode()).decode().rstrip("=")


def _unb64(s: str) -> dict[str, str]:
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).decode()
    return {k: v[-1] for k, v in parse_qs(raw).items()}


def _ms_bound(value: str, is_end: bool) -> int:
    """An aggregates ``from``/``to``: a New York date (whole day) or ms; inclusive, in ms."""
    if len(value) == 10 and value[4] == "-":
        day = dt.date.fromisoformat(value) + dt.timedelta(days=int(is_end))
        ms = int(dt.datetime.combine(day, dt.time(0), NY).timestamp() * 1000)
        return ms - int(is_end)
    return int(value)


class PolygonRestServer(LoopbackServer):
    """Serve ``lake`` (raw prices) on ``http://127.0.0.1:<port>``; use as a context manager.

    ``splits``: symbol -> [(execution date, split_from, split_to)]; ``dividends``: symbol ->
    [(ex-dividend date, cash USD as declared)]. ``page_cap`` caps results per page.
    ``entitled`` names what the key's plan includes: aggs, trades, quotes, reference.
    ``retry_after`` (seconds, as text) goes with every injected fault as ``Retry-After``.
    """

    def __init__(self, lake: Lake, api_key: str = "loopback-key",
                 splits: dict[str, list[tuple[dt.date, float, float]]] | None = None,
                 dividends: dict[str, list[tuple[dt.date, float]]] | None = None,
                 page_cap: int | None = None, faults: list[int | str | None] | None = None,
                 entitled: tuple[str, ...] = ("aggs", "trades", "quotes", "reference"),
                 retry_after: str | None = None):
        self.lake, self.api_key = lake, api_key
        self.splits, self.dividends = splits or {}, dividends or {}
        self.page_cap, self.entitled, self.retry_after = page_cap, entitled, retry_after
        self.hanging = threading.Event()  # set when a "hang" fault has begun
        self._closing = threading.Event()
        super().__init__(self._handler(), faults=faults)

    def __exit__(self, *exc) -> None:
        self._closing.set()  # releases the handlers that "hang"
        super().__exit__(*exc)

    # ------------------------------------------------------------------ data
    def _split_scale(self, sym: str, days: list[dt.date]) -> list[float]:
        """Per day: product of split_from/split_to of the symbol's splits after it."""
        out = []
        for d in days:
            s = 1.0
            for when, frm, to in self.splits.get(sym, []):
                if when > d:
                    s *= frm / to
            out.append(s)
        return out

    def _aggs(self, sym: str, span: str, frm: str, to: str, q: dict[str, str]) -> dict:
        lo, hi = _ms_bound(frm, False), _ms_bound(to, True)
        adjusted = q.get("adjusted", "true") != "false"
        tf = {"minute": "1m", "day": "1d"}[span]
        d0 = dt.datetime.fromtimestamp(lo / 1000, NY).date()
        d1 = dt.datetime.fromtimestamp(hi / 1000, NY).date()
        df = self.lake.bars(sym, d0, d1, tf)
        days = df.select(pl.col("ts").cast(pl.Datetime("ns", "UTC")).dt.convert_time_zone(
            "America/New_York").dt.date())["ts"].to_list()
        if tf == "1d":  # Polygon stamps a day bar at midnight New York
            t = [int(dt.datetime.combine(d, dt.time(0), NY).timestamp() * 1000) for d in days]
        else:
            t = (df["ts"] // 1_000_000).to_list()
        scale = self._split_scale(sym, days) if adjusted else [1.0] * len(days)
        bars = [{"v": v / s, "vw": vw * s, "o": o * s, "c": c * s, "h": h * s, "l": lw * s,
                 "t": ti, "n": n}
                for ti, o, h, lw, c, v, vw, n, s in zip(
                    t, df["open"], df["high"], df["low"], df["close"], df["volume"],
                    df["vwap"], df["n"], scale, strict=True) if lo <= ti <= hi]
        cap = min(int(q.get("limit", 5000)), 50_000, self.page_cap or 50_000)
        page = bars[:cap]
        body = {"ticker": sym, "queryCount": len(page), "resultsCount": len(page),
                "adjusted": adjusted}
        if page:
            body["results"] = page
        body |= {"status": "OK", "request_id": uuid.uuid4().hex, "count": len(page)}
        if len(bars) > cap:
            cursor = _b64({"adjusted": str(adjusted).lower(), "limit": q.get("limit", 5000),
                           "sort": "asc"})
            body["next_url"] = (f"{self.url}/v2/aggs/ticker/{sym}/range/1/{span}/"
                                f"{bars[cap]['t']}/{to}?cursor={cursor}")
        return body

    def _ticks(self, kind: str, sym: str, q: dict[str, str]) -> list[dict]:
        lo = int(q["timestamp.gte"]) if "timestamp.gte" in q else None
        hi = int(q["timestamp.lt"]) if "timestamp.lt" in q else None
        df = self.lake.read(kind, sym, lo, hi)
        out = []
        for i, r in enumerate(df.iter_rows(named=True)):
            common = {"participant_timestamp": r["ts"] - 150_000, "sequence_number": 1000 + i,
                      "sip_timestamp": r["ts"], "tape": 3}
            if kind == "trades":
                conds = [int(c) for c in r["conditions"].split(",") if c]
                out.append({"conditions": conds, "exchange": int(r["exchange"]), "id": str(i + 1),
                            "price": r["price"], "size": r["size"]} | common)
            else:
                out.append({"ask_exchange": 11, "ask_price": r["ask"], "ask_size": r["ask_size"],
                            "bid_exchange": 12, "bid_price": r["bid"], "bid_size": r["bid_size"]}
                           | common)
        return out

    def _actions(self, what: str, q: dict[str, str]) -> list[dict]:
        sym = q.get("ticker", "")
        if what == "splits":
            since = q.get("execution_date.gte", "0000")
            return [{"adjustment_type": "forward_split" if to > frm else "reverse_split",
                     "execution_date": d.isoformat(), "id": f"S{sym}{d:%Y%m%d}",
                     "split_from": frm, "split_to": to, "ticker": sym}
                    for d, frm, to in sorted(self.splits.get(sym, []), reverse=True)
                    if d.isoformat() >= since]
        since = q.get("ex_dividend_date.gte", "0000")
        return [{"cash_amount": cash, "currency": "USD", "distribution_type": "recurring",
                 "ex_dividend_date": d.isoformat(), "frequency": 4, "id": f"D{sym}{d:%Y%m%d}",
                 "pay_date": (d + dt.timedelta(days=14)).isoformat(),
                 "record_date": (d + dt.timedelta(days=1)).isoformat(), "ticker": sym}
                for d, cash in sorted(self.dividends.get(sym, []), reverse=True)
                if d.isoformat() >= since]

    def _listing(self, path: str, items: list[dict], q: dict[str, str]) -> dict:
        """A v3-style page of ``items`` with cursor pagination (offset inside the cursor)."""
        offset = int(q.pop("offset", 0))
        cap = min(int(q.get("limit", 1000)), 50_000, self.page_cap or 50_000)
        body = {"results": items[offset:offset + cap], "status": "OK",
                "request_id": uuid.uuid4().hex}
        if offset + cap < len(items):
            body["next_url"] = f"{self.url}{path}?cursor={_b64(q | {'offset': offset + cap})}"
        return body

    def answer(self, path: str, q: dict[str, str]) -> tuple[int, dict]:
        """(HTTP status, JSON body) for an authenticated GET."""
        parts = path.strip("/").split("/")
        area = ("aggs" if parts[:2] == ["v2", "aggs"] else
                parts[1] if parts[0] == "v3" and parts[1] in ("trades", "quotes") else "reference")
        if area not in self.entitled:
            return self._error(403)
        if len(parts) == 9 and parts[:3] == ["v2", "aggs", "ticker"] and parts[4:6] == ["range", "1"]:
            if parts[6] not in ("minute", "day"):
                return 400, {"status": "ERROR", "request_id": uuid.uuid4().hex,
                             "error": f"timespan {parts[6]!r} not served here"}
            return 200, self._aggs(parts[3], parts[6], parts[7], parts[8], q)
        if len(parts) == 3 and area in ("trades", "quotes"):
            return 200, self._listing(path, self._ticks(area, parts[2], q), q)
        if parts[:2] == ["stocks", "v1"] and len(parts) == 3 and parts[2] in ("splits", "dividends"):
            return 200, self._listing(path, self._actions(parts[2], q), q)
        if parts[:3] == ["v3", "reference", "tickers"] and len(parts) == 4:
            sym = parts[3]
            if not any(sym in self.lake.symbols(ds) for ds in ("bars_1m", "bars_1d", "trades")):
                return 404, {"status": "NOT_FOUND", "request_id": uuid.uuid4().hex,
                             "message": "Ticker not found."}
            return 200, {"results": {"ticker": sym, "name": sym, "market": "stocks",
                                     "locale": "us", "active": True, "currency_name": "usd"},
                         "status": "OK", "request_id": uuid.uuid4().hex}
        return 404, {"status": "NOT_FOUND", "request_id": uuid.uuid4().hex,
                     "message": f"no endpoint {path}"}

    def _error(self, status: int) -> tuple[int, dict]:
        st, field, text = _ERRORS.get(status, ("ERROR", "error", "Internal server error"))
        return status, {"status": st, "request_id": uuid.uuid4().hex, field: text}

    def _handler(self) -> type[JsonHandler]:
        class Handler(JsonHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                server, (url, q) = self.owner, self.parsed()
                if "cursor" in q:
                    q = _unb64(q.pop("cursor")) | q
                fault = server.next_fault()
                if fault == "hang":
                    with server._lock:
                        server.requests.append((time.monotonic(), self.path, 0))
                    server.hanging.set()
                    server._closing.wait()
                    return
                if fault:
                    hdr = {"Retry-After": server.retry_after} if server.retry_after else None
                    self.send_json(*server._error(int(fault)), headers=hdr)
                    return
                auth = self.headers.get("Authorization", "")
                key = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else q.get("apiKey")
                if not key:
                    self.send_json(401, {"status": "ERROR", "request_id": uuid.uuid4().hex,
                                     "error": "API Key was not provided"})
                    return
                if key != server.api_key:
                    self.send_json(401, {"status": "ERROR", "request_id": uuid.uuid4().hex,
                                     "error": "Unknown API Key"})
                    return
                self.send_json(*server.answer(url.path, q))

        return Handler
