"""Order-book imbalance on the L3 book: lean with the side that has more depth near the
touch, joining the queue at the best price, out when the imbalance fades.

Reads ``panel.book`` (``[data] book_levels`` > 0: the top levels of each symbol's book at
every decision time, replayed from the lake's ``book_events``). Under
``[execution] fill_model = "book"`` the entry limit order waits in the replayed queue
behind everything that rested at its price before it.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from framework.config import FrozenModel
from framework.features import book_imbalance, ema
from framework.strategy import BarPanel, Signals, Strategy
from framework.strategy.signals import SignalError


class ObiParams(FrozenModel):
    """``levels`` of depth per side; ``span`` bars of the EMA; thresholds in [-1, 1]."""

    levels: int = Field(default=3, ge=1)
    span: int = Field(default=10, ge=1)
    entry: float = Field(default=0.3, gt=0.0, le=1.0)
    exit: float = Field(default=0.05, ge=0.0, le=1.0)


def smoothed_imbalance(bid_sz: np.ndarray, ask_sz: np.ndarray, levels: int,
                       span: int) -> np.ndarray:
    """EMA over ``span`` bars of the top-``levels`` depth imbalance, ``[T, S]`` in [-1, 1];
    a book with both sides empty counts as balanced (0)."""
    T, S = bid_sz.shape[:2]
    out = np.empty((T, S))
    for s in range(S):
        raw = np.nan_to_num(book_imbalance(bid_sz[:, s], ask_sz[:, s], levels), nan=0.0)
        out[:, s] = raw if span == 1 else ema(raw, span)
    return out


class OrderBookImbalance(Strategy):
    """Long above ``+entry``, short below ``-entry`` (limit at the best bid / ask), exit once
    ``|imbalance| <= exit`` or the imbalance flips."""

    Params = ObiParams

    def lookback_bars(self) -> int:
        return self.params.span

    def signals(self, panel: BarPanel) -> Signals:
        p = self.params
        book = panel.book
        if book is None or book.bid_sz.shape[2] < p.levels:
            have = 0 if book is None else book.bid_sz.shape[2]
            raise SignalError(f"{self.name}: needs [data] book_levels >= {p.levels} "
                              f"(params.levels), the panel has {have}")
        obi = smoothed_imbalance(book.bid_sz, book.ask_sz, p.levels, p.span)
        bid, ask = book.bid_px[:, :, 0], book.ask_px[:, :, 0]
        quoted = np.isfinite(bid) & np.isfinite(ask) & np.isfinite(panel.close)
        entry = np.where(quoted & (obi >= p.entry), 1, np.where(quoted & (obi <= -p.entry), -1, 0))
        limit = np.where(entry > 0, bid, np.where(entry < 0, ask, np.nan))
        return Signals.of(entry.astype(np.int8), np.abs(obi) <= p.exit, limit=limit)
