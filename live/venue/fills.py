"""The venue's fill models: the project's bar, quote and book rules, and Alpaca paper's.

The price rules are the project's kernels, called as they are
(``framework.execution.fill_models.bar.bar_fill_price``, ``fill_models.quote.quote_fill``,
``fill_models.book.take_depth / resting_depth / passive_fill``; fees by
``framework.execution.costs.trade_fee`` in ``core``). Around them, each model applies
the event engine's order handling, so a strategy sees the same fills here as in a
backtest: an order works from the first event at or after it reached the venue; size
caps (bar participation, quoted size, displayed depth) are shared by the symbol's
orders at one event; IOC/FOK are decided at arrival; a triggered stop-limit rests as a
limit, a triggered stop crosses as a market order.

``PaperFills`` is Alpaca paper trading as Alpaca documents it: an order fills when it
is marketable against the NBBO (a touch is enough), at the quote, quoted size not
checked, and with probability ``partial_rate`` a fill is a random part of what is left
(seeded), the rest filling at a later marketable quote. No fees, no queue, no impact.

A model gets the working orders of a symbol from the venue (``venue.working(sym)``) and
reports through ``venue.execute(order, qty, px, ts, maker)`` and ``venue.close(order,
status, ts)``.
"""

from __future__ import annotations

import numpy as np

from framework.execution.fill_models.bar import bar_fill_price
from framework.execution.fill_models.book import passive_fill, resting_depth, take_depth
from framework.execution.fill_models.quote import quote_fill
from framework.execution.lifecycle import reference_price
from framework.marketdata.book import kernels as BK
from framework.marketdata.book import order_map
from framework.marketdata.book.book import PRICE_UNITS, OrderBooks
from framework.marketdata.replay import EventBatch
from framework.types.codes import BookEvent, OrderType
from live.venue.orders import VenueOrder

_NAN = float("nan")
_LIMIT, _MARKET = int(OrderType.LIMIT), int(OrderType.MARKET)
_STOPS = (int(OrderType.STOP), int(OrderType.STOP_LIMIT))


def _px(x: float | None) -> float:
    return _NAN if x is None else float(x)


def _trigger(od: VenueOrder) -> None:
    """A triggered stop crosses as a market order; a stop-limit rests as a limit."""
    od.work_type = _LIMIT if od.work_type == int(OrderType.STOP_LIMIT) else _MARKET


def _after_fill_ioc(venue, od: VenueOrder, ts: int) -> None:
    if od.tif == "ioc" and od.is_open:
        venue.close(od, "canceled", ts)


def _capped_fill(venue, od: VenueOrder, px: float, cap: float, ts: int, maker: bool,
                 decide: bool) -> float:
    """Fill up to ``cap`` shares of ``od`` at ``px`` USD (NaN: no fill) at ``ts``: an
    IOC/FOK that cannot fill is canceled when ``decide`` (its arrival), a FOK fills whole
    or not at all, an IOC's rest is canceled. Returns the shares filled."""
    if np.isnan(px) or cap <= 0.0:
        if decide and od.tif in ("ioc", "fok"):
            venue.close(od, "canceled", ts)
        return 0.0
    if od.tif == "fok" and cap < od.remaining - 1e-9:
        venue.close(od, "canceled", ts)
        return 0.0
    venue.execute(od, cap, px, ts, maker)
    _after_fill_ioc(venue, od, ts)
    return cap


def size_notional(od: VenueOrder, touch: float) -> None:
    """A notional order not yet sized gets its shares now, at its first fill: the
    notional over the price it fills at before slippage (``touch``: the bar's open or
    the quote it takes), the event engine's rule for an order for a USD amount
    (``framework.execution.lifecycle.size_at_fill``) and Alpaca's (a notional order's
    quantity follows from its execution price)."""
    if od.sized or not touch > 0.0:
        return
    od.work_qty = od.notional / reference_price(od.work_type, od.side_sign,
                                                _px(od.limit_price), _px(od.stop_price),
                                                touch)
    od.sized = True


class FillModel:
    """Interface: ``on_batch`` (events in stream order), ``on_arrival`` (an order starts
    working at ``now``), ``warm`` (events skipped by a restart: rebuild derived state)."""

    name = ""

    def on_batch(self, venue, batch: EventBatch) -> None:
        raise NotImplementedError

    def on_arrival(self, venue, od: VenueOrder, now: int) -> None:
        """Default: nothing happens before the next event."""

    def warm(self, batch: EventBatch) -> None:
        """Default: no state derived from past events."""


