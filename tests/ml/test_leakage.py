"""No leakage: purged splits keep every training label horizon off the test span, and
every scaler or imputer is fitted on training rows only."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.ml.cv import SplitError, combinatorial_purged, purged_kfold, walk_forward
from framework.ml.torch_models import SequenceModel
from framework.ml.walk_forward import TrainingSet, fit_walk_forward


def _horizons(seed: int, n: int, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t0 = np.sort(rng.integers(0, 10 * n, n))
    return t0, t0 + rng.integers(0, max_len, n)


def _assert_disjoint(t0, t1, train, test, embargo=0) -> None:
    assert np.intersect1d(train, test).shape[0] == 0
    for j in test:  # every test label against every training label
        clash = (t0[train] <= t1[j]) & (t1[train] >= t0[j])
        assert not clash.any(), f"train {train[clash][:3]} overlaps test {j}"
        # embargo: nothing trains on events just after a test label settled
        assert not ((t0[train] > t1[j]) & (t0[train] <= t1[j] + embargo)).any()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(30, 200), max_len=st.integers(1, 400),
       embargo=st.integers(0, 50))
def test_purged_splits_never_overlap(seed, n, max_len, embargo) -> None:
    t0, t1 = _horizons(seed, n, max_len)
    for train, test in purged_kfold(t0, t1, 5, embargo):
        _assert_disjoint(t0, t1, train, test, embargo)
    for train, test in combinatorial_purged(t0, t1, 6, 2, embargo):
        _assert_disjoint(t0, t1, train, test, embargo)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(50, 200), max_len=st.integers(1, 400),
       mode=st.sampled_from(["expanding", "rolling"]))
def test_walk_forward_trains_only_on_settled_labels(seed, n, max_len, mode) -> None:
    t0, t1 = _horizons(seed, n, max_len)
    bounds = np.linspace(t0[n // 3], t0[-1] + 1, 4).astype(np.int64)
    try:
        folds = walk_forward(t0, t1, bounds, mode=mode, window=1)
    except SplitError:
        return  # nothing settled before the first refit: refused, not leaked
    for k, f in enumerate(folds):
        assert (t1[f.train] < bounds[k]).all()  # settled before the refit ...
        assert ((t0[f.test] >= bounds[k]) & (t0[f.test] < bounds[k + 1])).all()
        _assert_disjoint(t0, t1, f.train, f.test)  # ... hence off every test horizon


def test_combinatorial_split_count_and_coverage() -> None:
    t0, t1 = _horizons(0, 120, 5)
    splits = list(combinatorial_purged(t0, t1, 6, 2))
    assert len(splits) == 15
    counts = np.bincount(np.concatenate([te for _, te in splits]), minlength=120)
    assert (counts == 5).all()  # each group is tested in C(5, 1) = 5 splits


def test_bad_input_is_refused() -> None:
    with pytest.raises(SplitError, match="sorted"):
        list(purged_kfold(np.array([3, 1]), np.array([4, 2]), 2))
    with pytest.raises(SplitError, match="settle before"):
        list(purged_kfold(np.array([1, 3]), np.array([0, 4]), 2))


def _dataset(n: int = 600) -> TrainingSet:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 4)) + np.linspace(0, 5, n)[:, None]  # drifting: means differ
    X[rng.random((n, 4)) < 0.05] = np.nan
    y = (X[:, 0] - np.linspace(0, 5, n) + rng.normal(0, 1, n) > 0).astype(np.int8)
    t0 = np.arange(n, dtype=np.int64) * 10
    return TrainingSet(X, y, np.ones(n), t0, t0 + 25)


def test_preprocessing_is_fitted_on_training_rows_only() -> None:
    data = _dataset()
    bounds = np.array([2000, 3500, 6000], dtype=np.int64)
    wf, _, _ = fit_walk_forward(data, bounds, kind="logistic", seed=0)
    for k, model in enumerate(wf.models):
        train = np.flatnonzero(data.t1 < bounds[k])
        imputed = model.estimator.named_steps["impute"].transform(data.X[train])
        np.testing.assert_allclose(model.estimator.named_steps["impute"].statistics_,
                                   np.nanmedian(data.X[train], axis=0))
        np.testing.assert_allclose(model.estimator.named_steps["scale"].mean_,
                                   imputed.mean(axis=0))
        assert not np.allclose(model.estimator.named_steps["scale"].mean_,
                               np.nanmean(data.X, axis=0), atol=0.1)


def test_sequence_model_scaler_uses_training_rows_only() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(3.0, 2.0, size=(200, 4, 3))
    y = (rng.random(200) > 0.5).astype(np.int8)
    m = SequenceModel("torch_tcn", 0, {"epochs": 1, "seq_len": 4}).fit(X[:100], y[:100])
    np.testing.assert_allclose(m.mean, X[:100].reshape(-1, 3).mean(axis=0))
