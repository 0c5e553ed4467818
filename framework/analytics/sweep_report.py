"""The HTML report of a parameter sweep: one self-contained file (plotly.js inlined once),
laid out with the tearsheet's theme (``framework.analytics.tearsheet``).

It draws numbers computed elsewhere (``framework.sweep.results``): the best trials with
a link to each one's full tearsheet, two-parameter heatmaps, parallel coordinates,
parameter importances, in-sample vs out-of-sample, the distribution of trial Sharpe
ratios against the expected maximum of worthless trials, the winner's deflated Sharpe,
the probability of backtest overfitting with its logit histogram, and the walk-forward
out-of-sample equity.
"""

from __future__ import annotations

import html
import itertools
import json
import math
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from framework.analytics.overfitting import PBOResult
from framework.analytics.tearsheet import _CSS, _figure, _table

_STATE_COLOURS = {"complete": "#1f77b4", "fail": "#c0392b", "pruned": "#999999"}


@dataclass(frozen=True)
class SweepReportData:
    """What the page shows. ``trials``: one row per trial (``trial``, ``state``,
    ``value``, the swept keys, ``oos_all``, metrics); ``params``: swept keys;
    ``trial_sharpes``: per-session Sharpe ratio of each complete trial on the search
    window; ``links``: trial number -> relative path of its tearsheet."""

    title: str
    objective: str
    direction: str
    trials: pl.DataFrame
    params: list[str]
    summary: dict
    importances: dict[str, float]
    pbo: PBOResult | None
    walk_forward: pl.DataFrame
    trial_sharpes: np.ndarray
    links: dict[int, str] = field(default_factory=dict)


def _num(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, float):
        return f"{v:,.4g}"
    return html.escape(str(v))


def _complete(data: SweepReportData) -> pl.DataFrame:
    return data.trials.filter(pl.col("state") == "complete")


def best_table(data: SweepReportData, n: int = 20) -> str:
    """The best ``n`` complete trials by objective, each linked to its tearsheet."""
    done = _complete(data).sort("value", descending=data.direction == "maximize",
                                nulls_last=True).head(n)
    cols = ["trial", "value", *data.params, "oos_all",
            *[c for c in ("sharpe", "total_return", "max_drawdown", "fills", "oos_auc")
              if c in done.columns]]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in [*cols, "tearsheet"])
    rows = []
    for r in done.iter_rows(named=True):
        link = data.links.get(r["trial"])
        cell = (f"<a class='tearsheet' href='{html.escape(link)}'>open</a>" if link
                else "<span class='note'>not rendered</span>")
        rows.append("<tr>" + "".join(f"<td>{_num(r.get(c))}</td>" for c in cols)
                    + f"<td>{cell}</td></tr>")
    return f"<table id='best'><tr>{head}</tr>{''.join(rows)}</table>"


def _numeric(data: SweepReportData) -> list[str]:
    done = _complete(data)
    return [p for p in data.params if p in done.columns and done[p].dtype.is_numeric()
            and done[p].n_unique() > 1]


def heatmap_figures(data: SweepReportData, max_pairs: int = 3) -> list[str]:
    """Mean objective over each pair of numeric swept keys (values binned to <= 12)."""
    done, out = _complete(data), []
    for a, b in list(itertools.combinations(_numeric(data), 2))[:max_pairs]:
        def binned(col: str) -> pl.Expr:
            s = done[col]
            if s.n_unique() <= 12:
                return pl.col(col).cast(pl.Float64)
            edges = np.linspace(float(s.min()), float(s.max()), 13)
            width = edges[1] - edges[0]
            return (((pl.col(col) - edges[0]) / width).floor().clip(0, 11) * width
                    + edges[0] + width / 2)
        grid = (done.select(binned(a).alias("x"), binned(b).alias("y"), pl.col("value"))
                .group_by("x", "y").agg(pl.col("value").mean()))
        xs, ys = sorted(grid["x"].unique().to_list()), sorted(grid["y"].unique().to_list())
        z = np.full((len(ys), len(xs)), np.nan)
        for x, y, v in grid.iter_rows():
            z[ys.index(y), xs.index(x)] = v
        fig = go.Figure(go.Heatmap(z=[[None if not np.isfinite(v) else float(v) for v in row]
                                      for row in z], x=[f"{v:.4g}" for v in xs],
                                   y=[f"{v:.4g}" for v in ys], colorscale="Viridis",
                                   colorbar={"title": data.objective}))
        fig.update_xaxes(title=a)
        fig.update_yaxes(title=b)
        out.append(_figure(fig, f"{data.objective} by {a} x {b} (mean per cell)",
                           f"heatmap-{len(out)}", 380))
    return out


