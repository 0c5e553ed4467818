"""A strategy run's TOML file: which class, which universe and data, its parameters, and the
decision, risk, cost and execution tables. ``load_strategy`` validates all of it and
returns the configured strategy; every error names the file and the key."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from framework.config import ConfigError, FrozenModel, load_toml
from framework.config.loading import _format_validation_error
from framework.data import Lake
from framework.engine.promotion import PromotionConfig
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.risk import RiskConfig
from framework.strategy.base import Strategy, StrategyContext
from framework.strategy.decision import DecisionConfig


class DataConfig(FrozenModel):
    """``[data]``: bars of ``timeframe`` from the lake between two session dates, and
    with ``book_levels`` > 0 the top levels of each symbol's L3 book (the lake's
    ``book_events``) at every decision time (``BarPanel.book``)."""

    timeframe: Literal["1s", "1m", "1d"] = "1d"
    book_levels: int = Field(default=0, ge=0, le=50)
    start: dt.date | None = None
    end: dt.date | None = None
    lake: Path | None = None  # default $FW_LAKE or ./data_lake


class ModelRef(FrozenModel):
    """``[model]``: the registered model a strategy uses (``fw train`` writes it)."""

    name: str
    version: str = "latest"
    kind: Literal["logistic", "random_forest", "hist_gbm", "torch_lstm", "torch_tcn"] = "hist_gbm"
    feature_set: Path | None = None
    train: dict = Field(default_factory=dict)  # training knobs, read by the strategy


class BacktestConfig(FrozenModel):
    """``[backtest]``: starting cash (USD), where results go, and the benchmark symbol of
    the tearsheet (a lake symbol; default: the equal-weight universe)."""

    initial_cash: float = Field(default=100_000.0, gt=0.0)
    reports: Path = Path("reports")
    benchmark: str | None = None


class StrategyConfig(FrozenModel):
    """The whole strategy file."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    strategy: str  # "module.path:ClassName"
    symbols: list[str] = Field(min_length=1)
    data: DataConfig = DataConfig()
    params: dict = Field(default_factory=dict)
    decision: DecisionConfig = DecisionConfig()
    risk: RiskConfig = RiskConfig()
    costs: CostConfig = CostConfig()
    execution: ExecutionConfig = ExecutionConfig()
    backtest: BacktestConfig = BacktestConfig()
    model: ModelRef | None = None
    promotion: PromotionConfig = PromotionConfig()
    seed: int = 42

    @field_validator("strategy")
    @classmethod
    def _target(cls, v: str) -> str:
        if ":" not in v:
            raise ValueError("expected 'package.module:ClassName'")
        return v

    @field_validator("symbols")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        return [s.upper() for s in v]


def strategy_class(target: str, source: str) -> type[Strategy]:
    """Import ``module:Class`` and check it is a Strategy; errors name ``source``."""
    mod_name, _, cls_name = target.partition(":")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as err:
        raise ConfigError(source, [f"strategy: cannot import '{mod_name}': {err}"]) from None
    cls = getattr(mod, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ConfigError(source, [f"strategy: '{target}' is not a framework Strategy class"])
    return cls


def build_strategy(cfg: StrategyConfig, source: str | Path, lake_root: Path | None = None,
                   *, prepare: bool = True) -> Strategy:
    """The strategy object of a validated config; ``source`` names it in errors.

    With ``prepare`` the strategy's ``prepare(lake, cfg)`` hook runs (e.g. loading the
    registered model its ``[model]`` table names), so every driver gets a ready strategy;
    ``fw train`` builds it unprepared, before any model exists."""
    cls = strategy_class(cfg.strategy, str(source))
    try:
        params = cls.Params.model_validate(cfg.params)
    except ValidationError as err:
        raise ConfigError(str(source), [m.replace("key '", "key 'params.", 1)
                                        for m in _format_validation_error(err)]) from None
    root = Path(lake_root or cfg.data.lake or Lake(None).root)
    strategy = cls(params, StrategyContext(root, Path(source)))
    hook = getattr(strategy, "prepare", None)
    if prepare and hook is not None:
        hook(Lake(root), cfg)
    return strategy


def load_strategy(path: str | Path, overrides: dict | None = None,
                  lake_root: Path | None = None, *,
                  prepare: bool = True) -> tuple[StrategyConfig, Strategy]:
    """Validate the TOML at ``path`` (with dotted ``overrides``) and build its strategy."""
    cfg = load_toml(path, StrategyConfig, overrides)
    return cfg, build_strategy(cfg, path, lake_root, prepare=prepare)
