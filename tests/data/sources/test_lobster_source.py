"""LOBSTER files into the lake: exact timestamps, every message kept, the level window
made explicit, bad files refused with the file and row named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from framework.cli import data_cmd
from framework.data import Lake
from framework.data.schemas import DataError
from framework.data.sources.lobster import load_lobster, read_orderbook
from framework.types import BookEvent

AMZN = ("AMZN_2012-06-21_34200000_57600000_message_1.csv",
        "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv")


def test_ingest_lobster_into_the_lake(shared_data: Path, tmp_path: Path) -> None:
    msg, book = (shared_data / "lobster" / f for f in AMZN)
    res = CliRunner().invoke(data_cmd.app, ["ingest", "--source", "lobster", "--symbols",
                                            "AMZN", "--start", "2012-06-21", "--lake",
                                            str(tmp_path), str(msg), str(book)])
    assert res.exit_code == 0, res.output
    ev = pl.read_parquet(tmp_path / "book_events" / "**" / "*.parquet")
    msgs = ev.filter(pl.col("kind") != BookEvent.LEVEL)
    assert msgs.height == 57_515  # every message kept; LEVEL rows come from the orderbook file
    assert ev.height > msgs.height
    # 34200.017459617 s after New York midnight, EDT: 13:30:00.017459617 UTC, to the ns
    first = dt.datetime(2012, 6, 21, 13, 30, tzinfo=dt.UTC).timestamp() * 1e9
    assert msgs["ts"][0] == int(first) + 17_459_617
    assert msgs["price"][1] == 223.81 and msgs["side"][1] == 1 and msgs["kind"][1] == 1
    assert Lake(tmp_path).symbols("book_events") == ["AMZN"]


def test_orderbook_file_levels(shared_data: Path) -> None:
    ask_px, ask_sz, bid_px, bid_sz = read_orderbook(
        shared_data / "lobster" / "TSLA_2015-01-07_34200000_57600000_orderbook_10_SAMPLE.csv")
    assert ask_px.shape == (50, 10) and (ask_px[:, 0] > bid_px[:, 0]).all()
    assert (np.diff(ask_px[0]) > 0).all() and (np.diff(bid_px[0]) < 0).all()
    assert ask_sz[0, 0] == 277.0


def test_bad_message_file_names_file_and_row(tmp_path: Path) -> None:
    bad = tmp_path / "m.csv"
    bad.write_text("34200.1,1,5,100,2238100,1\n34200.2,9,6,100,2238100,1\n")
    with pytest.raises(DataError, match=r"m\.csv: line 2: Type must be 1\.\.7"):
        load_lobster(bad, None, "AMZN", dt.date(2012, 6, 21))
    bad.write_text("34200.3,1,5,100,2238100,1\n34200.2,1,6,100,2238100,1\n")
    with pytest.raises(DataError, match="line 2: Time goes backwards"):
        load_lobster(bad, None, "AMZN", dt.date(2012, 6, 21))
    bad.write_text("34200.1,1,5,100\n")
    with pytest.raises(DataError, match="not a LOBSTER message file"):
        load_lobster(bad, None, "AMZN", dt.date(2012, 6, 21))
