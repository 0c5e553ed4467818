"""What a sweep searches: the ``[sweep]`` table of a strategy TOML (plus ``fw sweep``'s
``--param`` and option overrides), validated into a :class:`SweepSpec`.

```toml
[sweep]
objective = "sharpe"          # metric of the in-sample window (see OBJECTIVES)
sampler = "tpe"               # grid | random | tpe | cmaes
trials = 100
seed = 0
constraints = ["fast < slow"]
[sweep.params]                # a bare name is params.<name>; a dotted key any TOML key
fast = { low = 5, high = 50 }                       # int range (both bounds ints)
entry_z = { low = 1.5, high = 3.0, step = 0.25 }    # float range, optional step / log
"decision.order_type" = { choices = ["market", "limit"] }
[sweep.walk_forward]
folds = 3                     # 0: no out-of-sample folds
mode = "anchored"             # or "rolling"
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import optuna
from pydantic import Field, field_validator, model_validator

from framework.config import ConfigError, FrozenModel, validate_mapping

# objective -> direction; daily-return metrics from framework.analytics.metrics, and the
# cross-validated classifier scores of a model sweep
OBJECTIVES = {"sharpe": "maximize", "sortino": "maximize", "total_return": "maximize",
              "cagr": "maximize", "calmar": "maximize", "psr": "maximize",
              "max_drawdown": "maximize", "volatility": "minimize",
              "cv_auc": "maximize", "cv_log_loss": "minimize"}
MODEL_OBJECTIVES = ("cv_auc", "cv_log_loss")
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|<|>|!=|==)\s*([A-Za-z_][\w.]*|"
                         r"-?\d+(?:\.\d*)?(?:[eE]-?\d+)?)\s*$")
_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b, "!=": lambda a, b: a != b, "==": lambda a, b: a == b}


class ParamRange(FrozenModel):
    """One swept key: ``low``/``high`` (inclusive; ints -> integer parameter), optional
    ``step`` and ``log``; or ``choices`` (a list of values)."""

    low: float | None = None
    high: float | None = None
    step: float | None = Field(default=None, gt=0)
    log: bool = False
    choices: list[Any] | None = None
    integer: bool = False  # set from the TOML's literal types (both bounds ints)

    @model_validator(mode="after")
    def _shape(self) -> ParamRange:
        if self.choices is not None:
            if self.low is not None or self.high is not None or not self.choices:
                raise ValueError("give either a non-empty 'choices' list or 'low'/'high'")
        elif self.low is None or self.high is None or self.low > self.high:
            raise ValueError("a range needs 'low' <= 'high' (or a 'choices' list)")
        if self.log and self.step is not None:
            raise ValueError("'log' and 'step' cannot be combined")
        return self

    def distribution(self) -> optuna.distributions.BaseDistribution:
        """The Optuna distribution of this key."""
        if self.choices is not None:
            return optuna.distributions.CategoricalDistribution(self.choices)
        if self.integer:
            return optuna.distributions.IntDistribution(int(self.low), int(self.high),
                                                        log=self.log,
                                                        step=int(self.step or 1))
        return optuna.distributions.FloatDistribution(self.low, self.high, log=self.log,
                                                      step=self.step)

    def grid(self) -> list[Any]:
        """Values of a grid sweep: the choices, every step of an integer or stepped range,
        else 10 points (log-spaced with ``log``)."""
        import numpy as np

        if self.choices is not None:
            return list(self.choices)
        if self.integer:
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        if self.step is not None:
            n = int(round((self.high - self.low) / self.step))
            return [round(self.low + k * self.step, 12) for k in range(n + 1)]
        pts = (np.geomspace(self.low, self.high, 10) if self.log
               else np.linspace(self.low, self.high, 10))
        return [float(v) for v in pts]


class WalkForwardSpec(FrozenModel):
    """``[sweep.walk_forward]``: the first ``in_sample`` fraction of the sessions is the
    first in-sample window (it alone guides the search); the rest is cut into ``folds``
    out-of-sample windows. ``anchored``: each fold's in-sample window starts at the first
    session; ``rolling``: it is the ``in_sample`` fraction's length of sessions right
    before the fold. ``purge_sessions`` sessions are dropped between each in-sample
    window and its out-of-sample window (trades and labels started there end in it);
    default 1 for a strategy with a ``[model]`` table, else 0."""

    folds: int = Field(default=3, ge=0, le=50)
    mode: Literal["anchored", "rolling"] = "anchored"
    in_sample: float = Field(default=0.5, gt=0.0, lt=1.0)
    purge_sessions: int | None = Field(default=None, ge=0)


class SweepSpec(FrozenModel):
    """``[sweep]``: what to vary, how to search, what to maximise (see module doc).

    ``batch`` trials are asked of the sampler at once and run in parallel; results depend
    on the seed and the batch size, never on how many workers ran them. ``tearsheets``:
    how many of the best trials get a full backtest folder and tearsheet. ``cscv_blocks``:
    row blocks of the PBO (even, <= 16). ``cv_splits``/``embargo_sessions``: the purged
    k-fold of a model sweep."""

    params: dict[str, ParamRange] = Field(default_factory=dict)
    objective: str = "sharpe"
    direction: Literal["maximize", "minimize"] | None = None
    sampler: Literal["grid", "random", "tpe", "cmaes"] = "tpe"
    trials: int = Field(default=50, ge=0)
    seed: int = 0
    batch: int = Field(default=16, ge=1, le=4096)
    constraints: list[str] = Field(default_factory=list)
    walk_forward: WalkForwardSpec = WalkForwardSpec()
    cscv_blocks: int = Field(default=8, ge=2, le=16)
    tearsheets: int = Field(default=5, ge=0)
    cv_splits: int = Field(default=5, ge=2, le=20)
    embargo_sessions: int = Field(default=1, ge=0)

    @field_validator("objective")
    @classmethod
    def _objective(cls, v: str) -> str:
        if v not in OBJECTIVES:
            raise ValueError(f"'{v}': expected one of {sorted(OBJECTIVES)}")
        return v

    @field_validator("cscv_blocks")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError(f"must be even, got {v}")
        return v

    @field_validator("params")
    @classmethod
    def _sweepable(cls, v: dict[str, ParamRange]) -> dict[str, ParamRange]:
        for key in v:
            if key.split(".")[0] in ("data", "symbols", "backtest", "sweep", "name",
                                     "strategy"):
                raise ValueError(f"'{key}' cannot be swept: every trial must cover the "
                                 "same sessions and universe")
        return v

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        for c in self.constraints:
            m = _CONSTRAINT.match(c)
            if m is None:
                raise ValueError(f"constraint '{c}': expected 'name op name-or-number' "
                                 "with op one of < <= > >= == !=")
            for side in (m.group(1), m.group(3)):
                if (side[0].isalpha() or side[0] == "_") and full_key(side) not in self.params:
                    raise ValueError(f"constraint '{c}': '{side}' is not a swept key")
        if self.model_sweep and self.objective not in MODEL_OBJECTIVES:
            raise ValueError(f"a sweep of model.* keys scores classifiers: objective must "
                             f"be one of {MODEL_OBJECTIVES}")
        if not self.model_sweep and self.objective in MODEL_OBJECTIVES:
            raise ValueError(f"objective '{self.objective}' needs model.* keys to sweep")
        return self

    @property
    def goal(self) -> str:
        """"maximize" or "minimize"."""
        return self.direction or OBJECTIVES[self.objective]

    @property
    def model_sweep(self) -> bool:
        """True when a swept key is a ``model.`` key: trials cross-validate the model."""
        return any(k.startswith("model.") for k in self.params)

    def distributions(self) -> dict[str, optuna.distributions.BaseDistribution]:
        """Optuna distributions by full TOML key."""
        return {k: v.distribution() for k, v in self.params.items()}

    def feasible(self, values: dict[str, Any]) -> str | None:
        """None when ``values`` (full keys) meet every constraint, else the broken one."""
        for c in self.constraints:
            a, op, b = _CONSTRAINT.match(c).groups()
            left = values[full_key(a)]
            right = values[full_key(b)] if (b[0].isalpha() or b[0] == "_") else float(b)
            if not _OPS[op](left, right):
                return c
        return None


def full_key(name: str) -> str:
    """A swept name as a TOML key: a bare name is a strategy parameter (``params.x``)."""
    return name if "." in name else f"params.{name}"


def _range_from_toml(key: str, raw: Any, source: str) -> dict:
    """A ``[sweep.params]`` entry, marking integer ranges (both bounds written as ints)."""
    if not isinstance(raw, dict):
        raise ConfigError(source, [f"key 'sweep.params.{key}': expected a table such as "
                                   "{ low = 5, high = 50 } or { choices = [...] }"])
    ints = all(isinstance(raw.get(b), int) and not isinstance(raw.get(b), bool)
               for b in ("low", "high"))
    step = raw.get("step")
    return {**raw, "integer": ints and (step is None or isinstance(step, int))}


def parse_param_option(text: str) -> tuple[str, dict]:
    """``--param`` syntax: ``name=low:high[:step]`` (ints give an integer range) or
    ``name=a,b,c`` (choices; numbers parsed). Returns (full key, raw range table)."""
    name, sep, body = text.partition("=")
    if not sep or not name.strip() or not body.strip():
        raise ConfigError("--param", [f"'{text}': expected name=low:high[:step] or "
                                      "name=a,b,c"])

    def num(s: str) -> Any:
        for cast in (int, float):
            try:
                return cast(s)
            except ValueError:
                pass
        return s

    if ":" in body:
        parts = [num(p) for p in body.split(":")]
        if len(parts) not in (2, 3) or any(isinstance(p, str) for p in parts):
            raise ConfigError("--param", [f"'{text}': a range is low:high[:step] numbers"])
        raw = {"low": parts[0], "high": parts[1]} | ({"step": parts[2]} if len(parts) == 3
                                                      else {})
    else:
        raw = {"choices": [num(p.strip()) for p in body.split(",")]}
    return full_key(name.strip()), raw


def load_spec(table: dict, source: str | Path, *, params: list[str] | None = None,
              options: dict[str, Any] | None = None) -> SweepSpec:
    """Validate the TOML's ``[sweep]`` table (``table``), with ``--param`` entries added
    or replacing its ranges and ``options`` (``trials``, ``sampler``, ``seed``,
    ``objective``, ``batch``, ... when not None) replacing its keys. Errors name
    ``source`` and the key."""
    raw = dict(table)
    ranges = {full_key(k): _range_from_toml(k, v, str(source))
              for k, v in dict(raw.pop("params", {})).items()}
    for text in params or []:
        key, rng = parse_param_option(text)
        ranges[key] = _range_from_toml(key, rng, "--param")
    raw |= {k: v for k, v in (options or {}).items() if v is not None}
    spec = validate_mapping(raw | {"params": ranges}, SweepSpec, str(source), "sweep")
    if not spec.params:
        raise ConfigError(str(source), ["key 'sweep.params': nothing to sweep (add a "
                                        "[sweep.params] table or --param name=low:high)"])
    return spec
