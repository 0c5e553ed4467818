"""Every model kind: deterministic under a seed (same bytes, same predictions), a
save/load round trip predicts identically, and the compiled HGB equals scikit-learn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from framework.ml.models import TORCH_KINDS, ModelError, load_model, make_model, sequence_rows

KINDS = ["logistic", "random_forest", "hist_gbm", "torch_tcn", "torch_lstm"]
SMALL = {"random_forest": {"n_estimators": 30}, "hist_gbm": {"max_iter": 60},
         "torch_tcn": {"epochs": 4, "seq_len": 6}, "torch_lstm": {"epochs": 3, "seq_len": 6}}


def _data(kind: str, n: int = 800) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    panel = rng.normal(size=(n + 8, 1, 5))
    panel[rng.random(panel.shape) < 0.03] = np.nan
    t = np.arange(8, n + 8)
    y = (np.nan_to_num(panel[t, 0, 0]) + 0.5 * rng.normal(size=n) > 0).astype(np.int8)
    seq = SMALL.get(kind, {}).get("seq_len", 0)
    return sequence_rows(panel, t, np.zeros(n, np.int64), seq), y


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_bytes_and_predictions(kind: str, tmp_path: Path) -> None:
    X, y = _data(kind)
    w = np.linspace(0.5, 1.0, y.shape[0])
    a = make_model(kind, 5, SMALL.get(kind)).fit(X[:600], y[:600], w[:600], X[600:700],
                                                 y[600:700])
    b = make_model(kind, 5, SMALL.get(kind)).fit(X[:600], y[:600], w[:600], X[600:700],
                                                 y[600:700])
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    pa = a.predict_proba(X[700:])
    np.testing.assert_array_equal(pa, b.predict_proba(X[700:]))
    assert pa.dtype == np.float64 and ((pa >= 0) & (pa <= 1)).all()
    loaded = load_model(tmp_path / "a")
    np.testing.assert_array_equal(loaded.predict_proba(X[700:]), pa)
    assert loaded.kind == kind and loaded.seq_len == a.seq_len


@pytest.mark.parametrize("kind", TORCH_KINDS)
def test_the_seed_matters_for_torch(kind: str) -> None:
    X, y = _data(kind)
    a = make_model(kind, 1, SMALL[kind]).fit(X[:600], y[:600])
    b = make_model(kind, 2, SMALL[kind]).fit(X[:600], y[:600])
    assert not np.array_equal(a.predict_proba(X[600:]), b.predict_proba(X[600:]))


def test_compiled_hgb_equals_scikit_learn() -> None:
    """Bit for bit: the kernel sums the baseline and the trees' leaf values in
    scikit-learn's order and applies the same logistic, ``1 / (1 + exp(-raw))`` (scipy's
    ``expit``), through the same C library ``exp``. Rows with missing values (trained on
    and unseen ones), whole rows missing, and values far outside the training range."""
    X, y = _data("hist_gbm", 3000)
    m = make_model("hist_gbm", 0, {"max_iter": 150, "max_leaf_nodes": 31}).fit(X, y)
    rng = np.random.default_rng(2)
    X_new = rng.normal(size=(2000, 5)) * 3
    X_new[::13, 2] = np.nan
    X_new[::17] = np.nan
    X_new[::19, 0] = 1e300
    np.testing.assert_array_equal(m.predict_proba(X_new), m.estimator.predict_proba(X_new)[:, 1])
    one = m.predict_proba(X_new[:1])
    assert one.shape == (1,) and one[0] == m.estimator.predict_proba(X_new[:1])[0, 1]


def test_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="single class"):
        make_model("logistic").fit(np.zeros((10, 2)), np.zeros(10, np.int8))
    with pytest.raises(ModelError, match="unknown"):
        make_model("xgboost")
    with pytest.raises(ModelError, match="not a saved fw model"):
        load_model(tmp_path)


def test_a_saved_hgb_scores_without_scikit_learn(tmp_path: Path) -> None:
    """A backtest loading an HGB reads its compiled trees: no unpickling, and scikit-learn
    (~1.5 s of import) is never imported; a model saved before ``compiled.npz`` existed
    still loads, through the pickle, and gets its arrays written beside it with a warning."""
    X, y = _data("hist_gbm")
    model = make_model("hist_gbm", 3, SMALL["hist_gbm"]).fit(X[:600], y[:600])
    model.save(tmp_path / "m")
    np.save(tmp_path / "x.npy", X[600:])
    expected = model.predict_proba(X[600:])
    code = ("import sys, numpy as np; from pathlib import Path; "
            "from framework.ml.models import load_model; "
            f"m = load_model(Path({str(tmp_path / 'm')!r})); "
            f"np.save({str(tmp_path / 'p.npy')!r}, "
            f"m.predict_proba(np.load({str(tmp_path / 'x.npy')!r}))); "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), expected)
    exported = (tmp_path / "m" / "compiled.npz").read_bytes()
    (tmp_path / "m" / "compiled.npz").unlink()
    with pytest.warns(UserWarning, match=r"compiled\.npz.*exported them from model\.pkl"):
        old = load_model(tmp_path / "m")
    np.testing.assert_array_equal(old.predict_proba(X[600:]), expected)
    assert (tmp_path / "m" / "compiled.npz").read_bytes() == exported  # re-exported once
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "compiled.npz", "model.json", "model.pkl"]  # no temp file left


def test_fit_threads_change_nothing_but_the_speed(tmp_path: Path) -> None:
    """``params.threads`` (default 1) caps a scikit-learn fit's OpenMP/BLAS threads: the
    HGB's trees and probabilities are the same on 1 and 2 threads; a bad count is refused."""
    X, y = _data("hist_gbm", 3000)
    one = make_model("hist_gbm", 4, {"max_iter": 80}).fit(X[:2500], y[:2500])
    two = make_model("hist_gbm", 4, {"max_iter": 80, "threads": 2}).fit(X[:2500], y[:2500])
    one.save(tmp_path / "one")
    two.save(tmp_path / "two")
    assert (tmp_path / "one" / "compiled.npz").read_bytes() == \
        (tmp_path / "two" / "compiled.npz").read_bytes()
    np.testing.assert_array_equal(one.predict_proba(X[2500:]), two.predict_proba(X[2500:]))
    for bad in (0, 1.5, True):
        with pytest.raises(ModelError, match="'threads': expected an integer >= 1"):
            make_model("hist_gbm", 4, {"threads": bad}).fit(X[:100], y[:100])


@pytest.mark.parametrize("kind", ["logistic", "hist_gbm", "torch_lstm"])
def test_a_parameter_the_model_does_not_read_is_refused(kind: str) -> None:
    """A misspelt or unsupported hyper-parameter is named, not silently ignored (a sweep
    over it would rank identical trials)."""
    with pytest.raises(ModelError, match=r"'model\.train\.params\.max_deph': .* does not read it"):
        make_model(kind, 0, {"max_deph": 3})


def test_hgb_max_depth_reaches_the_trees() -> None:
    """``max_depth`` (read since a sweep example names it) bounds every tree's depth."""
    X, y = _data("hist_gbm", 1500)
    m = make_model("hist_gbm", 0, {"max_iter": 20, "max_depth": 2}).fit(X, y)
    assert max(p.get_max_depth() for it in m.estimator._predictors for p in it) <= 2
