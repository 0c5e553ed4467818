"""Integer codes shared by kernels and Python layers.

Plain ``IntEnum`` classes: numba treats their members as compile-time integer
constants, and Python code gets readable names. Never renumber a member; codes
are stored in Parquet results.
"""

from enum import IntEnum


class Side(IntEnum):
    """Order / aggressor side. BUY = +1, SELL = -1 so ``qty * side`` is signed."""

    SELL = -1
    NONE = 0
    BUY = 1


class OrderType(IntEnum):
    MARKET = 0
    LIMIT = 1
    STOP = 2
    STOP_LIMIT = 3


class TimeInForce(IntEnum):
    DAY = 0
    GTC = 1
    IOC = 2
    FOK = 3


class OrderStatus(IntEnum):
    NEW = 0
    PARTIALLY_FILLED = 1
    FILLED = 2
    CANCELED = 3
    REJECTED = 4
    EXPIRED = 5
    REPLACED = 6
    PENDING = 7  # submitted, not yet arrived at the venue (order-entry latency)


class BookEvent(IntEnum):
    """L3 book event kinds; 1..7 follow LOBSTER's message types."""

    ADD = 1
    CANCEL = 2  # partial cancellation
    DELETE = 3  # full deletion
    EXEC_VISIBLE = 4
    EXEC_HIDDEN = 5
    CROSS = 6
    HALT = 7
    REPLACE = 8  # ITCH 'U': delete old id, add new id (new price/size)
    TRADE = 9  # non-book trade print (ITCH 'P')
    LEVEL = 10  # snapshot: the level at (side, price) holds exactly ``size`` shares


class RejectReason(IntEnum):
    """Why an order was refused. 0 means accepted. Owned by the risk stage."""

    NONE = 0
    MAX_POSITION_SHARES = 1
    MAX_POSITION_NOTIONAL = 2
    GROSS_EXPOSURE = 3
    NET_EXPOSURE = 4
    MAX_OPEN_POSITIONS = 5
    MAX_ORDER_QTY = 6
    MAX_ORDER_NOTIONAL = 7
    PRICE_COLLAR = 8
    ORDER_RATE = 9
    SHORT_NOT_ALLOWED = 10
    CONCENTRATION = 11
    BUYING_POWER = 12
    CIRCUIT_BREAKER = 13
    KILL_SWITCH = 14
    HALTED = 15
    STALE_DATA = 16
    INVALID_ORDER = 17
    FOK_UNFILLABLE = 18
    BROKER = 19  # live: the broker refused the order (403/422 on create)


class SizeMode(IntEnum):
    """How an order's size becomes shares, at its fill (``framework.execution.sizing``);
    also the unit of a target (EQUITY = a portfolio weight)."""

    SHARES = 0  # shares
    VALUE = 1  # USD of notional at the fill's reference price
    EQUITY = 2  # fraction of equity at the fill


class Ignored(IntEnum):
    """What a strategy asked for that the engine did not do (counted per run, reported
    in ``metrics.json`` and warned about once)."""

    ENTRY_IN_POSITION = 0  # entry signal while a position is open in that direction
    ENTRY_WHILE_WORKING = 1  # entry signal while an entry or exit order is working
    ENTRY_IN_COOLDOWN = 2  # entry inside the cool-down after an exit
    ENTRY_PAUSED = 3  # entry while a breaker or the kill switch pauses entries
    SHORT_NOT_ALLOWED = 4  # short entry with allow_short off
    ENTRY_AT_CLOSE = 5  # entry on a session's last bar under flat_at_close
    ZERO_QUANTITY = 6  # an order sized to zero shares (whole shares, no cash)
    CASH_CAPPED_FILLS = 7  # fills cut by the buying-power rule at the fill
    TARGET_IN_BAND = 8  # a target inside the no-trade band or below the minimum order
    ENTRY_EXIT_CONFLICT = 9  # entry and exit on the same bar cancelled each other
    ALGO_TABLE_FULL = 10  # an algo parent did not fit its table: the order went direct
