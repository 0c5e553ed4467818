"""The look-ahead guard (``fw check lookahead``): at its defaults it passes every shipped
strategy and an honest pandas twin, and fails every leaky strategy of ``peeking.py``
(next-bar close, forward-filled next close, full-sample mean, centred window, a model
fitted on the whole series), on the synthetic lake and on a real daily file; its cuts
land at and just before every bar where any signal field changes, a future field
included."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from framework.cli.app import app
from framework.data import Lake
from framework.data.settings import load_data_config
from framework.data.sources.csv_source import read_csv
from framework.engine.lookahead import (
    LookAheadError,
    ScrambledPanel,
    check_lookahead,
    cut_points,
    guard,
)
from framework.strategy import BarPanel, Signals, Strategy
from framework.strategy.base import StrategyContext
from tests.engine.engine_testkit import SHIPPED, daily_panel, shipped_lake, small_overrides
from tests.engine.peeking import HONEST, LEAKY, NextCloseFilled, PandasCross

ROOT = Path(__file__).resolve().parents[2]

def _toml(tmp_path: Path, cls: str, timeframe: str = "1m", symbols=("SPY", "QQQ")) -> Path:
    path = tmp_path / f"{cls}.toml"
    syms = ", ".join(f'"{s}"' for s in symbols)
    path.write_text(f'name = "{cls}"\nstrategy = "tests.engine.peeking:{cls}"\nsymbols = [{syms}]\n'
                    f'[data]\ntimeframe = "{timeframe}"\n')
    return path


def _strategy(cls: type[Strategy], **params) -> Strategy:
    return cls(cls.Params(**params), StrategyContext(Path("."), Path(f"{cls.__name__}.toml")))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_strategies_pass_at_the_defaults(name, request):
    rep = check_lookahead(ROOT / "strategies" / f"{name}.toml",
                          lake_root=shipped_lake(name, request), overrides=small_overrides(name))
    assert rep.ok, rep.problems
    assert rep.change_bars > 0 and len(rep.cuts) >= rep.change_bars


@pytest.mark.parametrize("cls", LEAKY + HONEST)
def test_leaky_strategies_fail_honest_twin_passes(cls, small_lake, tmp_path):
    rep = check_lookahead(_toml(tmp_path, cls), lake_root=small_lake)
    assert rep.ok == (cls in HONEST), rep.problems


def test_cli_names_the_leak_and_exits_1(small_lake, tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["check", "lookahead", str(_toml(tmp_path, "NextCloseFilled")),
                              "--lake", str(small_lake)])
    assert bad.exit_code == 1
    assert "LOOK-AHEAD: cut at bar" in bad.output and "changed from" in bad.output
    good = runner.invoke(app, ["check", "lookahead", str(_toml(tmp_path, "PandasCross")),
                               "--lake", str(small_lake)])
    assert good.exit_code == 0, good.output
    assert "no look-ahead at" in good.output


def test_forward_filled_next_close_fails_every_seed_on_daily_bars():
    """The issue's case (an SMA cross of tomorrow's close, last row forward-filled) on 750
    daily bars: five random cuts let it through; the guard's defaults catch it at every seed."""
    panel = daily_panel(750, ["A", "B"], seed=3)
    params = {"fast": 10, "slow": 50}
    leaky, honest = _strategy(NextCloseFilled, **params), _strategy(PandasCross, **params)
    full, clean = leaky.signals(panel), honest.signals(panel)
    assert np.count_nonzero(full.entry) > 10
    for seed in range(10):
        assert not guard(leaky, panel, full, "leaky", seed=seed).ok
        assert guard(honest, panel, clean, "honest", seed=seed).ok


def test_real_daily_file(shared_data, tmp_path):
    cfg = load_data_config(None)
    lake = Lake(tmp_path / "lake")
    path = shared_data / "daily" / "backtrader" / "nvda-1999-2014.txt"
    lake.write("bars_1d", "NVDA", read_csv(path, cfg.csv["backtrader_daily"], str(path)), "csv",
               origin=str(path))
    for cls, ok in (("NextCloseFilled", False), ("PandasCross", True)):
        toml = _toml(tmp_path, cls, "1d", ["NVDA"])
        with toml.open("a") as f:
            f.write("[params]\nfast = 10\nslow = 50\n")
        rep = check_lookahead(toml, lake_root=lake.root)
        assert rep.ok == ok, rep.problems


