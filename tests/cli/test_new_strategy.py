"""``fw new strategy`` in a user's own folder, outside fw: the template runs as written
under every command that loads a strategy, with no PYTHONPATH (the TOML's parent is a
search root), and its generated test file passes under pytest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from framework.cli.new_cmd import NewStrategyError, write_strategy

FW = Path(sys.executable).parent / "fw"  # the console script: no cwd on its sys.path


def _run(args: list, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.mark.slow
def test_new_strategy_runs_as_written(tmp_path: Path, small_lake: Path) -> None:
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    repo.mkdir()
    elsewhere.mkdir()
    r = _run([FW, "new", "strategy", "breakout", "--dir", "mystrats"], repo)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (repo / "mystrats").iterdir()) == [
        "breakout.py", "breakout.toml", "test_breakout.py"]
    assert 'strategy = "mystrats.breakout:Breakout"' in (repo / "mystrats" / "breakout.toml"
                                                         ).read_text()
    # from another folder: only the TOML's parent can make `mystrats` importable
    toml = Path("..") / "repo" / "mystrats" / "breakout.toml"
    r = _run([FW, "backtest", toml, "--lake", small_lake, "--out", tmp_path / "reports"],
             elsewhere)
    assert r.returncode == 0, r.stderr
    fills = int(r.stdout.split("fills")[1].split()[0].replace(",", ""))
    assert fills > 0
    out_dir = Path(r.stdout.split("results:")[1].split()[0])
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["config"]["strategy"] == "mystrats.breakout:Breakout"
    r = _run([FW, "check", "lookahead", toml, "--lake", small_lake], elsewhere)
    assert r.returncode == 0 and "breakout: no look-ahead" in r.stdout, r.stdout + r.stderr
    r = _run([FW, "train", toml, "--lake", small_lake], elsewhere)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "strategy 'breakout' (class Breakout) has no model to train" in r.stderr
    # the generated test, run the way its docstring says
    r = _run([sys.executable, "-m", "pytest", "mystrats/test_breakout.py", "-q",
              "-p", "no:cacheprovider"], repo)
    assert r.returncode == 0 and "2 passed" in r.stdout, r.stdout + r.stderr


def test_new_strategy_refuses_to_overwrite_or_to_be_hidden(tmp_path: Path,
                                                            monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    written = write_strategy("mean_rev", Path("labstrats"))
    assert [p.name for p in written] == ["mean_rev.py", "mean_rev.toml", "test_mean_rev.py"]
    assert "class MeanRev(Strategy)" in written[0].read_text()
    assert "fw backtest labstrats/mean_rev.toml" in written[0].read_text()
    before = written[0].read_text()
    with pytest.raises(NewStrategyError, match=r"not overwriting .*mean_rev\.py"):
        write_strategy("mean_rev", Path("labstrats"))
    assert written[0].read_text() == before
    with pytest.raises(NewStrategyError, match="'strategies' is already an importable "
                                               "package"):
        write_strategy("x", Path("strategies"))
    with pytest.raises(NewStrategyError, match="not a Python package name"):
        write_strategy("x", Path("my-strats"))
    with pytest.raises(NewStrategyError, match="strategy name 'Bad'"):
        write_strategy("Bad", Path("labstrats"))
