"""NumPy structured dtypes for events, bars, orders and fills.

``sym`` is an int32 index into the run's symbol table (a list of tickers); the
lake stores the ticker as a hive partition key and the engine works on ids.
"""

import numpy as np

TRADE_DTYPE = np.dtype(
    [
        ("ts", "i8"),  # exchange timestamp, ns since epoch UTC
        ("sym", "i4"),
        ("price", "f8"),  # USD
        ("size", "f8"),  # shares
    ]
)

QUOTE_DTYPE = np.dtype(
    [
        ("ts", "i8"),
        ("sym", "i4"),
        ("bid", "f8"),
        ("bid_size", "f8"),
        ("ask", "f8"),
        ("ask_size", "f8"),
    ]
)

BAR_DTYPE = np.dtype(
    [
        ("ts", "i8"),  # bar start (label), ns UTC
        ("sym", "i4"),
        ("open", "f8"),
        ("high", "f8"),
        ("low", "f8"),
        ("close", "f8"),
        ("volume", "f8"),  # shares
        ("vwap", "f8"),
        ("n", "i8"),  # trade count
        ("first_ts", "i8"),  # first trade in the bar, ns UTC
        ("last_ts", "i8"),  # last trade in the bar, ns UTC
    ]
)

BOOK_EVENT_DTYPE = np.dtype(
    [
        ("ts", "i8"),  # exchange timestamp, ns UTC
        ("local_ts", "i8"),  # when the receiver saw it (== ts for historical data)
        ("sym", "i4"),
        ("kind", "i1"),  # framework.types.codes.BookEvent
        ("side", "i1"),  # +1 bid / buy order, -1 ask / sell order
        ("order_id", "i8"),
        ("price", "f8"),
        ("size", "f8"),
        ("new_order_id", "i8"),  # REPLACE only, else 0
    ]
)

ORDER_DTYPE = np.dtype(
    [
        ("id", "i8"),
        ("sym", "i8"),  # int64 like every symbol index in the kernels: one compiled signature
        ("side", "i1"),  # codes.Side
        ("type", "i1"),  # codes.OrderType
        ("tif", "i1"),  # codes.TimeInForce
        ("status", "i1"),  # codes.OrderStatus
        ("qty", "f8"),  # shares, > 0
        ("limit_price", "f8"),  # NaN if none
        ("stop_price", "f8"),  # NaN if none
        ("ts_created", "i8"),  # decision time, ns UTC
        ("ts_active", "i8"),  # arrival at the venue (after order-entry latency)
        ("ts_done", "i8"),  # filled / canceled / rejected / expired, 0 if open
        ("filled_qty", "f8"),
        ("avg_price", "f8"),
        ("parent_id", "i8"),  # bracket parent, -1 if none
        ("oco_id", "i8"),  # one-cancels-other group, -1 if none
        ("reject_reason", "i2"),  # codes.RejectReason
    ]
)

FILL_DTYPE = np.dtype(
    [
        ("order_id", "i8"),
        ("sym", "i4"),
        ("ts", "i8"),
        ("side", "i1"),
        ("qty", "f8"),  # shares, > 0
        ("price", "f8"),  # USD per share, after slippage
        ("fee", "f8"),  # USD, commissions + regulatory fees
        ("maker", "i1"),  # 1 passive fill, 0 aggressive
    ]
)
