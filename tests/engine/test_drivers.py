"""One strategy, two drivers: the live bar driver fed the replay of the lake bar by bar
produces the same orders, fills and equity as the backtest driver; config errors name
the file and key (the look-ahead guard: ``test_lookahead.py``)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest

from framework.config import ConfigError
from framework.data import Lake
from framework.engine.backtest import run_backtest
from framework.engine.run_config import load_strategy
from framework.marketdata.replay import ReplayFeed
from live.driver.bar_session import BarSession
from tests.engine.engine_testkit import SHIPPED, shipped_lake, small_overrides

ROOT = Path(__file__).resolve().parents[2]
# every fill model a strategy's data allows: the book strategy's lake has no NBBO quotes
FILL_MODELS = {"sma_cross": ("bar", "quote"), "bollinger_mr": ("bar", "quote"),
               "ml_mr": ("bar", "quote"), "obi_book": ("book", "bar"),
               "rebalance": ("bar", "quote"), "pairs": ("bar", "quote")}
CASES = [(name, fm) for name in SHIPPED for fm in FILL_MODELS[name]]


async def _collect(feed):
    return [batch async for batch in feed.stream()]


@pytest.mark.parametrize(("name", "fill_model"), CASES)
def test_live_driver_matches_backtest(name, fill_model, request):
    small_lake = shipped_lake(name, request)
    path = ROOT / "strategies" / f"{name}.toml"
    ov = {**small_overrides(name), "execution.fill_model": fill_model}
    bt = run_backtest(path, ov, lake_root=small_lake, write=False)
    assert bt.result.fills.height > 0, "the strategy must trade for the test to mean anything"
    cfg, strat = load_strategy(path, ov, small_lake)
    datasets = (["bars_" + cfg.data.timeframe] + (["quotes"] if fill_model == "quote" else [])
                + (["book_events"] if fill_model == "book" or cfg.data.book_levels else []))
    feed = ReplayFeed.from_lake(Lake(small_lake), cfg.symbols, cfg.data.start, cfg.data.end,
                                datasets=datasets, batch_size=2000)
    batches = asyncio.run(_collect(feed))
    assert len(batches) > 1
    live = BarSession(cfg, strat, capacity=64).run(batches)
    assert live.orders.equals(bt.result.orders)
    assert live.fills.equals(bt.result.fills)
    np.testing.assert_array_equal(live.equity["equity"], bt.result.equity["equity"])


def test_bad_strategy_file_names_file_and_key(tmp_path):
    src = (ROOT / "strategies" / "sma_cross.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(src.replace("fast = 5", 'fast = "five"'))
    with pytest.raises(ConfigError) as err:
        load_strategy(bad)
    assert str(bad) in str(err.value) and "params.fast" in str(err.value)
    bad.write_text(src.replace("fast = 5", "fast = 50"))
    with pytest.raises(ConfigError, match="fast"):
        load_strategy(bad)
    bad.write_text(src.replace("[decision]", "[decision]\nsize_mod = 1"))
    with pytest.raises(ConfigError, match="decision.size_mod"):
        load_strategy(bad)


def test_backtest_writes_results_and_manifest(small_lake, tmp_path):
    run = run_backtest(ROOT / "strategies" / "bollinger_mr.toml",
                       small_overrides("bollinger_mr"), lake_root=small_lake, out_root=tmp_path)
    for f in ("equity.parquet", "positions.parquet", "orders.parquet", "fills.parquet",
              "risk_events.parquet",
              "manifest.json", "risk.json"):
        assert (run.out_dir / f).is_file(), f
    assert len(run.manifest["data_fingerprint"]) == 64
    assert run.manifest["seed"] == run.config.seed
    shutil.rmtree(run.out_dir)


def test_rerun_reproduces_result_bytes(small_lake, tmp_path):
    first = run_backtest(ROOT / "strategies" / "bollinger_mr.toml",
                         small_overrides("bollinger_mr"), lake_root=small_lake, out_root=tmp_path)
    from framework.engine.backtest import RESULT_FILES, rerun

    again = rerun(first.manifest["run_id"], tmp_path)
    assert again.out_dir != first.out_dir
    for name in RESULT_FILES:
        assert (again.out_dir / name).read_bytes() == (first.out_dir / name).read_bytes(), name
