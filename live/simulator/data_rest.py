"""A loopback HTTP server that answers Alpaca's historical market-data REST from a ``Lake``.

Speaks ``GET /v2/stocks/{bars,trades,quotes}`` in Alpaca's JSON shape (short field names,
RFC-3339 ns timestamps, ``next_page_token`` pagination with ``limit`` counted across
symbols), checks the ``APCA-API-*`` headers, and can inject failures (e.g. 429 / 500) on
chosen requests so the client's retry and rate limiting are exercised for real.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import polars as pl

from framework.data import Lake
from live.simulator.loopback import JsonHandler, LoopbackServer

_KINDS = {"bars": None, "trades": "trades", "quotes": "quotes"}
_TIMEFRAMES = {"1Min": "1m", "1Day": "1d"}
_RFC3339 = "%Y-%m-%dT%H:%M:%S.%9fZ"


def _parse_time(s: str) -> int:
    return int(pl.Series([s]).str.to_datetime(time_unit="ns", time_zone="UTC").cast(pl.Int64)[0])


class DataRestServer(LoopbackServer):
    """Serve ``lake`` on ``http://127.0.0.1:<port>``; use as a context manager.

    ``page_cap`` caps items per page below the client's ``limit`` (forces pagination);
    ``faults`` is a list of HTTP statuses returned, in order, to the first requests;
    ``edit(symbol, item)`` rewrites each JSON item before it is sent (values a real feed
    can send and a lake never holds: NaN, inf, absurd magnitudes);
    ``requests`` records (monotonic time, path with query, status) of every request.
    """

    def __init__(self, lake: Lake, page_cap: int | None = None, faults: list[int] | None = None,
                 host: str = "127.0.0.1", port: int = 0,
                 edit: Callable[[str, dict], dict] | None = None):
        self.lake = lake
        self.page_cap = page_cap
        self.edit = edit
        super().__init__(self._handler(), host, port, faults)

    # ------------------------------------------------------------------ responses
    def _rows(self, kind: str, q: dict[str, str]) -> list[tuple[str, dict]]:
        syms = [s for s in q.get("symbols", "").split(",") if s]
        start = _parse_time(q["start"]) if "start" in q else None
        end = _parse_time(q["end"]) if "end" in q else None
        if kind == "bars":
            tf = _TIMEFRAMES.get(q.get("timeframe", ""))
            if tf is None:
                raise ValueError(f"unsupported timeframe {q.get('timeframe')!r}")
            df = self.lake.bars(syms, start, end + 1 if end else None, tf)
            if tf == "1d":  # Alpaca stamps daily bars at midnight New York time
                df = df.with_columns(
                    pl.col("ts").cast(pl.Datetime("ns", "UTC")).dt.convert_time_zone(
                        "America/New_York").dt.truncate("1d").dt.convert_time_zone("UTC")
                    .cast(pl.Int64).alias("ts"))
        else:
            df = self.lake.read(kind, syms, start, end + 1 if end else None)
        df = df.sort(["symbol", "ts"], maintain_order=True).with_columns(
            pl.col("ts").cast(pl.Datetime("ns")).dt.strftime(_RFC3339).alias("t"))
        if kind == "bars":
            out = df.select("symbol", "t", o="open", h="high", l="low", c="close", v="volume",
                            n="n", vw="vwap")
        elif kind == "trades":
            out = df.with_row_index("i").select(
                "symbol", "t", x="exchange", p="price", s="size",
                c=pl.col("conditions").str.split(","), i=pl.col("i").cast(pl.Int64),
                z=pl.lit("B"))
        else:
            out = df.select("symbol", "t", ax=pl.lit("V"), ap="ask", **{"as": "ask_size"},
                            bx=pl.lit("V"), bp="bid", bs="bid_size", c=pl.lit(["R"]),
                            z=pl.lit("B"))
        rows = [(r.pop("symbol"), r) for r in out.iter_rows(named=True)]
        return rows if self.edit is None else [(s, self.edit(s, r)) for s, r in rows]

    def _page(self, kind: str, q: dict[str, str]) -> dict:
        rows = self._rows(kind, q)
        limit = min(int(q.get("limit", 1000)), 10_000)
        if self.page_cap:
            limit = min(limit, self.page_cap)
        offset = 0
        if q.get("page_token"):
            offset = json.loads(base64.b64decode(q["page_token"]))["o"]
        chunk = rows[offset : offset + limit]
        data: dict[str, list] = {}
        for sym, item in chunk:
            data.setdefault(sym, []).append(item)
        nxt = offset + limit
        token = base64.b64encode(json.dumps({"o": nxt}).encode()).decode() if nxt < len(rows) else None
        return {kind: data, "next_page_token": token}

    def _handler(self) -> type[JsonHandler]:
        class Handler(JsonHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                server, (url, q) = self.owner, self.parsed()
                fault = server.next_fault()
                if fault:
                    self.send_json(fault, {"code": fault * 100, "message": "injected fault"})
                    return
                if not (self.headers.get("APCA-API-KEY-ID") and
                        self.headers.get("APCA-API-SECRET-KEY")):
                    self.send_json(403, {"code": 40310000, "message": "forbidden"})
                    return
                parts = url.path.strip("/").split("/")
                if len(parts) != 3 or parts[:2] != ["v2", "stocks"] or parts[2] not in _KINDS:
                    self.send_json(404, {"code": 40410000, "message": "endpoint not found"})
                    return
                try:
                    self.send_json(200, server._page(parts[2], q))
                except (ValueError, KeyError) as err:
                    self.send_json(422, {"code": 42210000, "message": str(err)})

        return Handler
