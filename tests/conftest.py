"""Suite-wide fixtures: where the shared third-party data lives, and a small synthetic lake."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from framework.data import Lake
from framework.data.settings import load_data_config
from framework.data.sources.synthetic import ingest_synthetic
from framework.marketdata.bars import time_bars

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _shared_data() -> Path:
    """``$FW_SHARED_DATA``, else ``../shared/data`` next to the checkout (``/work/main``),
    else two levels up (a worktree under ``/work/wt/<name>``)."""
    if os.environ.get("FW_SHARED_DATA"):
        return Path(os.environ["FW_SHARED_DATA"])
    near = PROJECT_ROOT.parent / "shared" / "data"
    far = PROJECT_ROOT.parent.parent / "shared" / "data"
    return far if not near.is_dir() and far.is_dir() else near


SHARED_DATA = _shared_data()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the real third-party data (``../shared/data``); skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared third-party data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def small_lake(tmp_path_factory) -> Path:
    """Synthetic lake: default universe, 2024-01-02 .. 2024-01-08 (4 sessions)."""
    root = tmp_path_factory.mktemp("lake")
    cfg = load_data_config(None).synthetic.model_copy(
        update={"start": dt.date(2024, 1, 2), "end": dt.date(2024, 1, 8),
                "trades_per_day": 4000.0})
    ingest_synthetic(Lake(root), cfg, time_bars)
    return root


BOOK_LAKE_DAYS = (dt.date(2024, 4, 1), dt.date(2024, 4, 2))


@pytest.fixture(scope="session")
def book_lake(tmp_path_factory) -> Path:
    """Synthetic L3 order flow (SPY, QQQ) for the first 20 minutes of two sessions, with
    the trades and 1s/1m bars it implies (what ``fw data ingest --source synthetic-book``
    writes, shortened)."""
    from framework.data.sources.synthetic_book import generate_book
    from framework.marketdata.book.prints import write_book_data

    root = tmp_path_factory.mktemp("book_lake")
    cfg = load_data_config(None).synthetic_book.model_copy(
        update={"start": BOOK_LAKE_DAYS[0], "end": BOOK_LAKE_DAYS[1], "minutes": 20})
    for sym in cfg.symbols:
        write_book_data(Lake(root), sym, generate_book(cfg, sym), "synthetic-book")
    return root


ML_MR_SMALL = {"model.train.initial_sessions": 2, "model.train.folds": 2}


@pytest.fixture(scope="session")
def ml_mr_lake(small_lake: Path) -> Path:
    """``small_lake`` with the flagship's model trained walk-forward and registered
    (2 in-sample sessions, 2 out-of-sample refits)."""
    from framework.engine.training import train_strategy

    train_strategy(PROJECT_ROOT / "strategies" / "ml_mr.toml",
                   {"data.start": None, "data.end": None, **ML_MR_SMALL}, lake_root=small_lake)
    return small_lake
