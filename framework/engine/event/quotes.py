"""``QuoteTape``: the NBBO stream the quote fill model walks, merged across symbols."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from framework.data import Lake
from framework.strategy.panel import BarPanel, PanelError


@dataclass(frozen=True)
class QuoteTape:
    """Quotes of all symbols in time order (``sym`` = index into the panel's symbols):
    ``ts`` ns UTC, ``bid``/``ask`` USD, ``bid_size``/``ask_size`` shares."""

    ts: np.ndarray
    sym: np.ndarray
    bid: np.ndarray
    bid_size: np.ndarray
    ask: np.ndarray
    ask_size: np.ndarray

    @classmethod
    def empty(cls) -> QuoteTape:
        """No quotes (the bar fill model)."""
        z = np.zeros(0)
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int32), z, z, z, z)

    @classmethod
    def from_quotes(cls, rows: np.ndarray) -> QuoteTape:
        """From ``QUOTE_DTYPE`` rows already in stream order (``sym`` = symbol index)."""
        return cls(rows["ts"].astype(np.int64), rows["sym"].astype(np.int32),
                   *(rows[c].astype(np.float64) for c in ("bid", "bid_size", "ask",
                                                           "ask_size")))

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, symbols: tuple[str, ...]) -> QuoteTape:
        """From a lake quotes frame (symbol, ts, bid, bid_size, ask, ask_size); ties keep
        symbol order, then source order."""
        idx = {s: i for i, s in enumerate(symbols)}
        f = (frame.with_columns(sym=pl.col("symbol").replace_strict(idx, return_dtype=pl.Int32))
             .with_row_index("_row").sort(["ts", "sym", "_row"]))
        return cls(f["ts"].to_numpy().astype(np.int64), f["sym"].to_numpy(),
                   *(np.ascontiguousarray(f[c].to_numpy(), dtype=np.float64)
                     for c in ("bid", "bid_size", "ask", "ask_size")))

    def windows(self, panel: BarPanel) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, hi)`` per bar: the quotes with ``ts[t] <= ts < ts[t] + bar_ns``."""
        lo = np.searchsorted(self.ts, panel.ts, side="left").astype(np.int64)
        hi = np.searchsorted(self.ts, panel.ts + panel.bar_ns, side="left").astype(np.int64)
        return lo, np.maximum(hi, lo)


def load_quotes(lake: Lake, panel: BarPanel) -> QuoteTape:
    """The lake's quotes for the panel's symbols and sessions."""
    if panel.n_bars == 0:
        return QuoteTape.empty()
    frame = lake.quotes(list(panel.symbols), int(panel.session_open[0]),
                        int(panel.session_close[-1]))
    if frame.height == 0:
        raise PanelError(f"fill_model = 'quote' needs quotes, and lake {lake.root} has none "
                         f"for {', '.join(panel.symbols)} in the run's range")
    return QuoteTape.from_frame(frame, panel.symbols)
