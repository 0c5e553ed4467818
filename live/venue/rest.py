"""Alpaca's trading REST on aiohttp: routes, and the middleware that enforces the
account-wide rules (keys -> 401, 200 requests per minute -> 429 with
``X-RateLimit-Limit/Remaining/Reset``, scripted HTTP faults, JSON error bodies).

Query conventions of alpaca-py: booleans arrive as ``True``/``False``, lists
comma-joined, times RFC-3339 or dates. Error bodies are ``{"code", "message"}``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from framework.data.calendar import sessions
from live.venue import wire
from live.venue.orders import ApiError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CONTROL_PREFIX = "/_venue"
INJECTED = web.RequestKey("fw_injected_fault", bool)  # the answer is a scheduled fault


def error_response(status: int, message: str, code: int | None = None,
                   headers: dict | None = None) -> web.Response:
    body = {"code": code if code is not None else status * 100_000, "message": message}
    return web.json_response(body, status=status, headers=headers)


class RateLimiter:
    """A fixed window of ``limit`` requests per ``window_s`` wall seconds (epoch-aligned
    reset reported in ``X-RateLimit-Reset``, epoch seconds)."""

    def __init__(self, limit: int, window_s: float):
        self.limit = limit
        self.window_s = window_s
        self.reset = 0.0
        self.used = 0

    def take(self) -> tuple[bool, dict]:
        now = time.time()
        if now >= self.reset:
            self.reset = now + self.window_s
            self.used = 0
        ok = self.used < self.limit
        if ok:
            self.used += 1
        return ok, self.headers()

    def headers(self) -> dict:
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(max(self.limit - self.used, 0)),
                "X-RateLimit-Reset": str(math.ceil(self.reset))}


def _bool(v: str | None) -> bool:
    return (v or "").lower() == "true"


def _time_ns(v: str | None, key: str) -> int | None:
    """RFC-3339 instant or YYYY-MM-DD (New York midnight is not implied: UTC) -> ns."""
    if not v:
        return None
    try:
        t = dt.datetime.fromisoformat(v.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ApiError(422, f"invalid {key}: {v!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp() * 1e6) * 1000


def _int(v: str | None, key: str, default: int, hi: int) -> int:
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        raise ApiError(422, f"invalid {key}: {v!r}") from None
    if not 1 <= n <= hi:
        raise ApiError(422, f"invalid {key}: {n} (1..{hi})")
    return n


async def _body(request: web.Request) -> object:
    try:
        return await request.json()
    except (ValueError, UnicodeDecodeError):
        raise ApiError(422, "request body is not valid JSON") from None


def make_middleware(venue) -> Callable:
    """Faults, auth, rate limit and error shaping around every ``/v2`` route; each
    trading request (and stream connect) is noted in ``venue.requests`` as ``(monotonic s
    when it arrived, method, path, status)`` -- the venue's own record a chaos run checks
    clients by."""
    limiter = venue.limiter

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith(CONTROL_PREFIX):
            try:
                return await handler(request)
            except ApiError as err:
                return error_response(err.status, err.message, err.code)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            venue.requests.append((time.monotonic(), "WS", path, 101))
            return await handler(request)
        # stamped when the request arrived, not when its reply went out: a POST whose
        # handling outlives the client (a kill fired mid-request) belongs to the client
        # that sent it, not to the window of the one started meanwhile
        received = time.monotonic()
        resp = await _trading(request, handler)
        venue.requests.append((received, request.method, path, resp.status))
        return resp

    async def _trading(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        fault = venue.faults.http_fault(request.method, path)
        if fault is not None:
            request[INJECTED] = True
            status, headers = fault["status"], None
            if status == 429:
                headers = {**limiter.headers(), "X-RateLimit-Remaining": "0"}
                if fault["seconds"] is not None:  # the window this 429 names
                    headers["X-RateLimit-Reset"] = str(math.ceil(time.time()
                                                                 + fault["seconds"]))
            return error_response(status, "rate limit exceeded" if status == 429
                                  else "injected fault", headers=headers)
        if (request.headers.get("APCA-API-KEY-ID") != venue.cfg.key_id
                or request.headers.get("APCA-API-SECRET-KEY") != venue.cfg.secret_key):
            return error_response(401, "request is not authorized", 40110000)
        ok, headers = limiter.take()
        if not ok:
            return error_response(429, "rate limit exceeded", 42910000, headers)
        try:
            resp = await handler(request)
        except ApiError as err:
            resp = error_response(err.status, err.message, err.code)
        except web.HTTPNotFound:
            resp = error_response(404, "endpoint not found", 40410000)
        except web.HTTPMethodNotAllowed:
            resp = error_response(405, "method not allowed", 40510000)
        resp.headers.update(headers)
        return resp

    return middleware


def make_metrics_middleware(metrics) -> Callable:
    """Counts every trading REST answer in ``metrics`` (a ``VenueMetrics``) by method,
    route template and status (outermost: it sees what the client gets)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        resp = await handler(request)
        if not request.path.startswith(CONTROL_PREFIX) and \
                request.headers.get("Upgrade", "").lower() != "websocket":
            resource = request.match_info.route.resource
            endpoint = resource.canonical if resource is not None else "unmatched"
            metrics.request(request.method, endpoint, resp.status,
                            fault=request.get(INJECTED, False))
        return resp

    return middleware


