"""``fw train``: fit and register the model a strategy names in its ``[model]`` table.

The strategy owns *what* is learned (its primary signal, labels, features) through a
``train(lake, config) -> dict`` method; the model library (``framework.ml``) owns how.
"""

from __future__ import annotations

from pathlib import Path

from framework.config import ConfigError
from framework.data import Lake
from framework.engine.run_config import load_strategy


def train_strategy(path: str | Path, overrides: dict | None = None, *,
                   lake_root: Path | None = None) -> dict:
    """Train the model of the strategy file at ``path``; returns what was registered
    (model name, version, CV metrics)."""
    cfg, strategy = load_strategy(path, overrides, lake_root, prepare=False)
    trainer = getattr(strategy, "train", None)
    if cfg.model is None or trainer is None:
        raise ConfigError(str(path), [f"strategy '{cfg.name}' has no [model] table or its "
                                      f"class {strategy.name} has no train() method: "
                                      "nothing to train"])
    return trainer(Lake(strategy.context.lake_root), cfg)
