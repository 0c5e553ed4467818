"""A strategy run's TOML file: which class, which universe and data, its parameters, and the
decision, risk, cost and execution tables. ``load_strategy`` validates all of it and
returns the configured strategy; every error names the file and the key."""

from __future__ import annotations

import datetime as dt
import importlib
import re
import sys
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from framework.config import ConfigError, FrozenModel, load_toml, validate_mapping
from framework.config.search import describe_roots, search_roots
from framework.data import Lake
from framework.engine.promotion import PromotionConfig
from framework.execution.config import ExecutionConfig
from framework.execution.costs import CostConfig
from framework.ml.model_ref import ModelRef
from framework.risk import RiskConfig
from framework.strategy.base import Strategy, StrategyContext, strategy_code
from framework.strategy.decision import DecisionConfig

_TARGET = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


class DataConfig(FrozenModel):
    """``[data]``: bars of ``timeframe`` from the lake between two session dates, of the
    regular session (09:30-16:00 ET) or with ``session = "extended"`` of 04:00-20:00 ET,
    and with ``book_levels`` > 0 the top levels of each symbol's L3 book (the lake's
    ``book_events``) at every decision time (``BarPanel.book``)."""

    timeframe: Literal["1s", "1m", "1d"] = "1d"
    session: Literal["regular", "extended"] = "regular"
    book_levels: int = Field(default=0, ge=0, le=50)
    start: dt.date | None = None
    end: dt.date | None = None
    lake: Path | None = None  # default $FW_LAKE or ./data_lake

    @model_validator(mode="after")
    def _ordered(self) -> DataConfig:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class BacktestConfig(FrozenModel):
    """``[backtest]``: starting cash (USD, finite), where results go, the benchmark symbol
    of the tearsheet (a lake symbol; default: the equal-weight universe), and for a
    rule-based strategy the session date its out-of-sample period starts (the report
    then keeps the sessions before it apart as in-sample, as for a trained model)."""

    initial_cash: float = Field(default=100_000.0, gt=0.0)
    reports: Path = Path("reports")
    benchmark: str | None = None
    oos_start: dt.date | None = None


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
    sweep: dict = Field(default_factory=dict)  # fw sweep's table, validated by framework.sweep
    promotion: PromotionConfig = PromotionConfig()
    seed: int = 42

    @field_validator("strategy")
    @classmethod
    def _target(cls, v: str) -> str:
        if not _TARGET.match(v):
            raise ValueError("expected 'package.module:ClassName', a dotted module on the "
                             "Python path (not a file path)")
        return v

    @field_validator("symbols")
    @classmethod
    def _upper(cls, v: list[str]) -> list[str]:
        out = [s.strip().upper() for s in v]
        dup = sorted({s for s in out if out.count(s) > 1})
        if dup:
            raise ValueError(f"symbol(s) listed twice: {', '.join(dup)}")
        return out


def strategy_class(target: str, source: str | Path) -> type[Strategy]:
    """Import ``module:Class`` named by the strategy TOML at ``source`` and check it is a
    Strategy. The module is looked up in the installed packages, then under
    :func:`framework.config.search.search_roots` of ``source`` (the working directory, the
    TOML's folder, its parent), so a strategy in the user's own folder needs no
    ``PYTHONPATH``. Every command that loads a strategy comes through here.

    Errors name the TOML, the module and the folders searched; an error raised by the
    module's own code while importing is reported as that module's failure."""
    mod_name, _, cls_name = target.partition(":")
    on_path = {str(Path(p or ".").absolute()) for p in sys.path}
    for root in search_roots(source):  # appended: installed packages keep precedence
        if str(root) not in on_path:
            sys.path.append(str(root))
    importlib.invalidate_caches()  # folders created since start-up (fw new strategy)
    with strategy_code(f"strategy module '{mod_name}' ({source})", "import"):
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as err:
            if err.name is None or not (mod_name + ".").startswith(err.name + "."):
                raise  # the module exists but imports something missing: its own failure
            raise ConfigError(str(source), [
                f"key 'strategy': no module '{mod_name}' (no module named '{err.name}'); "
                f"searched the installed packages, then {describe_roots(source)}"
                + _shadowed(mod_name, source)]) from None
    cls = getattr(mod, cls_name, None)
    if cls is None:
        raise ConfigError(str(source), [f"key 'strategy': module '{mod_name}' "
                                        f"({mod.__file__}) has no attribute '{cls_name}'"])
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ConfigError(str(source), [f"key 'strategy': '{target}' is not a subclass of "
                                        "framework.strategy.Strategy"])
    return cls


