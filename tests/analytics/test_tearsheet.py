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

from framework.analytics.report_data import report_data
from framework.analytics.run_report import report_backtest
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
    assert seen.evaluated["plots"] == 11 and seen.evaluated["drawn"] == 11
    assert seen.evaluated["points"] > 20
    img = np.asarray(Image.open(io.BytesIO(seen.screenshot_png)).convert("RGB"))
    assert img.shape[0] > 1000
    colours = np.unique(img.reshape(-1, 3)[:: 7], axis=0).shape[0]
    assert colours > 50 and img.std() > 10  # a blank or white page has a handful


DATE_CHARTS = ("fig-equity", "fig-drawdown", "fig-rolling", "fig-beta", "fig-exposure")
ALL_CHARTS = {*DATE_CHARTS, "fig-monthly", "fig-yearly", "fig-distribution", "fig-trades",
              "fig-symbols", "fig-costs"}


@pytest.fixture(scope="module")
def oos_reported(tmp_path_factory) -> tuple:
    """A rule-based strategy with ``[backtest] oos_start`` over two months of two symbols
    (enough sessions for the rolling charts)."""
    import datetime as dt

    from framework.data import Lake
    from framework.data.settings import SyntheticConfig
    from framework.data.sources.synthetic import ingest_synthetic
    from framework.marketdata.bars import time_bars

    root = tmp_path_factory.mktemp("oos_lake")
    ingest_synthetic(Lake(root), SyntheticConfig(symbols=["SPY", "QQQ"], start=dt.date(2024, 1, 2),
                                                 end=dt.date(2024, 2, 29), trades_per_day=1500),
                     time_bars)
    run = run_backtest(STRATEGY, {"symbols": ["SPY", "QQQ"], "data.end": dt.date(2024, 2, 29),
                                  "backtest.oos_start": dt.date(2024, 2, 1)},
                       lake_root=root, out_root=tmp_path_factory.mktemp("oos_reports"))
    page, headline = report_backtest(run)
    return run, page, headline


def test_rule_based_strategy_declares_its_out_of_sample_start(oos_reported) -> None:
    run, page, headline = oos_reported
    doc = _strict_json((run.out_dir / "metrics.json").read_text())
    # 2024-02-01 09:30 New York (EST) = 14:30 UTC
    assert doc["oos_start_ns"] == 1_706_797_800 * 10**9
    assert set(doc["periods"]) == {"out_of_sample", "in_sample"}
    assert headline["period"] == "out_of_sample"
    assert doc["periods"]["out_of_sample"]["sessions"] == 20  # February 2024 has 20 sessions
    assert doc["periods"]["in_sample"]["sessions"] == 21
    text = page.read_text()
    assert "from 2024-02-01T09:30:00-05:00 ([backtest] oos_start" in text
    assert "avg_holding_sessions" not in headline  # intraday bars: holding in minutes


def test_report_tables_drawdowns_trades_and_quiet_risk_events(oos_reported) -> None:
    run, page, _ = oos_reported
    data = report_data(run)
    kinds = set(run.result.risk_events["kind"])
    assert "session_start" in kinds  # still in risk_events.parquet ...
    assert "session_start" not in set(data.risk_events["kind"])  # ... not in the report
    text = page.read_text()
    assert "<td>session_start</td>" not in text
    assert data.by_symbol["pnl"].sum() == pytest.approx(data.trades["pnl"].sum())
    assert sorted(data.by_symbol["symbol"]) == ["QQQ", "SPY"]
    from framework.analytics.metrics import drawdown

    underwater = drawdown(data.daily["ret"].to_numpy())
    assert data.drawdowns[0]["depth"] == pytest.approx(underwater.min())
    assert data.drawdowns[0]["valley"] == data.daily["date"][int(underwater.argmin())]
    assert "<h3>Worst drawdowns</h3>" in text and "<h3>Trade list</h3>" in text
    trade_rows = text.split("<h3>Trade list</h3>")[1].split("</table>")[0].count("<tr>") - 1
    assert trade_rows == min(1000, data.trades.height) > 0
    years = data.yearly["year"].to_list()
    assert years == [2024] and data.yearly["strategy"][0] == pytest.approx(
        float(np.prod(1 + data.daily["ret"].to_numpy()) - 1))


