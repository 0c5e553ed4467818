"""Look-ahead guard: re-run a strategy on data truncated at random bars and require every
signal and every order decided before the cut to be unchanged.

A causal strategy cannot tell whether bars after ``t`` exist; any difference before the
cut means it peeked (a centred window, a full-sample normalisation, a future label...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from framework.engine.backtest import run_backtest, strategy_signals
from framework.engine.event.engine import run_event
from framework.engine.event.on_bar import OnBarRunner, blank_signals

# order columns fixed at decision time (fills and final status may depend on later bars;
# so does the quantity of an order for a USD ``amount``, which is sized at its fill)
DECISION_COLUMNS = ("ts", "symbol", "side", "type", "tif", "role", "qty", "amount",
                    "limit_price", "stop_price", "reject_reason")


@dataclass
class LookaheadReport:
    """Cuts tried (bar indices) and the first difference found at each bad cut."""

    strategy: str
    n_bars: int
    cuts: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no decision before any cut changed."""
        return not self.problems


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def check_lookahead(path: str | Path, *, n_cuts: int = 5, seed: int = 0,
                    lake_root: Path | None = None, overrides: dict | None = None
                    ) -> LookaheadReport:
    """Truncate at ``n_cuts`` random bars (seeded) and compare with the full run."""
    full = run_backtest(path, overrides, lake_root=lake_root, write=False)
    panel, cfg = full.panel, full.config
    rep = LookaheadReport(cfg.name, panel.n_bars)
    lo = min(panel.n_bars - 1, max(2, full.strategy.lookback_bars() + 1))
    rng = np.random.default_rng(seed)
    cuts = sorted(set(rng.integers(lo, panel.n_bars, n_cuts).tolist())) if panel.n_bars > lo else []
    dec_ts = panel.decision_ts()
    for cut in cuts:
        rep.cuts.append(cut)
        head = panel.head(cut)
        if full.strategy.event_driven:  # no signals: its orders are compared below
            sig, hook = blank_signals(head), OnBarRunner(full.strategy)
        else:
            sig, hook = strategy_signals(full.strategy, head, str(path)), None
        for name in ("entry", "exit", "size", "limit"):
            a, b = getattr(full.signals, name)[:cut], getattr(sig, name)
            if not _same(a, b):
                t, s = np.argwhere(~((a == b) | (np.isnan(a) & np.isnan(b))
                                     if a.dtype.kind == "f" else a == b))[0]
                rep.problems.append(f"cut at bar {cut}: signal '{name}' of "
                                    f"{panel.symbols[s]} at bar {t} changed")
                break
        res = run_event(head, sig, decision=cfg.decision, costs=cfg.costs, risk=cfg.risk,
                        execution=cfg.execution, init_cash=cfg.backtest.initial_cash,
                        quotes=full.quotes, book_tape=full.book_tape, hook=hook)
        horizon = int(dec_ts[cut - 1])
        cols = list(DECISION_COLUMNS)
        # bracket legs are born at the next bar's open, which the cut run never sees
        known = (pl.col("ts") < horizon) | ((pl.col("ts") == horizon)
                                            & (pl.col("role") != "bracket_leg"))
        decided_qty = pl.when(pl.col("amount").is_nan()).then(pl.col("qty"))
        a = full.result.orders.filter(known).with_columns(qty=decided_qty).select(cols)
        b = res.orders.filter(known).with_columns(qty=decided_qty).select(cols)
        if not a.equals(b):
            rep.problems.append(f"cut at bar {cut}: orders decided before the cut differ "
                                f"({a.height} vs {b.height} orders)")
    return rep
