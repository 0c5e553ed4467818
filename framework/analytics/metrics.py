"""Performance metrics of a backtest, from session-end (daily) equity.

Intraday runs are annualised on *daily* returns taken at each XNYS session's last bar,
not on per-bar returns: minute returns are autocorrelated (bid/ask bounce, stale marks)
and overnight gaps would be mixed with intraday ones, so ``sqrt(390 * 252)`` on bar
returns misstates Sharpe. One convention for every timeframe: 252 sessions a year.

Conventions follow empyrical (and are tested against it): Sharpe and volatility use the
sample standard deviation (ddof=1); Sortino's downside deviation is the root mean square
of the negative returns over *all* periods; CAGR compounds over ``n / 252`` years;
maximum drawdown is measured from the starting capital, so a loss on day one counts.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from framework.analytics.overfitting import probabilistic_sharpe_ratio
from framework.data.calendar import session_date_expr
from framework.types.annual import SESSIONS_PER_YEAR, annualised_sharpe


def session_closes(ts: np.ndarray | pl.Series) -> pl.DataFrame:
    """The last bar of each New York session date of ``ts`` (ns UTC, in bar order):
    ``date``, ``ts`` (ns of that bar) and ``row`` (its index in ``ts``), in date order."""
    return (pl.DataFrame({"ts": ts}).with_row_index("row").lazy()
            .with_columns(date=session_date_expr("ts"))
            .group_by("date", maintain_order=True)
            .agg(pl.col("ts").last(), pl.col("row").last())
            .sort("date").collect())


def session_returns(equity: np.ndarray, rows: np.ndarray, initial_cash: float) -> np.ndarray:
    """Simple session-to-session returns (fraction) of an equity curve (USD, one value a
    bar) at its session-close bars ``rows`` (:func:`session_closes`' ``row``); the first
    session's return is against ``initial_cash`` (USD)."""
    eq = np.asarray(equity, dtype=np.float64)[rows]
    return eq / np.concatenate(([initial_cash], eq[:-1])) - 1.0


def daily_returns(equity: pl.DataFrame, initial_cash: float) -> pl.DataFrame:
    """:func:`session_returns` of the engine's equity frame (``ts`` ns UTC, ``equity``
    USD). Columns ``date``, ``ts``, ``ret``."""
    closes = session_closes(equity["ts"])
    ret = session_returns(equity["equity"].to_numpy(), closes["row"].to_numpy(), initial_cash)
    return closes.select("date", "ts").with_columns(ret=pl.Series(ret))


def drawdown(returns: np.ndarray) -> np.ndarray:
    """Drawdown (fraction, ≤ 0) after each period, from the compounded path starting at 1."""
    wealth = np.cumprod(1.0 + returns)
    peak = np.maximum.accumulate(np.concatenate(([1.0], wealth)))[1:]
    return wealth / peak - 1.0


def max_drawdown_duration(returns: np.ndarray) -> int:
    """Longest run of periods spent below a previous peak (sessions)."""
    under = np.concatenate(([0], (drawdown(returns) < 0.0).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(under))  # where runs below the peak start and end
    return int((edges[1::2] - edges[::2]).max()) if edges.shape[0] else 0


def probabilistic_sharpe(returns: np.ndarray, benchmark_sr: float = 0.0) -> float:
    """Probability that the true per-period Sharpe exceeds ``benchmark_sr`` (Bailey and
    López de Prado 2012), correcting for skew and kurtosis of ``returns``; see
    :func:`framework.analytics.overfitting.probabilistic_sharpe_ratio`."""
    return probabilistic_sharpe_ratio(np.asarray(returns, dtype=np.float64), benchmark_sr)


def alpha_beta(returns: np.ndarray, benchmark: np.ndarray) -> tuple[float, float]:
    """Annualised alpha (fraction per year, compounded) and beta of ``returns`` against
    ``benchmark`` (same periods). NaN when the benchmark does not move."""
    ok = np.isfinite(returns) & np.isfinite(benchmark)
    r, b = returns[ok], benchmark[ok]
    if r.shape[0] < 2 or b.var() == 0.0:
        return math.nan, math.nan
    beta = float(np.cov(r, b, ddof=1)[0, 1] / b.var(ddof=1))
    alpha = float((1.0 + np.mean(r - beta * b)) ** SESSIONS_PER_YEAR - 1.0)
    return alpha, beta


def performance_metrics(returns: np.ndarray, benchmark: np.ndarray | None = None) -> dict:
    """Return-based metrics of daily ``returns`` (fractions, one per session).

    Returns a dict of floats: ``total_return``, ``cagr``, ``volatility`` (annualised),
    ``sharpe``, ``sortino``, ``calmar``, ``max_drawdown`` (fraction, ≤ 0),
    ``max_drawdown_sessions``, ``psr`` (probability the Sharpe is > 0), ``alpha``,
    ``beta``, ``sessions``. Undefined ratios are NaN, never a silent zero.
    """
    r = np.asarray(returns, dtype=np.float64)
    n = r.shape[0]
    out: dict = {"sessions": n}
    if n == 0:
        return out | dict.fromkeys(("total_return", "cagr", "volatility", "sharpe", "sortino",
                                    "calmar", "max_drawdown", "psr", "alpha", "beta"),
                                   math.nan) | {"max_drawdown_sessions": 0}
    total = float(np.prod(1.0 + r) - 1.0)
    years = n / SESSIONS_PER_YEAR
    cagr = (1.0 + total) ** (1.0 / years) - 1.0 if total > -1.0 else -1.0
    sd = r.std(ddof=1) if n > 1 else math.nan
    downside = math.sqrt(np.mean(np.minimum(r, 0.0) ** 2)) * math.sqrt(SESSIONS_PER_YEAR)
    mdd = float(drawdown(r).min())
    annual = math.sqrt(SESSIONS_PER_YEAR)
    out |= {
        "total_return": total,
        "cagr": cagr,
        "volatility": float(sd * annual),
        "sharpe": float(annualised_sharpe(r.mean(), sd)),
        "sortino": float(r.mean() * SESSIONS_PER_YEAR / downside) if downside > 0 else math.nan,
        "calmar": cagr / -mdd if mdd < 0 else math.nan,
        "max_drawdown": mdd,
        "max_drawdown_sessions": max_drawdown_duration(r),
        "psr": probabilistic_sharpe(r),
    }
    alpha, beta = (math.nan, math.nan) if benchmark is None else alpha_beta(r, benchmark)
    return out | {"alpha": alpha, "beta": beta}


def rolling_sharpe_vol(returns: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Annualised rolling Sharpe and volatility over ``window`` sessions (NaN in warm-up)."""
    s = pl.Series(returns)
    mean = s.rolling_mean(window).to_numpy()
    sd = s.rolling_std(window).to_numpy()
    return annualised_sharpe(mean, sd), sd * math.sqrt(SESSIONS_PER_YEAR)


def worst_drawdowns(returns: np.ndarray, top: int = 5) -> list[dict]:
    """The ``top`` deepest drawdown episodes of daily ``returns`` (fractions), deepest
    first, as in pyfolio's ``gen_drawdown_table``: each a dict of ``peak`` (index of the
    last session at the previous high; -1 = the starting capital), ``valley`` (index of
    the lowest session), ``recovery`` (index of the first session back at the high, None
    if not recovered), ``depth`` (fraction, < 0), ``sessions`` (peak to recovery, or to
    the last session when not recovered)."""
    dd = drawdown(np.asarray(returns, dtype=np.float64))
    episodes = []
    k, n = 0, dd.shape[0]
    while k < n:
        if dd[k] >= 0.0:
            k += 1
            continue
        start = k
        while k < n and dd[k] < 0.0:
            k += 1
        valley = start + int(np.argmin(dd[start:k]))
        recovery = k if k < n else None
        episodes.append({"peak": start - 1, "valley": valley, "recovery": recovery,
                         "depth": float(dd[valley]),
                         "sessions": (recovery if recovery is not None else n - 1) - (start - 1)})
    return sorted(episodes, key=lambda e: e["depth"])[:top]


def rolling_beta(returns: np.ndarray, benchmark: np.ndarray, window: int) -> np.ndarray:
    """Beta of ``returns`` on ``benchmark`` over the trailing ``window`` sessions (sample
    covariance / sample variance; NaN in warm-up or when the benchmark does not move)."""
    r, b = pl.Series(returns), pl.Series(benchmark)
    cov = ((r * b).rolling_mean(window) - r.rolling_mean(window) * b.rolling_mean(window))
    var = (b * b).rolling_mean(window) - b.rolling_mean(window) ** 2
    c, v = cov.to_numpy(), var.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v > 1e-18, c / v, np.nan)  # the n/(n-1) factors cancel


def yearly_returns(daily: pl.DataFrame) -> pl.DataFrame:
    """Compounded return per calendar year of the session returns ``ret`` and ``bench_ret``
    (fractions) of ``daily`` (with a ``date`` column): year, strategy, benchmark."""
    return (daily.group_by(pl.col("date").dt.year().alias("year"))
            .agg(strategy=(pl.col("ret") + 1.0).product() - 1.0,
                 benchmark=(pl.col("bench_ret") + 1.0).product() - 1.0)
            .sort("year"))