def test_holding_time_is_in_sessions_on_daily_bars(oos_reported) -> None:
    from framework.analytics.tearsheet import metrics_table

    run, _, _ = oos_reported
    data = report_data(run)
    intraday = metrics_table(data)
    assert "mean holding (minutes)" in intraday and "mean holding (sessions)" not in intraday
    daily = metrics_table(dataclasses.replace(data, timeframe="1d"))
    assert "mean holding (sessions)" in daily and "mean holding (minutes)" not in daily


def _plotly_json(obj) -> dict:
    from plotly.utils import PlotlyJSONEncoder

    return json.loads(json.dumps(obj, cls=PlotlyJSONEncoder))


def test_each_chart_is_the_json_plotlys_objects_write(oos_reported) -> None:
    """The tearsheet writes each chart's JSON directly, skipping plotly's validation: a
    ``go.Figure`` built from it (which validates every property, raising on a wrong one)
    with the shared layout set by ``update_layout`` gives the same JSON, and the in-sample
    band is the one ``add_vrect`` draws."""
    import plotly.graph_objects as go

    from framework.analytics import tearsheet as T

    run, _, _ = oos_reported
    data = report_data(run)
    specs = T.charts(data)
    assert {f"fig-{k}" for k in specs} == ALL_CHARTS
    for name, (spec, title, height) in specs.items():
        ref = go.Figure(spec)
        ref.update_layout(title=title, height=height, margin=dict(l=50, r=20, t=40, b=40),
                          template="plotly_white", legend=dict(orientation="h", y=-0.15))
        assert _plotly_json(T._spec(spec, title, height)) == _plotly_json(
            ref.to_plotly_json()), name
    ins = data.daily.filter(pl.col("sample") == "in")["date"]
    band = go.Figure(go.Scatter(x=[], y=[]))
    band.add_vrect(x0=ins[0].isoformat(), x1=ins[-1].isoformat(), fillcolor="#999",
                   opacity=0.12, line_width=0, annotation_text="in-sample",
                   annotation_position="top left")
    want = _plotly_json(band.to_plotly_json()["layout"])
    assert want["shapes"] and want["annotations"]
    for name in DATE_CHARTS:
        layout = _plotly_json(specs[name.removeprefix("fig-")][0]["layout"])
        assert (layout["shapes"], layout["annotations"]) == (want["shapes"],
                                                             want["annotations"]), name


@pytest.mark.slow
def test_every_chart_is_drawn_shaded_and_labelled_once(oos_reported) -> None:
    """Real Chromium: all 11 charts drawn, the in-sample band on every chart whose x axis
    is the session date, no volatility tick label printed twice."""
    chromium = ensure_debian_package("chromium", "chromium")
    _, page, _ = oos_reported
    script = """(() => Object.fromEntries([...document.querySelectorAll('.js-plotly-plot')]
        .map(p => [p.id, {drawn: !!p.querySelector('svg.main-svg') && p._fullData.length > 0,
                          bands: (p.layout.shapes || []).length,
                          y2: [...p.querySelectorAll('.y2tick text')].map(t => t.textContent)}])))()"""
    seen = visit(chromium, page, script)
    assert seen.errors == []
    charts = seen.evaluated
    assert set(charts) == ALL_CHARTS and all(c["drawn"] for c in charts.values())
    assert {k for k, c in charts.items() if c["bands"]} == set(DATE_CHARTS)
    vol = charts["fig-rolling"]["y2"]
    assert len(vol) >= 3 and len(set(vol)) == len(vol) and all(v.endswith("%") for v in vol)
