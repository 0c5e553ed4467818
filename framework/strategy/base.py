"""The Strategy contract: causal vectorised signals plus ``[decision]`` parameters.

A strategy is a class named by a TOML file (in ``strategies/`` or in the user's own
folder, see :mod:`framework.config.search`). It implements :meth:`Strategy.signals`, a
causal function of the bars seen so far. The backtest driver calls it once over all
history; the live driver calls it on the bars seen so far as each bar closes and reads the
last row — the same code, never a port (a live session loads at least ``lookback_bars()``
bars of history before it trades). The path-dependent part (position, working orders,
time in trade) is the compiled decision rule in :mod:`framework.strategy.decision`.

Optional hooks, each with a default, are called by the drivers directly:
:meth:`Strategy.prepare` (before any run), :meth:`Strategy.train` (``fw train``),
:meth:`Strategy.cross_validate` (``fw sweep`` of model keys) and
:meth:`Strategy.manifest_extra` (keys for the run's manifest). See docs/strategy.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from framework.config import ConfigError, FrozenModel
from framework.data import Lake
from framework.strategy.config_view import ConfigView
from framework.strategy.context import BarContext, Fill
from framework.strategy.panel import BarPanel
from framework.strategy.signals import Signals
from framework.types.errors import FwError


class NoParams(FrozenModel):
    """A strategy without parameters."""


@dataclass
class StrategyContext:
    """What a strategy may use besides bars: the lake root, its TOML path, and artifacts
    loaded for it (a free-form dict its ``prepare`` may fill)."""

    lake_root: Path
    config_path: Path
    artifacts: dict[str, Any] = field(default_factory=dict)


class StrategyRunError(FwError):
    """The strategy's own code failed; the message names the strategy and its file."""


@contextmanager
def strategy_code(who: str, what: str) -> Iterator[None]:
    """Run a strategy's own code (its import, a hook): an ``FwError`` passes unchanged, any
    other exception becomes a one-line :class:`StrategyRunError` naming ``who`` (the
    strategy and its TOML) and ``what`` failed, never a raw traceback."""
    try:
        yield
    except FwError:
        raise
    except Exception as err:  # user code: anything can come out of it
        raise StrategyRunError(f"{who}: {what} failed: {type(err).__name__}: {err}") from err


class Strategy:
    """Base class. Subclasses set ``Params`` (a FrozenModel) and implement ``signals``.

    ``overridden_config`` maps dotted config keys the strategy's signals always override
    (e.g. ``"decision.size"`` when every entry carries its own ``Signals.size``) to why;
    setting such a key to anything but its default is reported (terminal and manifest),
    not silently ignored.
    """

    Params: ClassVar[type[FrozenModel]] = NoParams
    overridden_config: ClassVar[dict[str, str]] = {}

    def __init__(self, params: FrozenModel, context: StrategyContext):
        self.params = params
        self.context = context

    @property
    def name(self) -> str:
        """The strategy's class name."""
        return type(self).__name__

    def lookback_bars(self) -> int:
        """Warm-up: bars of history ``signals`` needs before its output is meaningful
        (history a live session loads first; where the look-ahead check starts cutting)."""
        return 0

    def live_bars(self) -> int | None:
        """Bars the live driver hands ``signals`` at each bar: the last
        ``lookback_bars() + 2`` by default, with every framework indicator carrying its
        state across bars (``framework.features.incremental``), so a bar costs the same
        at bar 100 and bar 100,000 and the values are the backtest's bit for bit. Return
        None for the whole session so far (O(n) a bar) when the strategy's own code keeps
        memory beyond ``lookback_bars()`` (a cumulative sum, an expanding mean)."""
        return self.lookback_bars() + 2

    def signals(self, panel: BarPanel) -> Signals:
        """Causal signals over ``panel``: row t may use rows <= t only (entry/exit signals,
        or targets in ``[decision] mode = "target"``). Not used by an event-driven strategy
        (one that implements :meth:`on_bar`)."""
        raise NotImplementedError(f"{self.name} must implement signals(panel) or on_bar(ctx)")


    def prepare(self, lake: Lake, config: ConfigView) -> None:
        """Load what ``signals`` needs besides bars (e.g. the registered model its
        ``[model]`` table names, into ``self.context.artifacts`` or attributes), once,
        before any driver runs the strategy: ``fw backtest``, ``fw check lookahead``, the
        live driver. ``fw train`` builds the strategy without it (no model exists yet).
        ``lake`` is the run's data lake, ``config`` the validated TOML. Default: nothing."""

    def train(self, lake: Lake, config: ConfigView) -> dict[str, Any]:
        """``fw train``: fit the model the ``[model]`` table names on ``lake`` and register
        it (``framework.ml.registry``); return what the terminal shows (model name,
        version, path, cross-validation metrics). Called on an unprepared strategy.
        Default: a strategy without a model has nothing to train, which is an error."""
        raise ConfigError(str(self.context.config_path), [
            f"strategy '{config.name}' (class {self.name}) has no model to train: "
            "fw train runs a strategy's train() method and this class does not define one"])

    def cross_validate(self, lake: Lake, config: ConfigView, *, splits: int,
                       embargo_sessions: int) -> dict[str, Any]:
        """``fw sweep`` of ``model.*`` keys: score the model ``config`` describes without
        registering it — purged k-fold (``splits`` folds, ``embargo_sessions`` x 24 h of
        embargo) on the in-sample span, plus the walk-forward out-of-sample scores.
        Returns at least ``cv_auc``, ``cv_log_loss``, ``oos_auc``, ``oos_log_loss``.
        Called on an unprepared strategy. Default: no model, an error."""
        raise ConfigError(str(self.context.config_path), [
            f"strategy '{config.name}' (class {self.name}) has no model to cross-validate: "
            "a sweep of model.* keys needs a strategy with a cross_validate() method"])

    def manifest_extra(self) -> dict[str, Any]:
        """Keys added to the run's ``manifest.json`` (JSON-serialisable: e.g. the model
        version a backtest used). Called after the run. Default: none."""
        return {}

    def on_start(self, ctx: BarContext) -> None:
        """An event-driven strategy's run begins (before its first ``on_bar``): reset any
        state it keeps between bars here, since one object may serve several runs (the
        look-ahead check replays it on truncated data)."""

    def on_bar(self, ctx: BarContext) -> None:
        """Event-driven form: called at each bar's close, after its fills and risk marks,
        with the bars so far, the account and the means to order
        (``framework.strategy.context``). Plain Python, one call per bar: slower than
        ``signals`` and for logic that needs the path. Implementing it makes the strategy
        event-driven; its ``signals`` is then not called."""

    def on_fill(self, ctx: BarContext, fill: Fill) -> None:
        """An event-driven strategy's fill (of any of its orders, stops and exits
        included), delivered at the next decision point — the close of the bar it filled
        in — before that bar's ``on_bar``."""

    @property
    def event_driven(self) -> bool:
        """True when the strategy implements ``on_bar`` (the event-driven form)."""
        return type(self).on_bar is not Strategy.on_bar
