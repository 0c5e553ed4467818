"""Every error the `fw` command meets ends as one line naming the file, line, key or
message and the cause (exit 2 for a user error, 1 for anything else), never a raw
traceback; `fw --debug` shows the traceback. The cases come from a hostile test of the
CLI (issue 21); each used to print a traceback or run on with nonsense.

The console script's own entry point (``framework.cli.app.main``) runs in-process with
``sys.argv`` set, so what is checked is exactly what a user's terminal shows."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from framework.cli.app import main
from tests.cli.cli_testkit import fw, one_line_error

ROOT = Path(__file__).resolve().parents[2]
SMA = (ROOT / "strategies" / "sma_cross.toml").read_text()


def _toml(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("edit, needles", [
    (lambda s: s.replace('"strategies.sma_cross:SmaCross"', '"../strategies/sma_cross.py:SmaCross"'),
     ["key 'strategy'", "not a file path"]),
    (lambda s: s.replace('symbols = ["SPY", "QQQ", "AAPL", "MSFT", "NVDA"]',
                         'symbols = ["SPY", "SPY"]'), ["key 'symbols'", "listed twice: SPY"]),
    (lambda s: s.replace("initial_cash = 100000.0", "initial_cash = inf"),
     ["key 'backtest.initial_cash'", "finite number"]),
    (lambda s: s.replace("size = 0.2", "size = 1e400"), ["key 'decision.size'", "finite number"]),
    (lambda s: s.replace('timeframe = "1d"', 'timeframe = "1d"\nstart = 2024-02-01\n'
                                             'end = 2024-01-01'),
     ["key 'data'", "start 2024-02-01 is after end 2024-01-01"]),
])
def test_bad_strategy_files_are_one_line(tmp_path, capsys, monkeypatch, edit, needles):
    toml = _toml(tmp_path, edit(SMA))
    code, _, err = fw(capsys, monkeypatch, "backtest", str(toml), "--lake", str(tmp_path))
    line = one_line_error(err)
    assert code == 2 and str(toml) in line and all(n in line for n in needles), line


def test_non_utf8_toml_names_the_line(tmp_path, capsys, monkeypatch):
    toml = tmp_path / "latin1.toml"
    toml.write_bytes(SMA.replace("# Daily", "# Caf\xe9 daily").encode("latin-1"))
    code, _, err = fw(capsys, monkeypatch, "backtest", str(toml))
    line = one_line_error(err)
    assert code == 2 and str(toml) in line and "not UTF-8 text: byte 0xe9 on line 1" in line


def test_unknown_timezone_in_a_csv_mapping(tmp_path, capsys, monkeypatch):
    cfg = _toml(tmp_path, "[csv.x]\ntimestamp = 't'\ntimezone = 'Mars/Olympus'\n"
                          "columns = { close = 'c' }\n", "data.toml")
    code, _, err = fw(capsys, monkeypatch, "data", "ingest", "--source", "csv", "--config",
                      str(cfg), "--csv-format", "x", "--symbols", "SPY", "--lake",
                      str(tmp_path / "lake"), str(cfg))
    line = one_line_error(err)
    assert code == 2 and "key 'csv.x.timezone'" in line and "Mars/Olympus" in line


def test_symbols_given_space_separated_is_refused(tmp_path, capsys, monkeypatch):
    """`--symbols SPY QQQ` gave --symbols one value and QQQ as a FILE: it used to ingest SPY
    alone without a word."""
    lake = str(tmp_path / "lake")
    code, _, err = fw(capsys, monkeypatch, "data", "ingest", "--source", "synthetic",
                      "--symbols", "SPY", "QQQ", "--start", "2024-01-02", "--end", "2024-01-02",
                      "--lake", lake)
    line = one_line_error(err)
    assert code == 2 and "takes no FILE arguments, got QQQ" in line
    assert "write --symbols SPY,QQQ" in line and not Path(lake, "trades").exists()
    code, _, err = fw(capsys, monkeypatch, "data", "ingest", "--source", "lobster",
                      "--symbols", "AMZN", "MSFT", "--start", "2012-06-21", "--lake", lake)
    line = one_line_error(err)
    assert code == 2 and "MSFT: file not found; if MSFT is a ticker" in line
    code, _, err = fw(capsys, monkeypatch, "data", "ingest", "--source", "synthetic",
                      "--symbols", "SPY,spy", "--lake", lake)
    assert code == 2 and "--symbols: SPY given twice" in one_line_error(err)
    code, _, err = fw(capsys, monkeypatch, "data", "ingest", "--source", "synthetic",
                      "--start", "2024-02-01", "--end", "2024-01-01", "--lake", lake)
    assert code == 2 and "--start 2024-02-01 is after --end 2024-01-01" in one_line_error(err)


def test_lobster_bad_price_and_lake_that_is_a_file(tmp_path, capsys, monkeypatch):
    msg = tmp_path / "AMZN_message.csv"
    msg.write_text("34200.1,1,5,100,2238100,1\n34200.2,1,6,100,9223372036854775808,1\n")
    code, _, err = fw(capsys, monkeypatch, "data", "ingest", "--source", "lobster", "--symbols",
                      "AMZN", "--start", "2012-06-21", "--lake", str(tmp_path / "lake"), str(msg))
    line = one_line_error(err)
    assert code == 2 and f"{msg}: line 2: price '9223372036854775808'" in line
    code, _, err = fw(capsys, monkeypatch, "data", "list", "--lake", str(msg))
    assert code == 2 and "the lake root must be a folder" in one_line_error(err)


def test_out_of_memory_is_one_line(tmp_path, capsys, monkeypatch):
    """A config that asks for more memory than there is: numpy/numba's MemoryError."""
    cfg = _toml(tmp_path, "[synthetic]\ntrades_per_day = 1e15\n", "data.toml")
    code, _, err = fw(capsys, monkeypatch, "data", "ingest", "--source", "synthetic",
                      "--symbols", "SPY", "--start", "2024-01-02", "--end", "2024-01-02",
                      "--config", str(cfg), "--lake", str(tmp_path / "lake"))
    line = one_line_error(err.split("\r")[-1])  # the progress bar redraws with \r
    assert code == 2 and line.startswith("error: out of memory (at ") and "synthetic" in line


