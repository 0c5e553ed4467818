"""Shared studies: several ``fw sweep`` processes join one Optuna study — a journal file
on this machine, or a real PostgreSQL server (Debian's binaries, started in a temporary
directory) as for many machines — and the report is built from the storage alone."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import optuna
import polars as pl
import pytest

from framework.analytics.metrics import daily_returns
from framework.engine.backtest import run_backtest
from framework.sweep.results import trial_returns
from tests.system_packages import ensure_debian_file

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL server on a loopback port with its data in a temporary directory
    (run as the 'postgres' system user when the suite runs as root: the server refuses
    root); yields an SQLAlchemy URL."""
    initdb = ensure_debian_file("/usr/lib/postgresql/*/bin/initdb", "postgresql")
    bindir = Path(initdb).parent
    pytest.importorskip("psycopg2")
    data = Path(tempfile.mkdtemp(prefix="fw-pg-"))
    os.chmod(data, 0o755)
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True)  # noqa: E731
    run(str(bindir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "fw", "-E", "UTF8")
    run(str(bindir / "pg_ctl"), "-D", str(data / "db"), "-l", str(data / "server.log"), "-w",
        "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start")
    try:
        yield f"postgresql+psycopg2://fw@127.0.0.1:{port}/postgres"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "-w", "stop")
        shutil.rmtree(data, ignore_errors=True)


def _workers(toml: Path, lake: Path, out: Path, storage: str, n: int, trials: int) -> None:
    """``n`` ``fw sweep`` processes at once against one study named 'shared'."""
    cmd = [sys.executable, "-m", "framework.cli.app", "sweep", str(toml), "--lake", str(lake),
           "--out", str(out), "--storage", storage, "--study-name", "shared",
           "--trials", str(trials), "--batch", "2", "--tearsheets", "0"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for _ in range(n)]
    for p in procs:
        out_text = p.communicate(timeout=600)[0].decode()
        assert p.returncode == 0, out_text


def _check_shared(storage, toml: Path, lake: Path, out: Path, url: str) -> None:
    study = optuna.load_study(study_name="shared", storage=storage)
    assert len(study.trials) == 12
    assert sorted(t.number for t in study.trials) == list(range(12))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert done and all(trial_returns(t).shape == (501,) for t in done)
    t = done[0]  # what another process stored is that trial's backtest
    again = run_backtest(toml, t.params, lake_root=lake, write=False)
    np.testing.assert_allclose(trial_returns(t),
                               daily_returns(again.result.equity, 1e5)["ret"].to_numpy(),
                               rtol=0, atol=1e-15)
    # the report from the storage alone (no trials run: --trials 0)
    res = subprocess.run([sys.executable, "-m", "framework.cli.app", "sweep", str(toml),
                          "--lake", str(lake), "--out", str(out), "--storage", url,
                          "--study-name", "shared", "--trials", "0", "--tearsheets", "0"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    trials = pl.read_parquet(out / "shared" / "trials.parquet")
    assert trials.height == 12 and (out / "shared" / "report.html").is_file()


@pytest.mark.slow
def test_journal_file_shared_by_processes(sma_toml: Path, daily_lake: Path,
                                          tmp_path: Path) -> None:
    journal = tmp_path / "shared.journal"
    _workers(sma_toml, daily_lake, tmp_path / "out", str(journal), 2, 6)
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal)))
    _check_shared(storage, sma_toml, daily_lake, tmp_path / "out", str(journal))


@pytest.mark.slow
def test_postgresql_study_shared_by_processes(postgres: str, sma_toml: Path,
                                              daily_lake: Path, tmp_path: Path) -> None:
    _workers(sma_toml, daily_lake, tmp_path / "out", postgres, 2, 6)
    _check_shared(postgres, sma_toml, daily_lake, tmp_path / "out", postgres)


def test_unreachable_storage_is_named(sma_toml: Path, daily_lake: Path,
                                      tmp_path: Path) -> None:
    """A server that is not there: one line naming the option and the server, no
    traceback."""
    port = _free_port()
    res = subprocess.run([sys.executable, "-m", "framework.cli.app", "sweep", str(sma_toml),
                          "--lake", str(daily_lake), "--out", str(tmp_path),
                          "--storage", f"postgresql+psycopg2://fw@127.0.0.1:{port}/x",
                          "--trials", "1"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1 and res.stderr.startswith(
        f"error: invalid configuration in --storage: cannot open Optuna storage "
        f"'127.0.0.1:{port}/x': OperationalError")
