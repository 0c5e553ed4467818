"""The book sampler: the top levels of every book at each instant equal a book stepped
to that instant, and sampling one instant at a time as events arrive (the live driver)
gives the same rows as sampling every instant at once (the backtest)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from framework.data.settings import SyntheticBookConfig
from framework.data.sources.synthetic_book import generate_book
from framework.engine.event.book_tape import BookTape
from framework.marketdata.book.book import BookError, OrderBooks
from framework.marketdata.book.sampler import BookSampler

CFG = SyntheticBookConfig(symbols=["AAPL", "MSFT"], start=dt.date(2024, 4, 3),
                          end=dt.date(2024, 4, 3), minutes=5)


@pytest.fixture(scope="module")
def tape() -> BookTape:
    frame = pl.concat([generate_book(CFG, s).with_columns(symbol=pl.lit(s)) for s in CFG.symbols])
    return BookTape.from_frame(frame, tuple(CFG.symbols))


def test_samples_equal_a_stepped_book(tape: BookTape) -> None:
    at = np.linspace(tape.ts[0], tape.ts[-1] + 1, 97).astype(np.int64)
    got = BookSampler(2, 4).sample(*tape.columns(), at)
    assert got.bid_px.shape == (97, 2, 4)
    ref = OrderBooks(2)
    lo = 0
    for t, when in enumerate(at):
        hi = int(np.searchsorted(tape.ts, when, side="left"))  # strictly before the instant
        ref.apply_units(*(c[lo:hi] for c in tape.columns()))
        lo = hi
        for b in range(2):
            top = ref.top(4, b)
            np.testing.assert_array_equal(got.bid_px[t, b], top.bid_px)
            np.testing.assert_array_equal(got.ask_sz[t, b], top.ask_sz)
    assert np.isfinite(got.bid_px[-1, :, 0]).sum() == 0, "the day ends with the books purged"


def test_incremental_equals_batch(tape: BookTape) -> None:
    at = np.linspace(tape.ts[0], tape.ts[-1], 41).astype(np.int64)
    batch = BookSampler(2, 3).sample(*tape.columns(), at)
    live = BookSampler(2, 3)
    rows = []
    for when in at:  # the stream so far: everything up to a little after the instant
        seen = int(np.searchsorted(tape.ts, when + 50_000_000, side="right"))
        rows.append(live.sample(*(c[:seen] for c in tape.columns()), np.array([when])))
    for name in ("bid_px", "bid_sz", "ask_px", "ask_sz"):
        np.testing.assert_array_equal(np.concatenate([getattr(r, name) for r in rows]),
                                      getattr(batch, name))


def test_bad_depth_is_refused() -> None:
    with pytest.raises(BookError, match="levels"):
        BookSampler(1, 0)
