"""A strategy's ``[model]`` table (kept apart from the registry so that loading a strategy
configuration imports no model code)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from framework.config import FrozenModel


class ModelRef(FrozenModel):
    """``[model]``: the registered model a strategy uses (``fw train`` writes it), its kind,
    the feature-set TOML it reads (found by :func:`framework.config.search.find_file`) and
    the training knobs (``train``, validated by the strategy's trainer)."""

    name: str
    version: str = "latest"
    kind: Literal["logistic", "random_forest", "hist_gbm", "torch_lstm", "torch_tcn"] = "hist_gbm"
    feature_set: Path | None = None
    train: dict = Field(default_factory=dict)
