"""``fw sweep`` as a user runs it: a strategy written outside the package, the packaged
``bollinger_mr`` on 1-minute bars, a model sweep of the flagship, and the report opened
in real headless Chromium."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from framework.cli.app import app
from tests.analytics.browser import visit
from tests.conftest import ML_MR_SMALL, PROJECT_ROOT
from tests.sweep.conftest import write_user_strategy
from tests.system_packages import ensure_debian_package


def _sweep(*args: str) -> str:
    res = CliRunner().invoke(app, ["sweep", *args])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res.output


def _report_dir(output: str) -> Path:
    return Path(re.search(r"report: (.+report\.html)", output).group(1)).parent


@pytest.fixture(scope="module")
def user_sweep(tmp_path_factory, daily_lake: Path) -> Path:
    """``fw sweep`` of the RSI(2) strategy a user wrote in their own folder."""
    folder = tmp_path_factory.mktemp("user")
    toml = write_user_strategy(folder)
    out = _sweep(str(toml), "--lake", str(daily_lake), "--out", str(folder / "reports"))
    assert "sweeping params.n, params.buy_below, params.sell_above of rsi2: 10 trials" in out
    return _report_dir(out)


def test_user_strategy_sweep_writes_the_report(user_sweep: Path) -> None:
    trials = pl.read_parquet(user_sweep / "trials.parquet")
    assert trials.height == 10 and set(trials["state"]) == {"complete"}
    assert trials["params.n"].is_between(2, 6).all()
    assert set(trials["params.sell_above"]) <= {55.0, 65.0, 75.0}
    summary = json.loads((user_sweep / "summary.json").read_text())
    assert summary["engine"] == "vector" and summary["trials"] == 10
    assert set(trials["engine"]) == {"vector"}
    assert 0.0 <= summary["winner"]["dsr"] <= 1.0 and 0.0 <= summary["pbo"]["pbo"] <= 1.0
    page = (user_sweep / "report.html").read_text(encoding="utf-8")
    links = re.findall(r"<a class='tearsheet' href='([^']+)'>", page)
    assert len(links) == 2 and all((user_sweep / link).is_file() for link in links)


@pytest.mark.slow
def test_sweep_report_renders_in_chromium(user_sweep: Path) -> None:
    """Every figure of the report draws (three heatmaps of the three keys, parallel
    coordinates, importances, IS/OOS, Sharpe distribution, PBO logits, degradation,
    walk-forward equity), no console error, and the page is not blank."""
    from PIL import Image

    chromium = ensure_debian_package("chromium", "chromium")
    script = """(() => {
      const plots = [...document.querySelectorAll('.js-plotly-plot')];
      const titles = plots.map(p => (p.layout && p.layout.title && p.layout.title.text) || '');
      return {plots: plots.length,
              drawn: plots.filter(p => p.querySelector('svg.main-svg') &&
                                       p._fullData && p._fullData.length > 0).length,
              heatmaps: document.querySelectorAll('.heatmaplayer image').length,
              parcoords: document.querySelectorAll('.parcoords .axis').length,
              titles: titles,
              links: [...document.querySelectorAll('a.tearsheet')].map(a => a.href)};
    })()"""
    seen = visit(chromium, user_sweep / "report.html", script)
    assert seen.errors == []
    got = seen.evaluated
    assert got["plots"] == got["drawn"] == 10, got["titles"]
    assert got["heatmaps"] == 3 and got["parcoords"] >= 4
    assert any(t.startswith("CSCV: PBO") for t in got["titles"])
    assert any("Walk-forward" in t for t in got["titles"])
    assert len(got["links"]) == 2
    for href in got["links"]:  # the click target is the trial's tearsheet on disk
        assert href.startswith("file://") and Path(href[7:]).is_file()
    img = np.asarray(Image.open(io.BytesIO(seen.screenshot_png)).convert("RGB"))
    assert img.shape[0] > 2000
    assert np.unique(img.reshape(-1, 3)[::7], axis=0).shape[0] > 50 and img.std() > 10


@pytest.mark.slow
def test_bollinger_mr_sweep(small_lake: Path, tmp_path: Path) -> None:
    """The packaged intraday strategy's own [sweep] table, shortened to the test lake's
    four sessions: limit entries, brackets and flat-at-close route it to the event
    engine, and the report says why."""
    out = _sweep(str(PROJECT_ROOT / "strategies" / "bollinger_mr.toml"),
                 "--lake", str(small_lake), "--out", str(tmp_path), "--trials", "4",
                 "--batch", "2", "--set", "sweep.walk_forward.folds=1",
                 "--set", "sweep.walk_forward.in_sample=0.6",
                 "--set", "sweep.tearsheets=1", "--set", "symbols=['SPY','QQQ']")
    assert "engine                   event (participation cap" in out
    assert ("limit entries; brackets, trailing or timed exits, or flat-at-close; short "
            "entries") in out
    folder = _report_dir(out)
    trials = pl.read_parquet(folder / "trials.parquet")
    assert trials.height == 4 and (trials["state"] != "fail").all()
    done = trials.filter(pl.col("state") == "complete")
    assert (done["params.exit_z"] < done["params.entry_z"]).all()
    assert (folder / "report.html").stat().st_size > 100_000


@pytest.mark.slow
def test_model_sweep_of_the_flagship(small_lake: Path, tmp_path: Path) -> None:
    """Hyper-parameters of ml_mr's classifier through the same command: each trial is a
    purged k-fold of the meta-label model, scored by AUC; no tearsheets (no backtests).
    No trained model needed: each trial fits its own. A date override is stored in the
    study as text."""
    sets = [a for k, v in ML_MR_SMALL.items() for a in ("--set", f"{k}={v}")]
    out = _sweep(str(PROJECT_ROOT / "strategies" / "ml_mr.toml"), "--lake", str(small_lake),
                 "--out", str(tmp_path), "--param", "model.train.params.max_depth=2:4",
                 "--param", "model.train.params.learning_rate=0.05,0.1",
                 "--objective", "cv_auc", "--sampler", "random", "--trials", "2",
                 "--set", "model.train.params.max_iter=15",
                 "--set", "data.start=2024-01-02", "--set", "data.end=2024-01-08",
                 "--set", "sweep.cv_splits=3", *sets)
    folder = _report_dir(out)
    trials = pl.read_parquet(folder / "trials.parquet")
    assert trials.height == 2 and set(trials["state"]) == {"complete"}, trials["error"]
    assert trials["value"].is_between(0.0, 1.0).all()
    assert trials["model.train.params.max_depth"].is_between(2, 4).all()
    assert not list(folder.glob("trials/*/tearsheet.html"))


def test_grid_sweep_resumes_where_it_stopped(sma_toml: Path, daily_lake: Path,
                                             tmp_path: Path) -> None:
    """A grid cut short (--trials below the grid's size) reports only the points it ran;
    the same command on the same study runs the next points of the grid."""
    args = [str(sma_toml), "--lake", str(daily_lake), "--out", str(tmp_path), "--sampler",
            "grid", "--study-name", "g", "--tearsheets", "0", "--batch", "2"]
    _sweep(*args, "--trials", "3")
    first = pl.read_parquet(tmp_path / "g" / "trials.parquet")
    assert first["trial"].to_list() == [0, 1, 2]
    assert json.loads((tmp_path / "g" / "summary.json").read_text())["trials"] == 3
    _sweep(*args, "--trials", "2")
    both = pl.read_parquet(tmp_path / "g" / "trials.parquet")
    # fast 2..30 x slow 5..60 step 5 with fast < slow, in product order: (2,5) (2,10) ...
    assert both.select("params.fast", "params.slow").rows() == [
        (2, 5), (2, 10), (2, 15), (2, 20), (2, 25)]
