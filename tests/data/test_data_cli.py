"""``fw data`` commands: ingest (csv, synthetic), list, show, verify, and clean errors."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from framework.cli import data_cmd

runner = CliRunner()


def test_csv_ingest_list_show_verify(tmp_path, shared_data):
    lake = str(tmp_path / "lake")
    files = [str(shared_data / "intraday" / "eqker" / f"{s}_1min.csv") for s in ("SPY", "MSFT")]
    r = runner.invoke(data_cmd.app, ["ingest", "--source", "csv", "--csv-format", "eqker",
                                     "--symbols", "SPY,MSFT", "--lake", lake, *files])
    assert r.exit_code == 0, r.output
    assert "bars_1m 3,898 rows" in r.output
    r = runner.invoke(data_cmd.app, ["list", "--lake", lake])
    assert r.exit_code == 0 and "MSFT" in r.output and "1,948" in r.output
    r = runner.invoke(data_cmd.app, ["show", "msft", "--lake", lake, "--rows", "2"])
    assert r.exit_code == 0 and "bars_1m" in r.output and "2019-02-11T09:30:00-05:00" in r.output
    r = runner.invoke(data_cmd.app, ["verify", "--lake", lake, "--dataset", "bars_1m"])
    assert r.exit_code == 0 and "calendar_gap" in r.output


def test_synthetic_ingest(tmp_path):
    lake = str(tmp_path / "lake")
    args = ["ingest", "--source", "synthetic", "--symbols", "SPY", "--symbols", "NVDA",
            "--start", "2024-03-04", "--end", "2024-03-05", "--lake", lake]
    r = runner.invoke(data_cmd.app, args)
    assert r.exit_code == 0, r.output
    assert "bars_1m 1,560 rows" in r.output and "bars_1d 4 rows" in r.output
    r = runner.invoke(data_cmd.app, ["verify", "--lake", lake])
    assert r.exit_code == 0, r.output


def _fw(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "framework.cli.app", "data", *args],
                          capture_output=True, text=True, cwd=cwd)


def test_errors_exit_2_with_message_not_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[csv.x]\ntimestamp = 't'\ncolumns = { open = 'o' }\nlabel = 'middle'\n")
    r = _fw("ingest", "--source", "csv", "--config", str(bad), "--lake", str(tmp_path / "l"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert str(bad) in r.stderr and "csv.x.label" in r.stderr
    csv = tmp_path / "x.csv"
    csv.write_text("t,o\n2024-01-02 10:00:00,-1\n")
    good = tmp_path / "good.toml"
    good.write_text("[csv.x]\ntimestamp = 't'\ntimezone = 'UTC'\ndataset = 'trades'\n"
                    "columns = { price = 'o', size = 'o' }\n")
    r = _fw("ingest", "--source", "csv", "--config", str(good), "--csv-format", "x",
            "--symbols", "SPY", "--lake", str(tmp_path / "l"), str(csv))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "x.csv: trades rejected, nothing written" in r.stderr
    assert "non_positive_price: line 2, column 'price'" in r.stderr  # the file's line
    assert not (tmp_path / "l" / "trades").exists()
