"""The strategy's view of its TOML (``framework.strategy.config_view``) against the engine's
whole strategy file: every member a strategy may read exists on ``StrategyConfig`` with a
type that fits the protocol's, so a strategy typed against the view gets what it reads."""

from __future__ import annotations

import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest

from framework.config import FrozenModel, load_toml
from framework.engine.run_config import DataConfig, StrategyConfig
from framework.strategy.config_view import ConfigView, DataView

ROOT = Path(__file__).resolve().parents[2]


def _members(proto: type) -> dict[str, Any]:
    """A protocol's properties and their return types."""
    return {name: get_type_hints(prop.fget)["return"] for name, prop in vars(proto).items()
            if isinstance(prop, property)}


def _fits(field: Any, want: Any) -> bool:
    """Whether a value of type ``field`` is a ``want`` (the cases the views use)."""
    if want is Any or field == want:
        return True
    if getattr(want, "_is_protocol", False):
        return isinstance(field, type) and not _misfits(field, want)
    if get_origin(want) in (Union, types.UnionType):
        arms = get_args(field) if get_origin(field) in (Union, types.UnionType) else (field,)
        return all(any(_fits(a, w) for w in get_args(want)) for a in arms)
    if get_origin(field) is Literal:
        return all(isinstance(v, want) for v in get_args(field))
    f_cls, w_cls = get_origin(field) or field, get_origin(want) or want
    if not (isinstance(f_cls, type) and isinstance(w_cls, type) and issubclass(f_cls, w_cls)):
        return False
    f_args, w_args = get_args(field), get_args(want)
    return not f_args or not w_args or all(map(_fits, f_args, w_args))


def _misfits(model: type, proto: type) -> list[str]:
    """Members of ``proto`` that ``model`` lacks or types differently."""
    hints = get_type_hints(model)
    return [f"{name}: {hints.get(name)} is not {want}" for name, want in _members(proto).items()
            if name not in hints or not _fits(hints[name], want)]


def test_strategy_config_satisfies_the_view():
    assert _misfits(StrategyConfig, ConfigView) == []
    assert _misfits(get_type_hints(StrategyConfig)["data"], DataView) == []


def test_a_loaded_strategy_file_is_a_config_view():
    cfg = load_toml(ROOT / "strategies" / "ml_mr.toml", StrategyConfig)
    assert isinstance(cfg, ConfigView) and isinstance(cfg.data, DataView)
    assert cfg.model is not None and cfg.symbols and cfg.data.timeframe in ("1s", "1m", "1d")


def test_a_config_that_drifted_from_the_view_is_caught():
    class Drifted(FrozenModel):  # seed renamed, symbols no longer strings
        name: str
        symbols: list[int]
        data: DataConfig
        params: dict
        model: None = None
        random_seed: int = 0

    assert sorted(m.split(":")[0] for m in _misfits(Drifted, ConfigView)) == ["seed", "symbols"]


@pytest.mark.parametrize("field, want, ok", [
    (list[str], Sequence[str], True),
    (Literal["1s", "1m"], str, True),
    (int | None, int | None, True),
    (str | None, str, False),
])
def test_the_fit_rule_on_hand_cases(field, want, ok):
    assert _fits(field, want) is ok
