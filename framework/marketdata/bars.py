"""Trades -> bars: time, tick, volume, dollar and tick-imbalance bars, batch and streaming.

Input is a ``TRADE_DTYPE`` array (ts ns UTC, sym index, price USD, size shares) sorted by
ts (per symbol at least); output is a ``BAR_DTYPE`` array. Every bar kind has one
definition, ``bars_kernels.step`` (numba); the batch functions here (``time_bars``,
``tick_bars``, ``volume_bars``, ``dollar_bars``, ``tick_imbalance_bars``, ``build_bars``)
loop it in numba over arrays, and ``BarAggregator`` feeds it one trade at a time (what
the live driver uses). Both forms emit identical bars and counters.

Rules shared by every kind:

* only trades inside a session [open, close) count (XNYS regular sessions, half days
  honoured, or ``SessionTable.xnys(..., session="extended")`` 04:00-20:00 ET); others
  are dropped and counted ``out_of_session``;
* with ``BarSpec.conditions`` set and each trade's sale conditions given (``Prints``),
  a trade updates only what its conditions allow (``sale_conditions``: high/low, last,
  volume; a print that may update nothing is counted ``excluded``), the listing market's
  opening print sets the open of the bar holding the regular open, and its closing print
  and official close, stamped up to ``auction_window_ns`` after the close, belong to the
  session's last bar;
* size <= 0, price <= 0 or NaN: rejected, counted ``bad``;
* a trade earlier than the symbol's previous accepted trade: dropped, ``out_of_order``;
* time bars are aligned to the session open (a 7-minute bar starts at 09:30, 09:37, ...;
  the last one of a session is cut at the close), labelled by their start (ns UTC);
  a slot with no trade gives no bar unless ``ffill=True``;
* tick/volume/dollar/imbalance bars are labelled by their first trade's ts, include the
  trade that reaches the threshold whole (no splitting), and by default are closed at
  the session change (``session_reset=True``) so no bar spans a night.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np

from framework.marketdata import bars_kernels as K
from framework.marketdata.sale_conditions import Prints, masks, roles_batch
from framework.types import BAR_DTYPE, TRADE_DTYPE
from framework.types.errors import FwError


class BarError(FwError, ValueError):
    """Bad input to bar aggregation (wrong dtype, bad parameter, unsorted sessions)."""


@dataclass(frozen=True)
class BarSpec:
    """What bars to build. Use the constructors: ``BarSpec.time(60_000_000_000)`` etc.

    kind: one of "time", "tick", "volume", "dollar", "tick_imbalance".
    interval_ns: time-bar length in ns. ticks: trades per tick bar. threshold: shares per
    volume bar or USD per dollar bar. expected_ticks / bars_span / imbalance_span /
    min_imbalance: tick-imbalance bar estimators (see ``tick_imbalance_bars``).
    conditions: sale-condition rule set ("sip", "lean") applied when trades come with
    their conditions (``Prints``), None to treat every trade as regular;
    auction_window_ns: how long after the close (ns) the listing market's closing print
    still belongs to the session (``with_conditions``).
    """

    kind: str
    interval_ns: int = 0
    ticks: int = 0
    threshold: float = 0.0
    ffill: bool = False
    session_reset: bool = True
    expected_ticks: float = 100.0
    bars_span: float = 20.0
    imbalance_span: float = 100.0
    min_imbalance: float = 0.1
    ticks_bounds: tuple[float, float] = (10.0, 1000.0)
    conditions: str | None = None
    auction_window_ns: int = 300_000_000_000

    _KINDS = {"time": K.TIME, "tick": K.TICK, "volume": K.VOLUME, "dollar": K.DOLLAR,
              "tick_imbalance": K.TICK_IMBALANCE}

    @classmethod
    def time(cls, interval_ns: int, *, ffill: bool = False) -> BarSpec:
        return cls("time", interval_ns=int(interval_ns), ffill=ffill)

    @classmethod
    def tick(cls, ticks: int, *, session_reset: bool = True) -> BarSpec:
        return cls("tick", ticks=int(ticks), session_reset=session_reset)

    @classmethod
    def volume(cls, shares: float, *, session_reset: bool = True) -> BarSpec:
        return cls("volume", threshold=float(shares), session_reset=session_reset)

    @classmethod
    def dollar(cls, usd: float, *, session_reset: bool = True) -> BarSpec:
        return cls("dollar", threshold=float(usd), session_reset=session_reset)

    @classmethod
    def tick_imbalance(cls, expected_ticks: float = 100.0, *, bars_span: float = 20.0,
                       imbalance_span: float | None = None, min_imbalance: float | None = None,
                       ticks_bounds: tuple[float, float] | None = None,
                       session_reset: bool = True) -> BarSpec:
        """Defaults: imbalance_span = expected_ticks, min_imbalance = 1/sqrt(expected_ticks)
        (a balanced random walk then needs ~expected_ticks ticks), ticks_bounds =
        (expected_ticks / 10, expected_ticks * 10)."""
        et = float(expected_ticks)
        return cls("tick_imbalance", expected_ticks=et, bars_span=float(bars_span),
                   imbalance_span=float(imbalance_span if imbalance_span is not None else et),
                   min_imbalance=float(min_imbalance if min_imbalance is not None
                                       else 1.0 / max(et, 1.0) ** 0.5),
                   ticks_bounds=tuple(ticks_bounds) if ticks_bounds is not None
                   else (max(et / 10.0, 1.0), et * 10.0),
                   session_reset=session_reset)

    def with_conditions(self, rules: str = "sip",
                        auction_window_ns: int = 300_000_000_000) -> BarSpec:
        """This spec reading sale conditions under ``rules`` ("sip" or "lean"), with the
        closing auction accepted up to ``auction_window_ns`` ns after the close (default
        5 min; NYSE's closing print comes 10-65 s after 16:00)."""
        masks(rules)  # validates the name
        if auction_window_ns < 0:
            raise BarError(f"auction_window_ns must be >= 0 ns, got {auction_window_ns}")
        return replace(self, conditions=rules, auction_window_ns=int(auction_window_ns))

    def params(self) -> tuple[np.ndarray, np.ndarray]:
        """(int params, float params) rows for the kernels; validates values."""
        if self.kind not in self._KINDS:
            raise BarError(f"unknown bar kind '{self.kind}'; expected one of "
                           f"{', '.join(self._KINDS)}")
        if self.kind == "time" and self.interval_ns <= 0:
            raise BarError(f"time bars: interval_ns must be > 0 ns, got {self.interval_ns}")
        if self.kind == "tick" and self.ticks <= 0:
            raise BarError(f"tick bars: ticks must be >= 1, got {self.ticks}")
        if self.kind in ("volume", "dollar") and not self.threshold > 0:
            raise BarError(f"{self.kind} bars: threshold must be > 0, got {self.threshold}")
        if self.kind == "tick_imbalance" and not (
                self.expected_ticks >= 1 and self.bars_span >= 1 and self.imbalance_span >= 1
                and 0 < self.min_imbalance <= 1
                and 1 <= self.ticks_bounds[0] <= self.expected_ticks <= self.ticks_bounds[1]):
            raise BarError("tick-imbalance bars: need expected_ticks >= 1, bars_span >= 1, "
                           "imbalance_span >= 1, 0 < min_imbalance <= 1 and "
                           "1 <= ticks_bounds[0] <= expected_ticks <= ticks_bounds[1]; got "
                           f"{self.expected_ticks}, {self.bars_span}, {self.imbalance_span}, "
                           f"{self.min_imbalance}, {self.ticks_bounds}")
        pi = np.zeros(K.NP_I, np.int64)
        pi[K.P_KIND] = self._KINDS[self.kind]
        pi[K.P_INTERVAL] = max(self.interval_ns, 1)
        pi[K.P_TICKS] = self.ticks
        pi[K.P_RESET] = int(self.session_reset)
        pi[K.P_FFILL] = int(self.ffill and self.kind == "time")
        pf = np.zeros(K.NP_F, np.float64)
        pf[K.Q_THRESHOLD] = self.threshold
        pf[K.Q_ET0] = self.expected_ticks
        pf[K.Q_ALPHA_T] = 2.0 / (self.bars_span + 1.0)
        pf[K.Q_ALPHA_B] = 2.0 / (self.imbalance_span + 1.0)
        pf[K.Q_MIN_IMB] = self.min_imbalance
        pf[K.Q_ET_MIN], pf[K.Q_ET_MAX] = self.ticks_bounds
        return pi, pf


@dataclass(frozen=True)
class SessionTable:
    """Sessions: ``opens`` and ``closes`` int64 ns UTC, sorted, non-overlapping. For
    extended-hours tables ``regular_opens``/``regular_closes`` hold each session's regular
    hours (the auctions); None means the sessions are the regular hours."""

    opens: np.ndarray
    closes: np.ndarray
    regular_opens: np.ndarray | None = None
    regular_closes: np.ndarray | None = None

    @classmethod
    def xnys(cls, start: dt.date, end: dt.date, session: str = "regular") -> SessionTable:
        """XNYS sessions in [start, end] (session dates, inclusive): regular hours, or with
        ``session="extended"`` 04:00-20:00 ET (17:00 on half days)."""
        from framework.data.calendar import extended_sessions, sessions

        _, opens, closes = sessions(start, end)
        o = np.ascontiguousarray(opens, np.int64)
        c = np.ascontiguousarray(closes, np.int64)
        if session == "regular":
            return cls(o, c)
        if session != "extended":
            raise BarError(f"session '{session}': expected 'regular' or 'extended'")
        eo, ec = extended_sessions(o, c)
        return cls(eo, ec, o, c)

    @classmethod
    def covering(cls, ts_min: int, ts_max: int, session: str = "regular") -> SessionTable:
        """Sessions whose New York date lies between those of two instants (ns UTC)."""
        import zoneinfo

        ny = zoneinfo.ZoneInfo("America/New_York")
        d0 = dt.datetime.fromtimestamp(ts_min / 1e9, tz=ny).date()
        d1 = dt.datetime.fromtimestamp(ts_max / 1e9, tz=ny).date()
        return cls.xnys(d0, d1, session)

    def regular(self) -> tuple[np.ndarray, np.ndarray]:
        """Each session's regular open and close, ns UTC."""
        if self.regular_opens is None or self.regular_closes is None:
            return self.opens, self.closes
        return self.regular_opens, self.regular_closes

    def check(self) -> None:
        o, c = self.opens, self.closes
        if o.shape != c.shape or o.ndim != 1:
            raise BarError("sessions: opens and closes must be 1-D arrays of equal length")
        if o.size and (np.any(c <= o) or np.any(o[1:] < c[:-1])):
            raise BarError("sessions: need open < close and sessions sorted, non-overlapping")
        ro, rc = self.regular()
        if ro.shape != o.shape or rc.shape != o.shape or np.any(ro < o) or np.any(rc > c):
            raise BarError("sessions: regular hours must lie inside each session")


@dataclass(frozen=True)
class _Grid:
    """The session arrays the kernels read (see ``bars_kernels``)."""

    opens: np.ndarray
    closes: np.ndarray
    slot_off: np.ndarray
    open_slot: np.ndarray  # global slot holding each session's regular open
    reg_opens: np.ndarray
    reg_closes: np.ndarray

    @classmethod
    def of(cls, sessions: SessionTable, interval: int) -> _Grid:
        sessions.check()
        opens = np.ascontiguousarray(sessions.opens, np.int64)
        closes = np.ascontiguousarray(sessions.closes, np.int64)
        ro, rc = (np.ascontiguousarray(a, np.int64) for a in sessions.regular())
        slot_off = K.slot_offsets(opens, closes, interval)
        return cls(opens, closes, slot_off, slot_off[:-1] + (ro - opens) // interval, ro, rc)


@dataclass
class BarBuild:
    """Bars plus what happened to the input trades (counts of trades, and of bars)."""

    bars: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)


_COUNT_NAMES = ("accepted", "bad", "out_of_order", "out_of_session", "bars", "filled_bars",
                "excluded")


def _counts(cnt: np.ndarray) -> dict[str, int]:
    return {name: int(cnt[i]) for i, name in enumerate(_COUNT_NAMES)}


def _check_trades(trades: np.ndarray) -> tuple[np.ndarray, int]:
    """Trades as TRADE_DTYPE (converted if another layout has the fields) and the number
    of symbol slots they need (max sym + 1)."""
    if not isinstance(trades, np.ndarray) or trades.ndim != 1:
        raise BarError("trades must be a 1-D NumPy structured array of TRADE_DTYPE")
    if trades.dtype != TRADE_DTYPE:
        missing = [f for f in ("ts", "price", "size") if f not in (trades.dtype.names or ())]
        if missing:
            raise BarError(f"trades array lacks field(s) {', '.join(missing)}; "
                           f"expected TRADE_DTYPE {TRADE_DTYPE}")
        conv = np.zeros(trades.size, TRADE_DTYPE)
        for f in TRADE_DTYPE.names:
            if f in trades.dtype.names:
                conv[f] = trades[f]
        trades = conv
    lo, hi = K.sym_range(trades["sym"])
    if lo < 0:
        raise BarError("trades: sym must be a non-negative symbol index")
    return trades, int(hi) + 1


def _roles(trades: np.ndarray, spec: BarSpec, grid: _Grid, prints: Prints | None,
           ) -> tuple[np.ndarray, np.ndarray]:
    """Trades in the order the kernels consume them, and one role per trade (a single
    ``FULL`` entry when conditions are not read)."""
    if prints is None or spec.conditions is None:
        return trades, np.full(1, K.FULL, np.int8)
    flags = np.ascontiguousarray(prints.flags, np.int64)
    listing = np.ascontiguousarray(prints.listing, np.bool_)
    if flags.shape != trades.shape or listing.shape != trades.shape:
        raise BarError(f"prints: {flags.size} condition sets and {listing.size} listing marks "
                       f"for {trades.size} trades")
    ts = trades["ts"]
    window = spec.auction_window_ns
    role = roles_batch(ts, flags, listing, grid.reg_opens, grid.reg_closes, window,
                       masks(spec.conditions))
    if window > 0:  # as the streaming buffer consumes them (see ``auction_order``)
        order, new_ts, moved = K.auction_order(ts, role, grid.reg_closes, window)
        if moved:
            trades = trades[order]
            trades["ts"] = new_ts
            role = role[order]
    return trades, role


def build_bars(trades: np.ndarray, spec: BarSpec, *, sessions: SessionTable | None = None,
               order: str = "time", prints: Prints | None = None) -> BarBuild:
    """Aggregate ``trades`` (TRADE_DTYPE, sorted by ts) into bars described by ``spec``.

    ``sessions``: the trading sessions (default: XNYS regular sessions spanning the
    trades' New York dates). ``order``: "time" sorts bars by (ts, sym); "emission" keeps
    the order a streaming ``BarAggregator`` would emit them (then ``flush``). ``prints``:
    each trade's sale conditions, read when ``spec.conditions`` is set. Returns bars and
    counts (accepted, bad, out_of_order, out_of_session, bars, filled_bars, excluded).
    """
    if order not in ("time", "emission"):
        raise BarError(f"order must be 'time' or 'emission', got '{order}'")
    trades, n_sym = _check_trades(trades)
    pi, pf = spec.params()
    cnt = np.zeros(K.N_COUNTERS, np.int64)
    if trades.size == 0:
        return BarBuild(np.zeros(0, BAR_DTYPE), _counts(cnt))
    if sessions is None:
        sessions = SessionTable.covering(int(trades["ts"].min()), int(trades["ts"].max()))
    grid = _Grid.of(sessions, int(pi[K.P_INTERVAL]))
    trades, role = _roles(trades, spec, grid, prints)
    st_i, st_f = K.init_state(n_sym, pf)
    parts = _run(trades, role, pi, pf, grid, st_i, st_f, cnt)
    parts.append(_flush(pi, grid, st_i, st_f, cnt))
    bars = np.concatenate(parts)
    if order == "time" and n_sym > 1:
        bars = bars[np.lexsort((bars["sym"], bars["ts"]))]
    return BarBuild(bars, _counts(cnt))


_CHUNK = 1 << 21  # trades per kernel call: bounds the output buffer (BAR_DTYPE is 84 bytes)


def _run(trades, role, pi, pf, grid: _Grid, st_i, st_f, cnt) -> list[np.ndarray]:
    """``run_batch`` over ``trades`` in chunks (state carries over); bars per chunk."""
    fill = int(st_i.shape[0]) * int(grid.slot_off[-1]) if pi[K.P_FFILL] else 0
    parts = []
    for lo in range(0, trades.size, _CHUNK):
        ch = trades[lo:lo + _CHUNK]
        r = role if role.shape[0] == 1 else role[lo:lo + _CHUNK]
        out = np.empty(ch.size + 1 + fill, BAR_DTYPE)
        n = K.run_batch(ch["ts"], ch["sym"], ch["price"], ch["size"], r, pi, pf, grid.opens,
                        grid.closes, grid.slot_off, grid.open_slot, st_i, st_f, out, cnt, False)
        parts.append(out[:n].copy())
    return parts


def _flush(pi, grid: _Grid, st_i, st_f, cnt) -> np.ndarray:
    per = int(grid.slot_off[-1]) + 1 if pi[K.P_FFILL] else 1
    out = np.empty(int(st_i.shape[0]) * per, BAR_DTYPE)
    n = K.flush(pi, grid.opens, grid.slot_off, st_i, st_f, out, 0, cnt)
    return out[:n].copy()


def time_bars(trades: np.ndarray, interval_ns: int, *, ffill: bool = False,
              sessions: SessionTable | None = None) -> np.ndarray:
    """Time bars of ``interval_ns`` ns aligned to each XNYS session open, labelled by start.

    ``ffill=True`` also emits a bar for every empty slot after a symbol's first trade (to
    the end of the session table): OHLC = VWAP = previous close, volume 0, n 0,
    first_ts = last_ts = 0. Counts of dropped trades: ``build_bars(..., BarSpec.time(...))``.
    """
    return build_bars(trades, BarSpec.time(interval_ns, ffill=ffill), sessions=sessions).bars


def tick_bars(trades: np.ndarray, ticks: int, *, session_reset: bool = True,
              sessions: SessionTable | None = None) -> np.ndarray:
    """A bar every ``ticks`` accepted trades (per symbol)."""
    return build_bars(trades, BarSpec.tick(ticks, session_reset=session_reset),
                      sessions=sessions).bars


def volume_bars(trades: np.ndarray, shares: float, *, session_reset: bool = True,
                sessions: SessionTable | None = None) -> np.ndarray:
    """A bar when cumulative size reaches ``shares`` (the crossing trade is included whole)."""
    return build_bars(trades, BarSpec.volume(shares, session_reset=session_reset),
                      sessions=sessions).bars


def dollar_bars(trades: np.ndarray, usd: float, *, session_reset: bool = True,
                sessions: SessionTable | None = None) -> np.ndarray:
    """A bar when cumulative traded value sum(price * size) reaches ``usd`` dollars."""
    return build_bars(trades, BarSpec.dollar(usd, session_reset=session_reset),
                      sessions=sessions).bars


def tick_imbalance_bars(trades: np.ndarray, expected_ticks: float = 100.0, *,
                        bars_span: float = 20.0, imbalance_span: float | None = None,
                        min_imbalance: float | None = None,
                        ticks_bounds: tuple[float, float] | None = None,
                        session_reset: bool = True,
                        sessions: SessionTable | None = None) -> np.ndarray:
    """Tick-imbalance bars (Lopez de Prado, AFML 2.3.2.1).

    Tick rule b_t = sign(p_t - p_{t-1}), b_{t-1} when unchanged (0 before the first price
    change). A bar closes at the first T with |sum b_t| >= E[T] * max(|E[b]|, min_imbalance)
    where E[T] is an EWMA (span ``bars_span`` bars, start ``expected_ticks``) of the lengths
    in ticks of past bars that closed on the threshold, clamped to ``ticks_bounds``, and
    E[b] an EWMA (span ``imbalance_span`` ticks, start 0) of b over all past ticks.
    Why the floor and the clamp: AFML's estimator alone has an unstable fixed point (for
    a balanced market E[b] ~ 0, the threshold collapses to 1-tick bars, or explodes).
    """
    spec = BarSpec.tick_imbalance(expected_ticks, bars_span=bars_span,
                                  imbalance_span=imbalance_span, min_imbalance=min_imbalance,
                                  ticks_bounds=ticks_bounds, session_reset=session_reset)
    return build_bars(trades, spec, sessions=sessions).bars


class BarAggregator:
    """Streaming form: feed trades one at a time, get completed bars back (BAR_DTYPE).

    ``push`` returns the bars this trade completed (usually none); ``advance(now_ns)``
    closes bars whose end has passed on the clock (the live driver calls it on a timer);
    ``flush()`` closes everything at end of data. Same ``step`` as the batch kernels.

    With ``spec.conditions`` set, ``push`` takes each trade's condition set and listing
    mark; trades stamped in a close-auction window are held until the window ends (the
    closing print may still come), so a session's last bar, and any post-market bar of
    the window, is released ``auction_window_ns`` after the close.
    """

    def __init__(self, spec: BarSpec, sessions: SessionTable, n_symbols: int = 1):
        self.spec = spec
        self._pi, self._pf = spec.params()
        self._grid = _Grid.of(sessions, int(self._pi[K.P_INTERVAL]))
        self._masks = masks(spec.conditions) if spec.conditions else None
        self._window = spec.auction_window_ns if spec.conditions else 0
        self._held: list[tuple[int, int, float, float, int]] = []  # (ts, sym, px, size, role)
        self._held_w = -1
        self._cnt = np.zeros(K.N_COUNTERS, np.int64)
        self._st_i, self._st_f = K.init_state(max(int(n_symbols), 1), self._pf)
        per = int(self._grid.slot_off[-1]) + 2 if self._pi[K.P_FFILL] else 2
        self._buf = np.empty(per, BAR_DTYPE)

    @property
    def counts(self) -> dict[str, int]:
        """accepted, bad, out_of_order, out_of_session, bars, filled_bars, excluded so far."""
        return _counts(self._cnt)

    def _ensure(self, n_sym: int) -> None:
        have = self._st_i.shape[0]
        if n_sym > have:
            st_i, st_f = K.init_state(n_sym, self._pf)
            st_i[:have] = self._st_i
            st_f[:have] = self._st_f
            self._st_i, self._st_f = st_i, st_f

    def _step(self, ts: int, sym: int, price: float, size: float, role: int) -> np.ndarray:
        g = self._grid
        n = K.stream_push(np.int64(ts), np.int64(sym), float(price), float(size),
                          np.int8(role), self._pi, self._pf, g.opens, g.closes, g.slot_off,
                          g.open_slot, self._st_i, self._st_f, self._buf, self._cnt)
        return self._buf[:n].copy()

    def _release(self) -> list[np.ndarray]:
        """Feed the held close-auction window to the kernel (``release_order``)."""
        held, self._held = self._held, []
        ts = np.array([h[0] for h in held], np.int64)
        role = np.array([h[4] for h in held], np.int8)
        order, new_ts = K.release_order(role, ts, self._grid.reg_closes[self._held_w])
        return [self._step(int(t), *held[i][1:]) for i, t in zip(order, new_ts, strict=True)]

    def push(self, ts: int, sym: int, price: float, size: float, flags: int = 0,
             listing: bool = False) -> np.ndarray:
        """One trade: ts ns UTC, sym index (>= 0), price USD, size shares; with
        ``spec.conditions``, its condition set (``parse_conditions``) and whether the
        symbol's listing market printed it."""
        if sym < 0:
            raise BarError(f"sym must be a non-negative symbol index, got {sym}")
        self._ensure(sym + 1)
        if self._masks is None:
            return self._step(ts, sym, price, size, K.FULL)
        g = self._grid
        role = int(roles_batch(np.array([ts], np.int64), np.array([flags], np.int64),
                               np.array([listing]), g.reg_opens, g.reg_closes, self._window,
                               self._masks)[0])
        w = K.close_window_of(np.int64(ts), g.reg_closes, self._window)[0]
        parts = []
        if self._held and w != self._held_w and (
                w >= 0 or ts >= g.reg_closes[self._held_w] + self._window):
            parts = self._release()
        if w >= 0:
            self._held.append((ts, sym, price, size, role))
            self._held_w = w
        else:
            parts.append(self._step(ts, sym, price, size, role))
        return np.concatenate(parts) if parts else np.zeros(0, BAR_DTYPE)

    def push_many(self, trades: np.ndarray, prints: Prints | None = None) -> np.ndarray:
        """A chunk of trades (TRADE_DTYPE) in order; bars in emission order, no flush.
        With sale conditions this is ``push`` per trade."""
        trades, n_sym = _check_trades(trades)
        if trades.size == 0:
            return np.zeros(0, BAR_DTYPE)
        self._ensure(n_sym)
        if self._masks is not None and prints is not None:
            parts = [self.push(int(t["ts"]), int(t["sym"]), float(t["price"]),
                               float(t["size"]), int(f), bool(x))
                     for t, f, x in zip(trades, prints.flags, prints.listing, strict=True)]
            return np.concatenate(parts) if parts else np.zeros(0, BAR_DTYPE)
        return np.concatenate(_run(trades, np.full(1, K.FULL, np.int8), self._pi, self._pf,
                                   self._grid, self._st_i, self._st_f, self._cnt))

    def advance(self, now_ns: int) -> np.ndarray:
        """Clock at ``now_ns`` (ns UTC): bars that have ended by now; later trades with
        ts < now_ns are counted out_of_order. Inside a close-auction window the clock
        stops 1 ns before the close until the window ends."""
        g = self._grid
        parts = []
        if self._window:
            if self._held and now_ns >= g.reg_closes[self._held_w] + self._window:
                parts = self._release()
            w = K.close_window_of(np.int64(now_ns), g.reg_closes, self._window)[0]
            if w >= 0:
                now_ns = min(now_ns, int(g.reg_closes[w]) - 1)
        per = int(g.slot_off[-1]) + 1 if self._pi[K.P_FFILL] else 1
        out = np.empty(self._st_i.shape[0] * per, BAR_DTYPE)
        n = K.advance(np.int64(now_ns), self._pi, g.opens, g.closes, g.slot_off, self._st_i,
                      self._st_f, out, 0, self._cnt)
        parts.append(out[:n].copy())
        return np.concatenate(parts)

    def flush(self) -> np.ndarray:
        """End of data: every open bar (and, with ffill, empty slots to the table's end)."""
        parts = self._release() if self._held else []
        parts.append(_flush(self._pi, self._grid, self._st_i, self._st_f, self._cnt))
        return np.concatenate(parts)


__all__ = [
    "BarAggregator", "BarBuild", "BarError", "BarSpec", "SessionTable", "build_bars",
    "dollar_bars", "tick_bars", "tick_imbalance_bars", "time_bars", "volume_bars",
]
