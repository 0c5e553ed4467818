"""`fw backtest`: a run folder appears whole or not at all (a SIGKILL mid-write leaves
none), and `fw backtest --rerun RUN_ID` reproduces it: identical, or the files that
differ and where; a changed lake is caught before anything runs; an edited or malformed
manifest is refused with one line."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from framework.data import Lake
from tests.cli.cli_testkit import fw, one_line_error

ROOT = Path(__file__).resolve().parents[2]
BOLL = str(ROOT / "strategies" / "bollinger_mr.toml")


def _runs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.fixture
def first_run(small_lake, tmp_path, capsys, monkeypatch) -> tuple[Path, Path]:
    out = tmp_path / "reports"
    code, stdout, err = fw(capsys, monkeypatch, "backtest", BOLL, "--lake", str(small_lake),
                           "--out", str(out))
    assert code == 0, err
    run_dir = Path(stdout.split("results:")[1].split()[0])
    assert _runs(out) == [run_dir] and list((out / ".staging").iterdir()) == []
    page = run_dir / "tearsheet.html"
    mb = page.stat().st_size / 1e6
    assert f"tearsheet: {page} ({mb:.1f} MB, self-contained)" in stdout
    return out, run_dir


def test_rerun_is_identical_then_names_what_differs(first_run, capsys, monkeypatch):
    out, run_dir = first_run
    code, stdout, err = fw(capsys, monkeypatch, "backtest", "--rerun", run_dir.name, "--out",
                           str(out))
    assert code == 0, err
    assert f"rerun of {run_dir.name}: identical (every result file byte for byte)" in stdout
    assert len(_runs(out)) == 2
    # the original's fills as if the engine had filled one order a cent higher
    fills = pl.read_parquet(run_dir / "fills.parquet")
    fills.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.col("price") + 0.01)
                       .otherwise(pl.col("price")).alias("price")).write_parquet(
        run_dir / "fills.parquet", statistics=False)
    code, stdout, _ = fw(capsys, monkeypatch, "backtest", "--rerun", str(run_dir))
    assert code == 1 and f"rerun of {run_dir.name}: 1 file(s) differ" in stdout
    assert "fills.parquet: first at row 3, column 'price'" in stdout


@pytest.mark.parametrize("damage, needle", [
    (lambda m: m.replace('"seed": 42', '"seed": 43'), "edited after the run"),
    (lambda m: m[: len(m) // 2], "not valid JSON"),
    (lambda m: json.dumps({k: v for k, v in json.loads(m).items() if k != "config"}),
     "key 'config': required key is missing"),
])
def test_edited_or_malformed_manifest_is_refused(first_run, capsys, monkeypatch, damage, needle):
    out, run_dir = first_run
    man = run_dir / "manifest.json"
    man.write_text(damage(man.read_text()))
    code, _, err = fw(capsys, monkeypatch, "backtest", "--rerun", run_dir.name, "--out", str(out))
    line = one_line_error(err)
    assert code == 2 and str(man) in line and needle in line
    assert len(_runs(out)) == 1


def test_rerun_on_changed_data_is_refused_before_anything_runs(small_lake, tmp_path, capsys,
                                                              monkeypatch):
    lake_root = tmp_path / "lake"
    shutil.copytree(small_lake, lake_root)
    out = tmp_path / "reports"
    code, stdout, err = fw(capsys, monkeypatch, "backtest", BOLL, "--lake", str(lake_root),
                           "--out", str(out))
    assert code == 0, err
    run_dir = _runs(out)[0]
    lake = Lake(lake_root)
    day = lake.bars("SPY", "2024-01-03", "2024-01-03").drop("symbol")
    lake.write("bars_1m", "SPY", day.with_columns(pl.col("volume") + 1), "fix")
    code, _, err = fw(capsys, monkeypatch, "backtest", "--rerun", run_dir.name, "--out", str(out))
    line = one_line_error(err)
    assert code == 2 and "the lake's data changed since the run" in line
    assert "nothing was run or written" in line and _runs(out) == [run_dir]


_KILLED = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import polars as pl
    from framework.engine.backtest import run_backtest
    real, calls = pl.DataFrame.write_parquet, [0]
    def write_parquet(self, *a, **k):
        calls[0] += 1
        if calls[0] == 3:  # equity and positions are written, orders is being written
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, *a, **k)
    pl.DataFrame.write_parquet = write_parquet
    run_backtest(sys.argv[1], lake_root=Path(sys.argv[2]), out_root=Path(sys.argv[3]))
""")


def test_killed_backtest_leaves_no_run_folder(small_lake, tmp_path, capsys, monkeypatch):
    out = tmp_path / "reports"
    child = subprocess.run([sys.executable, "-c", _KILLED, BOLL, str(small_lake), str(out)],
                           capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert _runs(out) == []  # before staging, a partial reports/<run-id>/ stayed behind
    (stale,) = (out / ".staging").iterdir()
    assert sorted(p.name for p in stale.iterdir()) == ["equity.parquet", "positions.parquet"]
    code, _, err = fw(capsys, monkeypatch, "backtest", BOLL, "--lake", str(small_lake),
                      "--out", str(out))
    assert code == 0, err
    assert len(_runs(out)) == 1 and list((out / ".staging").iterdir()) == []
