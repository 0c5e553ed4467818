"""Is the winner of a parameter search real? Statistics of selection bias.

* **PSR** (Bailey & López de Prado 2012): probability that the true Sharpe ratio beats a
  benchmark, given the sample length, skew and kurtosis of the returns.
* **DSR** (Bailey & López de Prado 2014): the PSR against the Sharpe ratio the best of
  ``N`` worthless trials would show by luck (the expected maximum of ``N`` draws).
* **MinTRL**: periods of track record needed before the PSR reaches ``1 - alpha``.
* **PBO by CSCV** (Bailey, Borwein, López de Prado & Zhu 2014): cut the ``T x N``
  returns of the ``N`` trials into ``S`` row blocks; for each half of the blocks, pick
  the best trial in-sample and see where it ranks out-of-sample. PBO is the share of
  splits where the in-sample winner ranks in the bottom half out-of-sample.

Every Sharpe ratio here is **per period** (not annualised: an annualised Sharpe with a
daily sample length saturates the PSR near 1), returns are simple fractions, kurtosis is
the non-excess kind (3 for a normal). Conventions (sample standard deviation for the
Sharpe ratio, population moments for skew and kurtosis) match skfolio's, which the
tests use as the reference. Formulas: ``shared/docs/execution-and-research-formulas.md``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from framework.types.errors import FwError

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()  # stdlib: no scipy import on a backtest's path


class OverfittingError(FwError):
    """The inputs cannot give the statistic (too few rows, blocks, trials)."""


@dataclass(frozen=True)
class SharpeMoments:
    """What the PSR needs of a return series: per-period Sharpe ratio (sample std),
    number of periods, skew and non-excess kurtosis (population moments)."""

    sharpe: float
    n: int
    skew: float
    kurtosis: float


def sharpe_moments(returns: np.ndarray) -> SharpeMoments:
    """Moments of ``returns`` (fractions per period, NaN dropped); NaN fields when fewer
    than 3 periods or no dispersion."""
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    n = int(r.shape[0])
    if n < 3:
        return SharpeMoments(math.nan, n, math.nan, math.nan)
    dev = r - r.mean()
    m2 = float(np.mean(dev**2))
    if m2 <= (np.finfo(float).eps * r.mean()) ** 2 or m2 == 0.0:
        return SharpeMoments(math.nan, n, math.nan, math.nan)
    sd = float(r.std(ddof=1))
    return SharpeMoments(float(r.mean() / sd), n, float(np.mean(dev**3) / m2**1.5),
                         float(np.mean(dev**4) / m2**2))


def _variance_adjustment(m: SharpeMoments) -> float:
    """``1 - skew·SR + (kurt - 1)/4·SR²``: the non-normality factor of the Sharpe
    ratio's standard error."""
    return 1.0 - m.skew * m.sharpe + (m.kurtosis - 1.0) / 4.0 * m.sharpe**2


def psr_from_moments(m: SharpeMoments, benchmark_sr: float = 0.0) -> float:
    """PSR(SR*) = Φ((SR − SR*)·√(n − 1) / √(1 − γ3·SR + (γ4 − 1)/4·SR²)); NaN when
    undefined (n < 3, no dispersion, non-positive adjustment)."""
    adj = _variance_adjustment(m)
    if m.n < 3 or not math.isfinite(m.sharpe) or not adj > 0.0:
        return math.nan
    z = (m.sharpe - benchmark_sr) * math.sqrt(m.n - 1) / math.sqrt(adj)
    return _NORMAL.cdf(z)


def probabilistic_sharpe_ratio(returns: np.ndarray, benchmark_sr: float = 0.0) -> float:
    """Probability that the true per-period Sharpe ratio of ``returns`` (fractions per
    period) exceeds ``benchmark_sr`` (per period)."""
    return psr_from_moments(sharpe_moments(returns), benchmark_sr)


def expected_max_sharpe(n_trials: float, sr_std: float, sr_mean: float = 0.0) -> float:
    """Expected maximum per-period Sharpe ratio of ``n_trials`` independent trials whose
    Sharpe ratios are normal with ``sr_mean`` and ``sr_std``:
    μ + σ·((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))), γ Euler–Mascheroni."""
    if not n_trials >= 1.0 or not sr_std >= 0.0:
        raise OverfittingError(f"expected max Sharpe needs n_trials >= 1 and std >= 0, got "
                               f"{n_trials} and {sr_std}")
    if n_trials == 1.0 or sr_std == 0.0:
        return sr_mean
    return sr_mean + sr_std * ((1.0 - EULER_GAMMA) * _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
                               + EULER_GAMMA * _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e)))


def deflated_sharpe_ratio(returns: np.ndarray, trial_sharpes: np.ndarray,
                          n_trials: float | None = None) -> float:
    """DSR of the selected trial's ``returns`` (per period): its PSR against the expected
    maximum Sharpe ratio of the search, SR0 = expected_max_sharpe(N, std of
    ``trial_sharpes``). ``trial_sharpes``: per-period Sharpe ratios of every trial that
    produced returns (NaN dropped); ``n_trials``: trials run, failed and pruned included
    (default: the finite Sharpe ratios), so a search that hides its failures is not
    rewarded with a lower benchmark."""
    sr = np.asarray(trial_sharpes, dtype=np.float64)
    sr = sr[np.isfinite(sr)]
    if sr.shape[0] == 0:
        raise OverfittingError("deflated Sharpe needs at least one trial Sharpe ratio")
    n = float(sr.shape[0] if n_trials is None else n_trials)
    if n < sr.shape[0]:
        raise OverfittingError(f"n_trials {n} is less than the {sr.shape[0]} trials given")
    std = float(sr.std(ddof=1)) if sr.shape[0] > 1 else 0.0
    return probabilistic_sharpe_ratio(returns, expected_max_sharpe(n, std))


