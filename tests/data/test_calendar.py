"""The XNYS schedule fw reads is exchange-calendars' own, kept on disk so a command that
needs sessions does not import and build the calendar each time."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from framework.data import calendar as C

ROOT = Path(__file__).resolve().parents[2]


def test_sessions_equal_exchange_calendars_and_half_days_hold() -> None:
    sched = C.xnys().schedule.loc["2019-01-01":"2024-12-31"]
    dates, opens, closes = C.sessions(dt.date(2019, 1, 1), dt.date(2024, 12, 31))
    assert dates == [d.date() for d in sched.index]
    np.testing.assert_array_equal(opens, C._utc_ns(sched["open"]))
    np.testing.assert_array_equal(closes, C._utc_ns(sched["close"]))
    half = dates.index(dt.date(2024, 11, 29))  # day after Thanksgiving: 13:00 close
    assert (closes[half] - opens[half]) / 3.6e12 == 3.5
    assert C.sessions(dt.date(2024, 12, 25), dt.date(2024, 12, 25))[0] == []


def test_the_schedule_is_read_from_disk_after_the_first_build(tmp_path: Path) -> None:
    code = ("import datetime as dt, sys; from framework.data.calendar import sessions; "
            "d, o, c = sessions(dt.date(2024, 3, 1), dt.date(2024, 3, 8)); "
            "print(len(d), 'exchange_calendars' in sys.modules)")
    env = {**os.environ, "FW_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout.split() for _ in range(2)]
    assert runs == [["6", "True"], ["6", "False"]]
    assert len(list(tmp_path.glob("xnys-*.npz"))) == 1


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path) -> None:
    code = ("import datetime as dt; from framework.data.calendar import sessions; "
            "print(len(sessions(dt.date(2024, 3, 1), dt.date(2024, 3, 8))[0]))")
    env = {**os.environ, "FW_CACHE_DIR": str(tmp_path)}
    run = [sys.executable, "-c", code]
    assert subprocess.run(run, cwd=ROOT, env=env, check=True, capture_output=True,
                          text=True).stdout.split() == ["6"]
    (cached,) = tmp_path.glob("xnys-*.npz")
    cached.write_bytes(cached.read_bytes()[:100])  # truncated zip
    assert subprocess.run(run, cwd=ROOT, env=env, check=True, capture_output=True,
                          text=True).stdout.split() == ["6"]
    assert cached.stat().st_size > 100
