"""Fixtures for engine tests: a small synthetic lake (5 symbols, 4 sessions) built once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from framework.data import Lake
from framework.data.settings import load_data_config
from framework.data.sources.synthetic import ingest_synthetic
from framework.marketdata.bars import time_bars


@pytest.fixture(scope="session")
def small_lake(tmp_path_factory) -> Path:
    """Synthetic lake: default universe, 2024-01-02 .. 2024-01-08 (4 sessions)."""
    root = tmp_path_factory.mktemp("lake")
    cfg = load_data_config(None).synthetic.model_copy(
        update={"start": dt.date(2024, 1, 2), "end": dt.date(2024, 1, 8),
                "trades_per_day": 4000.0})
    ingest_synthetic(Lake(root), cfg, time_bars)
    return root
