"""The book fw rebuilds from LOBSTER messages equals LOBSTER's own orderbook file after
every message of every shared sample, replayed from the lake like any other data."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from framework.cli import data_cmd
from framework.data import Lake
from framework.data.sources.lobster import load_lobster, read_orderbook
from framework.marketdata.book.book import OrderBooks
from framework.marketdata.book.lobster_window import with_window_events
from framework.marketdata.replay import ReplayFeed, records
from framework.types import BOOK_EVENT_DTYPE, BookEvent

_NAME = re.compile(r"(?P<sym>[A-Z]+)_(?P<day>\d{4}-\d{2}-\d{2})_\d+_\d+_message_(?P<lv>\d+)")


def _samples(shared: Path) -> list[tuple[str, dt.date, Path, Path]]:
    out = []
    for msg in sorted((shared / "lobster").glob("*_message_*.csv")):
        m = _NAME.match(msg.name)
        out.append((m["sym"], dt.date.fromisoformat(m["day"]), msg,
                    msg.with_name(msg.name.replace("_message_", "_orderbook_"))))
    return out


def _rows_after_each_message(events: np.ndarray, books: OrderBooks, n_levels: int):
    """Top-N after the last event of each message's group (message + its LEVEL events)."""
    top = books.apply(events, top_n=n_levels)
    group = np.cumsum(events["kind"] != BookEvent.LEVEL) - 1
    last = np.r_[np.nonzero(np.diff(group))[0], group.size - 1]
    last = last[group[last] >= 0]
    return [a[last] for a in top]


def _assert_equal_to_lobster(events: np.ndarray, orderbook: Path) -> int:
    ask_px, ask_sz, bid_px, bid_sz = read_orderbook(orderbook)
    got = _rows_after_each_message(events, OrderBooks(1), ask_px.shape[1])
    want = [np.where(ask_px < 0, np.nan, ask_px / 1e4), ask_sz,
            np.where(bid_px < 0, np.nan, bid_px / 1e4), bid_sz]
    assert got[0].shape == want[0].shape
    for name, g, w in zip(("ask price", "ask size", "bid price", "bid size"), got, want,
                          strict=True):
        bad = np.nonzero(~((g == w) | (np.isnan(g) & np.isnan(w))).all(axis=1))[0]
        assert bad.size == 0, (f"{orderbook.name}: {name} differs on {bad.size} rows, first "
                               f"row {bad[0] + 1}: got {g[bad[0]]}, LOBSTER {w[bad[0]]}")
    return ask_px.shape[0]


def test_every_row_of_every_sample_equals_lobster(shared_data: Path) -> None:
    samples = _samples(shared_data)
    assert {s[0] for s in samples} >= {"AMZN", "GOOG", "TSLA"}
    for sym, day, msg, book in samples:
        events = with_window_events(load_lobster(msg, book, sym, day), book)
        rows = _assert_equal_to_lobster(records(events, BOOK_EVENT_DTYPE), book)
        assert rows == pl.read_csv(msg, has_header=False).height


def test_window_events_only_fill_what_messages_cannot_say(shared_data: Path) -> None:
    """LEVEL events are a minority, come after a message, and a level that stays visible
    is never touched by them: without them the book diverges, with them it is exact."""
    sym, day, msg, book = next(s for s in _samples(shared_data) if s[0] == "AMZN")
    raw = load_lobster(msg, book, sym, day)
    full = with_window_events(raw, book)
    levels = full.filter(pl.col("kind") == BookEvent.LEVEL)
    assert 0 < levels.height < raw.height
    # messages alone, seeded the same way, go wrong as soon as the best level empties
    seed = full.head(int((full["kind"] != BookEvent.LEVEL).arg_max()))
    with pytest.raises(AssertionError, match="differs"):
        _assert_equal_to_lobster(records(pl.concat([seed, raw]), BOOK_EVENT_DTYPE), book)


def test_replayed_from_the_lake_equals_lobster(shared_data: Path, tmp_path: Path) -> None:
    sym, day, msg, book = next(s for s in _samples(shared_data) if s[0] == "GOOG")
    res = CliRunner().invoke(data_cmd.app, ["ingest", "--source", "lobster", "--symbols", sym,
                                            "--start", str(day), "--lake", str(tmp_path),
                                            str(msg), str(book)])
    assert res.exit_code == 0, res.output
    feed = ReplayFeed.from_lake(Lake(tmp_path), [sym], datasets=["book_events"])
    _assert_equal_to_lobster(feed.events().book, book)
