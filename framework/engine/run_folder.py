"""A backtest's run folder: written whole or not at all, sealed, and compared on a rerun.

A run is written into ``<reports>/.staging/<pid>-<run-id>/`` and renamed to
``<reports>/<run-id>/`` once every file is in it (``os.rename`` of a folder is atomic on
POSIX), so a killed backtest leaves no partial run folder; staging folders of dead
processes are removed by the next run. ``manifest.json`` carries ``manifest_sha256``, the
sha256 of its own canonical JSON without that key, so a rerun refuses a manifest that was
edited after the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import polars as pl

from framework.config import ConfigError
from framework.data.partitions import pid_alive
from framework.types.errors import FwError

STAGING = ".staging"
SEAL_KEY = "manifest_sha256"
MANIFEST_KEYS = ("strategy", "config_file", "config", "symbols", "data_fingerprint", "lake",
                 "run_id")


def _digest(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != SEAL_KEY}
    canon = json.dumps(json.loads(json.dumps(body, default=str)), sort_keys=True)
    return hashlib.sha256(canon.encode()).hexdigest()


def seal(manifest: dict) -> dict:
    """``manifest`` plus its ``manifest_sha256``."""
    return {**manifest, SEAL_KEY: _digest(manifest)}


def read_manifest(run_dir: Path) -> dict:
    """The sealed manifest of a run folder; ``ConfigError`` naming the file when it is
    missing, not JSON, lacks a key, or was edited after the run."""
    path = run_dir / "manifest.json"
    if not path.is_file():
        raise ConfigError(str(path), ["no manifest: not a fw backtest run folder"])
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ConfigError(str(path), [f"not valid JSON: {err}"]) from None
    if not isinstance(manifest, dict):
        raise ConfigError(str(path), ["not a JSON object"])
    missing = [k for k in (*MANIFEST_KEYS, SEAL_KEY) if k not in manifest]
    if missing:
        raise ConfigError(str(path), [f"key '{k}': required key is missing" for k in missing])
    if manifest[SEAL_KEY] != _digest(manifest):
        raise ConfigError(str(path), [f"key '{SEAL_KEY}': the manifest was edited after the run "
                                      "(its content no longer matches its sha256); refusing to "
                                      "rerun it"])
    return manifest


def stage(root: Path, run_id: str) -> Path:
    """A fresh, empty staging folder for ``run_id`` under ``root`` (removing the staging
    folders of processes that no longer run)."""
    base = root / STAGING
    base.mkdir(parents=True, exist_ok=True)
    for d in base.iterdir():
        pid = d.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)
    path = base / f"{os.getpid()}-{run_id}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    return path


def publish(staged: Path, final: Path) -> Path:
    """Rename the complete staging folder to its run folder; return the run folder."""
    try:
        os.rename(staged, final)
    except OSError as err:
        raise FwError(f"{final}: cannot publish the run folder ({err.strerror}); its files "
                      f"are complete in {staged}") from None
    return final


def _first_diff(a: pl.DataFrame, b: pl.DataFrame) -> str:
    if a.columns != b.columns:
        return f"columns {a.columns} vs {b.columns}"
    if a.height != b.height:
        return f"{a.height:,} rows vs {b.height:,}"
    for c in a.columns:
        x, y = a[c], b[c]
        if x.dtype != y.dtype:
            return f"column '{c}' is {x.dtype} vs {y.dtype}"
        differ = (x != y).fill_null(True) & ~(x.is_null() & y.is_null())
        if x.dtype.is_float():
            differ &= ~(x.is_nan() & y.is_nan()).fill_null(False)
        if differ.any():
            r = int(differ.arg_max())
            return f"first at row {r}, column '{c}': {x[r]!r} vs {y[r]!r}"
    return "same values, different bytes"


def _json_diff(a, b, path: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"key '{path}{k}' only in {'the rerun' if k in b else 'the original'}"
            d = _json_diff(a[k], b[k], f"{path}{k}.")
            if d:
                return d
        return None
    return None if a == b else f"key '{path.rstrip('.')}': {a!r} vs {b!r}"


def compare(original: Path, rerun: Path, names: tuple[str, ...]) -> list[str]:
    """How the result files ``names`` of two run folders differ (empty: byte-identical).
    Files the original lacks are skipped."""
    out = []
    for name in names:
        a, b = original / name, rerun / name
        if not a.is_file():
            continue
        if not b.is_file():
            out.append(f"{name}: missing from the rerun")
        elif a.read_bytes() != b.read_bytes():
            if name.endswith(".parquet"):
                detail = _first_diff(pl.read_parquet(a), pl.read_parquet(b))
            else:
                detail = _json_diff(json.loads(a.read_text()), json.loads(b.read_text())) \
                    or "same content, different bytes"
            out.append(f"{name}: {detail}")
    return out