def min_track_record_length(returns: np.ndarray, benchmark_sr: float = 0.0,
                            alpha: float = 0.05) -> float:
    """Periods of track record needed for PSR(``benchmark_sr``) ≥ 1 − ``alpha`` given the
    observed moments: 1 + (1 − γ3·SR + (γ4 − 1)/4·SR²)·(Φ⁻¹(1 − α)/(SR − SR*))².
    ``inf`` when the observed Sharpe ratio does not beat the benchmark."""
    m = sharpe_moments(returns)
    if not math.isfinite(m.sharpe):
        return math.nan
    if m.sharpe <= benchmark_sr:
        return math.inf
    z = _NORMAL.inv_cdf(1.0 - alpha)
    return 1.0 + _variance_adjustment(m) * (z / (m.sharpe - benchmark_sr)) ** 2


@dataclass(frozen=True)
class PBOResult:
    """CSCV over ``blocks`` row blocks: one entry per split (C(S, S/2) of them).

    ``pbo``: share of splits whose in-sample winner ranks at or below the median
    out-of-sample (logit ≤ 0). ``logits``: λ = ln(ω/(1 − ω)), ω = OOS rank of the IS
    winner / (N + 1). ``is_perf``/``oos_perf``: the IS winner's metric in and out of
    sample. ``slope``/``intercept``: least-squares fit of oos_perf on is_perf (the
    performance degradation). ``prob_oos_loss``: share of splits whose IS winner has a
    negative OOS metric. ``winners``: the IS winner (column index) of each split."""

    pbo: float
    logits: np.ndarray
    is_perf: np.ndarray
    oos_perf: np.ndarray
    winners: np.ndarray
    slope: float
    intercept: float
    prob_oos_loss: float
    blocks: int
    n_trials: int


def _block_sharpes(sums: np.ndarray, sq: np.ndarray, counts: np.ndarray,
                   mask: np.ndarray) -> np.ndarray:
    """Per-period Sharpe (sample std) of every trial over the blocks ``mask`` selects,
    for every split: mask [C, S] of 0/1, sums/sq [S, N], counts [S] -> [C, N]."""
    n = mask @ counts
    s1, s2 = mask @ sums, mask @ sq
    mean = s1 / n[:, None]
    var = (s2 - n[:, None] * mean**2) / (n[:, None] - 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(var > 0.0, mean / np.sqrt(np.maximum(var, 0.0)), np.nan)


def pbo_cscv(returns: np.ndarray, blocks: int = 8) -> PBOResult:
    """Probability of backtest overfitting of the ``returns`` matrix ``[T, N]`` (rows:
    aligned periods, columns: trials; fractions, no NaN) by combinatorially symmetric
    cross-validation with ``blocks`` (S, even, ≤ 16) contiguous row blocks
    (``numpy.array_split`` sizes). The metric is the per-period Sharpe ratio. Ties: the
    in-sample winner is the first of the best columns; out-of-sample ranks are averaged
    over ties (``scipy.stats.rankdata``)."""
    from scipy.stats import rankdata  # research only: keep scipy off a backtest's imports

    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        raise OverfittingError(f"PBO needs a [periods x trials] matrix with >= 2 trials, "
                               f"got shape {m.shape}")
    if blocks < 2 or blocks % 2 or blocks > 16:
        raise OverfittingError(f"CSCV blocks must be even and in 2..16, got {blocks}")
    T, N = m.shape
    if T < 2 * blocks:
        raise OverfittingError(f"{T} periods are too few for {blocks} blocks (need >= 2 "
                               "periods a block)")
    if not np.isfinite(m).all():
        raise OverfittingError("PBO needs aligned returns without NaN (drop or fill the "
                               "periods a trial did not cover)")
    parts = np.array_split(np.arange(T), blocks)
    sums = np.stack([m[p].sum(axis=0) for p in parts])
    sq = np.stack([(m[p] ** 2).sum(axis=0) for p in parts])
    counts = np.array([p.shape[0] for p in parts], np.float64)
    combos = list(itertools.combinations(range(blocks), blocks // 2))
    mask = np.zeros((len(combos), blocks))
    for c, chosen in enumerate(combos):
        mask[c, list(chosen)] = 1.0
    is_sr = _block_sharpes(sums, sq, counts, mask)
    oos_sr = _block_sharpes(sums, sq, counts, 1.0 - mask)
    winners = np.argmax(np.nan_to_num(is_sr, nan=-np.inf), axis=1)
    rows = np.arange(len(combos))
    ranks = rankdata(np.nan_to_num(oos_sr, nan=-np.inf), axis=1)[rows, winners]
    omega = ranks / (N + 1.0)
    logits = np.log(omega / (1.0 - omega))
    is_perf, oos_perf = is_sr[rows, winners], oos_sr[rows, winners]
    ok = np.isfinite(is_perf) & np.isfinite(oos_perf)
    slope, intercept = (np.polyfit(is_perf[ok], oos_perf[ok], 1) if ok.sum() > 1
                        else (math.nan, math.nan))
    return PBOResult(pbo=float(np.mean(logits <= 0.0)), logits=logits, is_perf=is_perf,
                     oos_perf=oos_perf, winners=winners, slope=float(slope),
                     intercept=float(intercept), prob_oos_loss=float(np.mean(oos_perf < 0.0)),
                     blocks=blocks, n_trials=N)
