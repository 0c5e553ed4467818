"""Round trips from fills: episodes, flips, fees pro rata, open positions apart."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from framework.analytics.trades import round_trips, trade_stats


def _fills(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["ts", "symbol", "side", "qty", "price", "fee"],
                        orient="row")


def test_long_in_two_fills_out_in_one() -> None:
    f = _fills([(1, "A", 1, 100.0, 10.0, 1.0), (2, "A", 1, 100.0, 12.0, 1.0),
                (5, "A", -1, 200.0, 13.0, 2.0)])
    trades, still_open = round_trips(f)
    assert still_open == {}
    t = trades.row(0, named=True)
    assert t["direction"] == 1 and t["qty"] == 200.0 and t["entry_price"] == 11.0
    assert t["exit_price"] == 13.0 and t["gross_pnl"] == pytest.approx(400.0)
    assert t["fees"] == 4.0 and t["pnl"] == pytest.approx(396.0)
    assert t["holding_ns"] == 4 and t["return"] == pytest.approx(396.0 / 2200.0)


def test_flip_splits_the_fill_and_its_fee() -> None:
    f = _fills([(1, "A", 1, 100.0, 10.0, 0.0), (2, "A", -1, 150.0, 11.0, 3.0),
                (3, "A", 1, 50.0, 9.0, 0.5)])
    trades, still_open = round_trips(f)
    assert trades.height == 2 and still_open == {}
    long, short = trades.row(0, named=True), trades.row(1, named=True)
    assert long["direction"] == 1 and long["fees"] == pytest.approx(2.0)
    assert long["pnl"] == pytest.approx(100.0 - 2.0)
    assert short["direction"] == -1 and short["qty"] == 50.0 and short["entry_ts"] == 2
    assert short["gross_pnl"] == pytest.approx(50 * (11.0 - 9.0))
    assert short["fees"] == pytest.approx(1.0 + 0.5)


def test_symbols_are_independent_and_open_positions_reported() -> None:
    f = _fills([(1, "A", 1, 10.0, 5.0, 0.0), (2, "B", -1, 7.0, 20.0, 0.0),
                (3, "A", -1, 10.0, 6.0, 0.0)])
    trades, still_open = round_trips(f)
    assert trades["symbol"].to_list() == ["A"] and still_open == {"B": -7.0}


def test_trade_pnl_adds_up_to_the_cash_flows() -> None:
    rng = np.random.default_rng(0)
    rows, pos = [], 0.0
    for ts in range(400):
        q = float(rng.integers(1, 50))
        side = int(rng.choice([-1, 1]))
        rows.append((ts, "A", side, q, float(100 + rng.normal()), 0.01 * q))
        pos += side * q
    rows.append((400, "A", -1 if pos > 0 else 1, abs(pos), 100.0, 0.0))
    f = _fills(rows if pos else rows[:-1])
    trades, still_open = round_trips(f)
    cash = float((-f["side"] * f["qty"] * f["price"] - f["fee"]).sum())
    assert still_open == {} and trades["pnl"].sum() == pytest.approx(cash, rel=1e-9)


def test_trade_stats() -> None:
    trades, _ = round_trips(_fills([(1, "A", 1, 1.0, 10.0, 0.0), (60_000_000_001, "A", -1, 1.0,
                                                                   13.0, 0.0),
                                    (2, "B", 1, 1.0, 10.0, 0.0), (120_000_000_002, "B", -1, 1.0,
                                                                   9.0, 0.0)]))
    s = trade_stats(trades)
    assert s["trades"] == 2 and s["win_rate"] == 0.5 and s["profit_factor"] == 3.0
    assert s["expectancy"] == 1.0 and s["avg_holding_minutes"] == pytest.approx(1.5, rel=1e-6)
    assert trade_stats(trades.head(0))["trades"] == 0


def _ns(day: str, hh: int = 14, mm: int = 30) -> int:
    import datetime as dt

    d = dt.datetime.fromisoformat(day).replace(hour=hh, minute=mm, tzinfo=dt.UTC)
    return int(d.timestamp()) * 10**9


def test_holding_sessions_count_xnys_sessions() -> None:
    """Fri 2024-01-05 open -> Tue 01-09 open is 2 sessions; Fri 01-12 -> Tue 01-16 is 1
    (Monday 01-15 is Martin Luther King day); an intraday trade is 0."""
    from framework.analytics.trades import pnl_by_symbol, with_holding_sessions

    f = _fills([(_ns("2024-01-05"), "A", 1, 10.0, 10.0, 0.1),
                (_ns("2024-01-09"), "A", -1, 10.0, 11.0, 0.1),
                (_ns("2024-01-12"), "B", -1, 5.0, 20.0, 0.0),
                (_ns("2024-01-16"), "B", 1, 5.0, 21.0, 0.0),
                (_ns("2024-01-16", 15), "A", 1, 1.0, 10.0, 0.0),
                (_ns("2024-01-16", 20), "A", -1, 1.0, 9.0, 0.0)])
    trades = with_holding_sessions(round_trips(f)[0])
    assert trades["holding_sessions"].to_list() == [2, 1, 0]
    assert trade_stats(trades)["avg_holding_sessions"] == pytest.approx(1.0)
    by = pnl_by_symbol(trades)
    assert by.rows() == [("A", 2, pytest.approx(9.8 - 1.0), pytest.approx(0.2), 0.5),
                         ("B", 1, -5.0, 0.0, 0.0)]
