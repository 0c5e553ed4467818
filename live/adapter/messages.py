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
