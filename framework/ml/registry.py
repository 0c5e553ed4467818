"""The model registry: ``<lake>/models/<name>/<version>/``.

A version holds a walk-forward model — one fitted model per refit, each valid for events
from its ``valid_from_ns`` — plus ``meta.json``: the feature-set spec and columns, the
training-data fingerprint, cross-validation metrics, the labelling parameters, the seed
and the creation time. Versions are ``v0001``, ``v0002``, … and are written to a temp
folder and renamed, so a crash never leaves a half-registered model.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from framework.features.spec import FeatureSetSpec
from framework.ml.models import Model, load_model
from framework.types.errors import FwError

_VERSION = re.compile(r"^v(\d{4,})$")


class RegistryError(FwError):
    """A model is missing from the registry or does not fit the strategy asking for it."""


@dataclass
class WalkForwardModel:
    """Models of successive refits; ``valid_from_ns[k]`` is where model k takes over.
    Events before the first refit use model 0, which *was trained on them*: in-sample."""

    models: list[Model]
    valid_from_ns: np.ndarray  # int64, increasing

    def segment(self, ts: np.ndarray) -> np.ndarray:
        """Index of the model that scores each event time ``ts`` (ns UTC)."""
        return np.maximum(np.searchsorted(self.valid_from_ns, ts, side="right") - 1, 0)

    def predict_proba(self, X: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """P(label 1) of each row, each by the model valid at its time."""
        out = np.full(X.shape[0], np.nan)
        seg = self.segment(ts)
        for k in np.unique(seg):
            rows = seg == k
            out[rows] = self.models[k].predict_proba(X[rows])
        return out


@dataclass(frozen=True)
class RegisteredModel:
    """A loaded registry entry."""

    path: Path
    meta: dict
    model: WalkForwardModel


def model_root(lake_root: Path, name: str) -> Path:
    """Folder of all versions of model ``name``."""
    return Path(lake_root) / "models" / name


def versions(lake_root: Path, name: str) -> list[str]:
    """Registered versions of ``name``, oldest first."""
    root = model_root(lake_root, name)
    found = [p.name for p in root.iterdir() if _VERSION.match(p.name)] if root.is_dir() else []
    return sorted(found, key=lambda v: int(_VERSION.match(v).group(1)))


def register(lake_root: Path, name: str, wf: WalkForwardModel, meta: dict) -> Path:
    """Save ``wf`` with ``meta`` as the next version of ``name``; returns its folder."""
    root = model_root(lake_root, name)
    root.mkdir(parents=True, exist_ok=True)
    have = versions(lake_root, name)
    version = f"v{int(_VERSION.match(have[-1]).group(1)) + 1 if have else 1:04d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=root))
    try:
        for k, model in enumerate(wf.models):
            model.save(tmp / f"segment_{k:03d}")
        full = meta | {"name": name, "version": version,
                       "valid_from_ns": [int(v) for v in wf.valid_from_ns],
                       "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        (tmp / "meta.json").write_text(json.dumps(full, indent=2, sort_keys=True, default=str))
        tmp.rename(root / version)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root / version


def load_registered(lake_root: Path, name: str, version: str = "latest") -> RegisteredModel:
    """Load a version (``"latest"`` = the newest) of ``name``."""
    have = versions(lake_root, name)
    if not have:
        raise RegistryError(f"no model '{name}' under {model_root(lake_root, name)}: "
                            f"run `fw train` on the strategy first")
    chosen = have[-1] if version == "latest" else version
    if chosen not in have:
        raise RegistryError(f"model '{name}' has no version {version!r} (have {have})")
    path = model_root(lake_root, name) / chosen
    meta = json.loads((path / "meta.json").read_text())
    models = [load_model(path / f"segment_{k:03d}") for k in range(len(meta["valid_from_ns"]))]
    return RegisteredModel(path, meta, WalkForwardModel(models, np.asarray(
        meta["valid_from_ns"], dtype=np.int64)))


def check_feature_set(reg: RegisteredModel, spec: FeatureSetSpec) -> None:
    """Raise ``RegistryError`` unless ``reg`` was trained on exactly ``spec``'s features."""
    want, got = spec.columns(), reg.meta.get("feature_columns", [])
    if want != got or reg.meta.get("feature_set") != spec.model_dump(mode="json"):
        missing = [c for c in want if c not in got]
        extra = [c for c in got if c not in want]
        trained = reg.meta.get("feature_set", {}).get("name")
        detail = (f"missing from the model {missing or 'none'}, not computed by the "
                  f"strategy {extra or 'none'}" if missing or extra
                  else "same columns but other parameters or order")
        raise RegistryError(
            f"model {reg.path} was trained on feature set '{trained}' ({len(got)} columns) "
            f"but the strategy computes '{spec.name}' ({len(want)} columns): {detail}; "
            "retrain with `fw train` or pin the matching [model] version")
