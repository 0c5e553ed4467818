"""The backtest report: files, consistency with the engine, OOS split, and the tearsheet
rendered by real headless Chromium."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from plotly.offline import get_plotlyjs

from framework.analytics.run_report import report_backtest, report_data
from framework.engine.backtest import run_backtest
from tests.analytics.browser import visit
from tests.system_packages import ensure_debian_package

STRATEGY = Path(__file__).resolve().parents[2] / "strategies" / "bollinger_mr.toml"


@pytest.fixture(scope="module")
def reported(small_lake: Path, tmp_path_factory) -> tuple:
    run = run_backtest(STRATEGY, lake_root=small_lake,
                       out_root=tmp_path_factory.mktemp("reports"))
    page, headline = report_backtest(run)
    return run, page, headline


def _strict_json(text: str) -> dict:
    def refuse(name: str):
        raise ValueError(f"non-JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def test_report_files_and_headline(reported) -> None:
    run, page, headline = reported
    assert page == run.out_dir / "tearsheet.html"
    for name in ("trades.parquet", "metrics.json", "tearsheet.html", "manifest.json"):
        assert (run.out_dir / name).is_file(), name
    doc = _strict_json((run.out_dir / "metrics.json").read_text())
    assert set(doc["periods"]) == {"full"} and headline["period"] == "full"
    assert headline["trades"] == pl.read_parquet(run.out_dir / "trades.parquet").height > 0
    assert doc["costs_usd"]["fees"] == pytest.approx(float(run.result.fills["fee"].sum()))


def test_trade_pnl_reconciles_with_equity(reported) -> None:
    run, _, _ = reported
    trades = pl.read_parquet(run.out_dir / "trades.parquet")
    eq = run.result.equity["equity"]
    borrow = run.result.borrow
    data = report_data(run)
    assert data.open_positions == {}  # bollinger_mr is flat at every close
    assert trades["pnl"].sum() - borrow == pytest.approx(eq[-1] - run.config.backtest
                                                         .initial_cash, abs=1e-6)


def test_out_of_sample_is_reported_apart(reported) -> None:
    run, _, _ = reported
    sessions = run.result.equity.with_columns(d=(pl.col("ts") // 86_400_000_000_000))
    cut = int(sessions.filter(pl.col("d") == sessions["d"].unique().sort()[2])["ts"][0]) - 1
    data = report_data(dataclasses.replace(run, manifest=run.manifest | {"oos_start_ns": cut}))
    oos, ins = data.periods["out_of_sample"], data.periods["in_sample"]
    assert oos["sessions"] + ins["sessions"] == data.daily.height
    assert oos["trades"] + ins["trades"] == data.trades.height
    assert (data.trades.filter(pl.col("sample") == "out")["entry_ts"] >= cut).all()
    assert (data.daily.filter(pl.col("sample") == "in")["ts"] < cut).all()


def test_tearsheet_is_self_contained(reported) -> None:
    _, page, _ = reported
    text = page.read_text(encoding="utf-8")
    assert text.count(get_plotlyjs()) == 1  # plotly.js inlined once, not per chart
    ours = text.replace(get_plotlyjs(), "")
    assert "<script src" not in ours and "https://" not in ours.split("<h2>Manifest")[0]


@pytest.mark.slow
def test_tearsheet_renders_in_chromium(reported) -> None:
    from PIL import Image

    chromium = ensure_debian_package("chromium", "chromium")
    _, page, _ = reported
    script = """(() => {
      const plots = [...document.querySelectorAll('.js-plotly-plot')];
      return {plots: plots.length,
              drawn: plots.filter(p => p.querySelector('svg.main-svg') &&
                                       p._fullData && p._fullData.length > 0).length,
              points: plots.reduce((n, p) => n + p.querySelectorAll(
                  '.scatterlayer path.js-line, .barlayer path, .heatmaplayer image').length, 0)};
    })()"""
    seen = visit(chromium, page, script)
    assert seen.errors == []
    assert seen.evaluated["plots"] == 7 and seen.evaluated["drawn"] == 7
    assert seen.evaluated["points"] > 20
    img = np.asarray(Image.open(io.BytesIO(seen.screenshot_png)).convert("RGB"))
    assert img.shape[0] > 1000
    colours = np.unique(img.reshape(-1, 3)[:: 7], axis=0).shape[0]
    assert colours > 50 and img.std() > 10  # a blank or white page has a handful


def test_figure_layout_is_plotlys_own():
    """The tearsheet adds its shared layout (title, size, theme) to a figure's JSON
    directly, skipping plotly's per-property validation: the layout on the page must be
    the one plotly's ``update_layout`` would have produced."""
    import plotly.graph_objects as go
    from plotly.utils import PlotlyJSONEncoder

    from framework.analytics import tearsheet as T

    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3.0, 1.0, 2.0], name="s"))
    fig.update_yaxes(tickformat=".1%")
    ref = go.Figure(fig)
    ref.update_layout(title="t", height=300, margin=dict(l=50, r=20, t=40, b=40),
                      template="plotly_white", legend=dict(orientation="h", y=-0.15))
    enc = PlotlyJSONEncoder
    got = json.loads(json.dumps(T._spec(fig, "t", 300)["layout"], cls=enc))
    assert got == json.loads(json.dumps(ref.to_plotly_json()["layout"], cls=enc))
