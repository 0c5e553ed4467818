"""The README's first command, minus the install: ``fw demo`` on an empty lake fills it
from the synthetic default, trains the flagship, backtests it and writes the tearsheet;
its key statistics equal the golden run in ``tests/cli/golden/demo.json``.

A change that moves any number of the demo (sizing, fills, costs, the model, the
synthetic data) must show up as a diff of that file: regenerate it with

    make golden     # = FW_GOLDEN_UPDATE=1 .venv/bin/python -m pytest tests/cli/test_demo.py

and commit the new file with the change that caused it. Counts and strings compare
exactly, floats to 1e-9 relative (1e-12 absolute near zero).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from framework.cli.app import app
from framework.data import Lake

GOLDEN = Path(__file__).parent / "golden" / "demo.json"
REL, ABS = 1e-9, 1e-12


def demo_stats(run_dir: Path, lake: Path) -> dict:
    """The demo's key statistics: the data it ran on, the model, orders, fills, equity and
    every metric of ``metrics.json``."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    model = json.loads((lake / "models" / "ml_mr" / manifest["model_version"]
                        / "meta.json").read_text())
    orders = pl.read_parquet(run_dir / "orders.parquet")
    fills = pl.read_parquet(run_dir / "fills.parquet")
    equity = pl.read_parquet(run_dir / "equity.parquet")
    bars = Lake(lake).bars(manifest["symbols"], timeframe="1m")
    return {
        "data": {"bars": manifest["bars"], "symbols": manifest["symbols"],
                 "first_bar_ns": manifest["first_bar_ns"], "last_bar_ns": manifest["last_bar_ns"],
                 "close_sum": {s: bars.filter(pl.col("symbol") == s)["close"].sum()
                               for s in manifest["symbols"]}},
        "model": {"version": manifest["model_version"], "samples": model["samples"],
                  "oos_start_ns": model["oos_start_ns"], "cv": model["cv"]},
        "orders": {"count": orders.height,
                   **{f"{k}_{v}": n for k in ("status", "role")
                      for v, n in sorted(orders[k].value_counts().rows())}},
        "fills": {"count": fills.height, "shares": fills["qty"].sum(),
                  "notional": (fills["qty"] * fills["price"]).sum(), "fees": fills["fee"].sum(),
                  "maker": int(fills["maker"].sum())},
        "equity": {"final": equity["equity"][-1], "final_cash": equity["cash"][-1],
                   "min": equity["equity"].min(), "max": equity["equity"].max()},
        "metrics": metrics,
    }


def differences(want, got, path: str = "") -> list[str]:
    """Every path where ``got`` differs from ``want``: exact for counts, strings and
    None, ``REL``/``ABS`` for floats."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{path}.{k}: missing" for k in want.keys() - got.keys()]
        out += [f"{path}.{k}: not in the golden file" for k in got.keys() - want.keys()]
        for k in want.keys() & got.keys():
            out += differences(want[k], got[k], f"{path}.{k}")
        return out
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [d for i, (w, g) in enumerate(zip(want, got, strict=True))
                for d in differences(w, g, f"{path}[{i}]")]
    if isinstance(want, float) and isinstance(got, float):
        same = math.isclose(want, got, rel_tol=REL, abs_tol=ABS)
        return [] if same else [f"{path}: golden {want!r}, now {got!r}"]
    return [] if want == got and type(want) is type(got) else [
        f"{path}: golden {want!r}, now {got!r}"]


def test_differences_compare_counts_exactly_and_floats_to_1e9():
    assert differences({"a": 3, "b": 1.0, "c": [None, "x"]},
                       {"a": 3, "b": 1.0 + 5e-10, "c": [None, "x"]}) == []
    assert differences({"a": 3}, {"a": 4}) == [".a: golden 3, now 4"]
    assert differences({"b": 1.0}, {"b": 1.0 + 2e-9}) != []
    assert differences({"a": 3}, {"a": 3.0}) != []  # a count became a float
    assert differences({"a": 1}, {"b": 1}) == [".a: missing", ".b: not in the golden file"]


@pytest.mark.slow
def test_demo_on_an_empty_lake(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # strategies/ml_mr.toml, config/
    res = CliRunner().invoke(app, ["demo", "--lake", str(tmp_path / "lake"),
                                   "--out", str(tmp_path / "reports")])
    assert res.exit_code == 0, res.output
    assert "[1/3] filling" in res.output and "[2/3] training ml_mr" in res.output
    page = Path(res.output.split("tearsheet:")[1].split()[0])
    assert page.is_file() and page.parent.parent == tmp_path / "reports"
    metrics = json.loads((page.parent / "metrics.json").read_text())
    assert set(metrics["periods"]) == {"out_of_sample", "in_sample"}
    assert metrics["periods"]["out_of_sample"]["sessions"] > 30
    assert (tmp_path / "lake" / "models" / "ml_mr" / "v0001" / "meta.json").is_file()

    stats = json.loads(json.dumps(demo_stats(page.parent, tmp_path / "lake")))
    if os.environ.get("FW_GOLDEN_UPDATE") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(stats, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"golden run written to {GOLDEN}: review and commit the diff")
    diff = differences(json.loads(GOLDEN.read_text()), stats)
    assert not diff, ("the demo's numbers moved (if on purpose, regenerate with `make "
                      "golden` and commit tests/cli/golden/demo.json):\n  "
                      + "\n  ".join(sorted(diff)[:40]))


def test_demo_says_which_universe_and_refuses_a_lake_of_the_other(tmp_path: Path,
                                                                   monkeypatch) -> None:
    """``fw demo --null`` on a lake that holds the planted universe stops before any
    work, naming both; its first line says it is the null control."""
    import datetime as dt

    from framework.cli.demo_cmd import demo_universe
    from framework.data.schemas import DataError
    from framework.data.settings import load_data_config
    from framework.data.sources.synthetic import ingest_synthetic
    from framework.marketdata.bars import time_bars

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    day = dt.date(2024, 1, 2)
    cfg = demo_universe(load_data_config(None).synthetic, False).model_copy(
        update={"start": day, "end": day, "trades_per_day": 300.0})
    ingest_synthetic(Lake(tmp_path / "lake"), cfg, time_bars)
    res = CliRunner().invoke(app, ["demo", "--null", "--lake", str(tmp_path / "lake"),
                                   "--out", str(tmp_path / "reports")])
    assert res.output.startswith("universe: NULL control")
    assert res.exit_code != 0 and isinstance(res.exception, DataError)
    assert "holds the 'synthetic-planted' bars, not 'synthetic-null'" in str(res.exception)
    assert not (tmp_path / "reports").exists()
