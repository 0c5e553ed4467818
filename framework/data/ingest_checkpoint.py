"""Where a long, resumable download stands: the last session date whose data is in the lake.

A network source fetches a symbol's range in windows of whole sessions, writes each
window to the lake, and only then records the window's last session here (atomically:
temp file + ``os.replace``). Killed anywhere, a rerun of the same request skips the
sessions recorded and refetches the rest; a window that was half written is rewritten,
and the lake's per-day replace keeps that free of duplicates. The file is removed when
the symbol completes. Files live in ``<lake>/.ingest/<source>/<dataset>/<SYMBOL>.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path


class IngestCheckpoint:
    """Progress of one (source, dataset, symbol) download; ``key`` holds the request's
    settings that change the data (e.g. adjusted), so a different request starts over."""

    def __init__(self, lake_root: Path, source: str, dataset: str, symbol: str, key: dict):
        self.path = Path(lake_root) / ".ingest" / source / dataset / f"{symbol}.json"
        self.key = key

    def resume_after(self, start: dt.date) -> dt.date | None:
        """The last completed session of an earlier run of this request that began at or
        before ``start``, or None (no checkpoint, other settings, or unreadable file)."""
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
            if state["key"] != self.key or dt.date.fromisoformat(state["start"]) > start:
                return None
            return dt.date.fromisoformat(state["through"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, start: dt.date, through: dt.date) -> None:
        """Record that every session in [start, through] is in the lake."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"key": self.key, "start": start.isoformat(),
                           "through": through.isoformat()})
        with tempfile.NamedTemporaryFile("w", dir=self.path.parent, suffix=".tmp",
                                         delete=False, encoding="utf-8") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(f.name, self.path)

    def clear(self) -> None:
        """The download completed: forget it."""
        self.path.unlink(missing_ok=True)
