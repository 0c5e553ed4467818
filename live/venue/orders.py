"""Alpaca orders at the venue: the record, and the request rules Alpaca enforces.

``parse_order`` turns a ``POST /v2/orders`` body into a ``VenueOrder`` or raises
``ApiError`` with Alpaca's status and a message naming the field: unknown asset, bad
side/type/time in force, qty xor notional, prices that the type needs (and only those),
sub-penny prices (at most 2 decimals at >= $1, 4 below), fractional and notional orders
DAY only (notional: market only), extended hours only for DAY limit orders, and a
``client_order_id`` of at most 48 characters. State-dependent rules (unique id, buying
power, wash trades, replace/cancel of a closed order) live in ``core``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from framework.types.codes import OrderType

OPEN_STATUSES = frozenset({"accepted", "pending_new", "new", "partially_filled"})
TYPES = {"market": OrderType.MARKET, "limit": OrderType.LIMIT, "stop": OrderType.STOP,
         "stop_limit": OrderType.STOP_LIMIT}
TIFS = ("day", "gtc", "ioc", "fok")
MAX_CLIENT_ID = 48


class ApiError(Exception):
    """An Alpaca error reply: HTTP ``status`` with body ``{"code", "message"}``."""

    def __init__(self, status: int, message: str, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code if code is not None else status * 100_000


@dataclass
class VenueOrder:
    """One order as the venue holds it. Times ns UTC (0 = not set), quantities shares,
    prices USD. ``work_type``/``triggered``/``arrived``/``queue_*`` are matching state."""

    id: str
    client_order_id: str
    symbol: str
    sym: int
    asset_id: str
    side: str  # buy | sell
    type: str  # market | limit | stop | stop_limit
    tif: str
    qty: float | None
    notional: float | None
    limit_price: float | None
    stop_price: float | None
    extended_hours: bool
    status: str
    created_at: int
    updated_at: int = 0
    submitted_at: int = 0
    filled_at: int = 0
    canceled_at: int = 0
    expired_at: int = 0
    replaced_at: int = 0
    failed_at: int = 0
    filled_qty: float = 0.0
    filled_avg_price: float | None = None
    replaces: str | None = None
    replaced_by: str | None = None
    ts_active: int = 0  # when it started working at the venue
    work_qty: float = 0.0  # shares to fill (a notional order's: an estimate until sized)
    sized: bool = True  # a notional order gets its shares at its first fill
    work_type: int = 0  # framework.types.codes.OrderType; a triggered stop changes it
    arrived: bool = False  # has met its arrival quote / book event
    queue_ahead: float = 0.0  # book model: shares ahead of it at its price
    queue_seq: int = 0  # book model: the book's arrival sequence when it rested
    extra: dict = field(default_factory=dict)

    @property
    def side_sign(self) -> int:
        return 1 if self.side == "buy" else -1

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> float:
        return max(self.work_qty - self.filled_qty, 0.0)


def number(body: dict, key: str) -> float | None:
    """``body[key]`` as a float (JSON number or numeric string); None if absent/null."""
    v = body.get(key)
    if v is None or v == "":
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ApiError(422, f"invalid {key}: {v!r} is not a number") from None
    if not math.isfinite(x):
        raise ApiError(422, f"invalid {key}: {v!r}")
    return x


def check_price(key: str, px: float | None) -> None:
    """Positive and not sub-penny: 2 decimals at >= $1, 4 decimals below $1."""
    if px is None:
        return
    if px <= 0:
        raise ApiError(422, f"invalid {key}: {px} must be > 0")
    scale = 100 if px >= 1.0 else 10_000
    if abs(px * scale - round(px * scale)) > 1e-6:
        raise ApiError(422, f"invalid {key} {px}. sub-penny increment does not fulfill "
                            "minimum pricing criteria")


def is_fractional(qty: float) -> bool:
    return abs(qty - round(qty)) > 1e-9


def check_client_order_id(cid: object) -> str:
    if not isinstance(cid, str) or not cid:
        raise ApiError(422, "client_order_id must be a non-empty string")
    if len(cid) > MAX_CLIENT_ID:
        raise ApiError(422, f"client_order_id must be no more than {MAX_CLIENT_ID} characters")
    return cid


def parse_order(body: object, assets: dict[str, dict], symbols: list[str], now: int,
                order_id: str) -> VenueOrder:
    """A new order ``order_id`` from a ``POST /v2/orders`` JSON body (rules: module doc);
    without a ``client_order_id`` the order id is used."""
    if not isinstance(body, dict):
        raise ApiError(422, "request body must be a JSON object")
    sym = str(body.get("symbol") or "").upper()
    asset = assets.get(sym)
    if asset is None:
        raise ApiError(422, f"asset {sym!r} not found" if sym else "symbol is required")
    side = body.get("side")
    if side not in ("buy", "sell"):
        raise ApiError(422, f"invalid side: {side!r} (buy or sell)")
    otype = body.get("type") or body.get("order_type")
    if otype == "trailing_stop":
        raise ApiError(422, "order type trailing_stop is not supported by the local venue")
    if otype not in TYPES:
        raise ApiError(422, f"invalid type: {otype!r} (market, limit, stop or stop_limit)")
    tif = body.get("time_in_force")
    if tif in ("opg", "cls"):
        raise ApiError(422, f"time_in_force {tif} is not supported by the local venue")
    if tif not in TIFS:
        raise ApiError(422, f"invalid time_in_force: {tif!r} ({', '.join(TIFS)})")
    oc = body.get("order_class") or "simple"
    if oc != "simple":
        raise ApiError(422, f"order_class {oc} is not supported by the local venue")
    qty, notional = number(body, "qty"), number(body, "notional")
    if (qty is None) == (notional is None):
        raise ApiError(422, "qty or notional is required, not both")
    if qty is not None and qty <= 0:
        raise ApiError(422, f"invalid qty: {qty} must be > 0")
    if notional is not None and notional <= 0:
        raise ApiError(422, f"invalid notional: {notional} must be > 0")
    limit_px, stop_px = number(body, "limit_price"), number(body, "stop_price")
    need_limit = otype in ("limit", "stop_limit")
    need_stop = otype in ("stop", "stop_limit")
    for key, px, need in (("limit_price", limit_px, need_limit),
                          ("stop_price", stop_px, need_stop)):
        if need and px is None:
            raise ApiError(422, f"{key} is required for {otype} orders")
        if not need and px is not None:
            raise ApiError(422, f"{key} must not be given for {otype} orders")
        check_price(key, px)
    fractional = notional is not None or is_fractional(qty)
    if fractional:
        if not asset["fractionable"]:
            raise ApiError(422, f"asset {sym} is not fractionable")
        if tif != "day":
            raise ApiError(422, "fractional orders must be DAY orders")
    if notional is not None and otype != "market":
        raise ApiError(422, "notional orders must be market orders")
    ext = bool(body.get("extended_hours") or False)
    if ext and not (otype == "limit" and tif == "day"):
        raise ApiError(422, "extended hours order must be DAY limit orders")
    cid = body.get("client_order_id")
    cid = check_client_order_id(cid) if cid is not None else order_id
    return VenueOrder(
        id=order_id, client_order_id=cid, symbol=sym, sym=symbols.index(sym),
        asset_id=asset["id"], side=side, type=otype, tif=tif, qty=qty, notional=notional,
        limit_price=limit_px, stop_price=stop_px, extended_hours=ext, status="accepted",
        created_at=now, updated_at=now, submitted_at=now, work_qty=qty or 0.0,
        work_type=int(TYPES[otype]))
