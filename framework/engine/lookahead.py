"""Look-ahead guard: re-run a strategy's ``signals`` on the data cut short, and on the data
with everything from the cut on scrambled, and require every signal before the cut to be
unchanged.

A causal strategy cannot tell whether the bars from the cut on exist, nor what they hold.
Where it can, it peeks: a next-bar value (``shift(-1)``, forward-filled at the end or not),
a centred window, a full-sample normalisation, a model fitted on the whole series.

**Where to cut.** A one-bar leak moves a decision only at a bar where a signal changes,
and a cut at a random bar rarely lands there (an SMA cross on tomorrow's close passed
five random cuts in 10 of 10 seeds). So the guard cuts at every bar ``t`` where any
signal of any symbol changes (``entry``, ``exit``, ``size``, ``limit``, and any per-bar
field ``Signals`` gains later: the rule reads the dataclass's fields) and just before it:
cut ``c`` keeps bars ``0 .. c-1``, so ``c = t + 1`` asks whether bar ``t``'s change is still
made without bar ``t + 1``, and ``c = t`` whether bar ``t - 1`` still stays as it was
without bar ``t``. Past ``max_cuts`` such cuts the change bars are sampled (seeded),
the budget shared out evenly between fields, so a rarely changing ``entry`` is not
drowned by an ``exit`` or ``size`` that changes every few bars. ``n_random`` extra cuts
at random bars cover quiet stretches.

**Two tests per cut.** Truncation (bars from ``c`` on removed) catches code that reads
the length or the last row; perturbation (bars from ``c`` on replaced by other bars of
the same panel: a seeded shuffle with no bar left in place) catches code whose output
happens to survive a clean cut (a forward-filled last row, ``min_periods`` at the edge)
but not different future data. Both compare every signal field at every bar before
the cut, including the bar just before it (the only bar a one-bar leak moves).

**Windows.** A causal strategy is causal on any stretch of the data, so a change-driven
cut is tested on a window: the ``window`` bars before the cut (at least four lookbacks)
and a quarter of that after it. The window's own run is the reference; its truncated
and perturbed runs must agree with it before the cut. That keeps each call short: the
cost grows with the number of cuts, not with cuts times the length of the data. The
``n_random`` random cuts are tested on the whole data against the full run, for leaks
that reach further than a window (a full-sample statistic, a far-ahead label).

**One pass.** The cuts are visited in ascending order; a truncated panel is a view, and
the perturbed panel is one buffer whose rows are restored from the real panel as the cut
moves forward, so all cuts together copy the panel once. The engine is not re-run:
orders are a function of the signals and the bars up to each decision (the live driver's
test advances it bar by bar), so unchanged signals before the cut mean unchanged orders.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from framework.config import load_toml
from framework.data import Lake
from framework.engine.backtest import market_data, strategy_signals
from framework.engine.event.book_tape import BookTape
from framework.engine.event.engine import run_event
from framework.engine.event.on_bar import OnBarRunner, blank_signals
from framework.engine.event.quotes import QuoteTape
from framework.engine.run_config import StrategyConfig, build_strategy
from framework.marketdata.book.sampler import BookLevels
from framework.strategy import BarPanel, LookAheadError, Signals, Strategy
from framework.strategy.panel import FIELDS
from framework.types.errors import FwError
from framework.types.nytime import iso_ny

MAX_CUTS = 200  # change-driven cuts (each bar: at and just before); past it they are sampled
N_RANDOM = 5  # extra cuts at random bars, tested on the whole data
WINDOW = 1000  # bars of history before a change-driven cut (at least 4 lookbacks)
MAX_PROBLEMS = 10  # the guard stops after this many problems (the first says enough)


# order columns fixed at decision time (fills and final status may depend on later bars;
# so does the quantity of an order for a USD ``amount``, which is sized at its fill)
DECISION_COLUMNS = ("ts", "symbol", "side", "type", "tif", "role", "qty", "amount",
                    "limit_price", "stop_price", "reject_reason")
MAX_CUTS_ON_BAR = 40  # an event-driven strategy's cuts each re-run the engine from bar 0


@dataclass
class LookaheadReport:
    """Cuts tried (a cut ``c`` keeps bars ``0 .. c-1``), the bars whose signal changes chose
    them, the first difference found at each bad cut, and the wall time (s)."""

    strategy: str
    n_bars: int
    cuts: list[int] = field(default_factory=list)
    change_bars: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no signal before any cut changed."""
        return not self.problems


