"""The indicator registry: one ``Indicator`` entry per feature-set kind.

Everything a feature set needs about a kind is derived from its entry: the TOML ``kind``
values (``FeatureSpec.kind``), the parameter checks, the column names, the lookback, the
streaming state and the batch loop. Adding an indicator is its kernels (``NAME_state``,
``NAME_update``, ``NAME_run`` in a ``kernels_*`` module), one entry in ``INDICATORS``, and
one ``code == KindCode.NAME`` branch in ``framework.features.plan.featureset_step`` -- numba compiles
that dispatch as an explicit if-chain, so it cannot be read from this table; a test fails
while a registered code has no branch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

import numpy as np

from framework.features import kernels_micro as km
from framework.features import kernels_oscillators as ko
from framework.features import kernels_stats as ks
from framework.features import kernels_trend as kt


class Block(NamedTuple):
    """A block of OHLCV bars (USD, shares), each a float64 ``[time]`` array."""

    o: np.ndarray
    h: np.ndarray
    low: np.ndarray
    c: np.ndarray
    v: np.ndarray


# run(state, bars, out, k_up, k_dn): the kind's numba ``*_run`` over a block of bars,
# writing its columns into the rows out[0], out[1], ... (float64 [column x time]).
Run = Callable[[np.ndarray, Block, np.ndarray, float, float], None]


@dataclass(frozen=True)
class Indicator:
    """One feature-set kind.

    - ``kind``: the TOML name (``kind = "rsi"``).
    - ``code``: its number in a compiled plan; ``featureset_step`` branches on it.
    - ``params``: the integer parameters it takes, in the order its ``state`` takes
      them, each with its smallest allowed value.
    - ``columns``: output column names from the parameter dict (``FeatureSpec.params``).
    - ``lookback``: index of the first value on gap-free data (TA-Lib's lookback).
    - ``state``: the fresh streaming state (float64 array) from the integer parameters.
    - ``run``: the batch loop over a block of bars (see ``Run``).
    """

    kind: str
    code: int
    params: dict[str, int]
    columns: Callable[[dict], list[str]]
    lookback: Callable[[dict], int]
    state: Callable[..., np.ndarray]
    run: Run

    def fresh_state(self, p: dict) -> np.ndarray:
        """The cold streaming state for parameter dict ``p``."""
        return self.state(*(p[name] for name in self.params))


def _g(x: float) -> str:
    return f"{x:g}"


def _named(prefix: str) -> Callable[[dict], list[str]]:
    """One column ``PREFIX_N``."""
    return lambda p: [f"{prefix}_{p['n']}"]


def _n_less(k: int) -> Callable[[dict], int]:
    """Lookback ``n - k``."""
    return lambda p: p["n"] - k


def _bb_columns(p: dict) -> list[str]:
    ku, kd = _g(p["k_up"]), _g(p["k_dn"])
    return [f"bb_upper_{p['n']}_{ku}", f"bb_middle_{p['n']}_{ku}", f"bb_lower_{p['n']}_{kd}"]


def _macd_columns(p: dict) -> list[str]:
    tail = f"{p['fast']}_{p['slow']}_{p['signal']}"
    return [f"{c}_{tail}" for c in ("macd", "macd_signal", "macd_hist")]


def _stoch_columns(p: dict) -> list[str]:
    return [f"stoch_{c}_{p['k']}_{p['sk']}_{p['sd']}" for c in ("k", "d")]


_N1 = {"n": 1}
_N2 = {"n": 2}

# fmt: off
INDICATORS: tuple[Indicator, ...] = (
    Indicator("sma", 1, _N1, _named("sma"), _n_less(1), kt.sma_state,
              lambda s, b, out, *_: kt.sma_run(s, b.c, out[0])),
    Indicator("ema", 2, _N1, _named("ema"), _n_less(1), kt.ema_state,
              lambda s, b, out, *_: kt.ema_run(s, b.c, out[0])),
    Indicator("wma", 3, _N1, _named("wma"), _n_less(1), kt.wma_state,
              lambda s, b, out, *_: kt.wma_run(s, b.c, out[0])),
    Indicator("rsi", 4, _N2, _named("rsi"), _n_less(0), ko.rsi_state,
              lambda s, b, out, *_: ko.rsi_run(s, b.c, out[0])),
    Indicator("macd", 5, {"fast": 2, "slow": 2, "signal": 1}, _macd_columns,
              lambda p: max(p["fast"], p["slow"]) + p["signal"] - 2, kt.macd_state,
              lambda s, b, out, *_: kt.macd_run(s, b.c, out[0], out[1], out[2])),
    Indicator("bbands", 6, _N1, _bb_columns, _n_less(1), kt.bbands_state,
              lambda s, b, out, ku, kd: kt.bbands_run(s, b.c, ku, kd, out[0], out[1], out[2])),
    Indicator("zscore", 7, _N2, _named("zscore"), _n_less(1), kt.bbands_state,
              lambda s, b, out, *_: kt.zscore_run(s, b.c, out[0])),
    Indicator("atr", 8, _N1, _named("atr"), _n_less(0), ko.atr_state,
              lambda s, b, out, *_: ko.atr_run(s, b.h, b.low, b.c, out[0])),
    Indicator("adx", 9, _N2, _named("adx"), lambda p: 2 * p["n"] - 1, ko.adx_state,
              lambda s, b, out, *_: ko.adx_run(s, b.h, b.low, b.c, out[0])),
    Indicator("stoch", 10, {"k": 1, "sk": 1, "sd": 1}, _stoch_columns,
              lambda p: p["k"] + p["sk"] + p["sd"] - 3, ko.stoch_state,
              lambda s, b, out, *_: ko.stoch_run(s, b.h, b.low, b.c, out[0], out[1])),
    Indicator("roc", 11, _N1, _named("roc"), _n_less(0), kt.lag_state,
              lambda s, b, out, *_: kt.roc_run(s, b.c, out[0])),
    Indicator("mom", 12, _N1, _named("mom"), _n_less(0), kt.lag_state,
              lambda s, b, out, *_: kt.mom_run(s, b.c, out[0])),
    Indicator("obv", 13, {}, lambda p: ["obv"], lambda p: 0, kt.obv_state,
              lambda s, b, out, *_: kt.obv_run(s, b.c, b.v, out[0])),
    Indicator("vwap", 14, _N1, _named("vwap"), _n_less(1), kt.vwap_state,
              lambda s, b, out, *_: kt.vwap_run(s, b.c, b.v, out[0])),
    Indicator("log_return", 15, {}, lambda p: ["log_return"], lambda p: 1, kt.logret_state,
              lambda s, b, out, *_: kt.logret_run(s, b.c, out[0])),
    Indicator("realized_vol", 16, _N2, _named("rv_cc"), _n_less(0), ks.realized_vol_state,
              lambda s, b, out, *_: ks.realized_vol_run(s, b.c, out[0])),
    Indicator("parkinson_vol", 17, _N1, _named("rv_parkinson"), _n_less(1), ks.parkinson_state,
              lambda s, b, out, *_: ks.parkinson_run(s, b.h, b.low, out[0])),
    Indicator("garman_klass_vol", 18, _N1, _named("rv_gk"), _n_less(1), ks.garman_klass_state,
              lambda s, b, out, *_: ks.garman_klass_run(s, b.o, b.h, b.low, b.c, out[0])),
    Indicator("skew", 19, {"n": 3}, _named("skew"), _n_less(1), ks.moments_state,
              lambda s, b, out, *_: ks.moments_run(s, b.c, out[0], 0)),
    Indicator("kurt", 20, {"n": 4}, _named("kurt"), _n_less(1), ks.moments_state,
              lambda s, b, out, *_: ks.moments_run(s, b.c, out[0], 1)),
    Indicator("amihud", 21, _N1, _named("amihud"), _n_less(0), km.amihud_state,
              lambda s, b, out, *_: km.amihud_run(s, b.c, b.v, out[0])),
)
# fmt: on

KINDS: tuple[str, ...] = tuple(i.kind for i in INDICATORS)
BY_KIND: dict[str, Indicator] = {i.kind: i for i in INDICATORS}
BY_CODE: dict[int, Indicator] = {i.code: i for i in INDICATORS}
# Each kind's plan code by name (``KindCode.ZSCORE`` = 7), derived from the entries: the
# names ``featureset_step`` branches on (numba reads an IntEnum member as a constant).
KindCode = IntEnum("KindCode", {i.kind.upper(): i.code for i in INDICATORS})
