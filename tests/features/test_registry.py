"""The indicator registry: every registered code has its branch in ``featureset_step``."""

from __future__ import annotations

import ast
import inspect
import textwrap

import numpy as np
import pytest

from framework.features.plan import compile_plan, featureset_step
from framework.features.registry import BY_CODE, INDICATORS, KindCode
from framework.features.spec import FeatureSetSpec, FeatureSpec

SENTINEL = -12345.0


def _branch_codes() -> set[int]:
    """The codes ``featureset_step`` compares ``code`` against (``code == KindCode.NAME``),
    read from its source; a bare number counts as itself."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(featureset_step.py_func)))
    codes = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Compare) and isinstance(node.left, ast.Name)
                and node.left.id == "code"):
            continue
        right = node.comparators[0]
        if isinstance(right, ast.Attribute) and ast.unparse(right.value) == "KindCode":
            codes.add(KindCode[right.attr].value)
        elif isinstance(right, ast.Constant):
            codes.add(right.value)
    return codes


def _one(ind) -> FeatureSetSpec:
    """A one-feature set of ``ind`` with each integer parameter a little above its minimum."""
    spec = FeatureSpec(kind=ind.kind, **{name: lo + 4 for name, lo in ind.params.items()})
    return FeatureSetSpec(name=ind.kind, features=[spec])


def _writes_every_column(plan: np.ndarray, state: np.ndarray, width: int) -> bool:
    """Whether one ``featureset_step`` writes all ``width`` columns of the plan's feature."""
    out = np.full(width, SENTINEL)
    featureset_step(plan, state, 10.0, 11.0, 9.0, 10.5, 1000.0, out)
    return bool((out != SENTINEL).all())


def test_kinds_and_codes_are_unique():
    assert len({i.kind for i in INDICATORS}) == len(INDICATORS)
    assert len(BY_CODE) == len(INDICATORS)
    assert {c.name: c.value for c in KindCode} == {i.kind.upper(): i.code for i in INDICATORS}


def test_every_registered_code_has_a_branch_and_every_branch_a_code():
    assert _branch_codes() == set(BY_CODE)


@pytest.mark.parametrize("ind", INDICATORS, ids=[i.kind for i in INDICATORS])
def test_step_writes_every_column_of_each_kind(ind):
    spec = _one(ind)
    plan, state = compile_plan(spec)
    assert _writes_every_column(plan, state, len(spec.columns()))


def test_a_code_without_a_branch_is_caught():
    # What a registry entry whose branch was forgotten looks like to the step: nothing written.
    plan, state = compile_plan(_one(INDICATORS[0]))
    plan[0, 0] = max(BY_CODE) + 1
    assert not _writes_every_column(plan, state, 1)


def test_parameter_minimums_come_from_the_registry():
    with pytest.raises(ValueError, match="'n' must be >= 4, got 3"):
        FeatureSpec(kind="kurt", n=3)
    with pytest.raises(ValueError, match="'fast' must be >= 2, got 1"):
        FeatureSpec(kind="macd", fast=1, slow=26, signal=9)
    with pytest.raises(ValueError, match="'signal' must be >= 1, got 0"):
        FeatureSpec(kind="macd", fast=12, slow=26, signal=0)
    assert FeatureSpec(kind="macd", fast=12, slow=26, signal=1).lookback() == 26 - 1
