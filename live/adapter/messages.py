"""Stream messages as the engine's rows: a market-data bar as a ``BAR_DTYPE`` row, a
``trade_updates`` event as a ``TradeEvent``. Timestamps become int64 ns UTC here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framework.types import BAR_DTYPE


def ns_of(t) -> int:
    """A wire timestamp as ns UTC: msgpack ``Timestamp`` (market data) or an RFC-3339
    string (trading; up to ns precision, ``Z`` or ``+00:00``)."""
    if hasattr(t, "to_unix_nano"):
        return int(t.to_unix_nano())
    s = str(t).replace("Z", "").replace("+00:00", "")
    return int(np.datetime64(s, "ns").astype(np.int64))


def bar_row(msg: dict, sym: int) -> np.ndarray:
    """A 1-minute bar message (``T`` = ``b``) of symbol index ``sym`` as one
    ``BAR_DTYPE`` row (``ts`` = the bar's start; prices USD, volume shares)."""
    row = np.zeros(1, BAR_DTYPE)
    r = row[0]
    r["ts"] = ns_of(msg["t"])
    r["sym"] = sym
    r["open"], r["high"], r["low"], r["close"] = msg["o"], msg["h"], msg["l"], msg["c"]
    r["volume"] = msg["v"]
    r["vwap"] = np.nan if msg.get("vw") is None else msg["vw"]
    r["n"] = msg.get("n") or 0
    return row


def _num(x) -> float:
    return float("nan") if x is None or x == "" else float(x)


@dataclass(frozen=True)
class TradeEvent:
    """One ``trade_updates`` event: ``event`` name, the order's ``cid`` / broker ``id`` /
    ``status`` / ``qty`` (shares, NaN for a notional order not sized yet), and for a
    fill the ``execution_id``, its ``qty`` and ``price``; ``ts`` ns UTC."""

    event: str
    cid: str
    order_id: str
    status: str
    order_qty: float
    ts: int
    execution_id: str | None = None
    qty: float = 0.0
    price: float = float("nan")

    @classmethod
    def parse(cls, msg: dict) -> TradeEvent:
        """From a raw ``{"stream": "trade_updates", "data": {...}}`` message."""
        d = msg["data"]
        o = d["order"]
        return cls(d["event"], o["client_order_id"], o["id"], o["status"], _num(o.get("qty")),
                   ns_of(d["timestamp"]), d.get("execution_id"), _num(d.get("qty")),
                   _num(d.get("price")))

    @property
    def is_fill(self) -> bool:
        return self.event in ("fill", "partial_fill")


# market-data message types alpaca-py knows (``T``): control, then data
MD_TYPES = frozenset(("success", "error", "subscription", "t", "q", "b", "u", "d", "s",
                      "l", "c", "x", "n", "o"))
TRADE_STREAMS = frozenset(("authorization", "listening", "trade_updates", "error"))


def _bad_price(x) -> bool:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return True
    return not v > 0.0 or v == float("inf")  # also catches NaN


def market_problem(msg, subscribed: set[str], last_ts: dict[str, int]
                   ) -> tuple[str, str] | None:
    """Why a decoded market-data message must be skipped, ``(kind, one line naming it)``,
    or None.
    Bars (``T`` = ``b``): a symbol never subscribed, a price (o/h/l/c) of 0, NaN or
    negative, a volume below 0, a timestamp before the symbol's last bar's (``last_ts``:
    symbol -> ns; updated for the bars let through)."""
    if not isinstance(msg, dict) or msg.get("T") not in MD_TYPES:
        t = msg.get("T") if isinstance(msg, dict) else type(msg).__name__
        return "unknown_type", f"unknown market-data message type {t!r}"
    if msg["T"] != "b":
        return None
    sym = msg.get("S")
    if sym not in subscribed:
        return "unsubscribed", f"bar for {sym!r}, a symbol never subscribed"
    for k in ("o", "h", "l", "c"):
        if _bad_price(msg.get(k)):
            return "bad_price", f"bar {sym} {msg.get('t')}: price {k} = {msg.get(k)!r}"
    try:
        ts = ns_of(msg["t"])
        bad_volume = float(msg.get("v") or 0.0) < 0
    except (KeyError, TypeError, ValueError) as err:
        return "unreadable", f"bar {sym}: unreadable field ({err})"
    if bad_volume:
        return "bad_volume", f"bar {sym} {msg.get('t')}: volume {msg.get('v')!r}"
    if ts < last_ts.get(sym, ts):
        return "ts_backwards", (f"bar {sym} {msg.get('t')}: timestamp goes back (last bar "
                                f"at {last_ts[sym]} ns)")
    last_ts[sym] = ts
    return None


def trade_problem(msg) -> tuple[str, str] | None:
    """Why a decoded ``trade_updates`` stream message must be skipped, ``(kind, line)``,
    or None: an
    unknown ``stream``, an update without event/order/timestamp, a fill whose price is
    0, NaN or negative or whose quantity is not above 0 (its real copy, or the
    reconciliation, brings the execution)."""
    if not isinstance(msg, dict) or msg.get("stream") not in TRADE_STREAMS:
        s = msg.get("stream") if isinstance(msg, dict) else type(msg).__name__
        return "unknown_type", f"unknown trade stream message type {s!r}"
    if msg["stream"] != "trade_updates":
        return None
    try:
        ev = TradeEvent.parse(msg)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        return "unreadable", f"trade update unreadable ({type(err).__name__}: {err})"
    if ev.is_fill and (_bad_price(ev.price) or not ev.qty > 0 or not ev.execution_id):
        return "bad_fill", (f"{ev.event} of {ev.cid} ({ev.execution_id}): price "
                            f"{ev.price!r}, qty {ev.qty!r}")
    return None
