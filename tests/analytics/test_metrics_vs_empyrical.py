"""Return metrics equal empyrical-reloaded's on the same daily returns."""

from __future__ import annotations

import math

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

from framework.analytics.metrics import (
    drawdown,
    max_drawdown_duration,
    performance_metrics,
    probabilistic_sharpe,
    rolling_beta,
    worst_drawdowns,
    yearly_returns,
)


def _returns(seed: int, n: int, drift: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    bench = rng.normal(0.0004, 0.011, n)
    strat = drift + 0.6 * bench + rng.standard_t(4, n) * 0.007
    return strat, bench


@pytest.mark.parametrize(("seed", "n", "drift"), [(1, 60, 0.001), (2, 400, -0.0005),
                                                   (3, 1500, 0.0002), (4, 30, 0.0)])
def test_metrics_match_empyrical(seed: int, n: int, drift: float) -> None:
    r, b = _returns(seed, n, drift)
    m = performance_metrics(r, b)
    rs, bs = pd.Series(r), pd.Series(b)
    assert m["sharpe"] == pytest.approx(ep.sharpe_ratio(rs), rel=1e-10)
    assert m["sortino"] == pytest.approx(ep.sortino_ratio(rs), rel=1e-10)
    assert m["volatility"] == pytest.approx(ep.annual_volatility(rs), rel=1e-10)
    assert m["cagr"] == pytest.approx(ep.annual_return(rs), rel=1e-10)
    assert m["max_drawdown"] == pytest.approx(ep.max_drawdown(rs), rel=1e-10)
    assert m["calmar"] == pytest.approx(ep.calmar_ratio(rs), rel=1e-10)
    alpha, beta = ep.alpha_beta(rs, bs)
    assert m["beta"] == pytest.approx(beta, rel=1e-9)
    assert m["alpha"] == pytest.approx(alpha, rel=1e-9)
    assert m["total_return"] == pytest.approx(ep.cum_returns_final(rs), rel=1e-10)


def test_drawdown_counts_a_loss_on_day_one() -> None:
    r = np.array([-0.10, 0.05, 0.02, 0.10, -0.01])
    dd = drawdown(r)
    assert dd[0] == pytest.approx(-0.10)
    assert dd[1] == pytest.approx(0.9 * 1.05 - 1)
    assert max_drawdown_duration(r) == 3  # under water for sessions 0, 1, 2; new peak at 3


def test_undefined_ratios_are_nan_not_zero() -> None:
    m = performance_metrics(np.zeros(10))
    assert math.isnan(m["sharpe"]) and math.isnan(m["sortino"]) and math.isnan(m["calmar"])
    assert m["max_drawdown"] == 0.0 and math.isnan(m["alpha"])
    assert performance_metrics(np.array([]))["sessions"] == 0


def test_probabilistic_sharpe_against_scipy_moments() -> None:
    # Bailey & Lopez de Prado (2012), eq. 11, assembled from scipy's own estimators.
    from scipy import stats

    r, _ = _returns(7, 5000, 0.0006)
    sr = r.mean() / r.std(ddof=1)
    g3, g4 = stats.skew(r), stats.kurtosis(r, fisher=False)
    z = sr * math.sqrt(len(r) - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    assert probabilistic_sharpe(r) == pytest.approx(stats.norm.cdf(z), rel=1e-9)
    assert 0.0 < probabilistic_sharpe(-r) < 0.5 < probabilistic_sharpe(r) <= 1.0


def test_rolling_beta_matches_empyrical() -> None:
    r, b = _returns(5, 300, 0.0003)
    got = rolling_beta(r, b, 40)
    want = ep.roll_beta(pd.Series(r), pd.Series(b), window=40).to_numpy()
    assert np.isnan(got[:39]).all()
    assert got[39:] == pytest.approx(want[-len(got[39:]):], rel=1e-9)


def test_worst_drawdowns_by_hand() -> None:
    # wealth 1.1, 0.99, 0.891, 1.1583, 1.1583, 1.100385, 1.11139: two episodes
    r = np.array([0.10, -0.10, -0.10, 0.30, 0.0, -0.05, 0.01])
    deep, shallow = worst_drawdowns(r)
    assert deep == {"peak": 0, "valley": 2, "recovery": 3, "depth": pytest.approx(-0.19),
                    "sessions": 3}
    assert shallow == {"peak": 4, "valley": 5, "recovery": None,
                       "depth": pytest.approx(-0.05), "sessions": 2}
    # a loss on day one draws down from the starting capital (peak -1)
    (first,) = worst_drawdowns(np.array([-0.02, 0.03]))
    assert first["peak"] == -1 and first["recovery"] == 1 and first["depth"] == pytest.approx(-0.02)
    assert worst_drawdowns(np.array([0.01, 0.02])) == []
    assert ep.max_drawdown(pd.Series(r)) == pytest.approx(deep["depth"])


def test_yearly_returns_compound_by_calendar_year() -> None:
    import datetime as dt

    import polars as pl

    daily = pl.DataFrame({"date": [dt.date(2023, 12, 28), dt.date(2023, 12, 29),
                                   dt.date(2024, 1, 2)],
                          "ret": [0.10, -0.10, 0.05], "bench_ret": [0.0, 0.02, -0.01]})
    y = yearly_returns(daily)
    assert y["year"].to_list() == [2023, 2024]
    assert y["strategy"].to_list() == pytest.approx([1.1 * 0.9 - 1, 0.05])
    assert y["benchmark"].to_list() == pytest.approx([0.02, -0.01])