def _shadowed(mod_name: str, source: str | Path) -> str:
    """A hint when the module's top package is already imported from elsewhere (e.g. a
    user folder called ``strategies``, fw's own package name) while a search root holds a
    folder of that name."""
    top = mod_name.split(".")[0]
    pkg = sys.modules.get(top)
    if pkg is None:
        return ""
    where = [str(p) for p in getattr(pkg, "__path__", [])] or [str(pkg.__file__)]
    hidden = [root / top for root in search_roots(source) if (root / top).is_dir()]
    hidden = [h for h in hidden if str(h) not in where]
    if not hidden:
        return ""
    return (f"; '{top}' is already the package at {', '.join(where)}, which hides "
            f"{hidden[0]}: rename that folder")


def build_strategy(cfg: StrategyConfig, source: str | Path, lake_root: Path | None = None,
                   *, prepare: bool = True, cls: type[Strategy] | None = None) -> Strategy:
    """The strategy object of a validated config; ``source`` (its TOML) names it in errors
    and anchors the search for its module (:func:`strategy_class`).

    With ``prepare`` the strategy's :meth:`Strategy.prepare` hook runs (e.g. loading the
    registered model its ``[model]`` table names), so every driver gets a ready strategy;
    ``fw train`` builds it unprepared, before any model exists. ``cls``: the class
    ``cfg.strategy`` names, already imported (a sweep builds one object per trial)."""
    cls = cls or strategy_class(cfg.strategy, source)
    params = validate_mapping(cfg.params, cls.Params, str(source), "params")
    root = Path(lake_root or cfg.data.lake or Lake(None).root)
    strategy = cls(params, StrategyContext(root, Path(source)))
    if prepare:
        with strategy_code(f"{strategy.name} ({source})", "prepare()"):
            strategy.prepare(Lake(root), cfg)
    return strategy


def load_strategy(path: str | Path, overrides: dict | None = None,
                  lake_root: Path | None = None, *,
                  prepare: bool = True) -> tuple[StrategyConfig, Strategy]:
    """Validate the TOML at ``path`` (with dotted ``overrides``) and build its strategy."""
    cfg = load_toml(path, StrategyConfig, overrides)
    return cfg, build_strategy(cfg, path, lake_root, prepare=prepare)


def ignored_settings(cfg: StrategyConfig, strategy: Strategy, source: str | Path) -> list[dict]:
    """Settings of ``cfg`` (TOML or ``--set``) that have no effect because the strategy's
    signals override them (its ``overridden_config``): every declared key whose value
    differs from the key's default, as ``{"key", "value", "default", "why"}``. A run
    records them in its manifest and the CLI warns about each; a declared key that is not
    a config key is an error naming the class."""
    out = []
    for key, why in type(strategy).overridden_config.items():
        *parents, leaf = key.split(".")
        node = cfg
        for part in parents:
            node = getattr(node, part, None)
        fields = type(node).model_fields if isinstance(node, FrozenModel) else {}
        if leaf not in fields:
            raise ConfigError(str(source), [f"{strategy.name}.overridden_config: '{key}' is "
                                            "not a key of the strategy TOML"])
        value, default = getattr(node, leaf), fields[leaf].get_default(call_default_factory=True)
        if value != default:
            out.append({"key": key, "value": value, "default": default, "why": why})
    return out
