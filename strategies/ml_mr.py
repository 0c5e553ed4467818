"""The flagship: intraday z-score mean reversion on 1-minute bars, filtered and sized by a
meta-label model trained walk-forward.

* Primary signal: fade the close's z-score against its rolling mean (the same rule as
  ``bollinger_mr``): long below ``-entry_z``, short above ``+entry_z``.
* Meta-label: did that trade reach its profit-take before its stop-loss, time limit or
  the session close (triple barrier, volatility-scaled)? A model of the feature set in
  ``[model] feature_set`` learns it; samples are weighted by label uniqueness.
* Walk-forward: the first ``initial_sessions`` sessions only train; each later span of
  sessions is scored by a model refitted on labels settled before it. The tearsheet's
  headline is that out-of-sample span; the first span is in-sample and shown apart.
* Trade: enter only when P(win) ≥ ``threshold``, with size ``max_size * (2 N(z) - 1)``
  (fraction of equity, AFML bet sizing), exit on reversion, brackets and flat at close.

The labelling, walk-forward fitting, registry and scoring are
``framework.strategy.meta_label.MetaLabel`` (over ``framework.ml.meta_label``).
"""

from __future__ import annotations

import numpy as np

from framework.config import ConfigError
from framework.data import Lake
from framework.ml.meta_label import MetaLabelParams
from framework.strategy import BarPanel, Signals, Strategy
from framework.strategy.config_view import ConfigView
from framework.strategy.meta_label import MetaLabel
from strategies.bollinger_mr import BollingerParams, zscore_signals


class MLParams(MetaLabelParams, BollingerParams):
    """Primary signal (``window``, ``entry_z``, ``exit_z``) plus the meta-label's labelling
    and sizing (``vol_window``, ``profit_take``, ``stop_loss``, ``max_bars``,
    ``min_return``, ``threshold``, ``max_size``: see ``MetaLabelParams``)."""


class MLMeanReversion(Strategy):
    """Z-score mean reversion with a meta-label filter (see the module docstring)."""

    Params = MLParams
    overridden_config = {"decision.size": "every entry is sized by the meta-label model "
                                          "(params.max_size x bet size, in Signals.size)"}
    meta: MetaLabel | None = None

    def prepare(self, lake: Lake, config: ConfigView) -> None:
        """Load the registered model ``[model]`` names and check its feature set."""
        self.meta = MetaLabel.load(lake, config, self.context.config_path)

    def lookback_bars(self) -> int:
        signal = max(self.params.window, self.params.vol_window)
        return self.meta.lookback_bars(signal) if self.meta else signal

    def primary(self, panel: BarPanel) -> np.ndarray:
        """The z-score entries (+1/-1/0) the model filters."""
        return zscore_signals(panel.close, self.params)[1]

    def signals(self, panel: BarPanel) -> Signals:
        _, entry, exit_ = zscore_signals(panel.close, self.params)
        if self.meta is None:
            raise ConfigError(str(self.context.config_path), [
                "ml_mr has no model loaded: build it with prepare=True after `fw train`"])
        size = self.meta.sizes(panel, entry, self.params)
        gated = np.where(size > 0.0, entry, 0).astype(np.int8)
        return Signals.of(gated, exit_, size=np.where(size > 0.0, size, np.nan))

    def manifest_extra(self) -> dict:
        return self.meta.manifest() if self.meta else {}

    def cross_validate(self, lake: Lake, config: ConfigView, *, splits: int,
                       embargo_sessions: int) -> dict:
        """Purged k-fold of the configured model on the in-sample span (``fw sweep``)."""
        return MetaLabel(config, self.context.config_path).cross_validate(
            lake, config, self.primary, self.params, splits, embargo_sessions * 86_400 * 10**9)

    def train(self, lake: Lake, config: ConfigView) -> dict:
        """Label every primary entry, fit walk-forward, register the model."""
        return MetaLabel(config, self.context.config_path).train(lake, config, self.primary,
                                                                 self.params)
