"""Shared column layouts (NumPy structured dtypes) and integer codes.

Everything on a hot path is an array of one of these dtypes; numba kernels take
the plain columns (``arr["ts"]``, ``arr["price"]``). Timestamps are int64
nanoseconds since the Unix epoch, UTC. Prices float64 USD, sizes float64 shares.
"""

from framework.types.codes import BookEvent, OrderStatus, OrderType, RejectReason, Side, TimeInForce
from framework.types.dtypes import (
    BAR_DTYPE,
    BOOK_EVENT_DTYPE,
    FILL_DTYPE,
    ORDER_DTYPE,
    QUOTE_DTYPE,
    TRADE_DTYPE,
)

__all__ = [
    "BAR_DTYPE",
    "BOOK_EVENT_DTYPE",
    "FILL_DTYPE",
    "ORDER_DTYPE",
    "QUOTE_DTYPE",
    "TRADE_DTYPE",
    "BookEvent",
    "OrderStatus",
    "OrderType",
    "RejectReason",
    "Side",
    "TimeInForce",
]
