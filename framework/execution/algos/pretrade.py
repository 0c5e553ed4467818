"""Pre-trade cost estimate of an order: the immediate part walked through the current
book, the scheduled part by the square-root law, with its coefficient Y fitted to the
run's own (simulated or live) fills.

    impact (bps) = Y * sigma_daily * sqrt(Q / ADV) * 1e4 + half spread (bps)

(sigma_daily a fraction, Q and ADV shares; see ``../shared/docs/execution-and-research-
formulas.md``; published equity fits put Y of order 0.5-1, which is why it is fitted
here, not assumed). Units: USD, shares, bps = 1e-4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framework.execution.routing import venue_cost


def walk_cost_bps(side: int, qty: float, px: np.ndarray, sz: np.ndarray,
                  mid: float) -> float:
    """Cost in bps of ``mid`` of taking ``qty`` shares at once from levels ``px``/``sz``
    (best first; asks for a buy, bids for a sell); inf beyond the displayed depth."""
    usd = venue_cost(side, qty, px, sz, 0.0, 0.0, 0.0)
    return (usd / qty - side * mid) / mid * 1e4 if qty > 0 else 0.0


def sqrt_impact_bps(qty: float, adv: float, sigma_daily: float, y: float,
                    half_spread_bps: float) -> float:
    """Square-root impact of ``qty`` shares against ``adv`` shares a day, in bps."""
    return y * sigma_daily * np.sqrt(qty / adv) * 1e4 + half_spread_bps


@dataclass(frozen=True)
class ImpactFit:
    """Y fitted to fills: the estimate and its 95 % bootstrap interval, from ``n``
    parents."""

    y: float
    lo: float
    hi: float
    n: int


def fit_y(cost_bps: np.ndarray, qty: np.ndarray, adv: np.ndarray, sigma_daily: np.ndarray,
          half_spread_bps: np.ndarray, seed: int = 7, draws: int = 2000) -> ImpactFit:
    """Least squares through the origin of the cost beyond the half spread on
    sigma * sqrt(Q / ADV) (bps), one row per parent (e.g. ``trading_bps`` of
    ``framework.analytics.tca``); the interval resamples the parents (seeded)."""
    x = sigma_daily * np.sqrt(qty / adv) * 1e4
    z = cost_bps - half_spread_bps
    ok = np.isfinite(x) & np.isfinite(z) & (x > 0)
    x, z = x[ok], z[ok]
    if x.shape[0] == 0:
        return ImpactFit(np.nan, np.nan, np.nan, 0)
    y = float(x @ z / (x @ x))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.shape[0], (draws, x.shape[0]))
    xs, zs = x[idx], z[idx]
    boot = (xs * zs).sum(axis=1) / (xs * xs).sum(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return ImpactFit(y, float(lo), float(hi), int(x.shape[0]))