class BarFills(FillModel):
    """``fill_models.bar`` on each 1-minute bar as it completes; fills are stamped at the bar's
    start (the open the model fills at), ``participation`` x bar volume shared per bar."""

    name = "bar"

    def __init__(self, costs: np.ndarray, participation: float):
        self.costs = costs
        self.participation = participation

    def on_batch(self, venue, batch: EventBatch) -> None:
        for b in batch.bars:
            s = int(b["sym"])
            orders = venue.working(s)
            if orders:
                self._bar(venue, orders, int(b["ts"]), float(b["open"]), float(b["high"]),
                          float(b["low"]), float(b["volume"]))

    def _bar(self, venue, orders, start, o, h, lo, v) -> None:
        used = 0.0
        for od in orders:
            if not od.is_open or od.ts_active > start:
                continue
            size_notional(od, o)
            remaining = od.remaining
            px, trig, maker = bar_fill_price(od.work_type, od.side_sign, _px(od.limit_price),
                                             _px(od.stop_price), False, remaining, o, h, lo,
                                             v, self.costs)
            if trig and od.work_type == int(OrderType.STOP_LIMIT):
                od.work_type = _LIMIT
            cap = remaining
            if self.participation > 0.0:
                cap = min(remaining, self.participation * v - used)
            used += _capped_fill(venue, od, px, cap, start, maker, True)


class QuoteFills(FillModel):
    """``fills_quote`` on each NBBO update; an order's arrival quote is the first at or
    after the instant it started working (the quote at that very instant included)."""

    name = "quote"

    def __init__(self, costs: np.ndarray, n_syms: int):
        self.costs = costs
        self.last = np.full((n_syms, 4), np.nan)  # bid, bid_size, ask, ask_size
        # each symbol's last quote time, ns UTC: int64 (a float64 column rounded it to
        # ~256 ns, and the fills' times with it)
        self.last_ts = np.full(n_syms, -1, np.int64)
        self.used = np.zeros(n_syms)

    def on_batch(self, venue, batch: EventBatch) -> None:
        for q in batch.quotes:
            s = int(q["sym"])
            self.last[s] = (q["bid"], q["bid_size"], q["ask"], q["ask_size"])
            self.last_ts[s] = q["ts"]
            self.used[s] = 0.0  # displayed size is fresh at every quote
            for od in venue.working(s):
                if od.is_open and od.ts_active <= q["ts"]:
                    arrival = not od.arrived
                    od.arrived = True
                    self._match(venue, od, s, arrival)

    def on_arrival(self, venue, od: VenueOrder, now: int) -> None:
        if self.last_ts[od.sym] == od.ts_active:  # a quote at that instant: its arrival
            od.arrived = True
            self._match(venue, od, od.sym, True)

    def warm(self, batch: EventBatch) -> None:
        for q in batch.quotes:
            self.last[int(q["sym"])] = (q["bid"], q["bid_size"], q["ask"], q["ask_size"])
            self.last_ts[int(q["sym"])] = q["ts"]

    def _match(self, venue, od: VenueOrder, s: int, arrival: bool) -> None:
        bid, bsz, ask, asz = self.last[s]
        ts = int(self.last_ts[s])
        size_notional(od, ask if od.side_sign > 0 else bid)
        remaining = od.remaining
        px, size, trig, maker = quote_fill(od.work_type, od.side_sign, _px(od.limit_price),
                                           _px(od.stop_price), arrival, bid, bsz, ask, asz,
                                           self.costs)
        if trig:
            _trigger(od)
        cap = min(remaining, size - self.used[s])
        self.used[s] += _capped_fill(venue, od, px, cap, ts, maker, arrival)


