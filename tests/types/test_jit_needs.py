"""``framework.types.jit.needs``: a compiled caller gets the feature's kernel where its
state field is an array and a no-op where it is None — and in that case the kernel is
not compiled at all (numba's own overload table says so); a Python caller gets the
kernel."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from framework.types.jit import kernel, needs


class Group(NamedTuple):
    """A state group with one optional feature field."""

    feature: object
    base: np.ndarray


@kernel
def _feature_sum(x, g) -> float:
    return x + g.feature[0] + g.feature[1]


feature_sum = needs("g", "feature", absent=-1.0)(_feature_sum)


@kernel
def caller(x, g) -> float:
    return feature_sum(x, g) + g.base[0]


def test_absent_feature_is_not_compiled_and_returns_absent() -> None:
    base = np.array([10.0])
    assert caller(1.0, Group(None, base)) == 9.0  # -1 + 10: the no-op's value
    assert _feature_sum.overloads == {}  # typed away: never compiled


def test_present_feature_runs_the_kernel() -> None:
    base = np.array([10.0])
    assert caller(1.0, Group(np.array([2.0, 3.0]), base)) == 16.0  # 1 + 2 + 3 + 10
    assert len(_feature_sum.overloads) == 1
    assert feature_sum(1.0, Group(np.array([2.0, 3.0]), base)) == 6.0  # from Python
