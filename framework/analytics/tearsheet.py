"""The HTML tearsheet of a backtest: one self-contained file (plotly.js inlined once).

Drawn from :class:`~framework.analytics.report_data.ReportData` with Polars and NumPy
only — no pandas in the path, so a pandas upgrade cannot break a report. Every figure
here is computed in ``framework.analytics``; this module only lays them out.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from plotly.offline import get_plotlyjs

from framework.analytics.metrics import drawdown, rolling_beta, rolling_sharpe_vol
from framework.analytics.report_data import ReportData
from framework.analytics.tca import tca_summary
from framework.data.calendar import NY
from framework.types.annual import SESSIONS_PER_YEAR
from framework.types.nytime import iso_ny

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right} th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}
.note{color:#555;font-size:13px;max-width:60em} .oos{color:#0a6b2d;font-weight:600}
pre{background:#f7f7f7;padding:8px;font-size:12px;max-height:420px;overflow:auto}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.scroll{max-height:420px;overflow:auto;display:inline-block}
"""

_PCT = {"total_return", "cagr", "volatility", "max_drawdown", "win_rate", "exposure",
        "alpha", "psr"}
_LABELS = {"period": "period", "total_return": "total return", "cagr": "CAGR",
           "volatility": "volatility (ann.)", "sharpe": "Sharpe (ann.)",
           "sortino": "Sortino (ann.)", "calmar": "Calmar", "max_drawdown": "max drawdown",
           "max_drawdown_sessions": "max drawdown duration (sessions)",
           "psr": "probabilistic Sharpe (SR > 0)", "alpha": "alpha (ann.)", "beta": "beta",
           "sessions": "sessions", "trades": "trades", "win_rate": "win rate",
           "profit_factor": "profit factor", "expectancy": "expectancy (USD/trade)",
           "avg_win": "mean win (USD)", "avg_loss": "mean loss (USD)",
           "best_trade": "best trade (USD)", "worst_trade": "worst trade (USD)",
           "avg_holding_minutes": "mean holding (minutes)",
           "avg_holding_sessions": "mean holding (sessions)", "exposure": "mean gross exposure",
           "turnover": "turnover (x equity / year)"}