def signal_fields(sig: Signals, n_bars: int) -> dict[str, np.ndarray]:
    """Every per-bar array of ``sig`` by field name (``entry``, ``exit``, ``size``,
    ``limit``, and whatever field ``Signals`` gains later): what the guard compares."""
    out = {}
    for f in dataclasses.fields(sig):
        arr = getattr(sig, f.name)
        if isinstance(arr, np.ndarray) and arr.ndim >= 1 and arr.shape[0] == n_bars:
            out[f.name] = arr
    return out


def _differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise ``a != b`` with NaN equal to NaN."""
    d = a != b
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        d &= ~(np.isnan(a) & np.isnan(b))
    return d


def change_bars(arr: np.ndarray) -> np.ndarray:
    """Bars where any symbol's value differs from the bar before (bar 0: from the neutral
    value, 0 / False / NaN), ascending."""
    if arr.shape[0] == 0:
        return np.zeros(0, np.int64)
    prev = np.empty_like(arr)
    prev[0] = np.nan if arr.dtype.kind == "f" else 0
    prev[1:] = arr[:-1]
    return np.flatnonzero(_differs(arr, prev).reshape(arr.shape[0], -1).any(axis=1))


def cut_points(sig: Signals, n_bars: int, lo: int, *, max_cuts: int = MAX_CUTS,
               seed: int = 0) -> tuple[np.ndarray, int]:
    """The change-driven cuts, ascending, in ``[lo, n_bars - 1]``, and how many change bars
    they come from: each bar ``t`` where a signal changes gives cuts ``t`` and ``t + 1``;
    past ``max_cuts`` the change bars are sampled (seeded), the budget split evenly
    between fields (a field with fewer changes leaves its unused share to the others)."""
    rng = np.random.default_rng(seed)
    per_field = []
    for arr in signal_fields(sig, n_bars).values():
        bars = change_bars(arr)
        bars = bars[(bars + 1 >= lo) & (bars < n_bars)]
        if bars.shape[0]:
            per_field.append(bars)
    per_field.sort(key=len)
    budget = max_cuts // 2
    picked = []
    for k, bars in enumerate(per_field):
        share = budget // (len(per_field) - k)
        if bars.shape[0] > share:
            bars = np.sort(rng.choice(bars, share, replace=False))
        picked.append(bars)
        budget -= bars.shape[0]
    bars = np.unique(np.concatenate(picked)) if picked else np.zeros(0, np.int64)
    cuts = np.concatenate([bars, bars + 1])
    return np.unique(cuts[(cuts >= lo) & (cuts < n_bars)]), int(bars.shape[0])


class ScrambledPanel:
    """The panel with every bar from a cut on replaced by another bar of the same panel
    (prices, volume, book levels; the time axis and sessions stay: the calendar is known
    ahead). One buffer serves ascending cuts: moving the cut forward restores the real
    rows it passes, so a sweep over all cuts copies the panel once."""

    def __init__(self, panel: BarPanel, seed: int):
        T = panel.n_bars
        order = np.random.default_rng(seed).permutation(T)
        perm = np.empty(T, np.int64)
        perm[order] = order[(np.arange(T) + 1) % T]  # one cycle: no bar stays in place
        self.panel = panel
        self.real = {f: getattr(panel, f) for f in FIELDS}
        if panel.book is not None:
            self.real.update({f"book.{k}": v for k, v in panel.book._asdict().items()})
        self.buf = {k: np.ascontiguousarray(v[perm]) for k, v in self.real.items()}
        self.cut = 0

    def at(self, cut: int) -> BarPanel:
        """The panel with bars ``cut ..`` scrambled; ``cut`` not below the last call's."""
        if cut < self.cut:
            raise ValueError(f"cuts must ascend: {cut} after {self.cut}")
        for k, real in self.real.items():
            self.buf[k][self.cut:cut] = real[self.cut:cut]
        self.cut = cut
        book = None
        if self.panel.book is not None:
            book = BookLevels(*(self.buf[f"book.{k}"] for k in BookLevels._fields))
        return dataclasses.replace(self.panel, **{f: self.buf[f] for f in FIELDS}, book=book)



