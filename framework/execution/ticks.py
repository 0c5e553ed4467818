"""Order prices on the exchange's tick: US equities quote in $0.01 at or above $1 and in
$0.0001 below (Reg NMS rule 612; Alpaca refuses finer prices with a 422).

With ``[execution] tick_prices = true`` every limit and stop price the loop places (the
strategy's, the decision defaults', the bracket legs') is moved onto the tick in the
direction that never makes the order more aggressive than asked: a buy limit and a sell
stop down, a sell limit and a buy stop up. Live trading always runs with it on (the
broker takes nothing else); a backtest meant to be compared with a live run sets it too.
"""

from __future__ import annotations

import numpy as np

from framework.types.jit import kernel

EPS = 1e-9  # of a tick: a price already on the tick up to float noise stays where it is


@kernel
def on_tick(px: float, side: int, stop: bool) -> float:
    """``px`` (USD) on the tick, rounded away from aggressive: down for a buy limit or a
    sell stop, up for a sell limit or a buy stop. NaN stays NaN."""
    if not np.isfinite(px):
        return px
    below = px < 1.0
    units = 1e4 if below else 1e2
    x = px * units
    down = (side > 0) != stop
    r = np.floor(x + EPS) if down else np.ceil(x - EPS)
    return np.round(r / units, 4 if below else 2)
