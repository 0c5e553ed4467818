"""Feature-set specs: the TOML form of a list of indicators, validated against the registry.

TOML::

    name = "daily_basic"
    [[features]]
    kind = "rsi"
    n = 14
    [[features]]
    kind = "bbands"
    n = 20
    k_up = 2.0
    k_dn = 2.0

The kinds, their parameters and column names come from ``framework.features.registry``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator

from framework.config import FrozenModel, load_toml
from framework.features.registry import BY_KIND, KINDS

Kind = Literal[KINDS]  # type: ignore[valid-type]  # the registered kinds, in registry order

# The integer parameters a kind may take (``Indicator.params`` names a subset), in the
# order their checks run.
INT_PARAMS = ("n", "fast", "slow", "signal", "k", "sk", "sd")


class FeatureSpec(FrozenModel):
    """One indicator of a feature set; only the parameters its ``kind`` uses may be set.

    - ``kind``: a registered kind (``framework.features.registry.KINDS``).
    - ``n``, ``fast``, ``slow``, ``signal``, ``k``, ``sk``, ``sd``: integer window
      lengths in bars, each allowed only where the kind takes it.
    - ``k_up``, ``k_dn``: Bollinger band widths in standard deviations (``bbands``).
    """

    kind: Kind
    n: int | None = None
    fast: int | None = None
    slow: int | None = None
    signal: int | None = None
    k: int | None = None
    sk: int | None = None
    sd: int | None = None
    k_up: float = 2.0
    k_dn: float = 2.0

    @model_validator(mode="after")
    def _check_params(self) -> FeatureSpec:
        takes = BY_KIND[self.kind].params
        for name in INT_PARAMS:
            v = getattr(self, name)
            if name in takes:
                lo = takes[name]
                if v is None:
                    raise ValueError(f"kind '{self.kind}' needs integer parameter '{name}'")
                if v < lo:
                    raise ValueError(f"kind '{self.kind}': '{name}' must be >= {lo}, got {v}")
            elif v is not None:
                raise ValueError(
                    f"kind '{self.kind}' takes no parameter '{name}' "
                    f"(it takes: {', '.join(takes) or 'none'})"
                )
        return self

    def params(self) -> dict:
        """Every parameter by name (unused ones are ``None``)."""
        return self.model_dump(exclude={"kind"})

    def columns(self) -> list[str]:
        """Stable output column names, e.g. ``['rsi_14']``."""
        return BY_KIND[self.kind].columns(self.params())

    def lookback(self) -> int:
        """Bars before the first non-NaN value on gap-free data (TA-Lib's lookback)."""
        return BY_KIND[self.kind].lookback(self.params())


class FeatureSetSpec(FrozenModel):
    """A named list of indicators computed from OHLCV bars.

    - ``name``: the set's name (reports, model registry).
    - ``features``: the indicators, in output column order.
    """

    name: str
    features: list[FeatureSpec]

    @model_validator(mode="after")
    def _unique(self) -> FeatureSetSpec:
        seen: set[str] = set()
        for f in self.features:
            for c in f.columns():
                if c in seen:
                    raise ValueError(f"column '{c}' is produced twice (duplicate feature)")
                seen.add(c)
        return self

    def columns(self) -> list[str]:
        """Every output column, feature by feature."""
        return [c for f in self.features for c in f.columns()]

    def lookback(self) -> int:
        """Bars until every feature is warm (max of the features' lookbacks)."""
        return max((f.lookback() for f in self.features), default=0)


def load_feature_set(path: str | Path) -> FeatureSetSpec:
    """Load a feature-set TOML; ``ConfigError`` names the file and key at fault."""
    return load_toml(path, FeatureSetSpec)
