"""Feature sets: TOML -> Polars frame, fused pass == separate indicators == streaming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from numba import njit

import framework.features as F
from framework.config import ConfigError
from framework.features.registry import KINDS
from tests.features.feature_cases import HAND, HAND_VALUES, make_inputs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "config" / "features").glob("*.toml"))

ALL_KINDS = """
name = "everything"
[[features]]
kind = "sma"
n = 10
[[features]]
kind = "ema"
n = 10
[[features]]
kind = "wma"
n = 10
[[features]]
kind = "rsi"
n = 14
[[features]]
kind = "macd"
fast = 12
slow = 26
signal = 9
[[features]]
kind = "bbands"
n = 20
k_up = 2.5
k_dn = 2.0
[[features]]
kind = "zscore"
n = 20
[[features]]
kind = "atr"
n = 14
[[features]]
kind = "adx"
n = 14
[[features]]
kind = "stoch"
k = 5
sk = 3
sd = 3
[[features]]
kind = "roc"
n = 10
[[features]]
kind = "mom"
n = 10
[[features]]
kind = "obv"
[[features]]
kind = "vwap"
n = 20
[[features]]
kind = "log_return"
[[features]]
kind = "realized_vol"
n = 20
[[features]]
kind = "parkinson_vol"
n = 20
[[features]]
kind = "garman_klass_vol"
n = 20
[[features]]
kind = "skew"
n = 20
[[features]]
kind = "kurt"
n = 20
[[features]]
kind = "amihud"
n = 20
"""


@pytest.fixture()
def spec(tmp_path):
    p = tmp_path / "all.toml"
    p.write_text(ALL_KINDS)
    return F.load_feature_set(p)


@pytest.fixture()
def bars():
    d = make_inputs(700, seed=13, nan_frac=0.0)
    return pl.DataFrame(
        {"open": d["o"], "high": d["h"], "low": d["l"], "close": d["c"], "volume": d["v"]}
    )


def _separate(b: pl.DataFrame) -> dict[str, np.ndarray]:
    o, h, low, c, v = (b[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
    m = F.macd(c, 12, 26, 9)
    bb = F.bbands(c, 20, 2.5, 2.0)
    st = F.stoch(h, low, c, 5, 3, 3)
    return {
        "sma_10": F.sma(c, 10),
        "ema_10": F.ema(c, 10),
        "wma_10": F.wma(c, 10),
        "rsi_14": F.rsi(c, 14),
        "macd_12_26_9": m[0],
        "macd_signal_12_26_9": m[1],
        "macd_hist_12_26_9": m[2],
        "bb_upper_20_2.5": bb[0],
        "bb_middle_20_2.5": bb[1],
        "bb_lower_20_2": bb[2],
        "zscore_20": F.zscore(c, 20),
        "atr_14": F.atr(h, low, c, 14),
        "adx_14": F.adx(h, low, c, 14),
        "stoch_k_5_3_3": st[0],
        "stoch_d_5_3_3": st[1],
        "roc_10": F.roc(c, 10),
        "mom_10": F.mom(c, 10),
        "obv": F.obv(c, v),
        "vwap_20": F.vwap(c, v, 20),
        "log_return": F.log_return(c),
        "rv_cc_20": F.realized_vol(c, 20),
        "rv_parkinson_20": F.parkinson_vol(h, low, 20),
        "rv_gk_20": F.garman_klass_vol(o, h, low, c, 20),
        "skew_20": F.rolling_skew(c, 20),
        "kurt_20": F.rolling_kurt(c, 20),
        "amihud_20": F.amihud(c, v, 20),
    }


def test_the_all_kinds_set_covers_the_registry(spec):
    # The equality tests below run ALL_KINDS: it must name every registered kind.
    assert [f.kind for f in spec.features] == list(KINDS)


def test_fused_pass_equals_separate_indicators(spec, bars):
    out = F.compute_features(spec, bars)
    want = _separate(bars)
    assert out.columns == spec.columns()
    assert sorted(out.columns) == sorted(want)
    for name, w in want.items():
        np.testing.assert_array_equal(out[name].to_numpy(), w, err_msg=name)


def test_lookback_is_first_valid_row(spec, bars):
    out = F.compute_features(spec, bars)
    for f in spec.features:
        for col in f.columns():
            x = out[col].to_numpy()
            first = int(np.argmax(~np.isnan(x)))
            assert first == f.lookback(), (col, first, f.lookback())
    assert spec.lookback() == 33


def test_streaming_feature_set_equals_batch(spec, bars):
    out = F.compute_features(spec, bars).to_numpy()
    fs = F.StreamingFeatureSet(spec)
    rows = np.array([fs.update(*r).copy() for r in bars.iter_rows()])
    np.testing.assert_allclose(rows, out, rtol=1e-12, atol=0, equal_nan=True)
    assert fs.as_dict()["rsi_14"] == out[-1, spec.columns().index("rsi_14")]
    fs.reset()
    assert np.isnan(fs.update(*bars.row(0))).sum() > 0


def test_batch_and_streaming_steps_equal_the_hand_values(tmp_path):
    toml = tmp_path / "hand.toml"
    toml.write_text('name = "hand"\n' + "".join(
        f'[[features]]\nkind = "{name.split("_")[0]}"\nn = {name.split("_")[1]}\n'
        for name in HAND_VALUES))
    spec = F.load_feature_set(toml)
    assert spec.columns() == list(HAND_VALUES)
    bars = pl.DataFrame({"open": HAND, "high": HAND, "low": HAND, "close": HAND,
                         "volume": np.ones(HAND.shape[0])})
    fs = F.StreamingFeatureSet(spec)
    stream = np.array([fs.update(*r).copy() for r in bars.iter_rows()])
    want = np.array(list(HAND_VALUES.values())).T
    for got in (F.compute_features(spec, bars).to_numpy(), stream):
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


@njit(cache=True)
def _live_loop(plan, state, o, h, low, c, v, out):
    for t in range(c.shape[0]):
        F.featureset_step(plan, state, o[t], h[t], low[t], c[t], v[t], out[t])


def test_featureset_step_callable_from_njit(spec, bars):
    fs = F.StreamingFeatureSet(spec)
    cols = [bars[k].to_numpy() for k in ("open", "high", "low", "close", "volume")]
    out = np.empty((bars.height, len(fs.columns)))
    _live_loop(fs.plan, fs.state, *cols, out)
    np.testing.assert_array_equal(out, F.compute_features(spec, bars).to_numpy())


def test_per_symbol_series_are_independent(spec, bars):
    other = bars.with_columns(
        pl.col("close") * 1.5, pl.col("high") * 1.5, pl.col("low") * 1.5, pl.col("open") * 1.5
    )
    a = bars.with_columns(pl.lit("AAA").alias("symbol"), pl.int_range(bars.height).alias("ts"))
    b = other.with_columns(pl.lit("BBB").alias("symbol"), pl.int_range(bars.height).alias("ts"))
    mixed = pl.concat([a, b]).sort(["ts", "symbol"])
    out = F.compute_features(spec, mixed)
    assert out.columns[:2] == ["ts", "symbol"]
    got_a = out.filter(pl.col("symbol") == "AAA").drop("ts", "symbol")
    np.testing.assert_array_equal(got_a.to_numpy(), F.compute_features(spec, bars).to_numpy())


def test_nan_bar_in_feature_set(spec, bars):
    holed = bars.with_columns(
        pl.when(pl.int_range(bars.height) == 300)
        .then(None)
        .otherwise(pl.col("close"))
        .alias("close")
    )
    out = F.compute_features(spec, holed)
    assert np.isnan(out.row(300)[out.columns.index("rsi_14")])
    assert not np.isnan(out["rsi_14"].to_numpy()[301:]).any()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_feature_sets_load_and_run(path, bars):
    spec = F.load_feature_set(path)
    out = F.compute_features(spec, bars)
    assert out.columns == spec.columns() and out.height == bars.height


@pytest.mark.parametrize(
    "body,key",
    [
        ('name="x"\n[[features]]\nkind="rsii"\nn=3\n', "features.0.kind"),
        ('name="x"\n[[features]]\nkind="rsi"\n', "needs integer parameter 'n'"),
        ('name="x"\n[[features]]\nkind="rsi"\nn=14\nfast=3\n', "takes no parameter 'fast'"),
        ('name="x"\n[[features]]\nkind="rsi"\nn=14\nperiod=3\n', "features.0.period"),
        (
            'name="x"\n[[features]]\nkind="rsi"\nn=14\n[[features]]\nkind="rsi"\nn=14\n',
            "column 'rsi_14' is produced twice",
        ),
    ],
)
def test_bad_toml_names_file_and_key(tmp_path, body, key):
    p = tmp_path / "bad.toml"
    p.write_text(body)
    with pytest.raises(ConfigError) as err:
        F.load_feature_set(p)
    assert key in str(err.value) and "bad.toml" in str(err.value)


def test_missing_bar_columns_is_a_clear_error(spec, bars):
    with pytest.raises(F.FeatureError, match="lack column"):
        F.compute_features(spec, bars.drop("volume"))
