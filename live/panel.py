"""The live terminal panel: one plain line per refresh, so it reads the same in a
terminal, a log file or a test's captured output.

``12:31 ET  bar age 0.4s | equity 100,212.40 USD  P&L +212.40 | pos SPY +10 QQQ -3 |
orders 14 sent, 2 working, 0 rejected, 9 fills | md up  tu up | decision 1.3 ms``

Everything comes from the session's own counters and ``SessionMetrics`` (no second
bookkeeping): equity is the loop's mark after the last row, P&L against the strategy's
initial cash, the bar age the wall seconds since the last bar arrived.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from framework.types.nytime import iso_ny


class Panel:
    """Prints ``line(session)`` to ``out`` at most every ``every_s`` wall seconds."""

    def __init__(self, out: TextIO | None = None, every_s: float = 1.0):
        self.out = out or sys.stdout
        self.every_s = every_s
        self._next = 0.0
        self.lines = 0

    def tick(self, session, *, force: bool = False) -> None:
        """Print a line if one is due (or ``force``)."""
        now = time.monotonic()
        if not force and now < self._next:
            return
        self._next = now + self.every_s
        print(line(session), file=self.out, flush=True)
        self.lines += 1


def line(session) -> str:
    """One line of the panel for ``session`` (a ``live.session.LiveSession``)."""
    st, d = session.stats, session.driver
    ms = session.m.status()
    if d.n:
        clock = iso_ny(int(d._ts[d.n - 1]) + d.bar_ns)[11:16] + " ET"
        age = f"bar age {time.monotonic() - session._last_bar_s:.1f}s"
    else:
        clock, age = "--:-- ET", "no bar yet"
    eq = ms["equity"]
    cash0 = session.cfg.backtest.initial_cash
    acct = "equity --" if eq is None else f"equity {eq:,.2f} USD  P&L {eq - cash0:+,.2f}"
    pos = " ".join(f"{s} {q:+g}" for s, q in session.positions().items() if q) or "flat"
    rejected = st.outcomes.get("rejected", 0) + st.outcomes.get("denied", 0)
    streams = "  ".join(f"{short} {'up' if ms['streams'][name] else 'DOWN'}"
                        for short, name in (("md", "market_data"), ("tu", "trade_updates")))
    lat = f" | decision {st.latency_ns[-1] / 1e6:.1f} ms" if st.latency_ns else ""
    kill = " | KILL SWITCH" if ms["kill_switch"] else ""
    return (f"{clock}  {age} | {acct} | pos {pos} | orders {st.submitted} sent, "
            f"{len(ms['working_orders'])} working, {rejected} rejected, {st.fills} fills | "
            f"{streams}{lat}{kill}")
