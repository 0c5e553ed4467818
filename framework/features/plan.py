"""A feature set compiled for numba: the plan, its streaming step and its batch pass.

A feature set is compiled into a *plan* (float64 ``[feature x 6]``: code, state start,
state end, first output column, two float parameters) and one flat state array.
``featureset_step`` advances every feature by one OHLCV bar in a single njit call (the
live driver's path); the batch pass ``featureset_run`` sweeps the bars once in blocks,
running each feature's numba ``*_run`` over the block. Both call the same ``*_step`` rules
of the kernel modules, so a backtest's features equal the live rows.
"""

from __future__ import annotations

import numpy as np

from framework.features import kernels_micro as km
from framework.features import kernels_oscillators as ko
from framework.features import kernels_stats as ks
from framework.features import kernels_trend as kt
from framework.features.registry import BY_CODE, BY_KIND, Block, KindCode
from framework.features.spec import FeatureSetSpec
from framework.types.jit import njit


def compile_plan(spec: FeatureSetSpec) -> tuple[np.ndarray, np.ndarray]:
    """The (plan, fresh state) pair that ``featureset_step`` runs."""
    plan = np.zeros((len(spec.features), 6))
    states = []
    start = 0
    col = 0
    for i, f in enumerate(spec.features):
        info = BY_KIND[f.kind]
        st = info.fresh_state(f.params())
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
    """Advance every feature of ``plan`` by one bar and write its values into ``out``.

    One branch per registered code (``framework.features.registry``): numba needs the
    dispatch spelled out; ``tests/features/test_registry.py`` checks it is complete.
    """
    for f in range(plan.shape[0]):
        code = int(plan[f, 0])
        st = state[int(plan[f, 1]) : int(plan[f, 2])]
        j = int(plan[f, 3])
        if code == KindCode.SMA:
            out[j] = kt.sma_update(st, c)
        elif code == KindCode.EMA:
            out[j] = kt.ema_update(st, c)
        elif code == KindCode.WMA:
            out[j] = kt.wma_update(st, c)
        elif code == KindCode.RSI:
            out[j] = ko.rsi_update(st, c)
        elif code == KindCode.MACD:
            out[j], out[j + 1], out[j + 2] = kt.macd_update(st, c)
        elif code == KindCode.BBANDS:
            out[j], out[j + 1], out[j + 2] = kt.bbands_update(st, c, plan[f, 4], plan[f, 5])
        elif code == KindCode.ZSCORE:
            out[j] = kt.zscore_update(st, c)
        elif code == KindCode.ATR:
            out[j] = ko.atr_update(st, h, low, c)
        elif code == KindCode.ADX:
            out[j] = ko.adx_update(st, h, low, c)
        elif code == KindCode.STOCH:
            out[j], out[j + 1] = ko.stoch_update(st, h, low, c)
        elif code == KindCode.ROC:
            out[j] = kt.roc_update(st, c)
        elif code == KindCode.MOM:
            out[j] = kt.mom_update(st, c)
        elif code == KindCode.OBV:
            out[j] = kt.obv_update(st, c, v)
        elif code == KindCode.VWAP:
            out[j] = kt.vwap_update(st, c, v)
        elif code == KindCode.LOG_RETURN:
            out[j] = kt.logret_update(st, c)
        elif code == KindCode.REALIZED_VOL:
            out[j] = ks.realized_vol_update(st, c)
        elif code == KindCode.PARKINSON_VOL:
            out[j] = ks.parkinson_update(st, h, low)
        elif code == KindCode.GARMAN_KLASS_VOL:
            out[j] = ks.garman_klass_update(st, o, h, low, c)
        elif code == KindCode.SKEW:
            out[j] = ks.moments_update(st, c)[0]
        elif code == KindCode.KURT:
            out[j] = ks.moments_update(st, c)[1]
        elif code == KindCode.AMIHUD:
            out[j] = km.amihud_update(st, c, v)


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
    so the result equals the bar-by-bar ``featureset_step``. The loop is Python so that a
    run compiles only the kinds its feature set uses (one fused numba dispatcher over all
    kinds cost ~9 s of JIT).
    """
    feats = [(BY_CODE[int(p[0])].run, state[int(p[1]) : int(p[2])], p[4], p[5], int(p[3]))
             for p in plan]
    n = c.shape[0]
    for t0 in range(0, n, block):
        t1 = min(t0 + block, n)
        blk = out[:, t0:t1]
        bars = Block(o[t0:t1], h[t0:t1], low[t0:t1], c[t0:t1], v[t0:t1])
        for run, st, k_up, k_dn, j in feats:
            run(st, bars, blk[j:], k_up, k_dn)
