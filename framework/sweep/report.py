"""Write a sweep's folder: results files, the best trials' full backtests and tearsheets,
and the HTML sweep report."""

from __future__ import annotations

from pathlib import Path

import optuna
import polars as pl

from framework.analytics.run_report import report_backtest
from framework.analytics.sweep_report import SweepReportData, render_sweep_report
from framework.engine.backtest import publish_run, run_backtest
from framework.sweep.results import SweepResults, compute_results, write_results


def trial_tearsheets(res: SweepResults, out_dir: Path, config: str, overrides: dict,
                     lake_root: Path | None, n: int) -> dict[int, str]:
    """Backtest the ``n`` best complete trials again with their keys, written to
    ``<out_dir>/trials/<run-id>/`` with a tearsheet each; trial -> relative link. A model
    sweep's trials are classifiers, not backtests: none."""
    if n == 0 or "winner" not in res.summary:
        return {}
    done = res.trials.filter(pl.col("state") == "complete").sort(
        "value", descending=res.summary["direction"] == "maximize").head(n)
    links = {}
    for row in done.iter_rows(named=True):
        keys = {k: row[k] for k in res.params}
        run = run_backtest(config, {**overrides, **keys}, lake_root=lake_root,
                           out_root=out_dir / "trials", publish=False)
        report_backtest(run)  # into the staging folder, then the run folder appears whole
        run = publish_run(run)
        links[row["trial"]] = str((run.out_dir / "tearsheet.html").relative_to(out_dir))
    return links


def write_report(study: optuna.Study, out_dir: Path, *, lake_root: Path | None = None,
                 tearsheets: int | None = None) -> tuple[Path, SweepResults]:
    """Everything a sweep leaves in ``out_dir`` (see ``framework.sweep.results``), the
    best ``tearsheets`` trials' tearsheets (default: the spec's) and ``report.html``."""
    res = compute_results(study)
    write_results(res, out_dir)
    attrs = study.user_attrs
    n = attrs["spec"]["tearsheets"] if tearsheets is None else tearsheets
    links = trial_tearsheets(res, out_dir, attrs["config"], attrs.get("overrides", {}),
                             lake_root, n)
    data = SweepReportData(title=f"Sweep {study.study_name}",
                           objective=res.summary["objective"],
                           direction=res.summary["direction"], trials=res.trials,
                           params=res.params, summary=res.summary,
                           importances=res.importances, pbo=res.pbo,
                           walk_forward=res.walk_forward, trial_sharpes=res.trial_sharpes,
                           links=links)
    page = out_dir / "report.html"
    page.write_text(render_sweep_report(data), encoding="utf-8")
    return page, res
