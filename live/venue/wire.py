"""Alpaca's JSON shapes (orders, positions, account, assets, clock, calendar, activities)
and the market-data stream's messages, as ``docs/alpaca-wire.md`` pins them: money and
quantities as strings, RFC-3339 times, msgpack ``Timestamp`` for stream ``t``."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import msgpack
import numpy as np

from framework.marketdata.replay import EventBatch, EventKind
from live.venue.orders import VenueOrder

_ASSET_NS = uuid.UUID("6f1d3a52-5b0e-4c59-9d0a-6b3d0c2a7e11")


def asset_id(symbol: str) -> str:
    """A stable UUID per symbol (same on every venue start)."""
    return str(uuid.uuid5(_ASSET_NS, symbol))


def rfc3339(ns: int) -> str:
    """ns UTC -> ``YYYY-MM-DDTHH:MM:SS.fffffffffZ``."""
    s, r = divmod(int(ns), 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{r:09d}Z"


def opt_time(ns: int) -> str | None:
    return rfc3339(ns) if ns else None


def num(x: float | None) -> str | None:
    """A quantity or price as Alpaca's decimal string (``"3"``, ``"101.25"``); the
    shortest text that reads back as the same float, so a client's parity with the
    backtest is exact."""
    if x is None:
        return None
    r = repr(float(x))
    return r[:-2] if r.endswith(".0") else r


def order_json(o: VenueOrder) -> dict:
    """The Order object of REST replies and of ``trade_updates``."""
    return {
        "id": o.id, "client_order_id": o.client_order_id,
        "created_at": rfc3339(o.created_at), "updated_at": rfc3339(o.updated_at),
        "submitted_at": rfc3339(o.submitted_at), "filled_at": opt_time(o.filled_at),
        "expired_at": opt_time(o.expired_at), "canceled_at": opt_time(o.canceled_at),
        "failed_at": opt_time(o.failed_at), "replaced_at": opt_time(o.replaced_at),
        "replaced_by": o.replaced_by, "replaces": o.replaces, "asset_id": o.asset_id,
        "symbol": o.symbol, "asset_class": "us_equity", "notional": num(o.notional),
        "qty": num(o.qty) if o.qty is not None else (num(o.work_qty) if o.work_qty else None),
        "filled_qty": num(o.filled_qty), "filled_avg_price": num(o.filled_avg_price),
        "order_class": "", "order_type": o.type, "type": o.type, "side": o.side,
        "position_intent": None, "time_in_force": o.tif, "limit_price": num(o.limit_price),
        "stop_price": num(o.stop_price), "status": o.status, "extended_hours": o.extended_hours,
        "legs": None, "trail_percent": None, "trail_price": None, "hwm": None,
        "subtag": None, "source": None, "expires_at": None,
    }


def asset_json(symbol: str) -> dict:
    """An Asset (key ``class``, not ``asset_class``). Every replayed symbol is an active,
    tradable, fractionable, shortable NASDAQ-listed equity."""
    return {"id": asset_id(symbol), "class": "us_equity", "exchange": "NASDAQ",
            "symbol": symbol, "name": symbol, "status": "active", "tradable": True,
            "marginable": True, "shortable": True, "easy_to_borrow": True,
            "fractionable": True, "maintenance_margin_requirement": 30,
            "min_order_size": "0.000000001", "min_trade_increment": "0.000000001",
            "price_increment": "0.01", "attributes": []}


def position_json(symbol: str, qty: float, avg: float, price: float, lastday: float) -> dict:
    """A Position; ``price`` is the last trade/quote/bar price (USD), ``lastday`` the
    session's first price (what Alpaca's intraday fields are measured from)."""
    mv = qty * price
    cost = qty * avg
    upl = mv - cost
    intraday = mv - qty * lastday
    return {"asset_id": asset_id(symbol), "symbol": symbol, "exchange": "NASDAQ",
            "asset_class": "us_equity", "asset_marginable": True, "qty": num(qty),
            "qty_available": num(qty), "avg_entry_price": num(avg),
            "side": "long" if qty > 0 else "short", "market_value": num(mv),
            "cost_basis": num(cost), "unrealized_pl": num(upl),
            "unrealized_plpc": num(upl / abs(cost)) if cost else "0",
            "unrealized_intraday_pl": num(intraday),
            "unrealized_intraday_plpc": num(intraday / abs(qty * lastday)) if lastday else "0",
            "current_price": num(price), "lastday_price": num(lastday),
            "change_today": num(price / lastday - 1.0) if lastday else "0"}


def clock_json(now: int, is_open: bool, next_open: int, next_close: int) -> dict:
    return {"timestamp": rfc3339(now), "is_open": is_open, "next_open": rfc3339(next_open),
            "next_close": rfc3339(next_close)}


def calendar_json(dates: list[dt.date], opens: np.ndarray, closes: np.ndarray) -> list[dict]:
    """Calendar days with New York ``HH:MM`` open/close."""
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    out = []
    for d, o, c in zip(dates, opens.tolist(), closes.tolist(), strict=True):
        fo = dt.datetime.fromtimestamp(o / 1e9, ny).strftime("%H:%M")
        fc = dt.datetime.fromtimestamp(c / 1e9, ny).strftime("%H:%M")
        out.append({"date": d.isoformat(), "open": fo, "close": fc,
                    "session_open": "0400", "session_close": "2000",
                    "settlement_date": d.isoformat()})
    return out


def _ts(ns: int, packed: bool):
    if packed:
        s, r = divmod(int(ns), 1_000_000_000)
        return msgpack.Timestamp(s, r)
    return rfc3339(ns)


def market_messages(batch: EventBatch, symbols: list[str], subs: dict[str, set[str]],
                    packed: bool, trade_id0: int) -> list[dict]:
    """Stream messages for the events of ``batch`` a connection subscribed to (``subs``:
    channel -> symbols, ``"*"`` = all): bars ``b`` (``t`` = bar start), quotes ``q``,
    trades ``t`` (``i`` = ``trade_id0`` + the trade's row in the batch). Book events are
    not sent (Alpaca has no L3 stream for equities)."""

    def wants(channel: str, sym: str) -> bool:
        s = subs.get(channel)
        return bool(s) and ("*" in s or sym in s)

    out = []
    kinds, rows = batch.kind, batch.row
    for i in range(kinds.shape[0]):
        k = kinds[i]
        r = int(rows[i])
        if k == EventKind.BAR:
            b = batch.bars[r]
            sym = symbols[int(b["sym"])]
            if wants("bars", sym):
                out.append({"T": "b", "S": sym, "o": float(b["open"]), "h": float(b["high"]),
                            "l": float(b["low"]), "c": float(b["close"]),
                            "v": float(b["volume"]), "t": _ts(b["ts"], packed),
                            "n": int(b["n"]), "vw": float(b["vwap"])})
        elif k == EventKind.QUOTE:
            q = batch.quotes[r]
            sym = symbols[int(q["sym"])]
            if wants("quotes", sym):
                out.append({"T": "q", "S": sym, "bx": "V", "bp": float(q["bid"]),
                            "bs": float(q["bid_size"]), "ax": "V", "ap": float(q["ask"]),
                            "as": float(q["ask_size"]), "c": ["R"], "z": "C",
                            "t": _ts(q["ts"], packed)})
        elif k == EventKind.TRADE:
            t = batch.trades[r]
            sym = symbols[int(t["sym"])]
            if wants("trades", sym):
                out.append({"T": "t", "S": sym, "i": trade_id0 + r, "x": "V",
                            "p": float(t["price"]), "s": float(t["size"]), "c": ["@"],
                            "z": "C", "t": _ts(t["ts"], packed)})
    return out
