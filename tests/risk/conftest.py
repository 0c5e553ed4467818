"""Shared builders for the risk tests."""

from __future__ import annotations

import numpy as np
import pytest

from framework.risk import RiskConfig, make_risk


class Risk:
    """The four risk arrays plus short-hands that call the real njit hooks."""

    def __init__(self, n_symbols: int = 2, equity: float = 100_000.0, **cfg):
        self.cfg = RiskConfig(**cfg)
        self.L, self.SL, self.S, self.SS = make_risk(self.cfg, n_symbols, equity)

    @property
    def st(self):
        return self.S[0]

    def check(self, sym, side, qty, price, ts=1):
        from framework.risk import pre_trade_check

        return pre_trade_check(
            self.L, self.SL, self.S, self.SS, sym, side, float(qty), float(price), ts
        )

    def fill(self, sym, side, qty, price, fee=0.0, ts=1):
        from framework.risk import on_fill

        on_fill(
            self.L, self.SL, self.S, self.SS, sym, side, float(qty), float(price), float(fee), ts
        )

    def mark(self, sym, price, ts=1, bid=np.nan, ask=np.nan):
        from framework.risk import on_mark

        return on_mark(
            self.L, self.SL, self.S, self.SS, sym, float(bid), float(ask), float(price), ts
        )

    def quote(self, sym, bid, ask, ts=1):
        from framework.risk import on_mark

        return on_mark(self.L, self.SL, self.S, self.SS, sym, float(bid), float(ask), np.nan, ts)

    def close_order(self, sym, side, remaining, ts=1):
        from framework.risk import on_order_closed

        on_order_closed(self.L, self.SL, self.S, self.SS, sym, side, float(remaining), ts)


@pytest.fixture(scope="session")
def new_risk():
    """The ``Risk`` class (stateless: each test builds its own arrays)."""
    return Risk
