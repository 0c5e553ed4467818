"""The curves' row of one bar: equity, cash, gross exposure and positions at its close.

One rule for the event loop's end of every bar (``framework.engine.event.kernels``) and
for the broker fill model's settlement after a live session's last row
(``framework.execution.fill_models.broker.settle``), so both mark alike.
"""

from __future__ import annotations

import numpy as np

from framework.types.jit import kernel


@kernel(inline="always")
def mark_curves(t, rk, wk, cur) -> None:
    """Write row ``t`` of ``cur`` (``Curves``): cash and positions now, equity and gross
    exposure at each symbol's last close (USD; a symbol with no close yet adds none)."""
    eq = rk.rstate[0].cash
    gr = 0.0
    for s in range(rk.rsym.shape[0]):
        pos = rk.rsym[s].position
        cur.positions[t, s] = pos
        if np.isfinite(wk.last_close[s]):
            eq += pos * wk.last_close[s]
            gr += abs(pos) * wk.last_close[s]
    cur.equity[t] = eq
    cur.cash[t] = rk.rstate[0].cash
    cur.gross[t] = gr
