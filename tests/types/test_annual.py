"""The one Sharpe rule: scalars and arrays, a zero or missing spread is NaN (never a
ZeroDivisionError from Python floats, as the live monitor passes them)."""

import math

import numpy as np

from framework.types.annual import SESSIONS_PER_YEAR, annualised_sharpe


def test_scalar_sharpe_by_hand():
    # mean 0.001, sd 0.01 per session: 0.1 * sqrt(252) = 1.5874507866...
    assert float(annualised_sharpe(0.001, 0.01)) == math.sqrt(SESSIONS_PER_YEAR) * 0.1


def test_zero_spread_is_nan_for_python_floats_and_arrays():
    assert math.isnan(float(annualised_sharpe(0.0, 0.0, 98_280.0)))
    assert math.isnan(float(annualised_sharpe(0.001, 0.0)))
    out = annualised_sharpe(np.array([0.0, 0.002]), np.array([0.0, 0.01]), 4.0)
    assert math.isnan(out[0]) and out[1] == 0.2 * 2.0
