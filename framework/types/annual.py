"""Annualisation: the one convention and the one Sharpe rule of every stage.

``SESSIONS_PER_YEAR``: XNYS regular sessions in a year, fw's annualisation factor --
Sharpe and volatility (x sqrt), CAGR and turnover (years = sessions / it), and the daily
borrow fee (annual rate / it).

``annualised_sharpe``: mean over sample standard deviation of simple returns, times
sqrt(periods per year), zero risk-free rate. Reports apply it to per-session returns
(``framework.analytics.metrics``), the vectorized engine to per-bar returns with the
``periods_per_year`` its caller gives (the same figure on daily bars), the live monitor
to returns sampled every ``period_s`` seconds.
"""

from __future__ import annotations

import numpy as np

SESSIONS_PER_YEAR = 252


def annualised_sharpe(mean: np.ndarray | float, sd: np.ndarray | float,
                      periods_per_year: float = SESSIONS_PER_YEAR) -> np.ndarray:
    """``mean / sd * sqrt(periods_per_year)`` (``mean``, ``sd``: per-period fractions,
    ``sd`` with ddof=1), NaN where ``sd`` is not > 0 (no spread, or too few returns);
    element-wise over arrays, a 0-d array for scalars."""
    # arrays even for scalars: Python's float division raises on a zero sd
    m, s = np.asarray(mean, dtype=np.float64), np.asarray(sd, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, m / s * np.sqrt(periods_per_year), np.nan)