def routes(venue) -> list[web.RouteDef]:
    """The ``/v2`` trading routes of ``venue`` (a ``live.venue.server.Venue``)."""
    core = venue.core

    def js(obj, status: int = 200) -> web.Response:
        return web.json_response(obj, status=status)

    async def account(request):
        return js(core.account.json(core.now()))

    async def clock(request):
        return js(core.clock_json())

    async def calendar(request):
        q = request.query
        try:
            start = dt.date.fromisoformat(q.get("start") or "1970-01-01")
            end = dt.date.fromisoformat(q.get("end") or (start + dt.timedelta(days=365)).isoformat())
        except ValueError:
            raise ApiError(422, "invalid start/end: expected YYYY-MM-DD") from None
        dates, opens, closes = sessions(start, end)
        return js(wire.calendar_json(dates, opens, closes))

    async def assets(request):
        q = request.query
        out = list(core.assets.values())
        if q.get("status") and q["status"] != "active" or q.get("asset_class") not in (
                None, "", "us_equity"):
            out = []
        return js(out)

    async def asset(request):
        key = request.match_info["key"]
        for a in core.assets.values():
            if key.upper() == a["symbol"] or key == a["id"]:
                return js(a)
        raise ApiError(404, "asset not found", 40410000)

    async def submit(request):
        body = await _body(request)
        if venue.faults.kill_at("before_send"):  # the client dies, its POST unread
            raise ApiError(503, "injected fault: the client was killed before the order")
        reply = core.submit(body)
        venue.persist()
        venue.faults.kill_at("after_send")  # booked; the client never reads the reply
        hold = venue.faults.take_order_timeout()
        if hold is not None:  # booked, but the client never hears back
            await asyncio.sleep(hold)
            if request.transport is not None:
                request.transport.abort()
        return js(reply)

    async def list_orders(request):
        venue.faults.kill_at("reconcile")
        q = request.query
        status = q.get("status") or "open"
        if status not in ("open", "closed", "all"):
            raise ApiError(422, f"invalid status: {status!r}")
        direction = q.get("direction") or "desc"
        if direction not in ("asc", "desc"):
            raise ApiError(422, f"invalid direction: {direction!r}")
        syms = {s.upper() for s in (q.get("symbols") or "").split(",") if s}
        return js(core.list_orders(status, _int(q.get("limit"), "limit", 50, 500),
                                   _time_ns(q.get("after"), "after"),
                                   _time_ns(q.get("until"), "until"), direction, syms or None,
                                   q.get("side")))

    async def by_client_id(request):
        cid = request.query.get("client_order_id", "")
        od = core.by_client_id.get(cid)
        if od is None:
            raise ApiError(404, "order not found", 40410000)
        return js(wire.order_json(od))

    async def get_order(request):
        return js(wire.order_json(core.get(request.match_info["id"])))

    async def replace(request):
        body = await _body(request)
        reply = core.replace(request.match_info["id"], body)
        venue.persist()
        return js(reply)

    async def cancel(request):
        if venue.faults.fill_race:
            core.fill_race(request.match_info["id"], venue.faults)
        core.cancel(request.match_info["id"])
        venue.persist()
        return web.Response(status=204)

    async def cancel_all(request):
        out = core.cancel_all()
        venue.persist()
        return js(out, 207)

    async def positions(request):
        return js(core.positions_json())

    async def position(request):
        return js(core.position_json(request.match_info["symbol"]))

    async def close_all(request):
        out = core.close_all(_bool(request.query.get("cancel_orders")))
        venue.persist()
        return js(out, 207)

    async def close_one(request):
        from live.venue.orders import number

        q = dict(request.query)
        reply = core.close_position(request.match_info["symbol"], number(q, "qty"),
                                    number(q, "percentage"))
        venue.persist()
        return js(reply)

    async def activities(request):
        q = request.query
        kind = request.match_info.get("type")
        types = {kind} if kind else {t for t in (q.get("activity_types") or "").split(",") if t}
        acts = [a for a in core.account.activities
                if not types or a["activity_type"] in types]
        date = q.get("date")
        if date:
            acts = [a for a in acts if a["transaction_time"][:10] == date]
        after, until = _time_ns(q.get("after"), "after"), _time_ns(q.get("until"), "until")
        acts = [a for a in acts if (after is None or a["_ts"] > after)
                and (until is None or a["_ts"] < until)]
        if (q.get("direction") or "desc") == "desc":
            acts = acts[::-1]
        token = q.get("page_token")
        if token:
            ids = [a["id"] for a in acts]
            if token not in ids:
                raise ApiError(422, f"invalid page_token: {token!r}")
            acts = acts[ids.index(token) + 1:]
        size = _int(q.get("page_size"), "page_size", 100, 100)
        return js([{k: v for k, v in a.items() if not k.startswith("_")} for a in acts[:size]])

    return [
        web.get("/v2/account", account),
        web.get("/v2/clock", clock),
        web.get("/v2/calendar", calendar),
        web.get("/v2/assets", assets),
        web.get("/v2/assets/{key}", asset),
        web.post("/v2/orders", submit),
        web.get("/v2/orders", list_orders),
        web.delete("/v2/orders", cancel_all),
        web.get("/v2/orders:by_client_order_id", by_client_id),
        web.get("/v2/orders/{id}", get_order),
        web.patch("/v2/orders/{id}", replace),
        web.delete("/v2/orders/{id}", cancel),
        web.get("/v2/positions", positions),
        web.delete("/v2/positions", close_all),
        web.get("/v2/positions/{symbol}", position),
        web.delete("/v2/positions/{symbol}", close_one),
        web.get("/v2/account/activities", activities),
        web.get("/v2/account/activities/{type}", activities),
    ]


