"""The numbers of a finished backtest's report, computed once: ``report_data(run)``.

Both the files written next to a run (``run_report``) and the HTML tearsheet
(``tearsheet``) draw from the ``ReportData`` built here. When the run says where its
out-of-sample period starts (``oos_start_ns`` in the manifest, set by a strategy whose
model was trained walk-forward, or ``[backtest] oos_start`` for a rule-based strategy: the
open of that session), the period metrics are out-of-sample only and the in-sample
period is reported apart, never blended.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from framework.analytics.metrics import (
    daily_returns,
    performance_metrics,
    worst_drawdowns,
    yearly_returns,
)
from framework.analytics.tca import parent_tca
from framework.analytics.trades import (
    pnl_by_symbol,
    round_trips,
    trade_stats,
    with_holding_sessions,
)
from framework.data import Lake
from framework.data.calendar import session_date_expr, sessions
from framework.strategy.panel import BarPanel, load_panel
from framework.types.annual import SESSIONS_PER_YEAR

# risk-log rows that record normal operation, not a risk event a reader must look at
ROUTINE_RISK_KINDS = ("session_start",)


@dataclass(frozen=True)
class ReportData:
    """Everything the tearsheet draws, computed once (numbers, not figures)."""

    title: str
    manifest: dict
    daily: pl.DataFrame  # date, ts, ret, equity, bench_ret, exposure, sample
    trades: pl.DataFrame  # round trips + sample ("in" / "out" / "full")
    periods: dict[str, dict]  # "out_of_sample"/"in_sample" or "full" -> metrics
    costs: dict[str, float]  # USD
    order_status: pl.DataFrame  # status, orders
    rejections: pl.DataFrame  # reason, orders
    risk_events: pl.DataFrame  # without the routine session_start rows
    open_positions: dict[str, float]
    benchmark: str
    oos_start_ns: int | None
    timeframe: str  # the bars' "1s" | "1m" | "1d"
    drawdowns: list[dict]  # worst drawdown episodes (metrics.worst_drawdowns), by date
    yearly: pl.DataFrame  # year, strategy, benchmark (compounded fractions)
    by_symbol: pl.DataFrame  # trades.pnl_by_symbol
    tca: pl.DataFrame | None = None  # analytics.tca.parent_tca: one row per algo parent


def session_close_returns(panel: BarPanel) -> pl.DataFrame:
    """Equal-weight, daily-rebalanced close-to-close return of the panel's symbols per
    session: ``date``, ``bench_ret`` (fraction; a symbol counts from its second session)."""
    frame = pl.DataFrame({"ts": panel.ts, **{s: panel.close[:, j]
                                             for j, s in enumerate(panel.symbols)}})
    last = (frame.with_columns(date=session_date_expr("ts"))
            .group_by("date", maintain_order=True)
            .agg(pl.col(s).drop_nans().last() for s in panel.symbols).sort("date"))
    closes = last.select(panel.symbols).to_numpy().astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rets = closes[1:] / closes[:-1] - 1.0
    ok = np.isfinite(rets)
    mean = np.where(ok, rets, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1)
    return last.select("date").with_columns(bench_ret=pl.Series(np.concatenate(([0.0], mean))))


def benchmark_returns(run, lake: Lake) -> tuple[str, pl.DataFrame]:
    """The run's benchmark per session (``date``, ``bench_ret``): ``[backtest] benchmark``
    (a lake symbol) or the equal-weight universe."""
    cfg = run.config
    symbol = cfg.backtest.benchmark
    if symbol is None:
        return "equal-weight universe", session_close_returns(run.panel)
    panel = load_panel(lake, [symbol], cfg.data.start, cfg.data.end, cfg.data.timeframe,
                       cfg.data.session)
    return symbol, session_close_returns(panel)


def _costs(run, fills: pl.DataFrame) -> dict[str, float]:
    """Fees (commission + SEC + TAF), borrow, and slippage of market/stop fills against
    the open of the bar they filled in (bar fill model only: the engine's reference)."""
    out = {"fees": float(fills["fee"].sum()), "borrow": run.result.borrow}
    if run.config.execution.fill_model != "bar" or fills.height == 0:
        return out | {"slippage": math.nan}
    panel = run.panel
    opens = pl.DataFrame({"ts": panel.ts, **{s: panel.open[:, j]
                                             for j, s in enumerate(panel.symbols)}})
    opens = opens.unpivot(index="ts", variable_name="symbol", value_name="bar_open")
    kinds = run.result.orders.select("order_id", "type")
    priced = (fills.join(kinds, on="order_id").filter(pl.col("type").is_in(["market", "stop"]))
              .join(opens, on=["ts", "symbol"], how="left"))
    slip = (pl.col("side") * (pl.col("price") - pl.col("bar_open")) * pl.col("qty"))
    return out | {"slippage": float(priced.select(slip.sum()).item() or 0.0)}


def _period_metrics(daily: pl.DataFrame, trades: pl.DataFrame, equity: pl.DataFrame,
                    fills: pl.DataFrame, ts_lo: int, ts_hi: int) -> dict:
    """Metrics of the sessions whose last bar lies in [ts_lo, ts_hi)."""
    part = daily.filter(pl.col("ts").is_between(ts_lo, ts_hi, closed="left"))
    out = performance_metrics(part["ret"].to_numpy(), part["bench_ret"].to_numpy())
    out |= trade_stats(trades.filter(pl.col("entry_ts").is_between(ts_lo, ts_hi,
                                                                   closed="left")))
    eq = equity.filter(pl.col("ts").is_between(ts_lo, ts_hi, closed="left"))
    mean_eq = float(eq["equity"].mean()) if eq.height else math.nan
    traded = fills.filter(pl.col("ts").is_between(ts_lo, ts_hi, closed="left"))
    notional = float((traded["qty"] * traded["price"]).sum())
    years = max(part.height, 1) / SESSIONS_PER_YEAR
    out["exposure"] = float((eq["gross_exposure"] / eq["equity"]).mean()) if eq.height \
        else math.nan
    out["turnover"] = notional / mean_eq / years if mean_eq > 0 else math.nan
    return out


def report_data(run) -> ReportData:
    """Compute the report of a :class:`~framework.engine.backtest.BacktestRun`."""
    res, cfg, man = run.result, run.config, run.manifest
    lake = Lake(Path(man.get("lake", run.strategy.context.lake_root)))
    equity = res.equity
    daily = daily_returns(equity, cfg.backtest.initial_cash)
    bench_name, bench = benchmark_returns(run, lake)
    exposure = (equity.with_columns(date=session_date_expr("ts"),
                                    exposure=pl.col("gross_exposure") / pl.col("equity"))
                .group_by("date").agg(pl.col("exposure").mean(), pl.col("equity").last()))
    daily = (daily.join(bench, on="date", how="left").join(exposure, on="date", how="left")
             .with_columns(pl.col("bench_ret").fill_null(0.0)))
    trades, still_open = round_trips(res.fills)
    trades = with_holding_sessions(trades)
    oos = man.get("oos_start_ns")
    if oos is None and cfg.backtest.oos_start is not None:
        oos = _session_open(cfg.backtest.oos_start)
    end = int(equity["ts"].max()) + 1 if equity.height else 1
    if oos is None:
        periods = {"full": _period_metrics(daily, trades, equity, res.fills, 0, end)}
        daily = daily.with_columns(sample=pl.lit("full"))
        trades = trades.with_columns(sample=pl.lit("full"))
    else:
        periods = {"out_of_sample": _period_metrics(daily, trades, equity, res.fills, oos, end),
                   "in_sample": _period_metrics(daily, trades, equity, res.fills, 0, oos)}
        daily = daily.with_columns(sample=pl.when(pl.col("ts") >= oos).then(pl.lit("out"))
                                   .otherwise(pl.lit("in")))
        trades = trades.with_columns(sample=pl.when(pl.col("entry_ts") >= oos)
                                     .then(pl.lit("out")).otherwise(pl.lit("in")))
    orders = res.orders
    dates = daily["date"].to_list()
    drawdowns = [{"peak": dates[e["peak"]] if e["peak"] >= 0 else None,
                  "valley": dates[e["valley"]],
                  "recovery": None if e["recovery"] is None else dates[e["recovery"]],
                  "depth": e["depth"], "sessions": e["sessions"]}
                 for e in worst_drawdowns(daily["ret"].to_numpy())]
    return ReportData(
        title=f"{cfg.name} — {man.get('run_id', 'unsaved run')}",
        manifest=man, daily=daily, trades=trades, periods=periods,
        costs=_costs(run, res.fills),
        order_status=orders.group_by("status").agg(orders=pl.len()).sort("status"),
        rejections=(orders.filter(pl.col("reject_reason") != "")
                    .group_by("reject_reason").agg(orders=pl.len())
                    .sort("orders", descending=True)),
        risk_events=res.risk_events.filter(~pl.col("kind").is_in(ROUTINE_RISK_KINDS)),
        open_positions=still_open, benchmark=bench_name, oos_start_ns=oos,
        timeframe=cfg.data.timeframe, drawdowns=drawdowns, yearly=yearly_returns(daily),
        by_symbol=pnl_by_symbol(trades), tca=parent_tca(res.state, run.panel))


def _session_open(day) -> int:
    """ns UTC of the open of the first XNYS session on or after ``day``."""
    _, opens, _ = sessions(day, day + dt.timedelta(days=10))
    return int(opens[0])
