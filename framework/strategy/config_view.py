"""What a strategy's hooks may read of its validated TOML, as types strategies annotate with.

The whole strategy file (``framework.engine.run_config.StrategyConfig``) also holds the
``[risk]``, ``[costs]``, ``[execution]`` and ``[promotion]`` tables, whose types live in
stages to the right of ``strategy`` (DESIGN.md's stage order), so it stays in the engine.
A strategy reads only the part below; these protocols name it without importing the
engine, and ``StrategyConfig`` satisfies them structurally
(``tests/strategy/test_config_view.py`` checks every member against it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from framework.ml.model_ref import ModelRef


@runtime_checkable
class DataView(Protocol):
    """The ``[data]`` table: bar ``timeframe`` ("1s", "1m", "1d"), ``session`` ("regular"
    or "extended"), L3 ``book_levels`` per decision (0 = none), the first and last
    session date (None = the lake's), the ``lake`` root (None = the default)."""

    @property
    def timeframe(self) -> str: ...
    @property
    def session(self) -> str: ...
    @property
    def book_levels(self) -> int: ...
    @property
    def start(self) -> dt.date | None: ...
    @property
    def end(self) -> dt.date | None: ...
    @property
    def lake(self) -> Path | None: ...


@runtime_checkable
class ConfigView(Protocol):
    """A strategy's TOML as its hooks (``prepare``, ``train``, ``cross_validate``) read it:
    ``name``, ``symbols``, ``[data]``, ``params`` (the raw ``[params]`` table), ``[model]``
    (None without one) and the run's ``seed``."""

    @property
    def name(self) -> str: ...
    @property
    def symbols(self) -> Sequence[str]: ...
    @property
    def data(self) -> DataView: ...
    @property
    def params(self) -> dict[str, Any]: ...
    @property
    def model(self) -> ModelRef | None: ...
    @property
    def seed(self) -> int: ...
