"""fw's vectorized engine against vectorbt's ``Portfolio.from_signals``, same assumptions.

Mapping (also in docs/sweep.md): fw fills a signal seen at bar t's close at bar t+1's
open, so vectorbt gets the signals shifted one bar later and ``price=open``; fw's
bps fee -> ``fees`` (fraction), fixed-bps slippage -> ``slippage`` (fraction), a minimum
commission with zero per-share rate (or per-share x fixed shares) -> ``fixed_fees``;
all-in fractional -> ``size=inf``; fixed shares -> ``size_type='amount'``; USD value ->
``size_type='value'``; shared cash over symbols -> ``cash_sharing=True`` with one group,
column-order call sequence. Long-only, entry while long and exit while flat ignored.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

vbt = pytest.importorskip("vectorbt")

from framework.engine.vector import run_signals  # noqa: E402
from framework.execution.costs import NO_COSTS, CostConfig  # noqa: E402
from framework.features.kernels_trend import sma_batch  # noqa: E402
from framework.sweep import sweep_crossover  # noqa: E402

RTOL = 1e-9


def cross_signals(close: np.ndarray, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """Entries/exits of an SMA cross per column (crossing above / below at the close)."""
    c = close if close.ndim == 2 else close[:, None]
    en = np.zeros(c.shape, bool)
    ex = np.zeros(c.shape, bool)
    for s in range(c.shape[1]):
        f, sl = (
            sma_batch(np.ascontiguousarray(c[:, s]), fast),
            sma_batch(np.ascontiguousarray(c[:, s]), slow),
        )
        rel = np.where(np.isnan(f) | np.isnan(sl), -1, (f > sl).astype(int))
        prev = np.r_[-1, rel[:-1]]
        en[:, s] = (prev == 0) & (rel == 1)
        ex[:, s] = (prev == 1) & (rel == 0)
    return en, ex


def vbt_run(open_, close, en, ex, *, init_cash, costs: CostConfig, size_mode, size, fixed_fees):
    """vectorbt with fw's assumptions: signals shifted one bar, filled at the open."""
    o, c = np.atleast_2d(open_.T).T, np.atleast_2d(close.T).T
    en_s = np.zeros_like(en)
    ex_s = np.zeros_like(ex)
    en_s[1:], ex_s[1:] = en[:-1], ex[:-1]
    kw = (
        {"size": np.inf}
        if size_mode == "equity_fraction"
        else {"size": size, "size_type": "amount" if size_mode == "shares" else "value"}
    )
    return vbt.Portfolio.from_signals(
        close=c, entries=en_s, exits=ex_s, price=o, init_cash=init_cash, direction="longonly",
        fees=costs.fee_bps * 1e-4, slippage=costs.slippage_bps * 1e-4, fixed_fees=fixed_fees,
        cash_sharing=True, group_by=True, freq="1D", **kw,
    )  # fmt: skip


def assert_same(open_, close, en, ex, *, init_cash=100_000.0, costs=None, size_mode="equity_fraction",
                size=1.0, fixed_fees=0.0):  # fmt: skip
    costs = costs or NO_COSTS
    ours = run_signals(
        open_, close, en, ex, init_cash=init_cash, costs=costs, size_mode=size_mode, size=size
    )
    pf = vbt_run(open_, close, en, ex, init_cash=init_cash, costs=costs, size_mode=size_mode, size=size,
                 fixed_fees=fixed_fees)  # fmt: skip
    rec = pf.orders.values
    theirs = pl.DataFrame({
        "bar": rec["idx"].astype(np.int64), "symbol": rec["col"].astype(np.int64),
        "qty": np.where(rec["side"] == 0, rec["size"], -rec["size"]), "price": rec["price"], "fee": rec["fees"],
    }).sort(["bar", "symbol"])  # fmt: skip
    mine = ours.fills.sort(["bar", "symbol"])
    assert mine.height == theirs.height > 0
    assert (mine["bar"] == theirs["bar"]).all() and (mine["symbol"] == theirs["symbol"]).all()
    for col in ("qty", "price", "fee"):
        np.testing.assert_allclose(
            mine[col].to_numpy(), theirs[col].to_numpy(), rtol=RTOL, atol=1e-9
        )
    value = np.asarray(pf.value()).ravel()
    np.testing.assert_allclose(ours.equity, value, rtol=RTOL)
    np.testing.assert_allclose(ours.equity[-1], value[-1], rtol=RTOL)
    return ours


def load_daily(path) -> tuple[np.ndarray, np.ndarray]:
    df = pl.read_csv(path).filter(pl.col("Open") > 0)
    return df["Open"].to_numpy().astype(float), df["Close"].to_numpy().astype(float)


@pytest.mark.parametrize("name", ["nvda-1999-2014.txt", "orcl-1995-2014.txt", "yhoo-1996-2015.txt"])
@pytest.mark.parametrize(
    ("costs", "size_mode", "size", "fixed_fees"),
    [
        (NO_COSTS, "equity_fraction", 1.0, 0.0),
        (CostConfig(model="custom", fee_bps=10.0, slippage_bps=5.0, min_fee=1.0),
                    "equity_fraction", 1.0, 1.0),
        (CostConfig(model="custom", per_share=0.005, slippage_bps=3.0), "shares", 300.0,
                    300 * 0.005),
    ],
)
def test_sma_cross_real_daily(shared_data, name, costs, size_mode, size, fixed_fees):
    o, c = load_daily(shared_data / "daily" / "backtrader" / name)
    en, ex = cross_signals(c, 10, 30)
    ours = assert_same(
        o, c, en, ex, costs=costs, size_mode=size_mode, size=size, fixed_fees=fixed_fees
    )
    # The sweep kernel (streamed metrics, time blocks) lands on the same final equity.
    df = sweep_crossover(
        o, c, np.array([[10, 30]]), costs=costs, size_mode=size_mode, size=size, block_bars=777
    )
    np.testing.assert_allclose(df["final_equity"][0], ours.equity[-1], rtol=RTOL)
    assert df["n_fills"][0] == ours.fills.height


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sma_cross_random_walk_multi_symbol(seed):
    rng = np.random.default_rng(seed)
    T, S = 3000, 3
    c = 50 * np.exp(np.cumsum(rng.normal(0, 0.015, (T, S)), axis=0))
    o = c * np.exp(rng.normal(0, 0.003, (T, S)))
    en, ex = cross_signals(c, 7, 25)
    costs = CostConfig(model="custom", fee_bps=float(rng.uniform(0, 20)),
                       slippage_bps=float(rng.uniform(0, 10)))
    # USD notional per entry so symbols share the cash without one taking all of it.
    ours = assert_same(o, c, en, ex, costs=costs, size_mode="value", size=30_000.0)
    df = sweep_crossover(
        o, c, np.array([[7, 25], [25, 7]]), costs=costs, size_mode="value", size=30_000.0
    )
    np.testing.assert_allclose(df["final_equity"][0], ours.equity[-1], rtol=RTOL)


def test_random_signals_all_in_with_costs():
    rng = np.random.default_rng(7)
    T = 2500
    c = 20 * np.exp(np.cumsum(rng.normal(0, 0.02, T)))
    o = c * np.exp(rng.normal(0, 0.005, T))
    en, ex = (
        rng.random(T) < 0.05,
        rng.random(T) < 0.05,
    )  # conflicts included: both sides ignore them
    assert_same(o, c, en[:, None], ex[:, None], costs=CostConfig(model="custom", fee_bps=7.5,
                                                                 slippage_bps=4.0, min_fee=0.5),
                fixed_fees=0.5)  # fmt: skip