def control_routes(venue) -> list[web.RouteDef]:
    """``/_venue``: the venue's own control plane (no keys, not rate limited) for tests,
    ``fw live`` and chaos runs: state, clock start/advance, faults."""

    async def state(request):
        return web.json_response(venue.state_now())

    async def start(request):
        venue.start_clock()
        return web.json_response(venue.state_now())

    async def advance(request):
        body = await _body(request) if request.can_read_body else {}
        if not isinstance(body, dict):
            raise ApiError(422, "advance: body must be an object {steps | until}")
        out = await venue.advance_async(steps=body.get("steps"), until=body.get("until"))
        return web.json_response(out)

    async def add_fault(request):
        body = await _body(request)
        specs = body if isinstance(body, list) else [body]
        for spec in specs:
            venue.fault_now(spec)
        return web.json_response(venue.faults.json())

    async def faults(request):
        return web.json_response(venue.faults.json())

    async def clear(request):
        venue.clear_faults_now()
        return web.json_response(venue.faults.json())

    p = CONTROL_PREFIX
    return [web.get(f"{p}/state", state), web.post(f"{p}/start", start),
            web.post(f"{p}/advance", advance), web.get(f"{p}/faults", faults),
            web.post(f"{p}/faults", add_fault), web.delete(f"{p}/faults", clear)]
