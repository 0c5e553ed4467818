"""Overfitting statistics against references: skfolio's PSR/DSR, an independent
implementation of the CSCV procedure of Bailey et al. (2014), the R ``pbo`` package's
reference cases, and minimum track record lengths worked out by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import rankdata

from framework.analytics.metrics import probabilistic_sharpe
from framework.analytics.overfitting import (
    OverfittingError,
    SharpeMoments,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_track_record_length,
    pbo_cscv,
    probabilistic_sharpe_ratio,
    psr_from_moments,
)

skm = pytest.importorskip("skfolio.measures")


def _series(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.normal(0.0005, 0.01, n)
    if kind == "fat":
        return 0.004 * rng.standard_t(4, n) + 0.0008
    return np.exp(rng.normal(0.0, 0.02, n)) - 1.0  # right-skewed


@pytest.mark.parametrize("kind", ["normal", "fat", "skewed"])
@pytest.mark.parametrize("bench", [0.0, 0.02, -0.05])
def test_psr_equals_skfolio(kind: str, bench: float) -> None:
    r = _series(kind, 500, 3)
    ref = skm.probabilistic_sharpe_ratio(r, benchmark_sharpe_ratio=bench)
    assert probabilistic_sharpe_ratio(r, bench) == pytest.approx(ref, rel=1e-12, abs=1e-14)
    assert probabilistic_sharpe(r, bench) == pytest.approx(ref, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("n_trials", [1, 2, 10, 250])
def test_expected_max_and_dsr_equal_skfolio(n_trials: int) -> None:
    rng = np.random.default_rng(n_trials)
    trial_sr = rng.normal(0.0, 0.04, n_trials)
    r = _series("fat", 750, 11)
    std = float(np.std(trial_sr, ddof=1)) if n_trials > 1 else 0.0
    assert expected_max_sharpe(n_trials, std) == pytest.approx(
        skm.expected_max_sharpe_ratio(n_trials, std), rel=1e-12, abs=1e-15)
    assert deflated_sharpe_ratio(r, trial_sr) == pytest.approx(
        skm.deflated_sharpe_ratio(r, trial_sr), rel=1e-12, abs=1e-15)


def test_dsr_counts_every_trial() -> None:
    """Failed or pruned trials have no Sharpe ratio but still count in N: the benchmark
    rises, the DSR falls; the value is the PSR against that benchmark."""
    rng = np.random.default_rng(5)
    trial_sr = rng.normal(0.0, 0.04, 40)
    r = _series("normal", 500, 2)
    seen = deflated_sharpe_ratio(r, trial_sr)
    counted = deflated_sharpe_ratio(r, trial_sr, n_trials=100)
    sr0 = expected_max_sharpe(100, float(np.std(trial_sr, ddof=1)))
    assert counted == pytest.approx(probabilistic_sharpe_ratio(r, sr0), rel=1e-12)
    assert counted < seen
    with pytest.raises(OverfittingError):
        deflated_sharpe_ratio(r, trial_sr, n_trials=10)


def test_expected_max_by_hand() -> None:
    """N = 100, σ = 1: (1 − γ)·Φ⁻¹(0.99) + γ·Φ⁻¹(1 − 1/(100e)) with Φ⁻¹(0.99) = 2.326348,
    Φ⁻¹(0.996321) = 2.680210 (normal tables): 0.422784·2.326348 + 0.577216·2.680210."""
    hand = 0.4227843351 * 2.3263479 + 0.5772156649 * 2.6802104
    assert expected_max_sharpe(100, 1.0) == pytest.approx(hand, abs=2e-6)


def test_min_track_record_length_by_hand() -> None:
    """Alternating returns μ ± a: skew 0, non-excess kurtosis 1, so the adjustment is 1
    and MinTRL = 1 + (z_0.95 / SR)²; SR = μ / (a·√(n/(n−1))) with the sample std."""
    n, mu, a = 100, 0.001, 0.01
    r = mu + a * np.tile([1.0, -1.0], n // 2)
    sr = mu / (a * math.sqrt(n / (n - 1)))
    hand = 1.0 + (1.6448536269514722 / sr) ** 2
    assert min_track_record_length(r) == pytest.approx(hand, rel=1e-12)
    # the defining property: with that many periods the PSR is 1 - alpha
    assert psr_from_moments(SharpeMoments(sr, hand, 0.0, 1.0)) == pytest.approx(0.95, abs=1e-12)
    assert min_track_record_length(-r) == math.inf


def _pbo_reference(m: np.ndarray, S: int) -> tuple[float, np.ndarray]:
    """The paper's procedure written plainly: every half of the S blocks, Sharpe of each
    column over the concatenated rows, the IS winner's OOS rank / (N + 1), its logit."""
    T, N = m.shape
    blocks = np.array_split(np.arange(T), S)
    logits = []
    for chosen in itertools.combinations(range(S), S // 2):
        rest = [b for b in range(S) if b not in chosen]
        J = m[np.concatenate([blocks[b] for b in chosen])]
        Jb = m[np.concatenate([blocks[b] for b in rest])]
        R = J.mean(axis=0) / J.std(axis=0, ddof=1)
        Rb = Jb.mean(axis=0) / Jb.std(axis=0, ddof=1)
        n_star = int(np.argmax(R))
        w = rankdata(Rb)[n_star] / (N + 1)
        logits.append(math.log(w / (1 - w)))
    lam = np.array(logits)
    return float(np.mean(lam <= 0)), lam


@pytest.mark.parametrize(("T", "N", "S", "ties"), [(240, 12, 6, False), (400, 30, 8, True),
                                                   (97, 5, 4, False)])
def test_pbo_equals_independent_cscv(T: int, N: int, S: int, ties: bool) -> None:
    rng = np.random.default_rng(T + N)
    m = rng.normal(0.0002, 0.01, (T, N)) + np.linspace(-1e-3, 1e-3, N)
    if ties:
        m = np.round(m, 3)  # equal Sharpe ratios out-of-sample happen
        m[:, 1] = m[:, 0]
    res = pbo_cscv(m, S)
    pbo, lam = _pbo_reference(m, S)
    assert res.logits.shape == (math.comb(S, S // 2),)
    np.testing.assert_allclose(res.logits, lam, rtol=1e-9, atol=1e-12)
    assert res.pbo == pbo


def _r_pbo_case(sr_case: float | None, seed: int) -> np.ndarray:
    """The R ``pbo`` package's reference cases (its tests.R; README "normal distribution,
    N=100, T=1000, S=8"): N = 100 i.i.d. normal daily series, each rescaled to σ = 1/√252
    and re-centred to mean 0; with ``sr_case`` the last one instead has an annual Sharpe
    ratio ``sr_case`` (mean sr_case/252)."""
    rng = np.random.default_rng(seed)
    T, N = 1000, 100
    sigma = 1.0 / math.sqrt(252.0)
    m = rng.normal(0.0, 1.0, (T, N))
    m = m * sigma / m.std(axis=0, ddof=1)
    m = m - m.mean(axis=0)
    if sr_case is not None:
        m[:, -1] += sr_case / 252.0
    return m


def test_r_pbo_reference_cases() -> None:
    """TC1 (all noise) and TC2 (one weak real strategy, annual SR 1) overfit heavily;
    TC3 (annual SR 2) overfits little. Seeds fixed."""
    tc1 = [pbo_cscv(_r_pbo_case(None, s), 8) for s in range(3)]
    assert all(r.pbo > 0.9 for r in tc1)  # re-centred noise: IS winners are OOS losers
    assert all(r.slope < 0 for r in tc1)  # performance degrades out of sample
    for seed in range(3):  # measured PBO: TC2 0.69-0.73, TC3 0.03-0.19
        tc2 = pbo_cscv(_r_pbo_case(1.0, seed), 8)
        assert tc2.pbo > 0.5
        tc3 = pbo_cscv(_r_pbo_case(2.0, seed), 8)
        assert tc3.pbo < 0.25 and tc3.prob_oos_loss < 0.25
        assert np.mean(tc3.winners == 99) > 0.75  # the real strategy wins in-sample


def test_pbo_rejects_bad_input() -> None:
    m = np.zeros((100, 4))
    with pytest.raises(OverfittingError, match="even"):
        pbo_cscv(m, 7)
    with pytest.raises(OverfittingError, match="too few"):
        pbo_cscv(m[:10], 8)
    bad = np.random.default_rng(0).normal(size=(100, 4))
    bad[3, 2] = np.nan
    with pytest.raises(OverfittingError, match="NaN"):
        pbo_cscv(bad, 4)