def parallel_figure(data: SweepReportData) -> str:
    """Parallel coordinates: numeric swept keys and the objective, coloured by it."""
    done = _complete(data)
    dims = [{"label": p, "values": done[p].cast(pl.Float64).to_list()}
            for p in _numeric(data)]
    dims.append({"label": data.objective, "values": done["value"].to_list()})
    fig = go.Figure(go.Parcoords(line={"color": done["value"].to_list(),
                                       "colorscale": "Viridis", "showscale": True},
                                 dimensions=dims))
    return _figure(fig, "Parallel coordinates (complete trials)", "parallel", 380)


def importance_figure(data: SweepReportData) -> str:
    """fANOVA importances of the swept keys for the objective (Optuna)."""
    keys = list(data.importances)
    fig = go.Figure(go.Bar(x=[data.importances[k] for k in keys], y=keys, orientation="h"))
    return _figure(fig, "Parameter importance (fANOVA, share of objective variance)",
                   "importance", 120 + 30 * len(keys))


def is_oos_figure(data: SweepReportData) -> str:
    """Each trial's objective in-sample (search window) against out-of-sample."""
    done = _complete(data)
    fig = go.Figure(go.Scatter(x=done["value"].to_list(),
                               y=done["oos_all"].fill_nan(None).to_list(), mode="markers",
                               text=[f"trial {t}" for t in done["trial"].to_list()],
                               name="trials"))
    fig.update_xaxes(title=f"in-sample {data.objective}")
    fig.update_yaxes(title=f"out-of-sample {data.objective}")
    return _figure(fig, "In-sample vs out-of-sample", "is-oos", 380)


def sharpe_figure(data: SweepReportData) -> str:
    """Histogram of the trials' per-session Sharpe ratios and the expected maximum of
    as many worthless trials (the DSR's benchmark)."""
    sr = data.trial_sharpes[np.isfinite(data.trial_sharpes)]
    fig = go.Figure(go.Histogram(x=sr.tolist(), nbinsx=40, name="trials"))
    sr0 = data.summary.get("winner", {}).get("expected_max_sharpe")
    if sr0 is not None and math.isfinite(sr0):
        fig.add_vline(x=sr0, line_dash="dash", line_color="#c0392b",
                      annotation_text="expected max of worthless trials")
    fig.update_xaxes(title="Sharpe ratio per session (search window)")
    return _figure(fig, "Distribution of trial Sharpe ratios", "sharpes", 320)


def pbo_figure(pbo: PBOResult) -> str:
    """Histogram of the CSCV logits; mass at or left of 0 is the PBO."""
    fig = go.Figure(go.Histogram(x=pbo.logits.tolist(), nbinsx=40, name="logit"))
    fig.add_vline(x=0.0, line_color="#c0392b")
    fig.update_xaxes(title="logit of the in-sample winner's out-of-sample rank")
    return _figure(fig, f"CSCV: PBO = {pbo.pbo:.1%} ({pbo.logits.shape[0]:,} splits, "
                        f"{pbo.blocks} blocks)", "pbo", 320)


def degradation_figure(pbo: PBOResult) -> str:
    """In-sample vs out-of-sample Sharpe of each split's winner, with the fitted line."""
    x = pbo.is_perf
    fig = go.Figure([go.Scatter(x=x.tolist(), y=pbo.oos_perf.tolist(), mode="markers",
                                name="splits", marker={"size": 4, "opacity": 0.5})])
    if math.isfinite(pbo.slope):
        xs = [float(np.nanmin(x)), float(np.nanmax(x))]
        fig.add_trace(go.Scatter(x=xs, y=[pbo.intercept + pbo.slope * v for v in xs],
                                 name=f"fit: slope {pbo.slope:.2f}"))
    fig.update_xaxes(title="in-sample Sharpe (per session)")
    fig.update_yaxes(title="out-of-sample Sharpe")
    return _figure(fig, "Performance degradation of the in-sample winners", "degradation",
                   320)


def walk_forward_figure(data: SweepReportData) -> str:
    """Growth of 1 over the walk-forward out-of-sample sessions, one colour per fold."""
    wf = data.walk_forward
    fig = go.Figure()
    for (fold,), part in wf.group_by(["fold"], maintain_order=True):
        trial = part["trial"][0]
        fig.add_trace(go.Scatter(x=part["date"].to_list(), y=part["equity"].to_list(),
                                 name=f"fold {fold}: trial {trial}", mode="lines"))
    return _figure(fig, "Walk-forward out-of-sample equity (growth of 1, each fold's "
                        "in-sample winner)", "walk-forward", 340)


