"""CSV bars at the lake's edge, on small files written here (no shared data needed): bar-end
labels become start labels, daily bars are stamped at their session's open, and the
session filter keeps regular or extended hours."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from framework.cli import data_cmd
from framework.data import DataError, Lake
from framework.data.calendar import sessions
from framework.data.settings import CsvMapping
from framework.data.sources.csv_source import read_csv

NS_MIN = 60_000_000_000
_, OPENS, CLOSES = sessions(dt.date(2024, 1, 2), dt.date(2024, 1, 3))
OPEN, CLOSE = int(OPENS[0]), int(CLOSES[0])  # 2024-01-02 09:30 / 16:00 New York (EST)
COLS = {"open": "o", "high": "h", "low": "l", "close": "c", "volume": "v"}


def _write(path, stamps):
    path.write_text("t,o,h,l,c,v\n" + "".join(f"{s},10,11,9,10.5,100\n" for s in stamps))
    return path


def test_bar_end_labels_become_bar_starts(tmp_path):
    """A vendor labelling a minute bar by its END (the interval (t - 1 min, t]) -- the
    right-closed convention -- is read as the bar starting one minute earlier: 09:31 is
    the 09:30 bar, 16:00 the 15:59 bar; 09:30 (the pre-market minute 09:29) is not a
    regular-session bar. Rows come newest first, as such files often do."""
    f = _write(tmp_path / "end.csv", ["2024-01-02 16:00", "2024-01-02 09:31",
                                     "2024-01-02 09:30"])
    m = CsvMapping(timestamp="t", timestamp_format="%Y-%m-%d %H:%M", label="end", columns=COLS)
    assert read_csv(f, m)["ts"].to_list() == [OPEN, CLOSE - NS_MIN]
    assert read_csv(f, m, session="extended")["ts"].to_list() == [
        OPEN - NS_MIN, OPEN, CLOSE - NS_MIN]
    start = m.model_copy(update={"label": "start"})  # the same stamps as bar starts
    assert read_csv(f, start)["ts"].to_list() == [OPEN, OPEN + NS_MIN]


def test_daily_bars_are_stamped_at_the_session_open(tmp_path):
    f = _write(tmp_path / "d.csv", ["2024-01-03", "2024-01-02"])
    m = CsvMapping(dataset="bars_1d", timestamp="t", timestamp_format="%Y-%m-%d",
                   columns=COLS)
    assert read_csv(f, m)["ts"].to_list() == [OPEN, int(OPENS[1])]
    _write(f, ["2024-01-02", "2024-01-06"])  # a Saturday
    with pytest.raises(DataError, match=r"d\.csv, column 't': row 3: daily bar at "
                                        r"2024-01-06T00:00:00-05:00 \(2024-01-06\) is not on"):
        read_csv(f, m)


def test_session_filter_at_ingest(tmp_path):
    """04:00-20:00 minute bars: the regular filter keeps 09:30-15:59, the extended one all
    but the 20:00 and 03:59 bars; the CLI flag overrides the mapping's `session`."""
    stamps = ["2024-01-02 03:59", "2024-01-02 04:00", "2024-01-02 09:29", "2024-01-02 09:30",
              "2024-01-02 15:59", "2024-01-02 16:00", "2024-01-02 19:59", "2024-01-02 20:00"]
    f = _write(tmp_path / "x.csv", stamps)
    cfg = tmp_path / "data.toml"
    cfg.write_text('[csv.x]\ndataset = "bars_1m"\ntimestamp = "t"\n'
                   'timestamp_format = "%Y-%m-%d %H:%M"\nsession = "regular"\n'
                   'columns = { open = "o", high = "h", low = "l", close = "c", volume = "v" }\n')
    lake = tmp_path / "lake"
    runner = CliRunner()
    base = ["ingest", "--source", "csv", "--csv-format", "x", "--config", str(cfg),
            "--symbols", "SPY", "--lake", str(lake), str(f)]
    r = runner.invoke(data_cmd.app, base)
    assert r.exit_code == 0 and "bars_1m 2 rows" in r.output, r.output
    r = runner.invoke(data_cmd.app, [*base, "--session", "extended"])
    assert r.exit_code == 0 and "bars_1m 6 rows" in r.output, r.output
    assert Lake(lake).read("bars_1m", "SPY")["ts"].min() == OPEN - 330 * NS_MIN  # 04:00
