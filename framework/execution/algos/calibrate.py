"""What the algos learn from the lake before a run: the intraday volume profile (VWAP)
and the Almgren–Chriss estimates sigma, eta, gamma and the ADV (IS), from the sessions
*before* the run's first bar, so the backtest never sees its own future.

* profile: per bucket b of ``bucket_min`` minutes from the open, the median over the
  last D sessions (and the symbols) of vol(d, b) / vol(d); half days (sessions shorter
  than 6 h) get their own profile, or the full days' first buckets renormalised when
  the history holds none;
* sigma: standard deviation of within-session bar log returns times the last close,
  per sqrt(second) (USD / share / sqrt(s));
* eta, gamma: the rules of Almgren & Chriss (2000, section 4): trading 1 % of the ADV
  per day costs one spread (eta = spread * day_s / (0.01 * ADV)), trading 10 % of the
  ADV moves the price by one spread (gamma = spread / (0.1 * ADV)); the spread proxy is
  the median high-low range of a bar (USD), an upper bound of the quoted spread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from framework.data import Lake
from framework.data.calendar import NY
from framework.execution.algos import params as A
from framework.strategy.panel import BarPanel, PanelError, load_panel

DAY_MIN = 390  # minutes of a full regular session
HALF_DAY_MIN = 210
HALF_DAY_NS = 6 * 3600 * 1_000_000_000


@dataclass(frozen=True)
class AlgoInputs:
    """``algo_sym`` ``[S, N_ASYM]`` (NaN = not estimated), ``vprof`` ``[2, buckets]``
    (full days, half days), and ``source``: where they came from (for the manifest)."""

    algo_sym: np.ndarray
    vprof: np.ndarray
    source: dict = field(default_factory=dict)

    @staticmethod
    def flat(n_symbols: int, bucket_min: int) -> AlgoInputs:
        """No history: a flat profile (same share each bucket) and no estimates (IS then
        follows the risk-neutral, i.e. TWAP, trajectory)."""
        nb = -(-DAY_MIN // bucket_min)
        prof = np.zeros((2, nb))
        prof[0] = 1.0 / nb
        nh = -(-HALF_DAY_MIN // bucket_min)
        prof[1, :nh] = 1.0 / nh
        return AlgoInputs(np.full((max(n_symbols, 1), A.N_ASYM), np.nan), prof,
                          {"method": "flat profile, no estimates"})


def _profile(shares: list[np.ndarray], nb: int) -> np.ndarray:
    """Median per bucket of per-(session, symbol) volume shares, renormalised to 1."""
    if not shares:
        return np.zeros(nb)
    m = np.median(np.vstack(shares), axis=0)
    tot = m.sum()
    return m / tot if tot > 0 else m


def estimate(hist: BarPanel, sessions: int, bucket_min: int) -> AlgoInputs:
    """Profile and estimates from the last ``sessions`` sessions of ``hist`` (bars of the
    run's symbols strictly before its start; see the module docstring)."""
    nb = -(-DAY_MIN // bucket_min)
    keys = np.unique(hist.session)[-sessions:]
    full, half = [], []
    S = len(hist.symbols)
    rets: list[list[np.ndarray]] = [[] for _ in range(S)]
    day_vol = np.zeros(S)
    bar_s = hist.bar_ns / 1e9
    for key in keys:
        rows = np.flatnonzero(hist.session == key)
        r0 = rows[0]
        is_half = hist.session_close[r0] - hist.session_open[r0] < HALF_DAY_NS
        b = ((hist.ts[rows] - hist.session_open[r0]) // (bucket_min * 60_000_000_000)).astype(
            np.int64)
        b = np.clip(b, 0, nb - 1)
        for s in range(S):
            v = np.nan_to_num(hist.volume[rows, s])
            day_vol[s] += v.sum()
            if v.sum() > 0:
                (half if is_half else full).append(np.bincount(b, v, nb) / v.sum())
            c = hist.close[rows, s]
            c = c[np.isfinite(c) & (c > 0)]
            if c.shape[0] > 1:
                rets[s].append(np.diff(np.log(c)))
    prof = np.zeros((2, nb))
    prof[0] = _profile(full, nb)
    nh = -(-HALF_DAY_MIN // bucket_min)
    prof[1] = _profile(half, nb)
    if not half and prof[0, :nh].sum() > 0:
        prof[1, :nh] = prof[0, :nh] / prof[0, :nh].sum()
    sym = np.full((max(S, 1), A.N_ASYM), np.nan)
    for s in range(S):
        last = hist.close[:, s][np.isfinite(hist.close[:, s])]
        if not rets[s] or last.shape[0] == 0:
            continue
        r = np.concatenate(rets[s])
        spread = float(np.nanmedian(hist.high[:, s] - hist.low[:, s]))
        adv = day_vol[s] / max(len(keys), 1)
        sym[s, A.AS_SIGMA] = float(np.std(r, ddof=1)) * last[-1] / np.sqrt(bar_s)
        sym[s, A.AS_ADV] = adv
        if adv > 0 and spread > 0:
            sym[s, A.AS_ETA] = spread * DAY_MIN * 60.0 / (0.01 * adv)
            sym[s, A.AS_GAMMA] = spread / (0.1 * adv)
    days = [dt.datetime.fromtimestamp(int(hist.session_open[np.flatnonzero(hist.session == k)[0]])
                                      / 1e9, dt.UTC).date().isoformat() for k in keys[[0, -1]]]
    return AlgoInputs(sym, prof, {
        "method": "lake history: median bucket volume shares; sigma from bar log returns; "
                  "eta, gamma by Almgren-Chriss (2000) spread rules, spread = median bar "
                  "high-low",
        "timeframe": hist.timeframe, "sessions": int(len(keys)), "first": days[0],
        "last": days[1], "half_days": len(half) // max(S, 1),
        "estimates": {sy: dict(zip(("sigma_usd_sqrt_s", "eta", "gamma", "adv_shares"),
                                   map(float, sym[j]), strict=True))
                      for j, sy in enumerate(hist.symbols)}})


def from_lake(lake, symbols: list[str], first_day: dt.date, sessions: int,
              bucket_min: int, timeframe: str = "1m") -> AlgoInputs:
    """:func:`estimate` over the lake's ``timeframe`` bars of ``symbols`` in the
    ``sessions`` sessions before ``first_day``; a flat profile when there are none."""
    start = first_day - dt.timedelta(days=int(sessions * 7 / 5) + 10)
    try:
        hist = load_panel(lake, symbols, start, first_day - dt.timedelta(days=1), timeframe)
    except PanelError:
        flat = AlgoInputs.flat(len(symbols), bucket_min)
        return AlgoInputs(flat.algo_sym, flat.vprof,
                          {"method": f"flat profile: no {timeframe} bars before {first_day}"})
    return estimate(hist, sessions, bucket_min)


LEARNT = ("vwap", "is")  # the algos that learn from the lake before a run


def learn_before(lake: Lake | str | Path, symbols: list[str], execution,
                 first_open_ns: int) -> AlgoInputs | None:
    """What a run under ``execution`` (``ExecutionConfig``) learns before its first
    session, which opens at ``first_open_ns`` (ns UTC): :func:`from_lake` over the
    sessions before that day in ``lake`` (a ``Lake`` or its root, opened only when
    needed) for a VWAP or IS algo, None for the others (they learn nothing). The one definition both drivers call: the backtest before its loop, the
    live driver at its first bar, so a replayed session gets the same profile and
    estimates under both."""
    if execution.algo not in LEARNT:
        return None
    first = dt.datetime.fromtimestamp(int(first_open_ns) / 1e9, ZoneInfo(NY)).date()
    return from_lake(lake if isinstance(lake, Lake) else Lake(lake), list(symbols), first, execution.vwap_sessions,
                     execution.vwap_bucket_min)
