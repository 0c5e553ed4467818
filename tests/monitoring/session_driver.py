"""A scripted session for the monitoring tests: trades on a local venue through alpaca-py's
real clients and reports every event to a ``SessionMetrics``, as the live adapter will.

What is real: the venue (REST, market-data WebSocket, fills by its quote model), the
HTTP status codes and rate-limit headers (a ``requests`` response hook on alpaca-py's
session), order acks (REST replies), fills (orders polled back), equity and positions
(the venue's account). What is scripted: the "strategy" (1-share market orders,
buy buy sell, one far limit that is canceled, one order too big for a risk limit, one the
broker refuses), one injected 429 (at ``throttle_at_s``), one dropped stream with its
reconnect, and -- at ``kill_at_s`` -- a drawdown breaker and the kill switch.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request

from alpaca.common.exceptions import APIError
from alpaca.data.live.stock import StockDataStream
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

from framework.monitoring import SessionMetrics

ID_IN_PATH = re.compile(r"/[0-9a-f]{8}-[0-9a-f-]{27,}")


def endpoint_of(path: str) -> str:
    """``/v2/orders/<uuid>`` -> ``/v2/orders/{id}`` (the label the metrics take)."""
    return ID_IN_PATH.sub("/{id}", path)


class ScriptedSession:
    """Run with ``start()``; ``stop()`` joins. ``urls``: the venue's ``trading``,
    ``data_stream`` and ``control`` base URLs; ``tick_s``: seconds between steps."""

    def __init__(self, metrics: SessionMetrics, trading: str, data_stream: str, control: str,
                 key: str, secret: str, *, symbol: str = "SPY", tick_s: float = 0.2,
                 kill_at_s: float | None = None, throttle_at_s: float = 0.0):
        self.m = metrics
        self.control = control
        self.symbol = symbol
        self.tick_s = tick_s
        self.kill_at_s = kill_at_s
        self.throttle_at_s = throttle_at_s
        self._throttled = False
        self.client = TradingClient(key, secret, url_override=trading)
        self.client._retry = 0
        self.client._session.hooks["response"].append(self._on_response)
        self.stream = StockDataStream(key, secret, url_override=data_stream, raw_data=True)
        self.stream.subscribe_quotes(self._on_quote, symbol)
        self.book: dict[str, float] = {}
        self.mid = float("nan")  # USD, the last quote's mid: the arrival price of an order
        self.errors: list[BaseException] = []
        self.steps = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scripted-session", daemon=True)
        self._stream_thread = threading.Thread(target=self.stream.run, daemon=True)
        self._seq = 0

    # ------------------------------------------------------------------ callbacks
    def _on_response(self, resp, *args, **kwargs) -> None:
        req = resp.request
        path = urllib.request.urlparse(req.url).path
        h = resp.headers
        self.m.http_response(req.method, endpoint_of(path), resp.status_code,
                             rate_limit_remaining=int(h["X-RateLimit-Remaining"])
                             if "X-RateLimit-Remaining" in h else None,
                             rate_limit_limit=int(h["X-RateLimit-Limit"])
                             if "X-RateLimit-Limit" in h else None)

    async def _on_quote(self, q: dict) -> None:
        t = q.get("t")
        rx = self.m.market_data("quote", event_ns=t.to_unix_nano()
                                if hasattr(t, "to_unix_nano") else None)
        self.mid = 0.5 * (float(q["bp"]) + float(q["ap"]))
        self.m.decision(rx)

    # ------------------------------------------------------------------ control plane
    def fault(self, **spec) -> None:
        req = urllib.request.Request(f"{self.control}/faults", data=json.dumps(spec).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()

    # ------------------------------------------------------------------ the script
    def _cid(self) -> str:
        self._seq += 1
        return f"drv-{self._seq}"

    def _send(self, req, cid: str, qty: float, side: str, type_: str, arrival: float) -> None:
        self.m.order_sent(cid, self.symbol, side, qty, type=type_, arrival_price=arrival,
                          decided_ns=time.time_ns())
        try:
            od = self.client.submit_order(req)
        except APIError as err:
            self.m.order_rejected(cid, "broker", symbol=self.symbol, detail=str(err)[:200])
            return
        self.m.order_acked(cid, broker_id=str(od.id))

    def _poll_orders(self) -> None:
        for cid, tracked in list(self.m.orders.items()):
            if tracked.broker_id is None:
                continue
            od = self.client.get_order_by_id(tracked.broker_id)
            new = float(od.filled_qty or 0) - tracked.filled_qty
            if new > 1e-9:
                px = float(od.filled_avg_price)
                prev = tracked.filled_qty
                # the venue reports the average price: the new shares' price follows from it
                fill_px = (px * float(od.filled_qty) - (tracked.avg_price * prev if prev else 0)) / new
                sign = 1 if tracked.side == "buy" else -1
                self.book[self.symbol] = self.book.get(self.symbol, 0.0) + sign * new
                self.m.fill(cid, new, fill_px)
            if od.status.value in ("canceled", "expired"):
                self.m.order_closed(cid, od.status.value)

    def _step(self, t: float) -> None:
        acct = self.client.get_account()
        self.m.mark(float(acct.equity), cash=float(acct.cash))
        clock = self.client.get_clock()
        self.m.market_open(bool(clock.is_open))
        self._poll_orders()
        pos = {p.symbol: float(p.qty) for p in self.client.get_all_positions()}
        self.m.positions(self.book)
        self.m.reconcile(pos)
        k = self.steps
        arrival = self.mid
        if k % 2 == 0:  # 1-share market orders: buy, buy, sell (a growing long)
            side = "sell" if k % 6 == 4 else "buy"
            cid = self._cid()
            self._send(MarketOrderRequest(symbol=self.symbol, qty=1, side=side,
                                          time_in_force="day", client_order_id=cid),
                       cid, 1, side, "market", arrival)
        if k == 3:  # a far limit, canceled two steps later
            cid = self._cid()
            self._send(LimitOrderRequest(symbol=self.symbol, qty=1, side="buy", limit_price=1.0,
                                         time_in_force="day", client_order_id=cid),
                       cid, 1, "buy", "limit", arrival)
            self._far = self.m.orders[cid].broker_id if cid in self.m.orders else None
        if k == 5 and getattr(self, "_far", None):
            self.client.cancel_order_by_id(self._far)
        if k == 4:  # a risk check refuses an order before it leaves
            self.m.order_rejected(None, "max_order_qty", symbol=self.symbol, detail="1e6 shares")
        if k == 6:  # the broker refuses one (fractional GTC is not allowed: 422)
            cid = self._cid()
            self._send(MarketOrderRequest(symbol=self.symbol, qty=0.5, side="buy",
                                          time_in_force="gtc", client_order_id=cid),
                       cid, 0.5, "buy", "market", arrival)
        if not self._throttled and t >= self.throttle_at_s and k >= 7:
            # the next request gets a 429 (the venue's fault injection)
            self.fault(kind="http", status=429, count=1, method="GET", path="/v2/account")
            self._throttled = True
        if k == 9:  # the trade_updates stream drops; the adapter reconnects
            self.m.stream_state("trade_updates", False)
            self.m.reconnect("trade_updates")
        if self.kill_at_s is not None and t >= self.kill_at_s:
            self.m.risk_state(breakers=["drawdown"], kill_switch=True)

    def _run(self) -> None:
        t0 = time.monotonic()
        self.m.stream_state("market_data", True)
        self.m.stream_state("trade_updates", True)
        self.m.risk_state()
        while not self._stop.is_set():
            try:
                self._step(time.monotonic() - t0)
            except APIError as err:  # the scripted 429 lands on get_account
                if "rate limit" not in str(err):
                    self.errors.append(err)
            except Exception as err:  # reported by the test
                self.errors.append(err)
                return
            self.steps += 1
            self._stop.wait(self.tick_s)

    def start(self) -> ScriptedSession:
        self._stream_thread.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        try:
            self.stream.stop()
        except Exception:  # the stream may not have connected yet
            pass
