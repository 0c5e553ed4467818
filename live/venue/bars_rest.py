"""Alpaca's historical bars endpoint on the venue: ``GET /v2/stocks/bars`` (Alpaca serves
it on ``data.alpaca.markets``; the venue on its own base URL), so a client that lost its
market-data socket can fetch the bars it missed, as it would from Alpaca.

Only what the venue has already published is served: the 1-minute bars of the steps
played so far (``Timeline.played``), never a bar from the replay's future. Query as
Alpaca's: ``symbols`` (comma-separated, required), ``timeframe`` (``1Min``/``1T``),
``start`` / ``end`` (RFC 3339, inclusive, on the bar's start), ``limit`` (1..10000,
default 1000, counted across symbols), ``page_token``, ``sort`` (``asc``/``desc``);
``feed`` and ``adjustment`` are accepted and ignored. Reply: ``{"bars": {symbol:
[{"t", "o", "h", "l", "c", "v", "n", "vw"}]}, "next_page_token"}``, symbol by symbol,
each in time order.
"""

from __future__ import annotations

import numpy as np
from aiohttp import web

from live.venue.orders import ApiError
from live.venue.rest import _int, _time_ns
from live.venue.wire import rfc3339

TIMEFRAMES = ("1Min", "1T", "1Minute")
MAX_LIMIT = 10_000


def _bars(venue, q) -> dict:
    syms = [s for s in (q.get("symbols") or "").split(",") if s]
    if not syms:
        raise ApiError(422, "symbols is required")
    if q.get("timeframe") not in TIMEFRAMES:
        raise ApiError(422, f"invalid timeframe {q.get('timeframe')!r}: the venue streams "
                            "1-minute bars only (1Min)")
    start, end = _time_ns(q.get("start"), "start"), _time_ns(q.get("end"), "end")
    limit = _int(q.get("limit"), "limit", 1000, MAX_LIMIT)
    try:
        offset = int(q.get("page_token") or 0)
    except ValueError:
        raise ApiError(422, f"invalid page_token: {q.get('page_token')!r}") from None
    names = venue.timeline.symbols
    bars = venue.timeline.played().bars
    keep = np.isin(bars["sym"], [names.index(s) for s in syms if s in names])
    if start is not None:
        keep &= bars["ts"] >= start
    if end is not None:
        keep &= bars["ts"] <= end
    rows = bars[keep]
    rows = rows[np.lexsort((rows["ts"], [syms.index(names[k]) for k in rows["sym"]]))
                if len(rows) else slice(None)]
    if q.get("sort") == "desc":
        rows = rows[::-1]
    page = rows[offset:offset + limit]
    out: dict[str, list] = {}
    for b in page:
        out.setdefault(names[int(b["sym"])], []).append({
            "t": rfc3339(int(b["ts"])), "o": float(b["open"]), "h": float(b["high"]),
            "l": float(b["low"]), "c": float(b["close"]), "v": float(b["volume"]),
            "n": int(b["n"]), "vw": None if np.isnan(b["vwap"]) else float(b["vwap"])})
    nxt = offset + limit
    return {"bars": out, "next_page_token": str(nxt) if nxt < len(rows) else None}


def bar_routes(venue) -> list[web.RouteDef]:
    """``GET /v2/stocks/bars`` of ``venue`` (a ``live.venue.server.Venue``)."""

    async def stock_bars(request: web.Request) -> web.Response:
        return web.json_response(_bars(venue, request.query))

    return [web.get("/v2/stocks/bars", stock_bars)]