def stats_table(summary: dict) -> str:
    """The winner's PSR, DSR and minimum track record; PBO and degradation."""
    w, p, wf = summary.get("winner", {}), summary.get("pbo", {}), summary.get("walk_forward")
    rows = [["trials run (failed included: N of the DSR)", _num(w.get("trials_counted"))],
            ["winner's Sharpe per session (search window)", _num(w.get("sharpe_per_session"))],
            ["probabilistic Sharpe P(SR > 0)", _num(w.get("psr"))],
            ["expected max Sharpe of N worthless trials", _num(w.get("expected_max_sharpe"))],
            ["deflated Sharpe P(SR > that)", _num(w.get("dsr"))],
            ["minimum track record (sessions, 95 %)", _num(w.get("min_track_record_sessions"))],
            ["sessions in the search window", _num(w.get("search_sessions"))],
            ["PBO (CSCV)", _num(p.get("pbo"))],
            ["degradation slope (OOS on IS Sharpe)", _num(p.get("slope"))],
            ["P(out-of-sample loss) of IS winners", _num(p.get("prob_oos_loss"))]]
    if wf:
        rows += [["walk-forward OOS Sharpe (ann.)", _num(wf.get("sharpe"))],
                 ["walk-forward OOS total return", _num(wf.get("total_return"))],
                 ["walk-forward OOS P(SR > 0)", _num(wf.get("psr"))]]
    return _table(["statistic", "value"], rows)


def render_sweep_report(data: SweepReportData) -> str:
    """The whole page as one HTML string (UTF-8, no external requests)."""
    s = data.summary
    best = s.get("best", {})
    parts = [
        f"<h1>{html.escape(data.title)}</h1>",
        f"<p class='note'>{s.get('trials', 0)} trials ({s.get('complete', 0)} complete, "
        f"{s.get('failed', 0)} failed, {s.get('pruned', 0)} pruned) · sampler "
        f"<b>{html.escape(str(s.get('sampler')))}</b> seed {s.get('seed')} · objective "
        f"<b>{html.escape(data.objective)}</b> ({data.direction}) · engine "
        f"<b>{html.escape(str(s.get('engine')))}</b>"
        + (f" ({html.escape(s['engine_reason'])})" if s.get("engine_reason") else "")
        + "</p>",
        "<p class='note'>The search saw only the first in-sample window; each walk-forward "
        "fold picks its own winner on its in-sample window and is scored on the sessions "
        "after it. All trials count in the deflated Sharpe, failed ones included.</p>",
        f"<p>Best trial: <b>{best.get('trial', '—')}</b> "
        f"{html.escape(json.dumps(best.get('params', {})))} · {data.objective} "
        f"{_num(best.get('value'))} in-sample, {_num(best.get('oos_all'))} out-of-sample</p>",
        "<h2>Best trials</h2>", best_table(data),
    ]
    if _complete(data).height:
        parts += ["<h2>Parameters</h2>", *heatmap_figures(data), parallel_figure(data)]
        if data.importances:
            parts.append(importance_figure(data))
        parts += ["<h2>In-sample vs out-of-sample</h2>", is_oos_figure(data)]
    if data.trial_sharpes.shape[0]:
        parts += ["<h2>Overfitting statistics</h2>", stats_table(s),
                  sharpe_figure(data)]
        if data.pbo is not None:
            parts += ["<div class='grid'>", pbo_figure(data.pbo),
                      degradation_figure(data.pbo), "</div>"]
    elif "statistics" in s:
        parts += ["<h2>Overfitting statistics</h2>",
                  f"<p class='note'>{html.escape(s['statistics'])}</p>"]
    if data.walk_forward.height:
        parts += ["<h2>Walk-forward</h2>", walk_forward_figure(data)]
    failed = data.trials.filter(pl.col("state") != "complete")
    if failed.height:
        parts += ["<h2>Failed and pruned trials</h2>",
                  _table(["trial", "state", "error"],
                         [[str(r["trial"]), r["state"], r["error"] or ""]
                          for r in failed.head(50).iter_rows(named=True)])]
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(data.title)}</title><style>{_CSS}</style>"
            f"<script>{get_plotlyjs()}</script></head><body>"
            + "\n".join(parts) + "</body></html>")
