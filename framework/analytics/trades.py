"""Round-trip trades from fills, and the trade statistics of a run.

A trade is one position episode of one symbol: it opens when the position leaves zero
and closes when it returns to zero. A fill that flips the position (long 100, sell 150)
closes the episode with the first 100 shares and opens the next with the other 50; its
fee is split pro rata. Positions still open at the end are reported apart, not as trades.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from framework.data.calendar import schedule, session_date_expr

_EPS = 1e-9

TRADE_SCHEMA = {
    "symbol": pl.String, "direction": pl.Int64, "entry_ts": pl.Int64, "exit_ts": pl.Int64,
    "qty": pl.Float64, "entry_price": pl.Float64, "exit_price": pl.Float64,
    "gross_pnl": pl.Float64, "fees": pl.Float64, "pnl": pl.Float64, "return": pl.Float64,
    "holding_ns": pl.Int64,
}


class _Episode:
    """Running sums of one open position episode."""

    def __init__(self, ts: int, direction: int) -> None:
        self.entry_ts, self.direction = ts, direction
        self.qty_in = self.notional_in = self.qty_out = self.notional_out = 0.0
        self.fees = self.max_abs = 0.0

    def add(self, signed_qty: float, price: float, fee: float, position: float) -> None:
        if (signed_qty > 0) == (self.direction > 0):
            self.qty_in += abs(signed_qty)
            self.notional_in += abs(signed_qty) * price
        else:
            self.qty_out += abs(signed_qty)
            self.notional_out += abs(signed_qty) * price
        self.fees += fee
        self.max_abs = max(self.max_abs, abs(position))

    def row(self, symbol: str, exit_ts: int) -> dict:
        entry = self.notional_in / self.qty_in
        gross = self.direction * (self.notional_out - self.notional_in)
        return {"symbol": symbol, "direction": self.direction, "entry_ts": self.entry_ts,
                "exit_ts": exit_ts, "qty": self.max_abs, "entry_price": entry,
                "exit_price": self.notional_out / self.qty_out, "gross_pnl": gross,
                "fees": self.fees, "pnl": gross - self.fees,
                "return": (gross - self.fees) / self.notional_in,
                "holding_ns": exit_ts - self.entry_ts}


def round_trips(fills: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, float]]:
    """Closed trades of ``fills`` (the engine's frame: ts ns, symbol, side ±1, qty shares,
    price USD, fee USD), oldest exit first, and the position (shares) each symbol still
    holds at the end."""
    rows: list[dict] = []
    still_open: dict[str, float] = {}
    for (symbol,), part in fills.sort("ts", maintain_order=True).group_by(
            "symbol", maintain_order=True):
        pos, ep = 0.0, None
        for ts, side, qty, price, fee in part.select("ts", "side", "qty", "price",
                                                     "fee").iter_rows():
            signed = side * qty
            if ep is not None and abs(pos + signed) > _EPS and (pos + signed) * pos < 0:
                closing = -pos  # the part of this fill that takes the position to zero
                share = abs(closing) / qty
                ep.add(closing, price, fee * share, pos)
                rows.append(ep.row(symbol, ts))
                pos, signed, fee, ep = 0.0, signed - closing, fee * (1 - share), None
            if ep is None:
                ep = _Episode(ts, 1 if signed > 0 else -1)
            pos += signed
            ep.add(signed, price, fee, pos)
            if abs(pos) <= _EPS:
                rows.append(ep.row(symbol, ts))
                pos, ep = 0.0, None
        if ep is not None:
            still_open[symbol] = pos
    trades = pl.DataFrame(rows, schema=TRADE_SCHEMA).sort("exit_ts", maintain_order=True)
    return trades, still_open


def with_holding_sessions(trades: pl.DataFrame) -> pl.DataFrame:
    """``trades`` plus ``holding_sessions``: XNYS sessions from the entry's session to the
    exit's (0 = same session; a daily-bar trade entered at Monday's open and left at
    Thursday's is 3)."""
    days, _, _ = schedule()
    if trades.height == 0:
        return trades.with_columns(holding_sessions=pl.lit(0, pl.Int64))
    d = trades.select(entry=session_date_expr("entry_ts"), exit=session_date_expr("exit_ts"))
    idx = [np.searchsorted(days, d[c].cast(pl.Int32).to_numpy().astype(np.int64))
           for c in ("entry", "exit")]
    return trades.with_columns(holding_sessions=pl.Series(idx[1] - idx[0], dtype=pl.Int64))


def pnl_by_symbol(trades: pl.DataFrame) -> pl.DataFrame:
    """Per symbol: trades, net P&L (USD), fees (USD), win rate (fraction); biggest P&L first."""
    return (trades.group_by("symbol")
            .agg(trades=pl.len(), pnl=pl.col("pnl").sum(), fees=pl.col("fees").sum(),
                 win_rate=(pl.col("pnl") > 0).mean())
            .sort("pnl", descending=True))


def trade_stats(trades: pl.DataFrame) -> dict[str, float]:
    """Win rate (fraction), profit factor, expectancy (USD per trade, net of fees), mean
    win and loss (USD), best and worst trade (USD), mean holding time (minutes, and in
    sessions when ``trades`` has ``holding_sessions``)."""
    pnl = trades["pnl"].to_numpy()
    n = pnl.shape[0]
    if n == 0:
        return {"trades": 0} | dict.fromkeys(
            ("win_rate", "profit_factor", "expectancy", "avg_win", "avg_loss", "best_trade",
             "worst_trade", "avg_holding_minutes", "avg_holding_sessions"), math.nan)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    return {
        "trades": n,
        "win_rate": wins.shape[0] / n,
        "profit_factor": float(wins.sum() / -losses.sum()) if losses.shape[0] else math.inf,
        "expectancy": float(pnl.mean()),
        "avg_win": float(wins.mean()) if wins.shape[0] else math.nan,
        "avg_loss": float(losses.mean()) if losses.shape[0] else math.nan,
        "best_trade": float(pnl.max()),
        "worst_trade": float(pnl.min()),
        "avg_holding_minutes": float(np.mean(trades["holding_ns"].to_numpy())) / 60e9,
        "avg_holding_sessions": float(trades["holding_sessions"].mean())
        if "holding_sessions" in trades.columns else math.nan,
    }