def first_change(ref: dict[str, np.ndarray], got: Signals, cut: int, n_bars: int
                 ) -> tuple[str, int, int, object, object] | None:
    """The earliest difference before bar ``cut`` between the reference run's signal
    fields ``ref`` and ``got`` (signals over ``n_bars`` bars): ``(field, bar, symbol
    index, reference value, got value)``, or None (a field missing from ``got`` counts at
    bar 0)."""
    mine = signal_fields(got, n_bars)
    best = None
    for name, arr in ref.items():
        if name not in mine:
            return name, 0, 0, "present", "missing"
        d = _differs(arr[:cut], mine[name][:cut]).reshape(cut, -1)
        rows = np.flatnonzero(d.any(axis=1))
        if rows.shape[0] and (best is None or rows[0] < best[1]):
            t, s = int(rows[0]), int(np.flatnonzero(d[rows[0]])[0])
            best = (name, t, s, arr[:cut].reshape(cut, -1)[t, s].item(),
                    mine[name][:cut].reshape(cut, -1)[t, s].item())
    return best


def _signals(strategy: Strategy, view: BarPanel, source: str, where: str) -> Signals:
    try:
        return strategy_signals(strategy, view, source)
    except FwError as err:
        raise LookAheadError(f"{where}: {err}") from err