def _fmt(key: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    if key in _PCT:
        return f"{value:.2%}"
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    return f"{value:,.3f}"


def _dates(daily: pl.DataFrame) -> list[str]:
    return [d.isoformat() for d in daily["date"].to_list()]


@functools.cache
def _template() -> dict:
    """plotly's "plotly_white" theme as plain JSON, built once per process."""
    return pio.templates["plotly_white"].to_plotly_json()


def _spec(fig: go.Figure | dict, title: str, height: int) -> dict:
    """The figure's JSON with the tearsheet's shared layout (title, height in px, theme).

    ``fig`` is a figure's JSON (``{"data": [trace dicts], "layout": {...}}``, as the
    tearsheet's charts are built) or a ``go.Figure``. The JSON skips plotly's validation:
    building a ``go.Figure`` checks every trace's arrays value by value and re-validates
    a whole theme property by property when it is assigned (together a sixth of a warm
    ``fw backtest``). The JSON is what plotly's own objects would give (tested: each chart
    equals ``go.Figure(spec).to_plotly_json()``, the shared layout ``update_layout``'s)."""
    spec = fig.to_plotly_json() if isinstance(fig, go.Figure) else fig
    layout = spec.get("layout", {})
    return {"data": spec["data"],
            "layout": {**layout, "title": {"text": title}, "height": height,
                       "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
                       "legend": {"orientation": "h", "y": -0.15}, "template": _template()}}


def _figure(fig: go.Figure | dict, title: str, name: str, height: int = 360) -> str:
    """The figure as an HTML fragment in a ``<div id="fig-<name>">``."""
    return pio.to_html(_spec(fig, title, height), validate=False, full_html=False,
                       include_plotlyjs=False, div_id=f"fig-{name}",
                       config={"displaylogo": False, "responsive": True})


def _in_sample_band(data: ReportData) -> dict:
    """Layout of a grey band over the in-sample sessions of a chart whose x axis is the
    session date (empty without an out-of-sample start); plotly's ``add_vrect`` JSON."""
    ins = data.daily.filter(pl.col("sample") == "in")
    if data.oos_start_ns is None or not ins.height:
        return {}
    x0, x1 = ins["date"][0].isoformat(), ins["date"][-1].isoformat()
    return {"shapes": [{"fillcolor": "#999", "line": {"width": 0}, "opacity": 0.12,
                        "type": "rect", "x0": x0, "x1": x1, "xref": "x", "y0": 0, "y1": 1,
                        "yref": "y domain"}],
            "annotations": [{"showarrow": False, "text": "in-sample", "x": x0,
                             "xanchor": "left", "xref": "x", "y": 1, "yanchor": "top",
                             "yref": "y domain"}]}


def _samples(data: ReportData) -> list[tuple[str, str]]:
    """(sample code, legend name) of the periods a split chart draws apart."""
    return [("out", "out-of-sample"), ("in", "in-sample"), ("full", "all sessions")]


def equity_spec(data: ReportData) -> dict:
    """Equity (USD) against the benchmark scaled to the same starting capital."""
    d = data.daily
    start = float(d["equity"][0] / (1.0 + d["ret"][0])) if d.height else 0.0
    bench = start * np.cumprod(1.0 + d["bench_ret"].to_numpy())
    return {"data": [{"type": "scatter", "x": _dates(d), "y": d["equity"].to_list(),
                      "name": "strategy"},
                     {"type": "scatter", "x": _dates(d), "y": bench.tolist(),
                      "name": data.benchmark, "line": {"dash": "dot"}}],
            "layout": _in_sample_band(data)}


def drawdown_spec(data: ReportData) -> dict:
    """Underwater curve (fraction below the running peak)."""
    d = data.daily
    return {"data": [{"type": "scatter", "x": _dates(d),
                      "y": drawdown(d["ret"].to_numpy()).tolist(), "fill": "tozeroy",
                      "name": "drawdown", "line": {"color": "#c0392b"}}],
            "layout": {"yaxis": {"tickformat": ".1%"}, **_in_sample_band(data)}}


def _monthly(data: ReportData) -> tuple[list[int], np.ndarray]:
    """Years shown and the ``[years, 12]`` compounded monthly returns (NaN: no session)."""
    m = (data.daily.group_by(pl.col("date").dt.year().alias("year"),
                             pl.col("date").dt.month().alias("month"))
         .agg(ret=(pl.col("ret") + 1.0).product() - 1.0).sort("year", "month"))
    years = sorted(set(m["year"].to_list()))
    z = np.full((len(years), 12), np.nan)
    for y, mo, r in m.iter_rows():
        z[years.index(y), mo - 1] = r
    return years, z


def monthly_spec(data: ReportData) -> dict:
    """Heatmap of compounded monthly returns, year x month."""
    years, z = _monthly(data)
    text = [[("" if np.isnan(v) else f"{v:.1%}") for v in row] for row in z]
    return {"data": [{"type": "heatmap", "z": z.tolist(),
                      "x": [dt.date(2000, k, 1).strftime("%b") for k in range(1, 13)],
                      "y": [str(y) for y in years], "text": text, "texttemplate": "%{text}",
                      "colorscale": _colorscale("RdYlGn"), "zmid": 0.0, "showscale": False}],
            "layout": {}}


@functools.cache
def _colorscale(name: str) -> list[list]:
    """A named plotly colour scale as the ``[[position, colour], ...]`` plotly's validator
    writes into a heatmap's JSON (plotly.js itself knows only a few names): validated
    once, alone."""
    return [list(pair) for pair in go.Heatmap(colorscale=name).to_plotly_json()["colorscale"]]


def _finite(values: np.ndarray, scale: float = 1.0) -> list[float | None]:
    return [float(v) * scale if np.isfinite(v) else None for v in values]


def _window(data: ReportData) -> int:
    return int(max(5, min(63, data.daily.height // 4)))


def rolling_spec(data: ReportData) -> dict:
    """Rolling annualised Sharpe (left axis) and volatility (right axis, percent) over a
    window of sessions. The volatility axis gets plotly's own tick spacing with a % suffix
    (a fixed ".0%" format printed the same label twice on a narrow range)."""
    d = data.daily
    window = _window(data)
    sharpe, vol = rolling_sharpe_vol(d["ret"].to_numpy(), window)
    return {"data": [{"type": "scatter", "x": _dates(d), "y": _finite(sharpe),
                      "name": f"Sharpe ({window} sessions)"},
                     {"type": "scatter", "x": _dates(d), "y": _finite(vol, 100.0),
                      "name": f"volatility ({window} sessions)", "yaxis": "y2"}],
            "layout": {"yaxis": {"title": {"text": "Sharpe"}},
                       "yaxis2": {"overlaying": "y", "side": "right",
                                  "title": {"text": "volatility"}, "ticksuffix": "%",
                                  "showgrid": False, "tickmode": "auto"},
                       **_in_sample_band(data)}}


def beta_spec(data: ReportData) -> dict:
    """Rolling beta of the session returns on the benchmark's."""
    d = data.daily
    window = _window(data)
    beta = rolling_beta(d["ret"].to_numpy(), d["bench_ret"].to_numpy(), window)
    return {"data": [{"type": "scatter", "x": _dates(d), "y": _finite(beta),
                      "name": f"beta ({window} sessions)"}],
            "layout": {"yaxis": {"title": {"text": f"beta to {data.benchmark}"}},
                       **_in_sample_band(data)}}


def yearly_spec(data: ReportData) -> dict:
    """Compounded return per calendar year, strategy beside benchmark (percent)."""
    y = data.yearly
    years = [str(v) for v in y["year"].to_list()]
    return {"data": [{"type": "bar", "x": years, "y": (y[col] * 100).to_list(), "name": name,
                      "text": [f"{v:.1%}" for v in y[col]], "textposition": "auto"}
                     for col, name in (("strategy", "strategy"),
                                       ("benchmark", data.benchmark))],
            "layout": {"barmode": "group", "yaxis": {"ticksuffix": "%"},
                       "xaxis": {"type": "category"}}}


def _moments(r: np.ndarray) -> str:
    """Skew and excess kurtosis of ``r`` as the distribution chart's title suffix."""
    z = (r - r.mean()) / r.std() if r.size > 2 and r.std() > 0 else np.zeros(0)
    return (f" · skew {np.mean(z**3):.2f}, excess kurtosis {np.mean(z**4) - 3:.2f}"
            if z.size else "")


def distribution_spec(data: ReportData) -> dict:
    """Histogram of session returns (percent), out-of-sample and in-sample apart."""
    parts = [(name, data.daily.filter(pl.col("sample") == sample)["ret"].to_numpy())
             for sample, name in _samples(data)]
    return {"data": [{"type": "histogram", "x": (r * 100).tolist(), "name": name,
                      "opacity": 0.7, "nbinsx": 50} for name, r in parts if r.size],
            "layout": {"barmode": "overlay", "xaxis": {"ticksuffix": "%"}}}


def symbol_spec(data: ReportData) -> dict:
    """Net P&L (USD, after fees) of the closed trades of each symbol."""
    b = data.by_symbol
    return {"data": [{"type": "bar", "x": b["symbol"].to_list(), "y": b["pnl"].to_list(),
                      "text": [f"{n:,} trades" for n in b["trades"]], "name": "net P&L"}],
            "layout": {}}


def trades_spec(data: ReportData) -> dict:
    """Histogram of trade P&L (USD, net of fees), out-of-sample and in-sample apart."""
    parts = [(name, data.trades.filter(pl.col("sample") == sample))
             for sample, name in _samples(data)]
    return {"data": [{"type": "histogram", "x": part["pnl"].to_list(), "name": name,
                      "opacity": 0.7, "nbinsx": 60} for name, part in parts if part.height],
            "layout": {"barmode": "overlay"}}


def exposure_spec(data: ReportData) -> dict:
    """Mean gross exposure per session (fraction of equity)."""
    d = data.daily
    return {"data": [{"type": "bar", "x": _dates(d),
                      "y": d["exposure"].fill_null(0.0).to_list(), "name": "gross exposure"}],
            "layout": {"yaxis": {"tickformat": ".0%"}, **_in_sample_band(data)}}


def costs_spec(data: ReportData) -> dict:
    """Cost breakdown in USD."""
    names = [k for k, v in data.costs.items() if np.isfinite(v)]
    return {"data": [{"type": "bar", "x": names, "y": [data.costs[k] for k in names]}],
            "layout": {}}


def charts(data: ReportData) -> dict[str, tuple[dict, str, int]]:
    """Every chart of the tearsheet: div name -> (figure JSON, title, height in px)."""
    monthly = monthly_spec(data)
    return {
        "equity": (equity_spec(data), "Equity at each session close (USD) vs benchmark", 360),
        "drawdown": (drawdown_spec(data), "Underwater (drawdown from peak)", 300),
        "rolling": (rolling_spec(data),
                    f"Rolling Sharpe, volatility (x√{SESSIONS_PER_YEAR})", 300),
        "beta": (beta_spec(data), f"Rolling beta to {data.benchmark}", 280),
        "monthly": (monthly, "Monthly returns", 120 + 40 * len(monthly["data"][0]["y"])),
        "yearly": (yearly_spec(data), "Yearly returns", 280),
        "distribution": (distribution_spec(data), "Distribution of session returns"
                         + _moments(data.daily["ret"].to_numpy()), 280),
        "trades": (trades_spec(data), f"Trade P&L, USD net of fees ({data.trades.height:,} "
                   "round trips)", 300),
        "symbols": (symbol_spec(data), "P&L by symbol, USD net of fees (closed trades)", 280),
        "exposure": (exposure_spec(data), "Gross exposure / equity", 260),
        "costs": (costs_spec(data), "Costs (USD)", 260),
    }


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def metrics_table(data: ReportData) -> str:
    """One column per period (out-of-sample first). Holding time is in sessions on daily
    bars and in minutes on intraday bars."""
    names = list(data.periods)
    hidden = {"period", "avg_holding_minutes" if data.timeframe == "1d"
              else "avg_holding_sessions"}
    keys = [k for k in _LABELS if k not in hidden and any(k in data.periods[n] for n in names)]
    rows = [[_LABELS[k]] + [_fmt(k, data.periods[n].get(k)) for n in names] for k in keys]
    return _table(["metric"] + [n.replace("_", "-") for n in names], rows)


def _frame_table(frame: pl.DataFrame, limit: int = 200) -> str:
    """A frame as a table (its first ``limit`` rows); instants in New York time."""
    frame = frame.with_columns(
        pl.col(c).dt.convert_time_zone(NY).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
        for c, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone)
    rows = [[_cell(v) for v in r] for r in frame.head(limit).iter_rows()]
    more = (f"<p class='note'>first {limit} of {frame.height:,} rows</p>"
            if frame.height > limit else "")
    return _table(frame.columns, rows) + more


def _cell(v) -> str:
    if isinstance(v, float):
        return _fmt("", v)
    return str(v)


def drawdowns_table(data: ReportData) -> str:
    """The worst drawdown episodes: peak, valley, recovery dates, depth, length."""
    rows = [[str(i + 1), "start" if e["peak"] is None else e["peak"].isoformat(),
             e["valley"].isoformat(),
             "not recovered" if e["recovery"] is None else e["recovery"].isoformat(),
             f"{e['depth']:.2%}", f"{e['sessions']:,}"] for i, e in enumerate(data.drawdowns)]
    return _table(["#", "peak", "valley", "recovery", "depth", "sessions"], rows)


def trade_list(data: ReportData, limit: int = 1000) -> str:
    """The round trips in exit order (the first ``limit``), times in New York, prices and
    P&L in USD, return in percent, holding in sessions on daily bars, else minutes."""
    t = data.trades.head(limit)
    daily = data.timeframe == "1d"
    rows = [[r["symbol"], "long" if r["direction"] > 0 else "short", iso_ny(r["entry_ts"]),
             iso_ny(r["exit_ts"]), f"{r['qty']:,.2f}", f"{r['entry_price']:,.4f}",
             f"{r['exit_price']:,.4f}", f"{r['fees']:,.2f}", f"{r['pnl']:,.2f}",
             f"{r['return']:.3%}",
             f"{r['holding_sessions']:,}" if daily else f"{r['holding_ns'] / 60e9:,.1f}",
             r["sample"]] for r in t.iter_rows(named=True)]
    held = "held (sessions)" if daily else "held (minutes)"
    more = (f"<p class='note'>first {limit:,} of {data.trades.height:,} trades; all of them "
            "are in trades.parquet</p>" if data.trades.height > limit else "")
    return ("<div class='scroll'>" + _table(
        ["symbol", "side", "entry (New York)", "exit (New York)", "shares", "entry price",
         "exit price", "fees", "P&L", "return", held, "sample"], rows) + "</div>" + more)


def tca_section(data: ReportData) -> list[str]:
    """The TCA section: the parents' summary and one row per parent (none without
    ``[execution] algo``)."""
    if data.tca is None or data.tca.height == 0:
        return []
    summary = tca_summary(data.tca)
    cols = ["order_id", "symbol", "algo", "side", "qty", "filled", "arrival_px", "avg_px",
            "is_bps", "delay_bps", "trading_bps", "opportunity_bps", "fees_bps",
            "vs_vwap_bps", "participation", "children"]
    return ["<h2>Transaction costs (algo parents)</h2>",
            _table(["measure", "value"], [[k, _fmt(k, v)] for k, v in summary.items()]),
            "<p class='note'>Implementation shortfall per parent (Perold): delay (decision "
            "to arrival), trading (fills vs arrival), opportunity (unfilled shares vs the "
            "end price) and fees sum to the total; bps of intended shares times the "
            "decision price, quantity-weighted. Slippage vs the interval VWAP of the bars "
            "from arrival to end. Simulated fills (the run's fill model).</p>",
            _frame_table(data.tca.select(cols))]


def render_tearsheet(data: ReportData) -> str:
    """The whole page as one HTML string (UTF-8, no external requests)."""
    man = data.manifest
    first = data.daily["date"][0].isoformat() if data.daily.height else "—"
    last = data.daily["date"][-1].isoformat() if data.daily.height else "—"
    if data.oos_start_ns is not None:
        oos = iso_ny(data.oos_start_ns)
        source = ("the model never saw these bars" if "oos_start_ns" in man
                  else "[backtest] oos_start: the rules were fixed before these bars")
        scope = (f"<p class='oos'>Headline metrics are out-of-sample only: from {oos} "
                 f"({source}). The in-sample period is shown apart and shaded in the "
                 "charts.</p>")
    else:
        scope = ("<p class='note'>No out-of-sample start (no model, no [backtest] oos_start): "
                 "every session is reported as one period.</p>")
    figs = {name: _figure(spec, title, name, height)
            for name, (spec, title, height) in charts(data).items()}
    cfg = man.get("config", {})
    fill = cfg.get("execution", {}).get("fill_model", "bar")
    parts = [
        f"<h1>{html.escape(data.title)}</h1>",
        f"<p class='note'>{html.escape(', '.join(man.get('symbols', [])))} · "
        f"{first} .. {last} · {man.get('bars', 0):,} bars · fill model <b>{fill}</b> "
        f"(simulated venue) · benchmark {html.escape(data.benchmark)} · code "
        f"{html.escape(str(man.get('code_version')))} · seed {man.get('seed')}</p>",
        scope,
        "<h2>Metrics</h2>", metrics_table(data),
        "<p class='note'>Returns are session-close to session-close "
        f"({SESSIONS_PER_YEAR} sessions a year), whatever the bar size. Max drawdown is "
        "from the starting capital.</p>",
        "<h2>Equity</h2>", figs["equity"], figs["drawdown"],
        "<h3>Worst drawdowns</h3>", drawdowns_table(data),
        "<div class='grid'>", figs["rolling"], figs["beta"], "</div>",
        "<h2>Returns</h2>",
        "<div class='grid'>", figs["monthly"], figs["yearly"], "</div>",
        figs["distribution"],
        "<h2>Trades</h2>",
        "<div class='grid'>", figs["trades"], figs["symbols"], "</div>",
        "<div class='grid'>", figs["exposure"], figs["costs"], "</div>",
        "<p class='note'>Exposure is the mean per session of gross exposure over equity. "
        "Fees are commission + SEC fee + FINRA TAF; slippage is what market and stop fills "
        "paid against the open of the bar they filled in (bar fill model).</p>",
        "<h3>Trade list</h3>", trade_list(data) if data.trades.height
        else "<p class='note'>no closed trades</p>",
        *tca_section(data),
        "<h2>Orders</h2>", _frame_table(data.order_status),
        "<h3>Rejected orders by reason</h3>",
        _frame_table(data.rejections) if data.rejections.height
        else "<p class='note'>none</p>",
        "<h2>Risk events</h2>",
        "<p class='note'>Rejections, stops, breaker trips, halts and kills (the routine "
        "session_start rows are in risk_events.parquet only).</p>",
        _frame_table(data.risk_events) if data.risk_events.height
        else "<p class='note'>none</p>",
        "<h2>Still open at the end (shares)</h2>",
        _table(["symbol", "position"], [[s, f"{q:,.2f}"] for s, q in
                                        data.open_positions.items()]),
        "<h2>Manifest</h2>",
        f"<pre>{html.escape(json.dumps(man, indent=2, default=str))}</pre>",
    ]
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(data.title)}</title><style>{_CSS}</style>"
            f"<script>{get_plotlyjs()}</script></head><body>"
            + "\n".join(parts) + "</body></html>")