CRASHY = '''
import numpy as np

from framework.strategy import Signals, Strategy


class Crashy(Strategy):
    """Divides by zero on purpose."""

    def signals(self, panel):
        per_bar = panel.n_bars // (panel.n_bars - len(panel.ts))
        return Signals.of(np.full(per_bar, 1), np.full(per_bar, 0))


class Explodes(Strategy):
    def __init__(self, params, context):
        raise RuntimeError("cannot start")
'''


@pytest.fixture
def crashy(tmp_path, monkeypatch) -> Path:
    (tmp_path / "crashy_strategies.py").write_text(CRASHY)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_crash_in_signals_names_the_strategy_file_and_line(crashy, small_lake, capsys,
                                                          monkeypatch):
    toml = _toml(crashy, 'name = "crashy"\nstrategy = "crashy_strategies:Crashy"\n'
                         'symbols = ["SPY"]\n[data]\ntimeframe = "1m"\n')
    code, _, err = fw(capsys, monkeypatch, "backtest", str(toml), "--lake", str(small_lake),
                      "--out", str(crashy / "reports"))
    line = one_line_error(err)
    assert code == 2 and f"Crashy ({toml}): signals() failed at " in line
    assert f"{crashy / 'crashy_strategies.py'}:11 (in signals)" in line
    assert "ZeroDivisionError" in line and not (crashy / "reports").exists()


def test_any_other_error_is_one_line_and_debug_shows_the_traceback(crashy, small_lake, capsys,
                                                                   monkeypatch):
    toml = _toml(crashy, 'name = "boom"\nstrategy = "crashy_strategies:Explodes"\n'
                         'symbols = ["SPY"]\n')
    args = ["backtest", str(toml), "--lake", str(small_lake), "--out", str(crashy / "r")]
    code, _, err = fw(capsys, monkeypatch, *args)
    line = one_line_error(err)
    assert code == 1 and line.startswith("error: RuntimeError: cannot start (at ")
    assert "crashy_strategies.py:17 in __init__" in line and "fw --debug" in line
    monkeypatch.setattr(sys, "argv", ["fw", "--debug", *args])
    with pytest.raises(RuntimeError, match="cannot start"):  # the traceback reaches the user
        main()
