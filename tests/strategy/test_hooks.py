"""The Strategy hooks are declared on the base class and called directly: ``prepare`` before
a run (not for ``fw train``), ``train`` by ``fw train`` (an error naming the strategy when
the class has none), ``manifest_extra`` into the run's manifest; failures in them are one
line naming the strategy. Settings a strategy's signals override are reported, not
silently ignored."""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from framework.cli.app import app
from framework.config import ConfigError
from framework.data import Lake
from framework.engine.backtest import run_backtest
from framework.engine.run_config import load_strategy
from framework.engine.training import train_strategy
from framework.strategy import Strategy
from framework.strategy.base import StrategyRunError
from tests.conftest import PROJECT_ROOT
from tests.strategy.user_code import FLAT, write_strategy

HOOKED = FLAT + '''

calls = []


class Hooked(Flat):
    """Records its hooks; sizes its own entries (so decision.size has no effect)."""

    overridden_config = {"decision.size": "entries carry their own Signals.size"}

    def prepare(self, lake, config):
        calls.append(("prepare", type(lake).__name__, type(config).__name__, config.name))
        self.symbols_seen = list(lake.symbols("bars_1d"))

    def train(self, lake, config):
        calls.append(("train", type(lake).__name__, config.name))
        return {"model": "none", "symbols": len(self.symbols_seen) if hasattr(
            self, "symbols_seen") else 0}

    def manifest_extra(self):
        return {"lake_symbols": self.symbols_seen}


class Broken(Flat):
    def prepare(self, lake, config):
        raise KeyError("no such artifact")

    def train(self, lake, config):
        return 1 / 0
'''


@pytest.fixture(autouse=True)
def _own_sys_path(monkeypatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))


def test_hooks_are_declared_with_types_and_docs() -> None:
    for name in ("prepare", "train", "manifest_extra"):
        hook = getattr(Strategy, name)
        assert hook.__doc__ and len(hook.__doc__) > 80
    hints = inspect.get_annotations(Strategy.prepare, eval_str=False)
    assert hints == {"lake": "Lake", "config": "ConfigView", "return": "None"}
    assert Strategy.manifest_extra(None) == {}


def test_hooks_are_called_where_they_belong(tmp_path: Path, small_lake: Path) -> None:
    toml = write_strategy(tmp_path / "hook_pkg_a", "s", HOOKED, "hook_pkg_a.s:Hooked")
    info = train_strategy(toml, lake_root=small_lake)  # unprepared: prepare not called
    calls = sys.modules["hook_pkg_a.s"].calls
    assert calls == [("train", "Lake", "s")] and info == {"model": "none", "symbols": 0}
    run = run_backtest(toml, lake_root=small_lake, out_root=tmp_path / "reports")
    assert calls[1] == ("prepare", "Lake", "StrategyConfig", "s") and len(calls) == 2
    manifest = json.loads((run.out_dir / "manifest.json").read_text())
    assert manifest["lake_symbols"] == Lake(small_lake).symbols("bars_1d")
    assert manifest["ignored_settings"] == []  # decision.size left at its default


def test_a_strategy_without_a_model_cannot_be_trained() -> None:
    with pytest.raises(ConfigError, match=r"(?s)sma_cross\.toml.*strategy 'sma_cross' \(class "
                                          r"SmaCross\) has no model to train"):
        train_strategy(PROJECT_ROOT / "strategies" / "sma_cross.toml")


def test_failing_hooks_name_the_strategy(tmp_path: Path, small_lake: Path) -> None:
    toml = write_strategy(tmp_path / "hook_pkg_b", "s", HOOKED, "hook_pkg_b.s:Broken")
    with pytest.raises(StrategyRunError, match=r"Broken \(.*s\.toml\): prepare\(\) failed: "
                                               r"KeyError: 'no such artifact'"):
        load_strategy(toml, lake_root=small_lake)
    with pytest.raises(StrategyRunError, match=r"Broken \(.*s\.toml\): train\(\) failed: "
                                               "ZeroDivisionError"):
        train_strategy(toml, lake_root=small_lake)


def test_overridden_settings_are_recorded_and_warned(tmp_path: Path, small_lake: Path) -> None:
    toml = write_strategy(tmp_path / "hook_pkg_c", "s", HOOKED, "hook_pkg_c.s:Hooked",
                          "[decision]\nsize = 0.3\n")
    res = CliRunner().invoke(app, ["backtest", str(toml), "--lake", str(small_lake),
                                   "--out", str(tmp_path / "r"), "--set", "decision.tif=gtc"])
    assert res.exit_code == 0, res.output
    warning = ("warning: decision.size = 0.3 has no effect: entries carry their own "
               "Signals.size (recorded in manifest.json)")
    assert res.output.count(warning) == 1
    out_dir = Path(res.output.split("results:")[1].split()[0])
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["ignored_settings"] == [{"key": "decision.size", "value": 0.3,
                                             "default": 0.1, "why": "entries carry their own "
                                                                    "Signals.size"}]
    # the same value as the default is no setting at all
    run = run_backtest(toml, {"decision.size": 0.1}, lake_root=small_lake, write=False)
    assert run.manifest["ignored_settings"] == []


def test_a_declared_key_that_does_not_exist_is_refused(tmp_path: Path,
                                                       small_lake: Path) -> None:
    code = HOOKED.replace('{"decision.size"', '{"decision.sise"')
    toml = write_strategy(tmp_path / "hook_pkg_d", "s", code, "hook_pkg_d.s:Hooked")
    with pytest.raises(ConfigError, match=r"Hooked.overridden_config: 'decision.sise' is not "
                                          "a key of the strategy TOML"):
        run_backtest(toml, lake_root=small_lake, write=False)


def test_ml_mr_declares_what_its_model_overrides(ml_mr_lake: Path, tmp_path: Path) -> None:
    """``--set decision.size=0.05`` on the flagship changes nothing (its model sizes every
    entry): the run says so, and the orders are indeed those of the default run."""
    flagship = PROJECT_ROOT / "strategies" / "ml_mr.toml"
    base = run_backtest(flagship, lake_root=ml_mr_lake, write=False)
    res = CliRunner().invoke(app, ["backtest", str(flagship), "--lake", str(ml_mr_lake),
                                   "--out", str(tmp_path), "--set", "decision.size=0.05"])
    assert res.exit_code == 0, res.output
    assert "warning: decision.size = 0.05 has no effect: every entry is sized by the" \
           in res.output
    out_dir = Path(res.output.split("results:")[1].split()[0])
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert [i["key"] for i in manifest["ignored_settings"]] == ["decision.size"]
    assert base.manifest["ignored_settings"] == []
    orders = pl.read_parquet(out_dir / "orders.parquet")
    assert orders.height == base.result.orders.height > 0
    np.testing.assert_array_equal(orders["qty"].to_numpy(), base.result.orders["qty"].to_numpy())
