"""Writes held for review: input whose values are valid but absurd (a price above 10 M USD,
a size above 1e12 shares) is not written to the lake and not thrown away either.

``<root>/review/<id>/data.parquet`` keeps the conformed frame exactly as it would have
been written, ``meta.json`` says what, where from and why. A person then accepts it
(written as it is, ``fw data review accept ID``) or drops it (``fw data review drop ID``).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from pathlib import Path

import polars as pl

from framework.data.quality import QualityReport
from framework.data.schemas import DataError

REVIEW_DIR = "review"


def hold(root: Path, dataset: str, symbol: str, frame: pl.DataFrame, source: str,
         report: QualityReport) -> str:
    """Keep ``frame`` under ``<root>/review/<id>/`` with its review findings; return the id."""
    held_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    folder = root / REVIEW_DIR / held_id
    folder.mkdir(parents=True)
    frame.write_parquet(folder / "data.parquet")
    meta = {"id": held_id, "dataset": dataset, "symbol": symbol, "source": source,
            "origin": report.origin, "rows": frame.height,
            "findings": [f"{f.check}: {f.where}, column '{f.column}': {f.message}"
                         for f in report.review]}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))
    return held_id


def held(root: Path) -> list[dict]:
    """Every write held for review (its ``meta.json``), oldest first."""
    base = root / REVIEW_DIR
    if not base.is_dir():
        return []
    return [json.loads((d / "meta.json").read_text()) for d in sorted(base.iterdir())
            if (d / "meta.json").is_file()]


def _folder(root: Path, held_id: str) -> Path:
    folder = root / REVIEW_DIR / held_id
    if "/" in held_id or not (folder / "meta.json").is_file():
        raise DataError(f"{root / REVIEW_DIR}: no held write '{held_id}' "
                        f"(held: {', '.join(m['id'] for m in held(root)) or 'none'})")
    return folder


def load(root: Path, held_id: str) -> tuple[dict, pl.DataFrame]:
    """The meta and frame of one held write."""
    folder = _folder(root, held_id)
    return json.loads((folder / "meta.json").read_text()), pl.read_parquet(folder / "data.parquet")


def drop(root: Path, held_id: str) -> dict:
    """Discard a held write; return its meta."""
    folder = _folder(root, held_id)
    meta = json.loads((folder / "meta.json").read_text())
    shutil.rmtree(folder)
    return meta
