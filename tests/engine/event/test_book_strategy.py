"""The order-book-imbalance strategy on replayed L3 books: on LOBSTER's real AMZN and
GOOG books the levels it reads at each decision equal LOBSTER's own orderbook file, it
trades through the book fill model (passive entries filled from the queue), and it has no
look-ahead; the engine's book grows mid-run without changing a single fill."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from framework.cli import data_cmd
from framework.data.calendar import ny_midnight_ns
from framework.data.sources.lobster import read_messages, read_orderbook
from framework.engine.backtest import run_backtest
from framework.engine.event.engine import advance, new_state, result_of
from framework.engine.lookahead import check_lookahead
from framework.marketdata.book.book import OrderBooks

ROOT = Path(__file__).resolve().parents[3]
DAY = dt.date(2012, 6, 21)
LOBSTER = {s: f"{s}_2012-06-21_34200000_57600000_{{}}_1.csv" for s in ("AMZN", "GOOG")}


@pytest.fixture(scope="module")
def lobster_lake(shared_data: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lobster_lake")
    for sym, name in LOBSTER.items():
        files = [str(shared_data / "lobster" / name.format(k)) for k in ("message", "orderbook")]
        res = CliRunner().invoke(data_cmd.app, ["ingest", "--source", "lobster", "--symbols",
                                                sym, "--start", str(DAY), "--lake", str(root),
                                                *files])
        assert res.exit_code == 0, res.output
    return root


def test_obi_reads_lobster_books_and_trades_through_the_queue(lobster_lake, shared_data):
    run = run_backtest(ROOT / "strategies" / "obi_lobster.toml", lake_root=lobster_lake,
                       write=False)
    panel = run.panel
    assert panel.n_bars == 23_400 and panel.symbols == ("AMZN", "GOOG")
    dec = panel.decision_ts()
    for s, sym in enumerate(panel.symbols):
        msgs = read_messages(shared_data / "lobster" / LOBSTER[sym].format("message"))
        ask_px, ask_sz, bid_px, bid_sz = read_orderbook(
            shared_data / "lobster" / LOBSTER[sym].format("orderbook"))
        ts = ny_midnight_ns(DAY) + msgs["time_ns"].to_numpy()
        row = np.searchsorted(ts, dec, side="left") - 1  # last message before each decision
        seen = row >= 0
        want_bid = np.where(bid_px[row, 0] < 0, np.nan, bid_px[row, 0] / 1e4)
        want_ask = np.where(ask_px[row, 0] < 0, np.nan, ask_px[row, 0] / 1e4)
        np.testing.assert_array_equal(panel.book.bid_px[seen, s, 0], want_bid[seen])
        np.testing.assert_array_equal(panel.book.ask_px[seen, s, 0], want_ask[seen])
        np.testing.assert_array_equal(panel.book.bid_sz[seen, s, 0], bid_sz[row[seen], 0])
        np.testing.assert_array_equal(panel.book.ask_sz[seen, s, 0], ask_sz[row[seen], 0])
    fills, orders = run.result.fills, run.result.orders
    assert set(fills["symbol"].unique().to_list()) == {"AMZN", "GOOG"}
    entries = orders.filter(orders["role"] == "entry")
    assert entries.height > 20 and (entries["type"] == "limit").all()
    assert fills["maker"].sum() > 0, "passive entries must fill from the replayed queue"
    assert (entries["status"] == "canceled").sum() > 0, "and some must time out in it"
    pos = run.result.positions
    assert (pos["AMZN"][-1], pos["GOOG"][-1]) == (0.0, 0.0)  # flat at the close
    assert np.isfinite(run.result.equity["equity"].to_numpy()).all()


def test_obi_on_lobster_has_no_lookahead(lobster_lake):
    rep = check_lookahead(ROOT / "strategies" / "obi_lobster.toml", lake_root=lobster_lake)
    assert rep.ok, rep.problems
    assert rep.change_bars > 50 and len(rep.cuts) >= rep.change_bars


def _run(run, state):
    advance(state, run.panel, run.signals, 0, run.panel.n_bars, book_tape=run.book_tape)
    return result_of(state, run.panel), state


def test_book_and_tables_growing_mid_run_change_nothing(book_lake):
    run = run_backtest(ROOT / "strategies" / "obi_book.toml", lake_root=book_lake,
                       write=False)
    cfg, panel, tape = run.config, run.panel, run.book_tape
    kw = dict(decision=cfg.decision, costs=cfg.costs, risk=cfg.risk,
              execution=cfg.execution, init_cash=cfg.backtest.initial_cash)
    tiny = new_state(panel.symbols, panel.n_bars, capacity=8, **kw)
    tiny.books = OrderBooks(len(panel.symbols), max_orders=16)
    small, st = _run(run, tiny)
    assert st.books.state.o_id.shape[0] > 16 and st.orders.orders.shape[0] > 8, "both grew"
    big = new_state(panel.symbols, panel.n_bars, capacity=1 << 14, **kw)
    big.books = OrderBooks(len(panel.symbols), max_orders=1 << 16)
    for b in range(len(panel.symbols)):
        px = tape.price[tape.sym == b]
        big.books.reserve(b, int(px.min()) - 10_000, int(px.max()) + 10_000)
    large, _ = _run(run, big)
    assert small.fills.height > 20
    for res in (small, large):
        assert res.orders.equals(run.result.orders)
        assert res.fills.equals(run.result.fills)
        np.testing.assert_array_equal(res.equity["equity"], run.result.equity["equity"])
