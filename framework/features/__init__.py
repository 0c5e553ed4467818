"""framework.features — technical and microstructure indicators, batch and streaming.

API summary (for strategy / ML code)
====================================

Batch (``framework.features``): float64 NumPy in, float64 NumPy out, same length;
every array argument may be 1-D ``[time]`` or 2-D ``[time x symbol]`` (columns are
independent). NaN during warm-up (TA-Lib's lookback). Multi-output ones return tuples.

    sma(x, n)  ema(x, n)  wma(x, n)  rsi(x, n=14)  roc(x, n=10) [percent]  mom(x, n=10)
    macd(x, fast=12, slow=26, signal=9) -> (line, signal, hist)
    bbands(x, n=20, k_up=2.0, k_dn=2.0) -> (upper, middle, lower)
    zscore(x, n)                  (x - SMA) / population std
    atr(high, low, close, n=14)   adx(high, low, close, n=14)
    stoch(high, low, close, k=5, sk=3, sd=3) -> (slow_k, slow_d)
    obv(close, volume)            vwap(price, volume, n)        log_return(x)
    realized_vol(close, n)        parkinson_vol(high, low, n)
    garman_klass_vol(open, high, low, close, n)     (per-bar, not annualised)
    rolling_corr(x, y, n)         rolling_beta(asset, market, n)  (beta of simple returns)
    rolling_skew(x, n)            rolling_kurt(x, n)              (bias-corrected, pandas')

Microstructure (``framework.features``):

    book_imbalance(bid_sizes[T,L], ask_sizes[T,L], levels) in [-1, 1]
    book_depth(bid_sizes, ask_sizes, levels) -> (bid_depth, ask_depth)  shares
    quoted_spread(bid, ask)  microprice(bid, ask, bid_size, ask_size)
    effective_spread(price, bid, ask)            2 |p - mid|, price units
    realized_spread(price, sign, mid, horizon)   2 q (p[t-h] - mid[t]), emitted at t
    tick_rule(price) / lee_ready(price, bid, ask) -> trade sign in {+1, -1} (0 = unknown)
    trade_flow_imbalance(volume, sign, n)        sum(q v) / sum(v) over n trades
    roll_spread(price, n)  kyle_lambda(price, signed_volume, n)
    amihud(close, volume, n)                     mean |r| / (close * volume)
    vpin(volume, sign, bucket_volume, n_buckets)

Streaming (njit, callable from numba code and from Python): each indicator NAME has
``NAME_state(params) -> float64[:]`` and ``NAME_update(state, inputs...) -> value(s)`` in
``framework.features.kernels_trend`` / ``kernels_oscillators`` / ``kernels_stats`` /
``kernels_micro`` (e.g. ``s = rsi_state(14); v = rsi_update(s, close)``). The batch
kernels (``NAME_run`` / ``NAME_batch``) call the same ``NAME_step`` rule (or loop over
``NAME_update``), so batch == streaming by construction. A NaN input gives NaN output
and leaves the state untouched (the bar is skipped). Details: docs/features.md.

Feature sets (TOML -> Polars, and one njit call per bar for the live driver):

    spec = load_feature_set("config/features/daily_basic.toml")   # FeatureSetSpec
    df = compute_features(spec, bars)   # bars: pl.DataFrame with open/high/low/close/volume
    fs = StreamingFeatureSet(spec); row = fs.update(o, h, l, c, v)   # np.ndarray, fs.columns
    # inside njit: featureset_step(fs.plan, fs.state, o, h, l, c, v, out_row)
    # batch (Python): featureset_run(plan, state, o, h, l, c, v, out)  # out: [column x time]

Column names are stable: ``rsi_14``, ``macd_12_26_9``, ``macd_signal_12_26_9``,
``bb_upper_20_2``, ``stoch_k_5_3_3``... (``spec.columns()`` lists them).
"""

from framework.features.featureset import StreamingFeatureSet, compute_features
from framework.features.indicators import (
    FeatureError,
    adx,
    amihud,
    atr,
    bbands,
    book_depth,
    book_imbalance,
    effective_spread,
    ema,
    garman_klass_vol,
    kyle_lambda,
    lee_ready,
    log_return,
    macd,
    microprice,
    mom,
    obv,
    parkinson_vol,
    quoted_spread,
    realized_spread,
    realized_vol,
    roc,
    roll_spread,
    rolling_beta,
    rolling_corr,
    rolling_kurt,
    rolling_skew,
    rsi,
    sma,
    stoch,
    tick_rule,
    trade_flow_imbalance,
    vpin,
    vwap,
    wma,
    zscore,
)
from framework.features.plan import compile_plan, featureset_run, featureset_step
from framework.features.spec import FeatureSetSpec, FeatureSpec, load_feature_set

__all__ = [
    "FeatureError",
    "FeatureSetSpec",
    "FeatureSpec",
    "StreamingFeatureSet",
    "adx",
    "amihud",
    "atr",
    "bbands",
    "book_depth",
    "book_imbalance",
    "compile_plan",
    "compute_features",
    "effective_spread",
    "ema",
    "featureset_run",
    "featureset_step",
    "garman_klass_vol",
    "kyle_lambda",
    "lee_ready",
    "load_feature_set",
    "log_return",
    "macd",
    "microprice",
    "mom",
    "obv",
    "parkinson_vol",
    "quoted_spread",
    "realized_spread",
    "realized_vol",
    "roc",
    "roll_spread",
    "rolling_beta",
    "rolling_corr",
    "rolling_kurt",
    "rolling_skew",
    "rsi",
    "sma",
    "stoch",
    "tick_rule",
    "trade_flow_imbalance",
    "vpin",
    "vwap",
    "wma",
    "zscore",
]
