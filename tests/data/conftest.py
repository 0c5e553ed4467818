"""Fixtures for the data-lake tests."""

from __future__ import annotations

import pytest

from framework.data import Lake
from tests.data.lake_testkit import minute_bars


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.fixture
def make_bars():
    return minute_bars
