"""What an ``on_bar`` strategy says, as rows the compiled loop reads: orders (sized in
shares, USD or a fraction of equity, with their exits), targets, cancels and closes.

``BarContext`` (``framework.strategy.context``) writes them into a preallocated
``INTENT_DTYPE`` buffer during the strategy's ``on_bar``; the engine loop places them
through the same pre-trade check, sizing-at-fill and fill models as every other order.
"""

from __future__ import annotations

import numpy as np

INTENT_DTYPE = np.dtype([
    ("kind", "i1"),  # IN_*
    ("sym", "i8"),  # symbol index
    ("side", "i1"),  # +1 buy, -1 sell (orders)
    ("type", "i1"),  # codes.OrderType
    ("tif", "i1"),  # codes.TimeInForce
    ("size_mode", "i1"),  # codes.SizeMode (orders) / the target unit (targets)
    ("size", "f8"),  # shares, USD, fraction (orders) / the target (targets)
    ("limit", "f8"),  # USD, NaN = none
    ("stop", "f8"),  # USD, NaN = none
    ("stop_loss", "f8"),  # bracket legs of the trade, fractions (NaN = [decision] default)
    ("take_profit", "f8"),
    ("trail_pct", "f8"),  # trailing stops of the trade (NaN = default)
    ("trail_atr", "f8"),
    ("max_hold", "i8"),  # bars (0 = default)
    ("order_id", "i8"),  # IN_CANCEL: the order to cancel
])
IN_ORDER = 0
IN_TARGET = 1
IN_CANCEL = 2
IN_CLOSE = 3
INTENT_CAP = 256  # intents one on_bar call may write
