"""The README's first command, minus the install: ``fw demo`` on an empty lake fills it
from the synthetic default, trains the flagship, backtests it and writes the tearsheet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from framework.cli.app import app


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
