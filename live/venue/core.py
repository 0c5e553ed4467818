"""The venue's order book and state machine: what happens to an order, and when.

Lifecycle (``trade_updates`` event -> order status)::

    POST  -> accepted (reply) -> new (working) -> partial_fill* -> fill
                                              \\-> canceled | expired | replaced
    market closed: stays accepted, ``new`` at the open (extended-hours DAY limits work
    04:00-20:00 New York); DAY orders expire at the close (extended ones at 20:00).

Rules enforced here (besides ``orders.parse_order``'s): a unique ``client_order_id``
(422), buying power (403), wash trades -- an order that could cross the account's own
open opposite order (403), replace only of an order that is working (``new`` or
``partially_filled``; 422 otherwise, also for notional orders), cancel only of an open
order (422), unknown ids (404). A replace closes the old order (``replaced``) and
opens a new one with a new id (``replaces`` / ``replaced_by``), which loses its queue
position.

Everything runs on one asyncio loop; methods are synchronous and never block.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

import numpy as np

from framework.data.calendar import sessions
from framework.execution.costs import trade_fee
from framework.marketdata.replay import EventBatch
from live.venue import wire
from live.venue.account import Account
from live.venue.clock import SimClock
from live.venue.config import VenueConfig
from live.venue.fills import FillModel, make_model
from live.venue.orders import (
    TYPES,
    ApiError,
    VenueOrder,
    check_client_order_id,
    check_price,
    is_fractional,
    number,
    parse_order,
)
from live.venue.replay import Timeline

TradeUpdateSink = Callable[[dict], None]


class VenueCore:
    """Orders, account and fills of one venue over one replayed session."""

    def __init__(self, cfg: VenueConfig, timeline: Timeline, clock: SimClock,
                 account: Account | None = None):
        self.cfg = cfg
        self.timeline = timeline
        self.hours = timeline.hours
        self.clock = clock
        self.symbols = timeline.symbols
        self.assets = {s: wire.asset_json(s) for s in self.symbols}
        self.account = account or Account(cfg.cash)
        paper = cfg.fills == "alpaca-paper"
        self.costs = np.zeros(10) if paper else cfg.costs.as_array()
        self.model: FillModel = make_model(cfg.fills, self.costs, len(self.symbols),
                                           cfg.participation, cfg.partial_rate, cfg.seed)
        self.orders: dict[str, VenueOrder] = {}
        self.by_client_id: dict[str, VenueOrder] = {}
        self._working: dict[int, list[VenueOrder]] = {}
        self.sinks: list[TradeUpdateSink] = []
        self.events_sent = 0
        self.rng = random.Random(cfg.seed)
        self.latency_ns = int(round(cfg.latency_ms * 1e6))
        self.boundary_done = 0  # boundaries (open, close, ext close) already applied

    # ------------------------------------------------------------------ helpers
    def now(self) -> int:
        return self.clock.now()

    def new_id(self) -> str:
        """A UUID from the venue's seeded generator (same run, same ids)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def working(self, sym: int) -> list[VenueOrder]:
        """Working orders of ``sym`` in arrival order (a copy: fills may close some)."""
        return list(self._working.get(sym, ()))

    def active_syms(self) -> set[int]:
        return {s for s, v in self._working.items() if v}

    def get(self, order_id: str) -> VenueOrder:
        od = self.orders.get(order_id)
        if od is None:
            raise ApiError(404, "order not found")
        return od

    def emit(self, event: str, od: VenueOrder, ts: int, **extra) -> None:
        """Send one ``trade_updates`` message to every sink."""
        data = {"event": event, "timestamp": wire.rfc3339(ts), "order": wire.order_json(od),
                **extra}
        msg = {"stream": "trade_updates", "data": data}
        self.events_sent += 1
        for sink in list(self.sinks):
            sink(msg)

    def _boundaries(self) -> list[tuple[int, str]]:
        h = self.hours
        return [(h.open, "open"), (h.close, "close"), (h.ext_close, "ext_close")]

    def eligible(self, od: VenueOrder, ns: int) -> bool:
        """May ``od`` work at ``ns``: regular hours, or extended hours for an
        extended-hours order (before the close boundaries were applied)."""
        if od.extended_hours:
            return self.hours.extended(ns) and self.boundary_done < 3
        return self.hours.regular(ns) and self.boundary_done < 2

    # ------------------------------------------------------------------ orders
    def submit(self, body: object) -> dict:
        """``POST /v2/orders``: the order as accepted (JSON), then it starts working."""
        now = self.now()
        od = parse_order(body, self.assets, self.symbols, now, self.new_id())
        if od.client_order_id in self.by_client_id:
            raise ApiError(422, "client_order_id must be unique", 40010001)
        self._check_wash(od)
        self._check_buying_power(od)
        self._register(od)
        reply = wire.order_json(od)
        if self.eligible(od, now):
            self._activate(od, now)
        return reply

    def _register(self, od: VenueOrder) -> None:
        self.orders[od.id] = od
        self.by_client_id[od.client_order_id] = od

    def _activate(self, od: VenueOrder, ts: int) -> None:
        """The order starts working at ``ts``: ``new``, then its arrival match."""
        if od.notional is not None:
            px = self.account.price(od.symbol)
            if not px > 0:
                self.close(od, "rejected", ts)
                return
            od.work_qty = np.floor(od.notional / px * 1e9) / 1e9  # until its first fill
            od.sized = False
        od.status = "new"
        od.ts_active = ts + self.latency_ns
        od.updated_at = ts
        self._working.setdefault(od.sym, []).append(od)
        self.emit("new", od, ts)
        self.model.on_arrival(self, od, ts)

    def _check_wash(self, od: VenueOrder) -> None:
        """403 when ``od`` (market or limit; an untriggered stop crosses nothing yet)
        could trade against the account's own open opposite market or limit order."""
        if od.type not in ("market", "limit"):
            return
        for other in self.orders.values():
            if (other.symbol != od.symbol or other.side == od.side or not other.is_open
                    or other.type not in ("market", "limit")):
                continue
            buy, sell = (od, other) if od.side == "buy" else (other, od)
            if buy.limit_price is None or sell.limit_price is None \
                    or buy.limit_price >= sell.limit_price:
                raise ApiError(403, "potential wash trade detected. use complex orders",
                               40310000)

    def _check_buying_power(self, od: VenueOrder) -> None:
        """403 when the exposure-increasing part of ``od`` costs more than buying power
        (priced at its limit, else stop, else the last price; unknown price: allowed)."""
        px = od.limit_price or od.stop_price or self.account.price(od.symbol)
        if not px > 0:
            return
        pos = self.account.positions.get(od.symbol, (0.0, 0.0))[0]
        qty = od.qty if od.qty is not None else od.notional / px
        closing = min(qty, max(-od.side_sign * pos, 0.0))
        cost = (qty - closing) * px
        bp = self.account.buying_power()
        if cost > bp + 1e-6:
            raise ApiError(403, "insufficient buying power", 40310000)

    def replace(self, order_id: str, body: object) -> dict:
        """``PATCH /v2/orders/{id}``: the new order (JSON); the old one is ``replaced``."""
        old = self.get(order_id)
        if not isinstance(body, dict):
            raise ApiError(422, "request body must be a JSON object")
        if old.status not in ("new", "partially_filled"):
            raise ApiError(422, f'order is not replaceable: it is "{old.status}"', 42210000)
        if old.notional is not None:
            raise ApiError(422, "notional orders cannot be replaced")
        if body.get("trail") is not None:
            raise ApiError(422, "trail is not supported by the local venue")
        now = self.now()
        qty = number(body, "qty")
        qty = old.remaining if qty is None else qty
        if qty <= 0:
            raise ApiError(422, f"invalid qty: {qty} must be > 0")
        tif = body.get("time_in_force") or old.tif
        if tif not in ("day", "gtc", "ioc", "fok"):
            raise ApiError(422, f"invalid time_in_force: {tif!r}")
        if is_fractional(qty) and tif != "day":
            raise ApiError(422, "fractional orders must be DAY orders")
        prices = {}
        for key in ("limit_price", "stop_price"):
            px = number(body, key)
            if px is not None and getattr(old, key) is None:
                raise ApiError(422, f"{key} must not be given for {old.type} orders")
            check_price(key, px)
            prices[key] = getattr(old, key) if px is None else px
        cid = body.get("client_order_id")
        cid = check_client_order_id(cid) if cid is not None else None
        new_id = self.new_id()
        cid = cid or new_id
        if cid in self.by_client_id:
            raise ApiError(422, "client_order_id must be unique", 40010001)
        new = VenueOrder(
            id=new_id, client_order_id=cid, symbol=old.symbol, sym=old.sym,
            asset_id=old.asset_id, side=old.side, type=old.type, tif=tif, qty=qty,
            notional=None, extended_hours=old.extended_hours, status="accepted",
            created_at=now, updated_at=now, submitted_at=now, work_qty=qty,
            work_type=int(TYPES[old.type]), replaces=old.id, **prices)
        old.replaced_by = new.id
        old.replaced_at = now
        self._finish(old, "replaced", now)
        self._register(new)
        reply = wire.order_json(new)
        self.emit("replaced", old, now)
        if self.eligible(new, now):
            self._activate(new, now)
        return reply

    def cancel(self, order_id: str) -> None:
        """``DELETE /v2/orders/{id}``: 404 unknown, 422 not open, else ``canceled``."""
        od = self.get(order_id)
        if not od.is_open:
            raise ApiError(422, f'order is already in "{od.status}" state', 42210000)
        self.close(od, "canceled", self.now())

    def cancel_all(self) -> list[dict]:
        """``DELETE /v2/orders``: one ``{id, status, body}`` per open order."""
        out = []
        now = self.now()
        for od in [o for o in self.orders.values() if o.is_open]:
            self.close(od, "canceled", now)
            out.append({"id": od.id, "status": 200, "body": wire.order_json(od)})
        return out

    def close_position(self, symbol: str, qty: float | None = None,
                       percentage: float | None = None) -> dict:
        """``DELETE /v2/positions/{symbol}``: a market order closing all, ``qty`` shares
        or ``percentage`` % of the position (JSON of the order)."""
        symbol = symbol.upper()
        pos = self.account.positions.get(symbol)
        if pos is None:
            raise ApiError(404, "position not found")
        if qty is not None and percentage is not None:
            raise ApiError(422, "qty or percentage, not both")
        size = abs(pos[0])
        if percentage is not None:
            if not 0 < percentage <= 100:
                raise ApiError(422, f"invalid percentage: {percentage}")
            size = np.floor(size * percentage / 100 * 1e9) / 1e9
        elif qty is not None:
            if not 0 < qty <= size + 1e-9:
                raise ApiError(422, f"invalid qty: {qty} (position holds {wire.num(size)})")
            size = qty
        return self.submit({"symbol": symbol, "qty": size, "type": "market",
                            "side": "sell" if pos[0] > 0 else "buy", "time_in_force": "day"})

    def close_all(self, cancel_orders: bool) -> list[dict]:
        """``DELETE /v2/positions``: one ``{symbol, status, body}`` per position."""
        if cancel_orders:
            self.cancel_all()
        out = []
        for symbol in list(self.account.positions):
            try:
                body = self.close_position(symbol)
                out.append({"symbol": symbol, "status": 200, "order_id": body["id"],
                            "body": body})
            except ApiError as err:
                out.append({"symbol": symbol, "status": err.status,
                            "body": {"code": err.code, "message": err.message}})
        return out

    # ------------------------------------------------------------------ execution
    def execute(self, od: VenueOrder, qty: float, px: float, ts: int, maker: bool) -> None:
        """Fill ``qty`` shares of ``od`` at ``px`` USD at ``ts`` (the fill models' hook)."""
        fee = float(trade_fee(od.side_sign, qty, px, self.costs))
        prev = od.filled_qty
        od.filled_avg_price = ((od.filled_avg_price or 0.0) * prev + px * qty) / (prev + qty)
        od.filled_qty = prev + qty
        od.updated_at = max(ts, od.updated_at)
        done = od.remaining <= 1e-9
        if done:
            od.status = "filled"
            od.filled_at = od.updated_at
            self._unwork(od)
        else:
            od.status = "partially_filled"
        position = self.account.apply_fill(od.symbol, od.side_sign, qty, px, fee)
        exec_id = self.new_id()
        event = "fill" if done else "partial_fill"
        self.account.record_fill(od, qty, px, ts, exec_id, event)
        self.emit(event, od, ts, price=wire.num(px), qty=wire.num(qty),
                  position_qty=wire.num(position), execution_id=exec_id)

    def fill_race(self, order_id: str, faults) -> None:
        """A cancel losing the race (``fill_race`` fault): fill the rest of the open
        order ``order_id`` at its symbol's last price now (consumes one count of
        ``faults``); nothing for an unknown or closed order."""
        od = self.orders.get(order_id)
        px = self.account.last_px.get(od.symbol) if od is not None else None
        if od is None or not od.is_open or od.remaining <= 0 or not px \
                or not faults.take_fill_race():
            return
        self.execute(od, od.remaining, px, max(self.now(), od.updated_at), maker=False)

    def close(self, od: VenueOrder, status: str, ts: int) -> None:
        """End ``od`` as canceled / expired / rejected at ``ts`` and say so."""
        self._finish(od, status, ts)
        self.emit(status, od, ts)

    def _finish(self, od: VenueOrder, status: str, ts: int) -> None:
        od.status = status
        od.updated_at = max(ts, od.updated_at)
        if status == "canceled":
            od.canceled_at = od.updated_at
        elif status == "expired":
            od.expired_at = od.updated_at
        elif status == "rejected":
            od.failed_at = od.updated_at
        self._unwork(od)

    def _unwork(self, od: VenueOrder) -> None:
        lst = self._working.get(od.sym)
        if lst and od in lst:
            lst.remove(od)

    # ------------------------------------------------------------------ time
    def _pending(self) -> list[tuple[int, str]]:
        return self._boundaries()[self.boundary_done:]

    def _boundary(self, ts: int, what: str) -> None:
        """The open (accepted orders start working), the close (DAY orders expire) or
        20:00 New York (extended-hours DAY orders expire)."""
        self.boundary_done += 1
        if what == "open":
            for od in [o for o in self.orders.values()
                       if o.status == "accepted" and self.eligible(o, ts)]:
                self._activate(od, ts)
        else:
            for od in [o for o in self.orders.values() if o.is_open and o.tif == "day"
                       and (what == "ext_close" or not o.extended_hours)]:
                self.close(od, "expired", ts)

    def advance(self, until: int) -> None:
        """Apply the session boundaries at or before ``until`` (ns): open, close, 20:00."""
        for ts, what in self._pending():
            if ts > until:
                break
            self._boundary(ts, what)

    def on_batch(self, batch: EventBatch) -> None:
        """Replay events (stream order) with the boundaries among them: the open before
        the events of its instant, the closes after them (a bar available at the close
        still fills at its open)."""
        n = len(batch)
        lo = 0
        for ts, what in self._pending():
            if ts > batch.ts[-1]:
                break
            cut = int(np.searchsorted(batch.ts, ts, "left" if what == "open" else "right"))
            if cut > lo:
                self._events(batch.slice(lo, cut))
                lo = cut
            self._boundary(ts, what)
        if lo < n:
            self._events(batch.slice(lo, n) if lo else batch)

    def _events(self, batch: EventBatch) -> None:
        self._mark(batch)
        self.model.on_batch(self, batch)

    def warm(self, batch: EventBatch) -> None:
        """Events a restart skips: marks and the fill model's derived state only."""
        self._mark(batch)
        self.model.warm(batch)

    def _mark(self, batch: EventBatch) -> None:
        for arr, col in ((batch.bars, "close"), (batch.trades, "price")):
            if len(arr):
                last = {int(s): float(p) for s, p in zip(arr["sym"], arr[col], strict=True)}
                for s, p in last.items():
                    self.account.mark(self.symbols[s], p)
        q = batch.quotes
        if len(q):
            mid = 0.5 * (q["bid"] + q["ask"])
            for s, p in {int(s): float(p) for s, p in zip(q["sym"], mid, strict=True)}.items():
                if np.isfinite(p):
                    self.account.mark(self.symbols[s], p)

    # ------------------------------------------------------------------ reads
    def clock_json(self) -> dict:
        now = self.now()
        h = self.hours
        if now < h.close:
            nxt_open, nxt_close = (h.open if now < h.open else self._next_session()[0]), h.close
        else:
            nxt_open, nxt_close = self._next_session()
        return wire.clock_json(now, h.regular(now), nxt_open, nxt_close)

    def _next_session(self) -> tuple[int, int]:
        import datetime as dt

        d = self.hours.date + dt.timedelta(days=1)
        _, opens, closes = sessions(d, d + dt.timedelta(days=14))
        return int(opens[0]), int(closes[0])

    def list_orders(self, status: str = "open", limit: int = 50, after: int | None = None,
                    until: int | None = None, direction: str = "desc",
                    symbols: set[str] | None = None, side: str | None = None) -> list[dict]:
        """``GET /v2/orders`` semantics: status open/closed/all, submitted after/until
        (ns, exclusive), newest first unless ``direction=asc``, at most ``limit``."""
        out = []
        for od in self.orders.values():
            if status == "open" and not od.is_open or status == "closed" and od.is_open:
                continue
            if symbols and od.symbol not in symbols or side and od.side != side:
                continue
            if after is not None and od.submitted_at <= after:
                continue
            if until is not None and od.submitted_at >= until:
                continue
            out.append(od)
        out.sort(key=lambda o: o.submitted_at, reverse=direction != "asc")
        return [wire.order_json(o) for o in out[:limit]]

    def positions_json(self) -> list[dict]:
        return [self.position_json(s) for s in sorted(self.account.positions)]

    def position_json(self, symbol: str) -> dict:
        symbol = symbol.upper()
        pos = self.account.positions.get(symbol)
        if pos is None:
            raise ApiError(404, "position does not exist", 40410000)
        qty, avg = pos
        px = self.account.last_px.get(symbol, avg)
        return wire.position_json(symbol, qty, avg, px, self.account.first_px.get(symbol, px))
