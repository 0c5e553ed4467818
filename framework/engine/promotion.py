"""Promotion: a record that a backtest run validated this exact strategy, and the check
``fw live`` makes against it.

``fw promote X.toml --run RUN_ID`` hashes what decides the strategy's behaviour -- the
TOML file, the strategy's Python module, the registered model's files when it has a
``[model]`` -- checks that the run is a backtest of this strategy with this config, that
``fw check lookahead`` passes, and that the run's metrics meet the ``[promotion]``
thresholds of the TOML; the record goes to ``<reports>/promotions/<name>.json``.

``fw live`` refuses a strategy with no record, or whose hashes changed since, naming
what changed; ``--force REASON`` runs it anyway and the live manifest keeps the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
from pathlib import Path

from pydantic import Field

from framework.config import FrozenModel
from framework.types.errors import FwError


class PromotionConfig(FrozenModel):
    """``[promotion]``: what a backtest run must show (metrics of its ``metrics.json``;
    out-of-sample when the strategy reports a split)."""

    min_trades: int = Field(default=1, ge=0)
    min_psr: float = Field(default=0.0, ge=0.0, le=1.0)  # probability the Sharpe is > 0
    min_sharpe: float | None = None
    max_drawdown: float | None = Field(default=None, ge=0.0, le=1.0)  # fraction, positive


class PromotionError(FwError):
    """A strategy cannot be promoted, or is not promoted as it stands."""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _module_file(target: str) -> Path | None:
    spec = importlib.util.find_spec(target.split(":", 1)[0])
    return Path(spec.origin) if spec is not None and spec.origin else None


def _model_hash(cfg, lake_root: Path | None) -> str | None:
    """Hash of the registered model's files (the version the strategy would load)."""
    if cfg.model is None:
        return None
    from framework.ml.registry import model_root, versions

    root = Path(lake_root or cfg.data.lake or "data_lake")
    have = versions(root, cfg.model.name)
    if not have:
        return "missing"
    chosen = have[-1] if cfg.model.version == "latest" else cfg.model.version
    h = hashlib.sha256(chosen.encode())
    for f in sorted((model_root(root, cfg.model.name) / chosen).rglob("*")):
        if f.is_file():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def fingerprint(path: Path, cfg, lake_root: Path | None = None) -> dict[str, str | None]:
    """What decides the strategy's behaviour, hashed (sha256): ``config`` (the TOML's
    bytes), ``code`` (the strategy's module), ``model`` (the registered model's files)."""
    mod = _module_file(cfg.strategy)
    return {"config": _sha(Path(path).read_bytes()),
            "code": _sha(mod.read_bytes()) if mod is not None and mod.is_file() else None,
            "model": _model_hash(cfg, lake_root)}


def record_path(cfg) -> Path:
    """Where the promotion record of ``cfg``'s strategy lives."""
    return Path(cfg.backtest.reports) / "promotions" / f"{cfg.name}.json"


def promote(path: Path, run_dir: Path, *, lake_root: Path | None = None) -> dict:
    """Promote the strategy at ``path`` on the backtest run in ``run_dir`` (see the module
    docstring); returns the record written. Raises ``PromotionError`` naming the check
    that failed."""
    from framework.config import load_toml
    from framework.engine.lookahead import check_lookahead
    from framework.engine.run_config import StrategyConfig

    cfg = load_toml(path, StrategyConfig)
    man_path, met_path = run_dir / "manifest.json", run_dir / "metrics.json"
    if not man_path.is_file() or not met_path.is_file():
        raise PromotionError(f"fw promote: {run_dir} is not a fw backtest run folder "
                             "(manifest.json and metrics.json needed)")
    manifest = json.loads(man_path.read_text())
    if manifest.get("mode") == "live-paper":
        raise PromotionError(f"fw promote: {run_dir.name} is a live run, not a backtest")
    if manifest.get("strategy") != cfg.name:
        raise PromotionError(f"fw promote: run {run_dir.name} is of strategy "
                             f"{manifest.get('strategy')!r}, not {cfg.name!r}")
    if manifest.get("config") != json.loads(cfg.model_dump_json()):
        raise PromotionError(f"fw promote: run {run_dir.name} was made with another config "
                             f"than {path} has now (--set overrides or an edit): rerun it")
    metrics = json.loads(met_path.read_text())
    periods = metrics.get("periods", {})
    head = periods.get("out_of_sample") or periods.get("full") or {}
    failed = threshold_failures(cfg.promotion, head)
    if failed:
        raise PromotionError(f"fw promote: {cfg.name} on run {run_dir.name}: "
                             + "; ".join(failed) + f" ([promotion] of {path})")
    lake = lake_root or (Path(manifest["lake"]) if manifest.get("lake") else None)
    look = check_lookahead(path, lake_root=lake)
    if not look.ok:
        raise PromotionError(f"fw promote: {cfg.name}: look-ahead: {look.problems[0]}")
    rec = {"strategy": cfg.name, "config_file": str(path), "run_id": run_dir.name,
           "hashes": fingerprint(path, cfg, lake), "lookahead": {"ok": True,
                                                                  "cuts": look.cuts},
           "metrics": {k: head.get(k) for k in ("trades", "psr", "sharpe", "max_drawdown")},
           "thresholds": cfg.promotion.model_dump(),
           "promoted_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    out = record_path(cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=2, default=str))
    return rec


def threshold_failures(p: PromotionConfig, m: dict) -> list[str]:
    """The ``[promotion]`` thresholds ``p`` that the metrics ``m`` (one period of a run's
    ``metrics.json``: trades, psr, sharpe, max_drawdown) do not meet, one line each;
    empty when the run qualifies."""
    failed = []
    if (m.get("trades") or 0) < p.min_trades:
        failed.append(f"trades {m.get('trades')} < min_trades {p.min_trades}")
    if p.min_psr > 0 and not (m.get("psr") or 0.0) >= p.min_psr:
        failed.append(f"psr {m.get('psr')} < min_psr {p.min_psr}")
    if p.min_sharpe is not None and not (m.get("sharpe") or float("-inf")) >= p.min_sharpe:
        failed.append(f"sharpe {m.get('sharpe')} < min_sharpe {p.min_sharpe}")
    if p.max_drawdown is not None and abs(m.get("max_drawdown") or 0.0) > p.max_drawdown:
        failed.append(f"max_drawdown {m.get('max_drawdown')} beyond {p.max_drawdown}")
    return failed


def check_promoted(path: Path, cfg, force_reason: str | None = None,
                   lake_root: Path | None = None) -> dict:
    """The promotion status ``fw live`` records: ``{"promoted": run id, ...}``; raises
    ``PromotionError`` naming what is missing or changed unless ``force_reason`` is
    given (then the record says so)."""
    rec_path = record_path(cfg)
    problems: list[str] = []
    rec = None
    if not rec_path.is_file():
        problems.append(f"{cfg.name} was never promoted (fw promote {path} --run RUN_ID)")
    else:
        rec = json.loads(rec_path.read_text())
        now = fingerprint(path, cfg, lake_root)
        for k, v in now.items():
            if rec["hashes"].get(k) != v:
                what = {"config": str(path), "code": cfg.strategy.split(":")[0],
                        "model": f"model {cfg.model.name if cfg.model else ''}"}[k]
                problems.append(f"the {k} changed since promotion on run {rec['run_id']} "
                                f"({what})")
    if problems and force_reason is None:
        raise PromotionError("fw live: " + "; ".join(problems) + " -- promote it, or "
                             "--force REASON to run anyway (recorded)")
    return {"promoted": rec["run_id"] if rec else None, "forced": force_reason,
            "problems": problems}