class BookFills(FillModel):
    """``fills_book`` on the replayed L3 book (``OrderBooks``): takers walk the depth,
    resting limits keep a queue position. The historical book is not altered by our
    orders."""

    name = "book"

    def __init__(self, n_syms: int):
        self.books = OrderBooks(n_syms)
        self.lvl_px = np.empty(256)
        self.lvl_qty = np.empty(256)

    def warm(self, batch: EventBatch) -> None:
        if len(batch.book):
            self.books.apply(batch.book)

    def on_batch(self, venue, batch: EventBatch) -> None:
        ev = batch.book
        if not len(ev):
            return
        active = venue.active_syms()
        if not active:
            self.books.apply(ev)
            return
        hot = np.isin(ev["sym"], list(active))
        lo = 0
        for r in np.flatnonzero(hot).tolist():
            if r > lo:
                self.books.apply(ev[lo:r])
            self._event(venue, ev, r)
            lo = r + 1
        if lo < len(ev):
            self.books.apply(ev[lo:])

    def _event(self, venue, ev: np.ndarray, r: int) -> None:
        e = ev[r]
        s, ts, kind = int(e["sym"]), int(e["ts"]), int(e["kind"])
        bk = self.books.state
        # what the event touches, read before the book forgets the order
        ev_side = 1 if e["side"] > 0 else -1
        ev_px, ev_qty, ev_seq = float(e["price"]), float(e["size"]), -1
        pos = order_map.find(bk.keys, int(e["order_id"]))
        if pos >= 0 and kind in (BookEvent.CANCEL, BookEvent.DELETE, BookEvent.EXEC_VISIBLE):
            slot = bk.slots[pos]
            ev_side = 1 if bk.o_side[slot] == 0 else -1
            ev_px = bk.o_px[slot] / PRICE_UNITS
            ev_seq = int(bk.o_seq[slot])
            left = float(bk.o_size[slot])
            ev_qty = left if kind == BookEvent.DELETE or ev_qty <= 0.0 else min(ev_qty, left)
        self.books.apply(ev[r:r + 1])
        bk = self.books.state
        bid, _ = self.books.best_bid(s)
        ask, _ = self.books.best_ask(s)
        taken = {1: 0.0, -1: 0.0}  # displayed depth our orders took at this event, per side
        given = 0.0  # shares of this event's execution already given to our resting orders
        for od in venue.working(s):
            if not od.is_open or od.ts_active > ts:
                continue
            arrival = not od.arrived
            od.arrived = True
            side = od.side_sign
            if od.work_type in _STOPS:
                touch = ask if side > 0 else bid
                if not (np.isfinite(touch) and (touch >= od.stop_price if side > 0
                                                else touch <= od.stop_price)):
                    continue
                _trigger(od)
                arrival = True
            limit_px = _px(od.limit_price) if od.work_type == _LIMIT else _NAN
            if od.work_type == _MARKET or arrival:
                self._take(venue, od, s, ts, side, limit_px, taken)
                continue
            fill, od.queue_ahead = passive_fill(side, limit_px, od.queue_ahead, od.queue_seq,
                                                kind, ev_side, ev_px, ev_qty - given, ev_seq)
            q = min(fill, od.remaining)
            if q > 1e-9:
                given += q
                venue.execute(od, q, limit_px, ts, True)
                _after_fill_ioc(venue, od, ts)

    def _take(self, venue, od, s, ts, side, limit_px, taken) -> None:
        bk = self.books.state
        remaining = od.remaining
        n = take_depth(bk, s, side, remaining, limit_px, taken[side], self.lvl_px, self.lvl_qty)
        got = float(self.lvl_qty[:n].sum())
        if od.tif == "fok" and got < remaining - 1e-9:
            venue.close(od, "canceled", ts)
            return
        for j in range(n):
            venue.execute(od, float(self.lvl_qty[j]), float(self.lvl_px[j]), ts, False)
        taken[side] += got
        if od.work_type == _LIMIT and od.is_open:
            if od.tif == "ioc":
                venue.close(od, "canceled", ts)
            else:  # rests: everything at its price now is ahead of it
                od.queue_ahead = float(resting_depth(bk, s, side, limit_px))
                od.queue_seq = int(bk.counters[BK.C_SEQ])
        elif n > 0:
            _after_fill_ioc(venue, od, ts)


class PaperFills(FillModel):
    """Alpaca paper's documented behaviour (module doc), seeded by ``seed``."""

    name = "alpaca-paper"

    def __init__(self, n_syms: int, partial_rate: float, seed: int):
        self.rate = partial_rate
        self.rng = np.random.default_rng(seed)
        self.last = np.full((n_syms, 3), np.nan)  # ts, bid, ask

    def warm(self, batch: EventBatch) -> None:
        for q in batch.quotes:
            self.last[int(q["sym"])] = (q["ts"], q["bid"], q["ask"])

    def on_batch(self, venue, batch: EventBatch) -> None:
        for q in batch.quotes:
            s = int(q["sym"])
            self.last[s] = (q["ts"], q["bid"], q["ask"])
            for od in venue.working(s):
                if od.is_open and od.ts_active <= q["ts"]:
                    self._try(venue, od, int(q["ts"]))

    def on_arrival(self, venue, od: VenueOrder, now: int) -> None:
        if od.ts_active <= now and np.isfinite(self.last[od.sym, 0]):
            self._try(venue, od, now)

    def _try(self, venue, od: VenueOrder, ts: int) -> None:
        first = not od.arrived
        od.arrived = True
        _, bid, ask = self.last[od.sym]
        touch = ask if od.side_sign > 0 else bid
        ok = bool(np.isfinite(touch) and touch > 0)
        if ok and od.work_type in _STOPS:
            ok = touch >= od.stop_price if od.side_sign > 0 else touch <= od.stop_price
            if ok:
                _trigger(od)
        if ok and od.work_type == _LIMIT:
            ok = touch <= od.limit_price if od.side_sign > 0 else touch >= od.limit_price
        if not ok:
            if first and od.tif in ("ioc", "fok"):
                venue.close(od, "canceled", ts)
            return
        qty = od.remaining
        if od.tif != "fok" and self.rng.random() < self.rate:
            part = qty * self.rng.uniform(0.1, 0.9)
            part = np.floor(part) if abs(qty - round(qty)) < 1e-9 else np.floor(part * 1e6) / 1e6
            if 0.0 < part < qty:
                qty = float(part)
        venue.execute(od, qty, float(touch), ts, False)
        _after_fill_ioc(venue, od, ts)


def make_model(name: str, costs: np.ndarray, n_syms: int, participation: float,
               partial_rate: float, seed: int) -> FillModel:
    """The fill model called ``name`` (bar, quote, book or alpaca-paper)."""
    if name == "bar":
        return BarFills(costs, participation)
    if name == "quote":
        return QuoteFills(costs, n_syms)
    if name == "book":
        return BookFills(n_syms)
    return PaperFills(n_syms, partial_rate, seed)
