"""Metrics, trades and the tearsheet of a finished backtest, written next to its results.

``report_backtest(run)`` adds ``trades.parquet``, ``metrics.json`` and
``tearsheet.html`` to ``reports/<run-id>/``. When the run says where its out-of-sample
period starts (``oos_start_ns`` in the manifest, set by a strategy whose model was
trained walk-forward, or ``[backtest] oos_start`` for a rule-based strategy: the open of
that session), the headline metrics are out-of-sample only and the in-sample period is
reported apart, never blended.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from framework.analytics.report_data import ReportData, report_data
from framework.analytics.tca import impact_fit, tca_summary
from framework.analytics.tearsheet import render_tearsheet

HEADLINE = ("total_return", "cagr", "volatility", "sharpe", "sortino", "calmar",
            "max_drawdown", "max_drawdown_sessions", "psr", "alpha", "beta", "trades",
            "win_rate", "profit_factor", "expectancy", "avg_holding_minutes",
            "avg_holding_sessions", "exposure", "turnover")


def _json_safe(value):
    """NaN and inf have no JSON spelling: write null (and keep every other value)."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.integer | np.floating):
        return _json_safe(value.item())
    return value


def headline(data: ReportData) -> dict:
    """The terminal summary: out-of-sample metrics when there are some, else full-period;
    holding time in sessions on daily bars, in minutes on intraday bars."""
    name = "out_of_sample" if "out_of_sample" in data.periods else "full"
    skip = "avg_holding_minutes" if data.timeframe == "1d" else "avg_holding_sessions"
    return {"period": name} | {k: data.periods[name][k] for k in HEADLINE
                               if k in data.periods[name] and k != skip}


def report_backtest(run) -> tuple[Path | None, dict]:
    """Write ``trades.parquet``, ``metrics.json`` and ``tearsheet.html`` into the run's
    folder; returns the tearsheet path (None for an unsaved run) and the headline."""
    data = report_data(run)
    if run.out_dir is None:
        return None, headline(data)
    data.trades.write_parquet(run.out_dir / "trades.parquet", statistics=False)
    doc = {"benchmark": data.benchmark, "oos_start_ns": data.oos_start_ns,
           "periods": data.periods, "costs_usd": data.costs,
           "open_positions": data.open_positions, "ignored": run.result.ignored}
    if data.tca is not None and data.tca.height:
        doc["tca"] = tca_summary(data.tca) | {"impact_fit": impact_fit(data.tca, run.panel)}
        data.tca.write_parquet(run.out_dir / "tca.parquet", statistics=False)
    (run.out_dir / "metrics.json").write_text(json.dumps(_json_safe(doc), indent=2))
    page = run.out_dir / "tearsheet.html"
    page.write_text(render_tearsheet(data), encoding="utf-8")
    return page, headline(data)
