"""The flagship end to end on a small synthetic lake: fw train registers a walk-forward
model, fw backtest loads it and reports out-of-sample apart; retraining is byte-identical;
a model whose feature set differs from the strategy's is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from framework.analytics.run_report import report_backtest
from framework.data import Lake
from framework.engine.backtest import run_backtest
from framework.engine.run_config import load_strategy
from framework.engine.training import train_strategy
from framework.ml.registry import RegistryError, load_registered, versions
from framework.strategy import load_panel
from tests.conftest import ML_MR_SMALL, PROJECT_ROOT

FLAGSHIP = PROJECT_ROOT / "strategies" / "ml_mr.toml"
ALL_DATA = {"data.start": None, "data.end": None}


def test_registered_model_describes_itself(ml_mr_lake: Path) -> None:
    reg = load_registered(ml_mr_lake, "ml_mr", "v0001")
    meta = reg.meta
    assert meta["kind"] == "hist_gbm" and len(meta["valid_from_ns"]) == 2
    assert meta["oos_start_ns"] == meta["valid_from_ns"][0]
    panel = load_panel(Lake(ml_mr_lake), meta["symbols"], None, None, "1m")
    panel_opens = np.unique(panel.session_open)
    assert meta["oos_start_ns"] == int(panel_opens[2])  # after 2 in-sample sessions
    assert meta["train_fingerprint"] == Lake(ml_mr_lake).fingerprint(
        "bars_1m", meta["symbols"], None, None)
    assert meta["feature_columns"][0].startswith("zscore") and meta["samples"] > 100
    assert len(meta["cv"]["folds"]) == 2 and meta["cv"]["out_of_sample"]["n"] > 0


def test_backtest_uses_the_model_and_reports_out_of_sample(ml_mr_lake: Path,
                                                           tmp_path: Path) -> None:
    run = run_backtest(FLAGSHIP, ALL_DATA, lake_root=ml_mr_lake, out_root=tmp_path)
    assert run.manifest["model_version"] == versions(ml_mr_lake, "ml_mr")[-1]
    assert run.result.fills.height > 0
    page, headline = report_backtest(run)
    assert headline["period"] == "out_of_sample"
    doc = json.loads((run.out_dir / "metrics.json").read_text())
    assert set(doc["periods"]) == {"out_of_sample", "in_sample"}
    assert doc["oos_start_ns"] == run.manifest["oos_start_ns"]
    assert "out-of-sample only" in page.read_text()
    # every entry the model let through was sized by it: no configured default size
    entries = run.signals.entry != 0
    assert np.isfinite(run.signals.size[entries]).all()
    assert (run.signals.size[entries] > 0).all()


def test_retraining_is_byte_identical(ml_mr_lake: Path) -> None:
    info = train_strategy(FLAGSHIP, {**ALL_DATA, **ML_MR_SMALL}, lake_root=ml_mr_lake)
    new = Path(info["path"])
    old = new.parent / "v0001"
    for seg in sorted(p.name for p in old.iterdir() if p.is_dir()):
        for f in ("model.pkl", "model.json"):
            assert (old / seg / f).read_bytes() == (new / seg / f).read_bytes()
    a, b = (json.loads((p / "meta.json").read_text()) for p in (old, new))
    assert a["cv"] == b["cv"] and a["train_fingerprint"] == b["train_fingerprint"]


def test_feature_set_mismatch_is_refused(ml_mr_lake: Path) -> None:
    with pytest.raises(RegistryError, match="trained on feature set 'ml_mr'.*intraday"):
        load_strategy(FLAGSHIP, {**ALL_DATA,
                                 "model.feature_set": "config/features/intraday_liquidity.toml"},
                      ml_mr_lake)


def test_missing_model_says_to_train(small_lake: Path) -> None:
    with pytest.raises(RegistryError, match="fw train"):
        load_strategy(FLAGSHIP, {**ALL_DATA, "model.name": "never_trained"}, small_lake)