# ------------------------------------------------------------------ where the guard cuts
def _signals(T: int, S: int = 2) -> Signals:
    return Signals.of(np.zeros((T, S), np.int8), np.zeros((T, S), bool))


def test_cuts_at_and_just_before_each_change():
    sig = _signals(30)
    sig.entry[7, 1] = 1  # changes at 7 and back at 8
    sig.exit[20:, 0] = True  # changes at 20 only
    sig.size[12, 0] = 0.5  # NaN -> 0.5 -> NaN: changes at 12 and 13
    sig.limit[2, 0] = 99.0  # changes at 2 and 3, before the warm-up bound (lo = 5): no cut
    cuts, n = cut_points(sig, 30, lo=5)
    assert cuts.tolist() == [7, 8, 9, 12, 13, 14, 20, 21]
    assert n == 5
    sig.entry[29, 0] = 1  # the last bar: only the cut just before it exists
    assert cut_points(sig, 30, lo=5)[0].tolist()[-1] == 29


def test_budget_is_shared_between_fields():
    sig = _signals(1000)
    sig.exit[201:500:2, 0] = True  # changes at every bar of 201 .. 500
    sig.entry[[100, 600], 1] = 1  # rare: changes at 100, 101, 600, 601
    cuts, n = cut_points(sig, 1000, lo=2, max_cuts=40, seed=1)
    assert n == 20 and cuts.shape[0] <= 40  # 4 entry bars + 16 of the 300 exit bars
    assert {100, 101, 102, 600, 601, 602} <= set(cuts.tolist())  # the rare field keeps all
    again, _ = cut_points(sig, 1000, lo=2, max_cuts=40, seed=1)
    assert again.tolist() == cuts.tolist()  # seeded


@dataclass(frozen=True)
class TargetSignals(Signals):
    """What the lead's target mode adds: a per-bar target (fraction of equity)."""

    target: np.ndarray = None


def test_a_new_signal_field_is_cut_at_and_compared():
    sig = _signals(30)
    target = np.full((30, 2), np.nan)
    target[10:, 0] = 0.25
    with_target = TargetSignals(sig.entry, sig.exit, sig.size, sig.limit, target)
    assert cut_points(with_target, 30, lo=2)[0].tolist() == [10, 11]

    class TargetsTomorrow(Strategy):
        """Leak only through the new field: hold when tomorrow closes higher."""

        def signals(self, panel: BarPanel) -> Signals:
            c = panel.close
            up = np.vstack([c[1:] > c[:-1], np.zeros((1, c.shape[1]), bool)])
            base = Signals.of(np.zeros(c.shape, np.int8), np.zeros(c.shape, bool))
            return TargetSignals(base.entry, base.exit, base.size, base.limit,
                                 np.where(up, 1.0, 0.0))

    panel = daily_panel(200, ["A", "B"], seed=5)
    strat = TargetsTomorrow(TargetsTomorrow.Params(), StrategyContext(Path("."), Path("t")))
    rep = guard(strat, panel, strat.signals(panel), "t")
    assert not rep.ok and "signal 'target'" in rep.problems[0]


def test_scrambled_panel_moves_every_bar_from_the_cut_and_restores_the_rest():
    panel = daily_panel(50, ["A", "B"], seed=6)
    sp = ScrambledPanel(panel, seed=0)
    for cut in (3, 3, 20, 49):
        view = sp.at(cut)
        for f in ("open", "high", "low", "close", "vwap"):  # volume is constant here
            real, seen = getattr(panel, f), getattr(view, f)
            np.testing.assert_array_equal(seen[:cut], real[:cut])
            assert np.all(seen[cut:] != real[cut:]), f  # random-walk rows are all distinct
        np.testing.assert_array_equal(view.ts, panel.ts)
    with pytest.raises(ValueError, match="ascend"):
        sp.at(10)


def test_a_strategy_that_fails_on_the_cut_data_names_the_cut():
    class NeedsAYear(Strategy):
        def signals(self, panel: BarPanel) -> Signals:
            if panel.n_bars < 252:
                raise ValueError("needs a year of bars")
            return Signals.of(np.zeros(panel.close.shape, np.int8),
                              np.zeros(panel.close.shape, bool))

    panel = daily_panel(300, ["A"], seed=7)
    strat = NeedsAYear(NeedsAYear.Params(), StrategyContext(Path("."), Path("y.toml")))
    with pytest.raises(LookAheadError, match=r"cut at bar \d+ .*truncated: NeedsAYear \(y"):
        guard(strat, panel, strat.signals(panel), "y.toml")
