"""Promotion: ``fw promote`` records that a backtest run validated this exact strategy
(hashes, look-ahead, ``[promotion]`` thresholds); ``fw live`` refuses a strategy without
a record or changed since, naming what changed, unless forced."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from framework.analytics.run_report import report_backtest
from framework.cli.app import app
from framework.config import load_toml
from framework.engine.backtest import run_backtest
from framework.engine.promotion import PromotionError, check_promoted, promote
from framework.engine.run_config import StrategyConfig
from tests.live.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture
def strategy_file(tmp_path, small_lake):
    """sma_cross on 1-minute bars with short windows, its reports under ``tmp_path``."""
    src = (ROOT / "strategies" / "sma_cross.toml").read_text()
    src = src.replace('timeframe = "1d"', f'timeframe = "1m"\nlake = "{small_lake}"')
    src = src.replace("fast = 5", "fast = 1").replace("slow = 20", "slow = 2")
    src = src.replace("[backtest]", f'[backtest]\nreports = "{tmp_path / "reports"}"')
    path = tmp_path / "sma_fast.toml"
    path.write_text(src)
    return path


def _backtest(path):
    run = run_backtest(path)
    report_backtest(run)
    return run.out_dir


def test_promote_then_live_checks_hashes(strategy_file, small_lake):
    run_dir = _backtest(strategy_file)
    rec = promote(strategy_file, run_dir)
    assert rec["run_id"] == run_dir.name and rec["lookahead"]["ok"]
    assert set(rec["hashes"]) == {"config", "code", "model"} and rec["hashes"]["model"] is None
    cfg = load_toml(strategy_file, StrategyConfig)
    assert check_promoted(strategy_file, cfg)["promoted"] == run_dir.name
    strategy_file.write_text(strategy_file.read_text().replace("fast = 1", "fast = 2"))
    cfg = load_toml(strategy_file, StrategyConfig)
    with pytest.raises(PromotionError, match=r"the config changed since promotion on run "):
        check_promoted(strategy_file, cfg)
    forced = check_promoted(strategy_file, cfg, force_reason="trying a change")
    assert forced["forced"] == "trying a change" and "config changed" in forced["problems"][0]
    # the old run no longer matches the file's config
    with pytest.raises(PromotionError, match="another config"):
        promote(strategy_file, run_dir)


def test_thresholds_and_unpromoted(strategy_file, tmp_path):
    strategy_file.write_text(strategy_file.read_text() + "\n[promotion]\nmin_trades = 1000000\n")
    run_dir = _backtest(strategy_file)
    with pytest.raises(PromotionError, match="min_trades 1000000"):
        promote(strategy_file, run_dir)
    cfg = load_toml(strategy_file, StrategyConfig)
    with pytest.raises(PromotionError, match="was never promoted"):
        check_promoted(strategy_file, cfg)
    out = CliRunner().invoke(app, ["live", "--paper", str(strategy_file)])
    assert out.exit_code != 0 and "never promoted" in str(out.exception or out.output)


def test_promote_cli(strategy_file):
    run_dir = _backtest(strategy_file)
    out = CliRunner().invoke(app, ["promote", str(strategy_file), "--run", str(run_dir)])
    assert out.exit_code == 0, out.output
    rec = json.loads((run_dir.parent / "promotions" / "sma_cross.json").read_text())
    assert rec["run_id"] == run_dir.name
