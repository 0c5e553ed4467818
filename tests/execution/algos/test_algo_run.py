"""An algo strategy end to end: ``[execution] algo`` from the TOML, the VWAP profile
learnt from the lake's earlier sessions (recorded in the manifest), TCA in
``metrics.json``, ``tca.parquet`` and the tearsheet."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from framework.analytics.run_report import report_backtest
from framework.engine.backtest import run_backtest

ROOT = Path(__file__).resolve().parents[3]


def test_vwap_strategy_reports_tca(small_lake, tmp_path):
    ov = {"params.fast": 1, "params.slow": 2, "data.timeframe": "1m",
          "data.start": "2024-01-05", "data.end": "2024-01-08", "execution.algo": "vwap",
          "execution.horizon_min": 30, "execution.vwap_sessions": 2}
    run = run_backtest(ROOT / "strategies" / "sma_cross.toml", ov, lake_root=small_lake,
                       out_root=tmp_path)
    src = run.manifest["algo_inputs"]
    # the two sessions before 2024-01-05 in the lake: 01-03 and 01-04
    assert (src["sessions"], src["first"], src["last"]) == (2, "2024-01-03", "2024-01-04")
    page, _ = report_backtest(run)
    doc = json.loads((run.out_dir / "metrics.json").read_text())
    tca = pl.read_parquet(run.out_dir / "tca.parquet")
    assert doc["tca"]["parents"] == tca.height > 0
    parts = tca["delay_usd"] + tca["trading_usd"] + tca["opportunity_usd"] + tca["fees_usd"]
    assert ((parts - tca["is_usd"]).abs() < 1e-6).all()
    fit = doc["tca"]["impact_fit"]  # Y of the square-root law fitted to these parents
    assert fit["parents"] == tca.filter(pl.col("filled") > 0).height
    if fit["parents"] >= 2:
        assert fit["ci95"][0] <= fit["y"] <= fit["ci95"][1]
    assert "Transaction costs (algo parents)" in page.read_text()
