"""Feature sets: a TOML list of indicators -> a fused numba pass and a streaming state.

A feature set is compiled into a *plan* (float64 ``[feature x 6]``: code, state start,
state end, first output column, two float parameters) and one flat state array.
``featureset_step`` advances every feature by one OHLCV bar in a single njit call (the
live driver's path); the batch pass ``featureset_run`` sweeps the bars once in blocks,
running each feature's numba ``*_run`` over the block. Both call the same ``*_step`` rules of
the kernel modules, so the Polars frame of a backtest equals the live rows.

TOML::

    name = "daily_basic"
    [[features]]
    kind = "rsi"
    n = 14
    [[features]]
    kind = "bbands"
    n = 20
    k_up = 2.0
    k_dn = 2.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
from pydantic import model_validator

from framework.config import FrozenModel, load_toml
from framework.features import kernels_micro as km
from framework.features import kernels_oscillators as ko
from framework.features import kernels_stats as ks
from framework.features import kernels_trend as kt
from framework.features.indicators import FeatureError
from framework.types.jit import njit

Kind = Literal[
    "sma",
    "ema",
    "wma",
    "rsi",
    "macd",
    "bbands",
    "zscore",
    "atr",
    "adx",
    "stoch",
    "roc",
    "mom",
    "obv",
    "vwap",
    "log_return",
    "realized_vol",
    "parkinson_vol",
    "garman_klass_vol",
    "skew",
    "kurt",
    "amihud",
]


def _g(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class _KindInfo:
    code: int
    params: tuple[str, ...]  # integer parameters the kind needs
    columns: Callable[[dict], list[str]]
    lookback: Callable[[dict], int]  # index of the first value on gap-free data
    state: Callable[[dict], np.ndarray]


_KINDS: dict[str, _KindInfo] = {
    "sma": _KindInfo(
        1, ("n",), lambda p: [f"sma_{p['n']}"], lambda p: p["n"] - 1, lambda p: kt.sma_state(p["n"])
    ),
    "ema": _KindInfo(
        2,
        ("n",),
        lambda p: [f"ema_{p['n']}"],
        lambda p: p["n"] - 1,
        lambda p: kt.ema_state(p["n"], 0),
    ),
    "wma": _KindInfo(
        3, ("n",), lambda p: [f"wma_{p['n']}"], lambda p: p["n"] - 1, lambda p: kt.wma_state(p["n"])
    ),
    "rsi": _KindInfo(
        4, ("n",), lambda p: [f"rsi_{p['n']}"], lambda p: p["n"], lambda p: ko.rsi_state(p["n"])
    ),
    "macd": _KindInfo(
        5,
        ("fast", "slow", "signal"),
        lambda p: [
            f"{c}_{p['fast']}_{p['slow']}_{p['signal']}"
            for c in ("macd", "macd_signal", "macd_hist")
        ],
        lambda p: max(p["fast"], p["slow"]) + p["signal"] - 2,
        lambda p: kt.macd_state(p["fast"], p["slow"], p["signal"]),
    ),
    "bbands": _KindInfo(
        6,
        ("n",),
        lambda p: [
            f"bb_upper_{p['n']}_{_g(p['k_up'])}",
            f"bb_middle_{p['n']}_{_g(p['k_up'])}",
            f"bb_lower_{p['n']}_{_g(p['k_dn'])}",
        ],
        lambda p: p["n"] - 1,
        lambda p: kt.bbands_state(p["n"]),
    ),
    "zscore": _KindInfo(
        7,
        ("n",),
        lambda p: [f"zscore_{p['n']}"],
        lambda p: p["n"] - 1,
        lambda p: kt.bbands_state(p["n"]),
    ),
    "atr": _KindInfo(
        8, ("n",), lambda p: [f"atr_{p['n']}"], lambda p: p["n"], lambda p: ko.atr_state(p["n"])
    ),
    "adx": _KindInfo(
        9,
        ("n",),
        lambda p: [f"adx_{p['n']}"],
        lambda p: 2 * p["n"] - 1,
        lambda p: ko.adx_state(p["n"]),
    ),
    "stoch": _KindInfo(
        10,
        ("k", "sk", "sd"),
        lambda p: [f"stoch_{c}_{p['k']}_{p['sk']}_{p['sd']}" for c in ("k", "d")],
        lambda p: p["k"] + p["sk"] + p["sd"] - 3,
        lambda p: ko.stoch_state(p["k"], p["sk"], p["sd"]),
    ),
    "roc": _KindInfo(
        11, ("n",), lambda p: [f"roc_{p['n']}"], lambda p: p["n"], lambda p: kt.lag_state(p["n"])
    ),
    "mom": _KindInfo(
        12, ("n",), lambda p: [f"mom_{p['n']}"], lambda p: p["n"], lambda p: kt.lag_state(p["n"])
    ),
    "obv": _KindInfo(13, (), lambda p: ["obv"], lambda p: 0, lambda p: kt.obv_state()),
    "vwap": _KindInfo(
        14,
        ("n",),
        lambda p: [f"vwap_{p['n']}"],
        lambda p: p["n"] - 1,
        lambda p: kt.vwap_state(p["n"]),
    ),
    "log_return": _KindInfo(
        15, (), lambda p: ["log_return"], lambda p: 1, lambda p: kt.logret_state()
    ),
    "realized_vol": _KindInfo(
        16,
        ("n",),
        lambda p: [f"rv_cc_{p['n']}"],
        lambda p: p["n"],
        lambda p: ks.realized_vol_state(p["n"]),
    ),
    "parkinson_vol": _KindInfo(
        17,
        ("n",),
        lambda p: [f"rv_parkinson_{p['n']}"],
        lambda p: p["n"] - 1,
        lambda p: ks.parkinson_state(p["n"]),
    ),
    "garman_klass_vol": _KindInfo(
        18,
        ("n",),
        lambda p: [f"rv_gk_{p['n']}"],
        lambda p: p["n"] - 1,
        lambda p: ks.garman_klass_state(p["n"]),
    ),
    "skew": _KindInfo(
        19,
        ("n",),
        lambda p: [f"skew_{p['n']}"],
        lambda p: p["n"] - 1,
        lambda p: ks.moments_state(p["n"]),
    ),
    "kurt": _KindInfo(
        20,
        ("n",),
        lambda p: [f"kurt_{p['n']}"],
        lambda p: p["n"] - 1,
        lambda p: ks.moments_state(p["n"]),
    ),
    "amihud": _KindInfo(
        21,
        ("n",),
        lambda p: [f"amihud_{p['n']}"],
        lambda p: p["n"],
        lambda p: km.amihud_state(p["n"]),
    ),
}
_MIN_N = {"rsi": 2, "adx": 2, "zscore": 2, "realized_vol": 2, "skew": 3, "kurt": 4}


class FeatureSpec(FrozenModel):
    """One indicator of a feature set; only the parameters its ``kind`` uses may be set."""

    kind: Kind
    n: int | None = None
    fast: int | None = None
    slow: int | None = None
    signal: int | None = None
    k: int | None = None
    sk: int | None = None
    sd: int | None = None
    k_up: float = 2.0
    k_dn: float = 2.0

    @model_validator(mode="after")
    def _check_params(self) -> FeatureSpec:
        info = _KINDS[self.kind]
        for name in ("n", "fast", "slow", "signal", "k", "sk", "sd"):
            v = getattr(self, name)
            if name in info.params:
                lo = _MIN_N.get(self.kind, 2 if name in ("fast", "slow") else 1)
                if v is None:
                    raise ValueError(f"kind '{self.kind}' needs integer parameter '{name}'")
                if v < lo:
                    raise ValueError(f"kind '{self.kind}': '{name}' must be >= {lo}, got {v}")
            elif v is not None:
                raise ValueError(
                    f"kind '{self.kind}' takes no parameter '{name}' "
                    f"(it takes: {', '.join(info.params) or 'none'})"
                )
        return self

    def params(self) -> dict:
        return {
            "n": self.n,
            "fast": self.fast,
            "slow": self.slow,
            "signal": self.signal,
            "k": self.k,
            "sk": self.sk,
            "sd": self.sd,
            "k_up": self.k_up,
            "k_dn": self.k_dn,
        }

    def columns(self) -> list[str]:
        """Stable output column names, e.g. ``['rsi_14']``."""
        return _KINDS[self.kind].columns(self.params())

    def lookback(self) -> int:
        """Bars before the first non-NaN value on gap-free data (TA-Lib's lookback)."""
        return _KINDS[self.kind].lookback(self.params())


class FeatureSetSpec(FrozenModel):
    """A named list of indicators computed from OHLCV bars."""

    name: str
    features: list[FeatureSpec]

    @model_validator(mode="after")
    def _unique(self) -> FeatureSetSpec:
        seen: set[str] = set()
        for f in self.features:
            for c in f.columns():
                if c in seen:
                    raise ValueError(f"column '{c}' is produced twice (duplicate feature)")
                seen.add(c)
        return self

    def columns(self) -> list[str]:
        return [c for f in self.features for c in f.columns()]

    def lookback(self) -> int:
        """Bars until every feature is warm (max of the features' lookbacks)."""
        return max((f.lookback() for f in self.features), default=0)


def load_feature_set(path: str | Path) -> FeatureSetSpec:
    """Load a feature-set TOML; ``ConfigError`` names the file and key at fault."""
    return load_toml(path, FeatureSetSpec)


def compile_plan(spec: FeatureSetSpec) -> tuple[np.ndarray, np.ndarray]:
    """The (plan, fresh state) pair that ``featureset_step`` runs."""
    plan = np.zeros((len(spec.features), 6))
    states = []
    start = 0
    col = 0
    for i, f in enumerate(spec.features):
        info = _KINDS[f.kind]
        st = info.state(f.params())
        plan[i] = (info.code, start, start + st.shape[0], col, f.k_up, f.k_dn)
        states.append(st)
        start += st.shape[0]
        col += len(f.columns())
    state = np.concatenate(states) if states else np.zeros(0)
    return plan, state


@njit(cache=True)
def featureset_step(
    plan: np.ndarray,
    state: np.ndarray,
    o: float,
    h: float,
    low: float,
    c: float,
    v: float,
    out: np.ndarray,
) -> None:
    """Advance every feature of ``plan`` by one bar and write its values into ``out``."""
    for f in range(plan.shape[0]):
        code = int(plan[f, 0])
        st = state[int(plan[f, 1]) : int(plan[f, 2])]
        j = int(plan[f, 3])
        if code == 1:
            out[j] = kt.sma_update(st, c)
        elif code == 2:
            out[j] = kt.ema_update(st, c)
        elif code == 3:
            out[j] = kt.wma_update(st, c)
        elif code == 4:
            out[j] = ko.rsi_update(st, c)
        elif code == 5:
            out[j], out[j + 1], out[j + 2] = kt.macd_update(st, c)
        elif code == 6:
            out[j], out[j + 1], out[j + 2] = kt.bbands_update(st, c, plan[f, 4], plan[f, 5])
        elif code == 7:
            out[j] = kt.zscore_update(st, c)
        elif code == 8:
            out[j] = ko.atr_update(st, h, low, c)
        elif code == 9:
            out[j] = ko.adx_update(st, h, low, c)
        elif code == 10:
            out[j], out[j + 1] = ko.stoch_update(st, h, low, c)
        elif code == 11:
            out[j] = kt.roc_update(st, c)
        elif code == 12:
            out[j] = kt.mom_update(st, c)
        elif code == 13:
            out[j] = kt.obv_update(st, c, v)
        elif code == 14:
            out[j] = kt.vwap_update(st, c, v)
        elif code == 15:
            out[j] = kt.logret_update(st, c)
        elif code == 16:
            out[j] = ks.realized_vol_update(st, c)
        elif code == 17:
            out[j] = ks.parkinson_update(st, h, low)
        elif code == 18:
            out[j] = ks.garman_klass_update(st, o, h, low, c)
        elif code == 19:
            out[j] = ks.moments_update(st, c)[0]
        elif code == 20:
            out[j] = ks.moments_update(st, c)[1]
        elif code == 21:
            out[j] = km.amihud_update(st, c, v)


# Each kind's batch loop over a block of bars: ``run(state, k_up, k_dn, o, h, low, c, v,
# out, j)`` writes columns ``out[j:]``. Called from Python, so a run compiles only the
# kinds its feature set uses (one fused numba dispatcher over all 21 cost ~9 s of JIT).
_RUNS: dict[str, Callable] = {
    "sma": lambda st, ku, kd, o, h, low, c, v, out, j: kt.sma_run(st, c, out[j]),
    "ema": lambda st, ku, kd, o, h, low, c, v, out, j: kt.ema_run(st, c, out[j]),
    "wma": lambda st, ku, kd, o, h, low, c, v, out, j: kt.wma_run(st, c, out[j]),
    "rsi": lambda st, ku, kd, o, h, low, c, v, out, j: ko.rsi_run(st, c, out[j]),
    "macd": lambda st, ku, kd, o, h, low, c, v, out, j: kt.macd_run(st, c, out[j], out[j + 1],
                                                                    out[j + 2]),
    "bbands": lambda st, ku, kd, o, h, low, c, v, out, j: kt.bbands_run(
        st, c, ku, kd, out[j], out[j + 1], out[j + 2]),
    "zscore": lambda st, ku, kd, o, h, low, c, v, out, j: kt.zscore_run(st, c, out[j]),
    "atr": lambda st, ku, kd, o, h, low, c, v, out, j: ko.atr_run(st, h, low, c, out[j]),
    "adx": lambda st, ku, kd, o, h, low, c, v, out, j: ko.adx_run(st, h, low, c, out[j]),
    "stoch": lambda st, ku, kd, o, h, low, c, v, out, j: ko.stoch_run(st, h, low, c, out[j],
                                                                      out[j + 1]),
    "roc": lambda st, ku, kd, o, h, low, c, v, out, j: kt.roc_run(st, c, out[j]),
    "mom": lambda st, ku, kd, o, h, low, c, v, out, j: kt.mom_run(st, c, out[j]),
    "obv": lambda st, ku, kd, o, h, low, c, v, out, j: kt.obv_run(st, c, v, out[j]),
    "vwap": lambda st, ku, kd, o, h, low, c, v, out, j: kt.vwap_run(st, c, v, out[j]),
    "log_return": lambda st, ku, kd, o, h, low, c, v, out, j: kt.logret_run(st, c, out[j]),
    "realized_vol": lambda st, ku, kd, o, h, low, c, v, out, j: ks.realized_vol_run(st, c,
                                                                                    out[j]),
    "parkinson_vol": lambda st, ku, kd, o, h, low, c, v, out, j: ks.parkinson_run(st, h, low,
                                                                                  out[j]),
    "garman_klass_vol": lambda st, ku, kd, o, h, low, c, v, out, j: ks.garman_klass_run(
        st, o, h, low, c, out[j]),
    "skew": lambda st, ku, kd, o, h, low, c, v, out, j: ks.moments_run(st, c, out[j], 0),
    "kurt": lambda st, ku, kd, o, h, low, c, v, out, j: ks.moments_run(st, c, out[j], 1),
    "amihud": lambda st, ku, kd, o, h, low, c, v, out, j: km.amihud_run(st, c, v, out[j]),
}
_RUN_OF_CODE = {info.code: _RUNS[kind] for kind, info in _KINDS.items()}


def featureset_run(
    plan: np.ndarray,
    state: np.ndarray,
    o: np.ndarray,
    h: np.ndarray,
    low: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    out: np.ndarray,
    block: int = 16384,
) -> None:
    """The batch pass: one sweep over the bars in cache-sized blocks (out: [column x time]).

    Within a block each feature runs its own tight numba loop (a few microseconds of
    Python dispatch per block and feature); the state carries over from block to block,
    so the result equals the bar-by-bar ``featureset_step``.
    """
    feats = [(_RUN_OF_CODE[int(p[0])], state[int(p[1]) : int(p[2])], p[4], p[5], int(p[3]))
             for p in plan]
    n = c.shape[0]
    for t0 in range(0, n, block):
        t1 = min(t0 + block, n)
        blk = out[:, t0:t1]
        ob, hb, lb, cb, vb = o[t0:t1], h[t0:t1], low[t0:t1], c[t0:t1], v[t0:t1]
        for run, st, k_up, k_dn, j in feats:
            run(st, k_up, k_dn, ob, hb, lb, cb, vb, blk, j)


_OHLCV = ("open", "high", "low", "close", "volume")


def _ohlcv(bars: pl.DataFrame, spec: FeatureSetSpec) -> list[np.ndarray]:
    missing = [c for c in _OHLCV if c not in bars.columns]
    if missing:
        raise FeatureError(
            f"feature set '{spec.name}': bars lack column(s) {missing}; need {list(_OHLCV)}"
        )
    return [bars[c].cast(pl.Float64).fill_null(np.nan).to_numpy() for c in _OHLCV]


def compute_features(spec: FeatureSetSpec, bars: pl.DataFrame) -> pl.DataFrame:
    """Features for every bar, one fused pass per symbol.

    ``bars`` needs open/high/low/close/volume (USD, shares) in time order; with a
    ``symbol`` column each symbol is an independent series (rows keep their order).
    Returns ``ts``/``symbol`` when present, then ``spec.columns()``.
    """
    o, h, low, c, v = _ohlcv(bars, spec)
    cols = spec.columns()
    out = np.empty((len(cols), bars.height))
    if "symbol" in bars.columns:
        sym = bars["symbol"].to_numpy()
        _, inv = np.unique(sym, return_inverse=True)
        groups = [np.flatnonzero(inv == g) for g in range(inv.max() + 1)] if len(sym) else []
    else:
        groups = [np.arange(bars.height)]
    for idx in groups:
        plan, state = compile_plan(spec)
        part = np.empty((len(cols), idx.shape[0]))
        featureset_run(plan, state, o[idx], h[idx], low[idx], c[idx], v[idx], part)
        out[:, idx] = part
    keys = [k for k in ("ts", "symbol") if k in bars.columns]
    frame = pl.DataFrame({name: out[i] for i, name in enumerate(cols)})
    # NaN (warm-up, gaps) stays NaN rather than null: it is a float value here.
    return pl.concat([bars.select(keys), frame], how="horizontal") if keys else frame


class StreamingFeatureSet:
    """The live form of a feature set: ``update`` advances all features by one bar.

    ``plan`` and ``state`` are plain arrays, so numba code (the live driver, the event
    engine) can call ``featureset_step(fs.plan, fs.state, o, h, l, c, v, row)`` itself.
    """

    def __init__(self, spec: FeatureSetSpec):
        self.spec = spec
        self.columns = spec.columns()
        self.plan, self.state = compile_plan(spec)
        self.row = np.full(len(self.columns), np.nan)

    def update(self, o: float, h: float, low: float, c: float, v: float) -> np.ndarray:
        """Feed one bar (USD, shares); returns the feature row (overwritten next call)."""
        featureset_step(self.plan, self.state, o, h, low, c, v, self.row)
        return self.row

    def as_dict(self) -> dict[str, float]:
        """The latest feature values by column name."""
        return dict(zip(self.columns, self.row.tolist(), strict=True))

    def reset(self) -> None:
        """Back to the cold state (as if no bar had been seen)."""
        self.plan, self.state = compile_plan(self.spec)
        self.row[:] = np.nan
