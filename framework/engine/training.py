"""``fw train``: fit and register the model a strategy names in its ``[model]`` table.

The strategy owns *what* is learned (its primary signal, labels, features) through its
:meth:`framework.strategy.Strategy.train` hook; the model library (``framework.ml``, and
``framework.strategy.meta_label`` for meta-labelling) owns how.
"""

from __future__ import annotations

from pathlib import Path

from framework.data import Lake
from framework.engine.run_config import load_strategy
from framework.strategy.base import strategy_code


def train_strategy(path: str | Path, overrides: dict | None = None, *,
                   lake_root: Path | None = None) -> dict:
    """Train the model of the strategy file at ``path``; returns what was registered
    (model name, version, CV metrics). A strategy without a ``train`` method is refused
    with an error naming it."""
    cfg, strategy = load_strategy(path, overrides, lake_root, prepare=False)
    with strategy_code(f"{strategy.name} ({path})", "train()"):
        return strategy.train(Lake(strategy.context.lake_root), cfg)
