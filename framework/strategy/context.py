"""``BarContext``: what an event-driven strategy sees and says at one bar's close.

``Strategy.on_bar(ctx)`` runs once per bar, after that bar's fills and risk marks, in
both drivers. ``ctx`` reads the bars up to the current one only (causal by
construction), the positions, cash, equity and working orders of the account, and takes
orders, targets, cancels and closes. What it takes is written as intents
(``framework.strategy.intents``) that the compiled loop places through the same
pre-trade check, sizing at the fill, fill model and costs as every other order: orders
reach the venue after the order-entry latency and fill from the next bar (bar model)
or the next quote / book event.

Sizes: ``qty`` shares, ``value`` USD, or ``fraction`` of equity, resolved to shares at
the fill (``framework.execution.sizing``). Exits of the trade an order opens: bracket
legs ``stop_loss`` / ``take_profit`` (fractions of the fill price), trailing stops
``trail_pct`` (fraction off the best mark) and ``trail_atr`` (ATR multiples, with the
ATR of ``Signals.atr`` — not available here, so only where the engine has one),
``max_hold`` (bars); unset = the ``[decision]`` defaults.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from framework.strategy.intents import IN_CANCEL, IN_CLOSE, IN_ORDER, IN_TARGET, INTENT_CAP
from framework.types.codes import OrderStatus, OrderType, SizeMode, TimeInForce
from framework.types.errors import FwError

FIELDS = ("open", "high", "low", "close", "volume", "vwap")
_TIFS = {"day": TimeInForce.DAY, "gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC,
         "fok": TimeInForce.FOK}
_OPEN = (OrderStatus.PENDING, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class ContextError(FwError):
    """An on_bar strategy asked for something the context cannot do."""


class Fill(NamedTuple):
    """One fill of the account, as ``on_fill`` receives it: ``ts`` ns UTC, ``side`` +1 buy
    / -1 sell, ``qty`` shares, ``price`` and ``fee`` USD."""

    ts: int
    symbol: str
    side: int
    qty: float
    price: float
    fee: float
    order_id: int


class WorkingOrder(NamedTuple):
    """An order still working: quantities in shares, prices USD (NaN = none)."""

    order_id: int
    symbol: str
    side: int
    type: str
    tif: str
    qty: float
    filled_qty: float
    limit_price: float
    stop_price: float


class BarContext:
    """The account and the bars up to bar ``t`` (see the module docstring)."""

    def __init__(self, symbols: tuple[str, ...], intents: np.ndarray):
        self.symbols = symbols
        self._index = {s: i for i, s in enumerate(symbols)}
        self._intents = intents
        self._n = 0
        self.t = -1

    # ------------------------------------------------------------ wiring (the engine)
    def _bind(self, bars: dict[str, np.ndarray], dec_ts: np.ndarray, position: np.ndarray,
              cash: np.ndarray, last_close: np.ndarray, orders_of) -> None:
        """Views of the run's arrays: ``bars`` field -> ``[T, S]``, ``dec_ts`` ``[T]``, the
        risk ledger's ``position`` ``[S]`` and ``cash`` ``[1]``, ``last_close`` ``[S]``, and
        ``orders_of()`` -> (order table, first row that may be open, rows used)."""
        self._bars = bars
        self._dec_ts = dec_ts
        self._pos = position
        self._cash = cash
        self._last = last_close
        self._orders_of = orders_of

    def _begin(self, t: int) -> None:
        self.t = t
        self._n = 0

    # ------------------------------------------------------------ reading
    @property
    def ts(self) -> int:
        """Decision time of the current bar (its close), ns UTC."""
        return int(self._dec_ts[self.t])

    @property
    def open(self) -> np.ndarray:
        """Opens of the current bar, per symbol (USD; NaN where a symbol did not print)."""
        return self._bars["open"][self.t]

    @property
    def high(self) -> np.ndarray:
        """Highs of the current bar, per symbol (USD)."""
        return self._bars["high"][self.t]

    @property
    def low(self) -> np.ndarray:
        """Lows of the current bar, per symbol (USD)."""
        return self._bars["low"][self.t]

    @property
    def close(self) -> np.ndarray:
        """Closes of the current bar, per symbol (USD)."""
        return self._bars["close"][self.t]

    @property
    def volume(self) -> np.ndarray:
        """Volumes of the current bar, per symbol (shares)."""
        return self._bars["volume"][self.t]

    def history(self, field: str = "close", n: int | None = None) -> np.ndarray:
        """The last ``n`` rows (all by default) of ``field`` up to and including the current
        bar, ``[rows, S]`` (a read-only view: bars after the current one are not there)."""
        if field not in FIELDS:
            raise ContextError(f"history: field '{field}': expected one of {FIELDS}")
        lo = 0 if n is None else max(0, self.t + 1 - n)
        view = self._bars[field][lo: self.t + 1]
        view.flags.writeable = False
        return view

    def index(self, symbol: str | int) -> int:
        """Column of ``symbol`` (a ticker of the run, or already an index)."""
        if isinstance(symbol, (int, np.integer)):
            if not 0 <= symbol < len(self.symbols):
                raise ContextError(f"symbol index {symbol} outside 0..{len(self.symbols) - 1}")
            return int(symbol)
        try:
            return self._index[symbol]
        except KeyError:
            raise ContextError(f"unknown symbol '{symbol}' (the run trades "
                               f"{', '.join(self.symbols)})") from None

    def position(self, symbol: str | int) -> float:
        """Shares held of ``symbol`` (negative = short)."""
        return float(self._pos[self.index(symbol)])

    @property
    def positions(self) -> np.ndarray:
        """Shares held per symbol (a copy)."""
        return self._pos.copy()

    @property
    def cash(self) -> float:
        """Cash, USD."""
        return float(self._cash[0])

    @property
    def equity(self) -> float:
        """Cash plus every position at its last close, USD."""
        held = self._pos != 0.0
        return float(self._cash[0] + np.dot(self._pos[held], self._last[held]))

    def orders(self, symbol: str | int | None = None) -> list[WorkingOrder]:
        """Working orders (of ``symbol``, or all)."""
        table, lo, hi = self._orders_of()
        rows = table[lo:hi]
        keep = np.isin(rows["status"], [int(s) for s in _OPEN])
        if symbol is not None:
            keep &= rows["sym"] == self.index(symbol)
        return [WorkingOrder(int(r["id"]), self.symbols[int(r["sym"])], int(r["side"]),
                             OrderType(int(r["type"])).name.lower(),
                             TimeInForce(int(r["tif"])).name.lower(), float(r["qty"]),
                             float(r["filled_qty"]), float(r["limit_price"]),
                             float(r["stop_price"])) for r in rows[keep]]

    # ------------------------------------------------------------ saying
    def buy(self, symbol: str | int, qty: float | None = None, **kw) -> None:
        """Buy ``qty`` shares, or ``value=`` USD, or ``fraction=`` of equity; options as
        :meth:`order`."""
        self.order(symbol, 1, qty, **kw)

    def sell(self, symbol: str | int, qty: float | None = None, **kw) -> None:
        """Sell (or sell short) ``qty`` shares, or ``value=`` USD, or ``fraction=`` of
        equity; options as :meth:`order`."""
        self.order(symbol, -1, qty, **kw)

    def order(self, symbol: str | int, side: int, qty: float | None = None, *,
              value: float | None = None, fraction: float | None = None,
              limit: float | None = None, stop: float | None = None, tif: str = "day",
              stop_loss: float | None = None, take_profit: float | None = None,
              trail_pct: float | None = None, trail_atr: float | None = None,
              max_hold: int | None = None) -> None:
        """An order of one size (``qty`` shares, ``value`` USD or ``fraction`` of equity,
        > 0) on ``side`` (+1 / -1): market, ``limit`` and/or ``stop`` price (USD), ``tif``
        day / gtc / ioc / fok, and the exits of the trade it opens (module docstring)."""
        given = [(m, v) for m, v in ((SizeMode.SHARES, qty), (SizeMode.VALUE, value),
                                     (SizeMode.EQUITY, fraction)) if v is not None]
        if len(given) != 1 or not (np.isfinite(given[0][1]) and given[0][1] > 0):
            raise ContextError("an order needs exactly one size > 0: qty (shares), value "
                               "(USD) or fraction (of equity)")
        if tif not in _TIFS:
            raise ContextError(f"tif '{tif}': expected one of {sorted(_TIFS)}")
        if side not in (1, -1):
            raise ContextError(f"side must be +1 or -1, got {side}")
        mode, size = given[0]
        lim = np.nan if limit is None else float(limit)
        stp = np.nan if stop is None else float(stop)
        otype = (OrderType.STOP_LIMIT if limit is not None and stop is not None
                 else OrderType.LIMIT if limit is not None
                 else OrderType.STOP if stop is not None else OrderType.MARKET)
        self._write(IN_ORDER, self.index(symbol), side, otype, _TIFS[tif], mode, size, lim, stp,
                    stop_loss, take_profit, trail_pct, trail_atr, max_hold, -1)

    def target(self, symbol: str | int, weight: float | None = None, *,
               shares: float | None = None, value: float | None = None) -> None:
        """Hold ``weight`` (fraction of equity), ``shares`` or ``value`` (USD) of ``symbol``
        from the next fill opportunity (negative = short): the engine trades the
        difference, as in target mode."""
        given = [(m, v) for m, v in ((SizeMode.EQUITY, weight), (SizeMode.SHARES, shares),
                                     (SizeMode.VALUE, value)) if v is not None]
        if len(given) != 1 or not np.isfinite(given[0][1]):
            raise ContextError("a target needs exactly one finite weight, shares or value")
        mode, size = given[0]
        self._write(IN_TARGET, self.index(symbol), 0, OrderType.MARKET, TimeInForce.DAY, mode,
                    size, np.nan, np.nan, None, None, None, None, None, -1)

    def close_position(self, symbol: str | int) -> None:
        """Cancel what works on ``symbol`` and flatten it with a market order."""
        self._write(IN_CLOSE, self.index(symbol), 0, OrderType.MARKET, TimeInForce.DAY,
                    SizeMode.SHARES, 0.0, np.nan, np.nan, None, None, None, None, None, -1)

    def cancel(self, order_id: int) -> None:
        """Cancel working order ``order_id`` (no-op if it is done)."""
        self._write(IN_CANCEL, 0, 0, OrderType.MARKET, TimeInForce.DAY, SizeMode.SHARES, 0.0,
                    np.nan, np.nan, None, None, None, None, None, int(order_id))

    def _write(self, kind, sym, side, otype, tif, mode, size, limit, stop, stop_loss,
               take_profit, trail_pct, trail_atr, max_hold, order_id) -> None:
        if self._n >= self._intents.shape[0]:
            raise ContextError(f"more than {INTENT_CAP} orders in one on_bar call")
        nan = np.nan
        self._intents[self._n] = (
            kind, sym, side, int(otype), int(tif), int(mode), float(size), limit, stop,
            nan if stop_loss is None else float(stop_loss),
            nan if take_profit is None else float(take_profit),
            nan if trail_pct is None else float(trail_pct),
            nan if trail_atr is None else float(trail_atr),
            0 if max_hold is None else int(max_hold), order_id)
        self._n += 1
