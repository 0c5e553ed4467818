"""The lake's files against its catalog: sha256 per file, readability, quarantine.

The catalog stores each partition file's sha256 when it is committed. A file whose bytes
no longer hash to it was changed after the write (a flipped bit, a truncation, an edit
by hand) and is a hard finding even when it still parses: its data may be silently
wrong. ``quarantine`` moves such files out of the lake (into
``<root>/quarantine/<stamp>/``, with the reasons) so the catalog can be rebuilt from what
is left and the affected days re-ingested.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from framework.data import catalog as _catalog
from framework.data.partitions import file_fingerprint, list_partitions, remove_partition

QUARANTINE_DIR = "quarantine"


@dataclass(frozen=True)
class FileProblem:
    """A partition file that disagrees with the catalog. ``check``: ``unreadable_file``,
    ``checksum_mismatch``, ``uncatalogued_file`` or ``missing_file``; ``source`` is the
    catalog's source of the partition ("" when it has none)."""

    dataset: str
    symbol: str
    date: dt.date
    path: Path
    check: str
    message: str
    source: str = ""

    @property
    def damaged(self) -> bool:
        """The file's content cannot be trusted (quarantine it)."""
        return self.check in ("unreadable_file", "checksum_mismatch")


def unreadable(path: Path) -> str | None:
    """Why ``path`` is not a readable Parquet file, or None when every page decodes."""
    try:
        pq.read_table(path)
    except Exception as err:  # pyarrow raises ArrowInvalid / OSError with the reason
        first = (str(err).splitlines() or [""])[0].split(". ")[0]
        return f"{type(err).__name__}: {first[:300]}"
    return None


def catalog_index(root: Path) -> dict[tuple[str, str], dict[dt.date, dict]]:
    """The catalog's partition rows by (dataset, symbol) and date (empty without a catalog)."""
    out: dict[tuple[str, str], dict[dt.date, dict]] = {}
    if (root / _catalog.CATALOG_FILE).exists():
        for r in _catalog.partitions(root).iter_rows(named=True):
            out.setdefault((r["dataset"], r["symbol"]), {})[r["date"]] = r
    return out


def check_files(root: Path, dataset: str, symbol: str, catalogued: dict[dt.date, dict]
                ) -> list[FileProblem]:
    """Compare every partition file of (dataset, symbol) with its catalog rows
    (``catalog_index(root)[(dataset, symbol)]``)."""
    rows = dict(catalogued)
    problems = []
    for day, path in list_partitions(root, dataset, symbol):
        row = rows.pop(day, None)
        source = "" if row is None else row["source"]
        fp = file_fingerprint(path)
        if row is not None and fp == row["fingerprint"]:
            continue
        broken = unreadable(path)
        if broken is not None:
            problems.append(FileProblem(dataset, symbol, day, path, "unreadable_file",
                                        f"{path}: not a readable Parquet file ({broken})",
                                        source))
        elif row is None:
            problems.append(FileProblem(dataset, symbol, day, path, "uncatalogued_file",
                                        f"{path}: on disk but not in the catalog", source))
        else:
            problems.append(FileProblem(
                dataset, symbol, day, path, "checksum_mismatch",
                f"{path}: sha256 {fp[:12]}… differs from the catalog's "
                f"{row['fingerprint'][:12]}… (changed after it was written)", source))
    for day, row in sorted(rows.items()):
        path = root / dataset / f"symbol={symbol}" / f"date={day}" / "part.parquet"
        problems.append(FileProblem(dataset, symbol, day, path, "missing_file",
                                    f"{path}: in the catalog but not on disk", row["source"]))
    return problems


def quarantine(root: Path, problems: list[FileProblem]) -> Path | None:
    """Move every damaged file to ``<root>/quarantine/<stamp>/<its lake path>`` and write
    ``reasons.json`` there; return that folder (None when nothing was damaged). The caller
    holds the writer lock and rebuilds the catalog afterwards."""
    damaged = [p for p in problems if p.damaged and p.path.is_file()]
    if not damaged:
        return None
    folder = root / QUARANTINE_DIR / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    reasons = []
    for p in damaged:
        rel = p.path.relative_to(root)
        dest = folder / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(p.path, dest)
        remove_partition(root, p.path)  # prunes the folders the move left empty
        reasons.append({"file": rel.as_posix(), "check": p.check, "message": p.message,
                        "source": p.source})
    (folder / "reasons.json").write_text(json.dumps(reasons, indent=2))
    return folder