def guard(strategy: Strategy, panel: BarPanel, full: Signals, source: str, *,
          max_cuts: int = MAX_CUTS, n_random: int = N_RANDOM, seed: int = 0,
          window: int = WINDOW) -> LookaheadReport:
    """Check ``strategy`` (whose signals over all of ``panel`` are ``full``) for look-ahead:
    cut, truncate and perturb as the module docstring says; ``window`` bars of history
    before a change-driven cut (0: every cut on the whole data); ``source`` names the
    strategy in errors."""
    t0 = time.perf_counter()
    T = panel.n_bars
    rep = LookaheadReport(strategy.name, T)
    lookback = strategy.lookback_bars()
    lo = min(T - 1, max(2, lookback + 1))
    change, rep.change_bars = cut_points(full, T, lo, max_cuts=max_cuts, seed=seed)
    whole = dict.fromkeys(change.tolist(), False)
    if T > lo:
        whole.update(dict.fromkeys(np.random.default_rng([seed, 1]).integers(
            lo, T, n_random).tolist(), True))
    before = max(window, 4 * lookback)
    fields = signal_fields(full, T)
    scrambled = ScrambledPanel(panel, seed)
    for cut in sorted(whole):
        rep.cuts.append(cut)
        a, b = ((0, T) if whole[cut] or window <= 0
                else (max(0, cut - before), min(T, cut + before // 4)))
        where = (f"cut at bar {cut} ({iso_ny(int(panel.ts[cut]))})"
                 + (f", history from bar {a}" if a > 0 else ""))
        ref = fields
        if (a, b) != (0, T):
            ref = signal_fields(_signals(strategy, panel.rows(a, b), source, where), b - a)
        for how, view in (("truncated", panel.rows(a, cut)),
                          ("perturbed", scrambled.at(cut).rows(a, b))):
            got = _signals(strategy, view, source, f"{where}, bars from there {how}")
            diff = first_change(ref, got, cut - a, view.n_bars)
            if diff is not None:
                name, t, s, was, now = diff
                rep.problems.append(
                    f"{where}, bars from there {how}: signal '{name}' of "
                    f"{panel.symbols[s % len(panel.symbols)]} at bar {a + t} "
                    f"({iso_ny(int(panel.decision_ts()[a + t]))}) changed from {was} to {now}")
                break
        if len(rep.problems) >= MAX_PROBLEMS:
            break
    rep.seconds = time.perf_counter() - t0

    return rep


def _decided(orders, horizon: int):
    """The orders known at ``horizon`` (a decision instant, ns UTC), decision columns only;
    the quantity only where it was fixed at the decision (not for a USD amount)."""
    import polars as pl

    # bracket legs and rebalance orders toward a target are born at the next fill
    # opportunity (the next bar's open), which a run cut there never sees
    known = (pl.col("ts") < horizon) | ((pl.col("ts") == horizon)
                                        & ~pl.col("role").is_in(["bracket_leg", "target"]))
    qty = pl.when(pl.col("amount").is_nan()).then(pl.col("qty"))
    return orders.filter(known).with_columns(qty=qty).select(DECISION_COLUMNS)


def guard_on_bar(strategy: Strategy, panel: BarPanel, config: StrategyConfig, source: str, *,
                 quotes: QuoteTape | None = None, book_tape: BookTape | None = None,
                 max_cuts: int = MAX_CUTS_ON_BAR, n_random: int = N_RANDOM,
                 seed: int = 0) -> LookaheadReport:
    """The guard for an event-driven strategy (``on_bar``), which has no signals to compare:
    its decisions are its orders. The cuts are at and just before every bar where the full
    run decided an order (sampled, seeded, past ``max_cuts``) plus ``n_random`` random bars;
    each re-runs the engine from bar 0 (the strategy's state is its whole path) on the data
    truncated and perturbed, and the orders decided before the cut (``DECISION_COLUMNS``)
    must equal the full run's."""
    t0 = time.perf_counter()
    T = panel.n_bars
    rep = LookaheadReport(strategy.name, T)

    def orders(view: BarPanel, where: str):
        try:
            return run_event(view, blank_signals(view), decision=config.decision,
                             costs=config.costs, risk=config.risk, execution=config.execution,
                             init_cash=config.backtest.initial_cash, quotes=quotes,
                             book_tape=book_tape, hook=OnBarRunner(strategy)).orders
        except FwError as err:
            raise LookAheadError(f"{where}: {err}") from err

    full = orders(panel, "the full run")
    dec_ts = panel.decision_ts()
    lo = min(T - 1, max(2, strategy.lookback_bars() + 1))
    bars = np.unique(np.searchsorted(dec_ts, full["ts"].to_numpy()))
    bars = bars[(bars + 1 >= lo) & (bars < T)]
    rng = np.random.default_rng(seed)
    if bars.shape[0] > max_cuts // 2:
        bars = np.sort(rng.choice(bars, max_cuts // 2, replace=False))
    rep.change_bars = int(bars.shape[0])
    cuts = np.concatenate([bars, bars + 1, rng.integers(lo, T, n_random if T > lo else 0)])
    scrambled = ScrambledPanel(panel, seed)
    for cut in np.unique(cuts[(cuts >= lo) & (cuts < T)]).tolist():
        rep.cuts.append(cut)
        where = f"cut at bar {cut} ({iso_ny(int(panel.ts[cut]))})"
        want = _decided(full, int(dec_ts[cut - 1]))
        for how, view in (("truncated", panel.rows(0, cut)), ("perturbed", scrambled.at(cut))):
            got = _decided(orders(view, f"{where}, bars from there {how}"), int(dec_ts[cut - 1]))
            if not got.equals(want):
                rep.problems.append(f"{where}, bars from there {how}: the orders decided "
                                    f"before the cut differ ({want.height} vs {got.height} "
                                    "orders)")
                break
        if len(rep.problems) >= MAX_PROBLEMS:
            break
    rep.seconds = time.perf_counter() - t0
    return rep


def check_lookahead(path: str | Path, *, max_cuts: int | None = None, n_random: int = N_RANDOM,
                    seed: int = 0, window: int = WINDOW, lake_root: Path | None = None,
                    overrides: dict | None = None) -> LookaheadReport:
    """Run the guard on the strategy file at ``path`` over its lake data (see :func:`guard`;
    an event-driven strategy: :func:`guard_on_bar`). ``max_cuts`` None: ``MAX_CUTS`` for
    signals, ``MAX_CUTS_ON_BAR`` for an event-driven strategy (each of its cuts re-runs
    the engine)."""
    cfg = load_toml(path, StrategyConfig, overrides)
    strategy = build_strategy(cfg, path, lake_root)
    panel, quotes, tape = market_data(Lake(strategy.context.lake_root), cfg)
    if strategy.event_driven:
        rep = guard_on_bar(strategy, panel, cfg, str(path), quotes=quotes, book_tape=tape,
                           max_cuts=MAX_CUTS_ON_BAR if max_cuts is None else max_cuts,
                           n_random=n_random,
                           seed=seed)
    else:
        full = strategy_signals(strategy, panel, str(path))
        rep = guard(strategy, panel, full, str(path),
                    max_cuts=MAX_CUTS if max_cuts is None else max_cuts, n_random=n_random,
                    seed=seed, window=window)
    rep.strategy = cfg.name  # as the TOML names it (the class may serve several files)
    return rep
