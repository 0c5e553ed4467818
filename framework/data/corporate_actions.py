"""Split and dividend events -> the lake's daily ``split_factor``, ``dividend`` and ``adj_factor``.

One rule for back-adjustment (the CRSP / Yahoo "Adj Close" convention): a price on
session ``d`` is multiplied by

    S(d) = prod over splits after d of  split_from / split_to
    D(d) = prod over ex-dates after d of  1 - cash / (raw close of the session before the ex-date)

``adj_factor`` = S(d) * D(d) for raw prices. For prices a vendor already split-adjusted
(raw * S(d)), ``adj_factor`` = D(d) alone, so ``close * adj_factor`` is the same series
either way and a split is never applied twice; ``dividend`` is then on the same
split-adjusted basis as the prices (cash * S(ex-date)).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from framework.data.calendar import session_date_expr


@dataclass(frozen=True)
class Split:
    """A split effective at the open of session ``date``: ``ratio`` = shares after / before."""

    date: dt.date
    ratio: float


@dataclass(frozen=True)
class Dividend:
    """A cash dividend: ``cash`` USD per share as declared (not split-adjusted), ex at ``ex_date``."""

    ex_date: dt.date
    cash: float


def _after(event_days: np.ndarray, factors: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Per day: product of the factors of events strictly after it (events sorted by day)."""
    if event_days.size == 0:
        return np.ones(days.size)
    tail = np.r_[np.cumprod(factors[::-1])[::-1], 1.0]  # tail[k] = prod factors[k:]
    return tail[np.searchsorted(event_days, days, side="right")]


def with_factors(bars: pl.DataFrame, splits: list[Split], dividends: list[Dividend],
                 split_adjusted: bool) -> pl.DataFrame:
    """Add ``split_factor``, ``dividend`` (USD) and ``adj_factor`` to daily ``bars`` (sorted by ts).

    ``bars`` must reach back at least one session before the first ex-date that should
    count (its close prices the dividend) and forward through the last event that has
    happened: events on or before the first bar, or after the last, are ignored.
    """
    if bars.height == 0:
        return bars.with_columns(split_factor=pl.lit(1.0), dividend=pl.lit(0.0),
                                 adj_factor=pl.lit(1.0))
    days = bars.select(session_date_expr())["ts"].to_numpy().astype("datetime64[D]")
    lo, hi = days[0], days[-1]

    sp = sorted((np.datetime64(s.date, "D"), s.ratio) for s in splits
                if lo < np.datetime64(s.date, "D") <= hi)
    sp_days = np.array([d for d, _ in sp], "datetime64[D]")
    sp_ratio = np.array([r for _, r in sp], float)
    s_after = _after(sp_days, 1.0 / sp_ratio, days)

    cash_by_day: dict[np.datetime64, float] = {}
    for v in dividends:
        d = np.datetime64(v.ex_date, "D")
        if lo < d <= hi:
            cash_by_day[d] = cash_by_day.get(d, 0.0) + v.cash
    dv_days = np.array(sorted(cash_by_day), "datetime64[D]")
    dv_cash = np.array([cash_by_day[d] for d in dv_days], float)
    close = bars["close"].to_numpy()
    raw_close = close / s_after if split_adjusted else close
    prev = np.searchsorted(days, dv_days, side="left") - 1  # the session before each ex-date
    d_after = _after(dv_days, 1.0 - dv_cash / raw_close[prev], days)

    split_factor = np.ones(days.size)
    at = np.searchsorted(days, sp_days)
    on_session = days[np.minimum(at, days.size - 1)] == sp_days
    split_factor[at[on_session]] = sp_ratio[on_session]
    dividend = np.zeros(days.size)
    at = np.searchsorted(days, dv_days)
    on_session = days[np.minimum(at, days.size - 1)] == dv_days
    basis = s_after[at[on_session]] if split_adjusted else 1.0
    dividend[at[on_session]] = dv_cash[on_session] * basis
    adj = d_after if split_adjusted else s_after * d_after
    return bars.with_columns(split_factor=pl.Series(split_factor), dividend=pl.Series(dividend),
                             adj_factor=pl.Series(adj))
