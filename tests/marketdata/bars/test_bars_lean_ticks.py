"""Real ticks: 1-minute bars from LEAN's SPY tick trades (AlgoSeek, 2013-10-07..11) against
the minute bars QuantConnect built from the same ticks (``../shared/data/intraday/lean``).

LEAN's minute bars apply sale-condition rules of their own (auction prints, and a 15:59 bar
that can reach past 16:00), so the comparison is exact where those rules cannot matter:
every regular-session minute label, the volume of every minute but the 09:30 open and the
15:59 close, and LEAN's high/low inside ours (we keep every print) for every minute but 15:59.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
import zoneinfo

import numpy as np
import polars as pl
import pytest

from framework.marketdata.bars import BarSpec, build_bars
from framework.types import TRADE_DTYPE

DAYS = ["20131007", "20131008", "20131009", "20131010", "20131011"]
NS_MIN = 60_000_000_000
MS_0930, MS_1559 = 34_200_000, 57_540_000


def _csv(path, names, overrides=None) -> pl.DataFrame:
    with zipfile.ZipFile(path) as z:
        raw = z.read(z.namelist()[0])
    return pl.read_csv(io.BytesIO(raw), has_header=False, new_columns=names,
                       schema_overrides=overrides)


@pytest.mark.parametrize("day", DAYS)
def test_minute_bars_from_lean_ticks_match_lean_minute_bars(shared_data, day):
    base = shared_data / "intraday" / "lean" / "equity" / "usa"
    ticks = _csv(base / "tick" / "spy" / f"{day}_trade.zip",
                 ["ms", "price", "qty", "ex", "cond", "susp"], {"cond": pl.String})
    lean = _csv(base / "minute" / "spy" / f"{day}_trade.zip", ["ms", "o", "h", "l", "c", "v"])
    d = dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))
    midnight = int(dt.datetime(d.year, d.month, d.day,
                               tzinfo=zoneinfo.ZoneInfo("America/New_York")).timestamp()) * 10**9
    tr = np.zeros(ticks.height, TRADE_DTYPE)
    tr["ts"] = midnight + ticks["ms"].to_numpy() * 1_000_000
    tr["price"] = ticks["price"].to_numpy() / 10_000.0  # deci-cents -> USD
    tr["size"] = ticks["qty"].to_numpy()
    res = build_bars(tr, BarSpec.time(NS_MIN))
    c = res.counts
    assert c["out_of_session"] > 0 and c["bad"] == 0 and c["out_of_order"] == 0
    assert c["accepted"] + c["out_of_session"] == ticks.height
    b = res.bars
    ours = pl.DataFrame({"ms": (b["ts"] - midnight) // 1_000_000, "H": b["high"] * 10_000,
                         "L": b["low"] * 10_000, "V": b["volume"]})
    rth = lean.filter((pl.col("ms") >= MS_0930) & (pl.col("ms") < MS_0930 + 390 * 60_000))
    assert ours["ms"].to_list() == rth["ms"].to_list()  # 390 session-aligned labels
    j = rth.join(ours, on="ms")
    regular = j.filter(~pl.col("ms").is_in([MS_0930, MS_1559]))
    assert (regular["v"] == regular["V"]).all()
    inside = j.filter(pl.col("ms") != MS_1559)
    assert ((inside["h"] <= inside["H"].round(0)) & (inside["l"] >= inside["L"].round(0))).all()
